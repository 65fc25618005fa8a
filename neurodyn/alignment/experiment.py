"""The feature-alignment run (``docs/papers/alignment.md §4``): an MLP on scikit-learn's digits, its tangent kernel on
fixed probes at log-spaced steps.

A step trains ``steps_per_record`` SGD steps (never past the next checkpoint) and evaluates the training and test
sets, or computes one part of a checkpoint: the centred tangent kernel of the training probe with its layer blocks and
spectrum, then the test probe (and, with random labels, the corrupted probe). Checkpoints sit at 0, 1, 2, 5, 10, 20,
50, ... and at the last step (card §4: the kernel is off the training cadence).

Probes (card §4): ``probe_per_class`` training images of each digit whose labels were left alone (the *clean* probe,
n = 10 · probe_per_class), the same number of test images per digit, and, when a fraction of the training labels is
randomised, ``probe_per_class`` corrupted training images per *assigned* label (the *corrupted* probe, scored against
the labels it is trained on). Alignment is :func:`~neurodyn.alignment.kernel.centered_alignment` with one-hot
targets (c = 10) or, in binary mode (digit < 5 against the rest), ±1 targets (c = 1).

Deviations from the card, stated on the page: the digits split is the project's shared 1,400 / 397
(:func:`neurodyn.data.digits`) instead of a fresh 1,297 / 500 split, and the inputs are the images scaled to [0, 1]
(``/ 16``) as in the card.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neurodyn.alignment.kernel import centered_alignment, cumulative_spectrum, effective_rank, tangent_kernel
from neurodyn.core.config import param
from neurodyn.core.loop import Record
from neurodyn.core.seeding import derive_seed, resolve_device
from neurodyn.core.spec import Metric
from neurodyn.data import digits

__all__ = ["Config", "PRESETS", "metrics", "AlignmentExperiment", "build", "checkpoints", "ceiling", "mlp",
           "T_KS", "HEAT_MAX"]

T_KS = (10, 40, 80, 160)  # cumulative spectral mass T_k reported (card §2.3 highlights 40, 80, 160)
HEAT_MAX = 50  # at most this many probe examples in the kernel heat map sent to the page


@dataclass(frozen=True)
class Config:
    """Settings of the feature-alignment run (card §3-4)."""

    lr: float = param(0.1, min=1e-3, max=0.3, log=True, label="learning rate", help="SGD step size (card: 0.1)")
    width: int = param(128, min=16, max=512, label="hidden width", help="units per hidden layer")
    depth: int = param(3, min=2, max=6, label="linear layers",
                       help="number of Linear layers: 3 is 64-128-128-10 (the card's small MLP)")
    random_labels: float = param(0.0, min=0.0, max=0.8, step=0.1, label="fraction of random training labels",
                                 help="this fraction of the training images get a label drawn at random (test "
                                 "labels stay true); the page then compares clean and corrupted probes")
    probe_per_class: int = param(10, min=5, max=20, label="probe images per digit",
                                 help="class-balanced probes: 10 per digit gives a 1000 x 1000 kernel")
    centered: bool = param(True, label="centre the tangent features",
                           help="centre the features over the probe (card §2.2); alignment always centres")
    loss: str = param("ce", choices=("ce", "mse"), label="loss", help="cross-entropy or squared error on the "
                      "one-hot targets")
    optimizer: str = param("momentum", choices=("sgd", "momentum", "adam"), label="optimizer",
                           help="plain SGD, SGD with momentum 0.9 (the card's) or Adam")
    weight_decay: float = param(5e-4, min=0.0, max=1e-2, step=1e-4, label="weight decay",
                                help="the card's 5e-4")
    batch: int = param(64, min=8, max=512, label="batch size", help="training images per SGD step")
    steps: int = param(6000, min=50, max=100_000, label="SGD steps", help="training steps (card: 6000)")
    binary: bool = param(False, label="binary task (digit < 5)",
                         help="one output, ±1 targets: a scalar-output kernel of side n")
    steps_per_record: int = param(50, min=1, max=2000, label="steps per record",
                                  help="SGD steps between two records (accuracy and loss on the full sets)")
    seed: int = param(0, min=0, max=2**31 - 1, label="seed", help="initialisation, batches and label noise")
    device: str = param("auto", choices=("auto", "cpu", "cuda"), label="device", help="torch device")


PRESETS: dict[str, Config] = {
    "small": Config(),  # card §3: 6000 SGD steps with 1000 x 1000 kernels at log-spaced steps
    "talk": Config(steps=2000),
    "paper": Config(steps=20_000, random_labels=0.5),  # the paper's noisy-label comparison, on digits
}


def checkpoints(steps: int) -> list[int]:
    """Log-spaced kernel checkpoints: 0, 1, 2, 5, 10, 20, 50, ... below ``steps``, then ``steps``.

    Parameters
    ----------
    steps : int

    Returns
    -------
    list of int, increasing
    """
    out, scale = [0], 1
    while scale < steps:
        out += [m * scale for m in (1, 2, 5) if m * scale < steps]
        scale *= 10
    return out + [steps]


def ceiling(c: int) -> float | None:
    """``1/sqrt(c(c−1))``: the most a kernel with c identical output blocks can align (card §2.2); None for c = 1."""
    return 1.0 / math.sqrt(c * (c - 1)) if c > 1 else None


def mlp(depth: int, width: int, outputs: int, generator: torch.Generator) -> nn.Sequential:
    """The card's MLP: Linear(64, width), ReLU, (depth − 2) × [Linear(width, width), ReLU], Linear(width, outputs);
    Kaiming-normal weights, zero biases, drawn from ``generator`` (never the global RNG)."""
    sizes = [64] + [width] * (depth - 1) + [outputs]
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        lin = nn.utils.skip_init(nn.Linear, a, b)
        with torch.no_grad():
            nn.init.kaiming_normal_(lin.weight, generator=generator)
            lin.bias.zero_()
        layers += [lin] if i == len(sizes) - 2 else [lin, nn.ReLU()]
    return nn.Sequential(nn.Flatten(), *layers)


def _layer_names(depth: int) -> list[str]:
    """Module names of the Linear layers in :func:`mlp` (index 0 is the Flatten)."""
    return [str(1 + 2 * i) for i in range(depth)]


def metrics(config: Config) -> tuple[Metric, ...]:
    """The metrics of a run with ``config`` (the layer-wise alignments depend on the depth, the corrupted probe on
    the label noise)."""
    out = [
        Metric("step", "", "SGD steps taken"),
        Metric("train_loss", "nats" if config.loss == "ce" else "", "loss on the whole training set"),
        Metric("train_acc", "", "accuracy on the whole training set (against its possibly randomised labels)"),
        Metric("test_acc", "", "accuracy on the test set"),
        Metric("checkpoint", "", "step of the latest kernel checkpoint"),
        Metric("align_train", "", "alignment of the training-probe kernel with its labels"),
        Metric("align_test", "", "alignment of the test-probe kernel with its labels"),
        Metric("eig_max", "", "largest eigenvalue of the training-probe kernel"),
        Metric("eig_mean", "", "mean eigenvalue of the training-probe kernel"),
        Metric("eig_median", "", "median eigenvalue of the training-probe kernel"),
        Metric("erank", "", "effective rank of the training-probe kernel"),
        *(Metric(f"t{k}", "", f"spectral mass in the top {k} eigenvalues (T_{k})") for k in T_KS),
        Metric("trace", "", "trace of the training-probe kernel over n (Tr K / n)"),
        Metric("path_complexity", "", "running (1/sqrt n) Σ ||Δw|| sqrt(Tr K) over the checkpoints (trace form)"),
        *(Metric(f"align_layer{i + 1}", "", f"alignment of layer {i + 1}'s kernel block")
          for i in range(config.depth)),
    ]
    if config.random_labels > 0:
        out.append(Metric("align_corrupt", "", "alignment of the corrupted-probe kernel with its random labels"))
    return tuple(out)


class AlignmentExperiment:
    """The MLP, its data and probes, and the checkpoint jobs (module docstring)."""

    def __init__(self, config: Config) -> None:
        if config.depth < 2:
            raise ValueError(f"depth must be at least 2 Linear layers, got {config.depth}")
        self.config = config
        self.device = resolve_device(config.device)
        xtr, ytr, xte, yte = digits(0)
        gen = torch.Generator().manual_seed(derive_seed(config.seed, "labels") % (2**63 - 1))
        y_train = ytr.clone()
        corrupt = torch.zeros(len(ytr), dtype=torch.bool)
        if config.random_labels > 0:
            k = int(round(config.random_labels * len(ytr)))
            picked = torch.randperm(len(ytr), generator=gen)[:k]
            y_train[picked] = torch.randint(0, 10, (k,), generator=gen)
            corrupt[picked] = True  # a drawn label may equal the true one: the image still counts as corrupted
        self.c = 1 if config.binary else 10
        self.x_train, self.x_test = xtr.to(self.device), xte.to(self.device)
        self.y_train, self.y_test = y_train.to(self.device), yte.to(self.device)
        self.true_train = ytr
        probe_gen = torch.Generator().manual_seed(derive_seed(config.seed, "probes") % (2**63 - 1))
        per = config.probe_per_class
        self.probe_clean = _balanced(ytr, ~corrupt, per, probe_gen)
        self.probe_test = _balanced(yte, torch.ones(len(yte), dtype=torch.bool), per, probe_gen)
        self.probe_corrupt = _balanced(y_train, corrupt, per, probe_gen) if config.random_labels > 0 else None
        self.model = mlp(config.depth, config.width, self.c,
                         torch.Generator().manual_seed(derive_seed(config.seed, "init") % (2**63 - 1))).to(self.device)
        params = list(self.model.parameters())
        if config.optimizer == "adam":
            self.opt: torch.optim.Optimizer = torch.optim.Adam(params, lr=config.lr, weight_decay=config.weight_decay)
        else:
            self.opt = torch.optim.SGD(params, lr=config.lr, weight_decay=config.weight_decay,
                                       momentum=0.9 if config.optimizer == "momentum" else 0.0)
        self.batch_gen = torch.Generator().manual_seed(derive_seed(config.seed, "batches") % (2**63 - 1))
        self.layers = _layer_names(config.depth)
        self.checkpoints = checkpoints(config.steps)
        n_train_steps = 0
        prev = 0
        for cp in self.checkpoints[1:]:
            n_train_steps += math.ceil((cp - prev) / config.steps_per_record)
            prev = cp
        self.total_steps = n_train_steps + len(self.checkpoints) * 2
        self.k, self.it = 0, 0
        self._pending = ["train", "probes"]
        self._last_weights = self._flat_weights()
        self._path = 0.0
        self._last_trace: float | None = None
        self._kstats: dict[str, float] = {}
        self._sets = self._evaluate_sets()

    # ---------------------------------------------------------------------------------------------------------
    @property
    def done(self) -> bool:
        """True once the last checkpoint is computed."""
        return self.k >= self.total_steps

    def _flat_weights(self) -> Tensor:
        return torch.cat([p.detach().reshape(-1) for p in self.model.parameters()]).clone()

    def _targets(self, labels: Tensor) -> Tensor:
        """Training targets of the loss: class indices (CE), one-hot (MSE) or ±1 (binary)."""
        if self.config.binary:
            return torch.where(labels < 5, 1.0, -1.0).to(self.x_train.dtype)
        return labels

    def _loss(self, out: Tensor, labels: Tensor) -> Tensor:
        t = self._targets(labels)
        if self.config.binary:
            out = out[:, 0]
            return F.softplus(-t * out).mean() if self.config.loss == "ce" else ((out - t) ** 2).mean()
        if self.config.loss == "ce":
            return F.cross_entropy(out, t)
        return ((out - F.one_hot(t, 10).to(out.dtype)) ** 2).sum(1).mean()

    def _correct(self, out: Tensor, labels: Tensor) -> Tensor:
        if self.config.binary:
            return (out[:, 0] > 0) == (labels < 5)
        return out.argmax(1) == labels

    @torch.no_grad()
    def _evaluate_sets(self) -> dict[str, float]:
        out_tr, out_te = self.model(self.x_train), self.model(self.x_test)
        return {"train_loss": float(self._loss(out_tr, self.y_train)),
                "train_acc": float(self._correct(out_tr, self.y_train).float().mean()),
                "test_acc": float(self._correct(out_te, self.y_test).float().mean())}

    def _probe_targets(self, labels: Tensor) -> Tensor:
        """Alignment targets: one-hot (n, 10), or ±1 (n,) in binary mode."""
        if self.config.binary:
            return torch.where(labels < 5, 1.0, -1.0).double()
        return F.one_hot(labels, 10).double()

    # ---------------------------------------------------------------------------------------------------------
    def step(self) -> Record:
        """One unit of work: a part of a checkpoint, or a chunk of SGD steps (class notes)."""
        artifacts: dict[str, Any] = {}
        if self._pending:
            job = self._pending.pop(0)
            artifacts = self._train_probe() if job == "train" else self._other_probes()
        else:
            cfg = self.config
            target = next(cp for cp in self.checkpoints if cp > self.it)
            n = min(cfg.steps_per_record, target - self.it)
            self.model.train()
            for _ in range(n):
                idx = torch.randint(0, len(self.x_train), (cfg.batch,), generator=self.batch_gen)
                idx = idx.to(self.device)
                loss = self._loss(self.model(self.x_train[idx]), self.y_train[idx])
                self.opt.zero_grad(set_to_none=True)
                loss.backward()
                self.opt.step()
            self.it += n
            self._sets = self._evaluate_sets()
            if self.it == target:
                self._pending = ["train", "probes"]
        rec = Record(self.k, self._metrics(), artifacts)
        self.k += 1
        return rec

    def _train_probe(self) -> dict[str, Any]:
        """The training probe's kernel: alignment, layer blocks, spectrum, trace, path complexity, heat map."""
        self.model.eval()
        idx = self.probe_clean.to(self.device)
        blocks = tangent_kernel(self.model, self.x_train[idx], centered=self.config.centered, layers=self.layers)
        K = sum(blocks.values()).double().cpu()
        Y = self._probe_targets(self.true_train[self.probe_clean])
        n = len(self.probe_clean)
        stats: dict[str, float] = {"align_train": centered_alignment(K, Y)}
        for i, name in enumerate(self.layers):
            stats[f"align_layer{i + 1}"] = centered_alignment(blocks[name].double().cpu(), Y)
        lam = torch.linalg.eigvalsh(K).clamp_min(0.0).flip(0)  # decreasing
        stats.update(eig_max=float(lam[0]), eig_mean=float(lam.mean()), eig_median=float(lam.median()),
                     erank=effective_rank(lam), trace=float(torch.trace(K)) / n)
        stats.update({f"t{k}": v for k, v in zip(T_KS, cumulative_spectrum(lam, list(T_KS)))})
        # the card's trace form: each move ||w_t − w_prev|| is weighed by the kernel where it started (the previous
        # checkpoint's Tr K)
        w, trace = self._flat_weights(), float(torch.trace(K))
        if self._last_trace is not None:
            self._path += float((w - self._last_weights).norm()) * math.sqrt(self._last_trace) / math.sqrt(n)
        self._last_weights, self._last_trace = w, trace
        stats["path_complexity"] = self._path
        stats["checkpoint"] = float(self.it)
        self._kstats.update(stats)
        return {"checkpoint": self.it, "spectrum": lam.numpy(), "heat": _class_heat(K, n, self.c),
                "heat_labels": self.true_train[self.probe_clean].numpy()}

    def _other_probes(self) -> dict[str, Any]:
        """The test probe's alignment (and the corrupted probe's, against its random labels)."""
        self.model.eval()
        idx = self.probe_test.to(self.device)
        K = tangent_kernel(self.model, self.x_test[idx], centered=self.config.centered)
        self._kstats["align_test"] = centered_alignment(K.double().cpu(), self._probe_targets(self.y_test.cpu()[idx]))
        if self.probe_corrupt is not None:
            idx = self.probe_corrupt.to(self.device)
            K = tangent_kernel(self.model, self.x_train[idx], centered=self.config.centered)
            Y = self._probe_targets(self.y_train.cpu()[self.probe_corrupt])
            self._kstats["align_corrupt"] = centered_alignment(K.double().cpu(), Y)
        return {"probes_at": self.it}

    def _metrics(self) -> dict[str, float]:
        out = {"step": float(self.it), **self._sets}
        for m in metrics(self.config):
            if m.name not in out:
                v = self._kstats.get(m.name, 0.0)
                out[m.name] = v if math.isfinite(v) else 0.0
        return out


def _balanced(labels: Tensor, allowed: Tensor, per: int, generator: torch.Generator) -> Tensor:
    """``per`` indices of each class among ``allowed`` (fewer where a class has fewer), sorted by class."""
    out = []
    for cls in range(10):
        pool = torch.nonzero((labels == cls) & allowed).flatten()
        out.append(pool[torch.randperm(len(pool), generator=generator)[:per]].sort().values)
    return torch.cat(out)


def _class_heat(K: Tensor, n: int, c: int) -> np.ndarray:
    """The probe's kernel summed over matching outputs, ``Σ_a K[(i,a),(j,a)]``, as cosines ``k_ij / sqrt(k_ii k_jj)``
    (n, n), examples in probe order (sorted by class); at most ``HEAT_MAX`` examples (evenly thinned)."""
    k = K.reshape(n, c, n, c).diagonal(dim1=1, dim2=3).sum(-1)  # (n, n)
    d = k.diagonal().clamp_min(1e-300).sqrt()
    cos = (k / d[:, None] / d[None, :]).clamp(-1.0, 1.0)
    keep = np.linspace(0, n - 1, min(n, HEAT_MAX)).round().astype(int)
    return cos.numpy()[np.ix_(keep, keep)]


def build(config: Config) -> AlignmentExperiment:
    """Build a feature-alignment run from its config."""
    return AlignmentExperiment(config)

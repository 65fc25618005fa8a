"""Experiments of the adaptive-activation page (``docs/papers/activations.md §4``), on permuted sequential digits.

- ``activations``: static, homogeneous and heterogeneous γ-RNNs from the same weights and the same initial (n, s),
  trained side by side on the same batches, for ``n_seeds`` seeds at once.
- ``activations_grid``: the static landscape over an (n, s) grid (and, optionally, homogeneous runs from the same
  points, whose learned (n, s) draw the adaptation trajectories).
- ``activations_shift``: a heterogeneous network trained on clean digits, then adapted to a sinusoidal change of the
  input statistics by its shape parameters alone, against its readout alone and against no adaptation.

Every configuration of an experiment is one row of a :class:`~neurodyn.activations.rnn.GammaRNNGrid`, so a whole run
is one batched model (card §7). Deviation from the paper, labelled on the page: the shape parameters may train with a
larger learning rate than the weights (``shape_lr_multiplier``; the paper uses one rate for both), since with one rate
they barely move within a live run (card §8). The test accuracy is measured on the 397 held-out digits before
training (epoch 0) and after every epoch; the largest Lyapunov exponent of the input-free recurrence
``h ← γ(V h; n, s)`` (k = 2, bits per step, random orthonormal start, h_0 = 0.5·1) is measured for seed 0 of every
mode after each evaluation, one mode per step, through ``neurodyn.lyapunov.lyapunov_spectrum``'s generic path.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np
import torch
from torch import Tensor

from neurodyn.activations.gamma import MODES
from neurodyn.activations.rnn import GammaRNNGrid
from neurodyn.activations.tasks import PixelSequences, SinTransform, permuted_digits
from neurodyn.core.config import param
from neurodyn.core.loop import Record
from neurodyn.core.seeding import derive_seed, resolve_device, torch_generator
from neurodyn.core.spec import Metric

__all__ = ["Config", "GridConfig", "ShiftConfig", "PRESETS", "GRID_PRESETS", "SHIFT_PRESETS", "METRICS",
           "GRID_METRICS", "SHIFT_METRICS", "GRIDS", "MODE_LABELS", "ModesExperiment", "GridExperiment",
           "ShiftExperiment", "build", "build_grid", "build_shift", "grid_points", "mode_rows", "evaluations",
           "lyapunov_exponent", "N_CLASSES", "SHIFT_ROWS", "shift_parameter_counts"]

N_CLASSES = 10
PERMUTATION_SEED = 0  # one pixel order for every run (activations.md §4)
SPLIT_SEED = 0  # one 1,400 / 397 split for every run
EVAL_ROWS = 6  # networks of 64 neurons evaluated on the 397 test digits per step (about 0.2 s on one thread)
LYAPUNOV_WARMUP, LYAPUNOV_STEPS = 100, 300  # input-free recurrence: steps before measuring, steps measured
MODE_LABELS = {"static": "static", "homogeneous": "homogeneous", "heterogeneous": "heterogeneous"}  # legends
#: Grids of initial (n, s): label -> (gains, saturations). "3 x 3" is the card's small grid (activations.md §4),
#: "9 x 5" the paper's coarse grid (card §2.3).
GRIDS: dict[str, tuple[tuple[float, ...], tuple[float, ...]]] = {
    "3 x 3": ((1.0, 5.0, 10.0), (0.0, 0.5, 1.0)),
    "5 x 5": ((1.0, 5.0, 10.0, 15.0, 20.0), (0.0, 0.25, 0.5, 0.75, 1.0)),
    "9 x 5": ((1.0, 2.5, 5.0, 7.5, 10.0, 12.5, 15.0, 17.5, 20.0), (0.0, 0.25, 0.5, 0.75, 1.0)),
}


def _check_shape_fields(n_init: float, s_init: float) -> None:
    """Refuse a non-finite or non-positive initial gain and a non-finite saturation, naming the field."""
    if not (math.isfinite(n_init) and n_init > 0):
        raise ValueError(f"n_init (the initial gain n) must be a finite number > 0, got {n_init!r}")
    if not math.isfinite(s_init):
        raise ValueError(f"s_init (the initial saturation s) must be a finite number, got {s_init!r}")


def _n_field(default: float) -> Any:
    return param(default, min=0.5, max=20.0, log=True, label="initial gain n",
                 help="initial gain n of every neuron (> 0): low is soft, high is sharp")


def _s_field(default: float) -> Any:
    return param(default, min=0.0, max=1.0, step=0.05, label="initial saturation s",
                 help="initial saturation s of every neuron: 0 is softplus/ReLU-like, 1 is sigmoid/step-like")


_HIDDEN = dict(min=8, max=256, label="neurons N", help="hidden units of the recurrent network")
_SHAPE_LR = dict(min=1.0, max=30.0, label="shape learning-rate multiplier (not in the paper)",
                 help="the shape parameters n, s train at this multiple of the weights' rate; the paper uses 1")


@dataclass(frozen=True)
class Config:
    """Settings of the three-mode run (``activations.md §4``)."""

    n_init: float = _n_field(5.0)
    s_init: float = _s_field(0.5)
    hidden: int = param(64, **_HIDDEN)
    epochs: int = param(10, min=1, max=200, label="epochs", help="passes over the 1,400 training digits")
    lr: float = param(3e-3, min=1e-5, max=3e-2, log=True, label="learning rate", help="Adam step size of the weights")
    shape_lr_multiplier: float = param(1.0, **_SHAPE_LR)
    batch_size: int = param(50, min=10, max=700, label="batch size", help="digits per optimizer step")
    n_seeds: int = param(3, min=1, max=8, label="seeds side by side",
                         help="independent seeds (weights and batch order) trained at once; the claim check needs 2")
    lyapunov: bool = param(True, label="measure the largest Lyapunov exponent",
                           help="after every evaluation: λ_max of the input-free recurrence h ← γ(Vh; n, s), seed 0")
    batches_per_record: int = param(3, min=1, max=28, label="optimizer steps per record",
                                    help="optimizer steps between two records")
    seed: int = param(0, min=0, max=2**31 - 1, label="seed",
                      help="random seed (each side-by-side seed derives its own from it)")
    device: str = param("auto", choices=("auto", "cpu", "cuda"), label="device", help="torch device")

    def __post_init__(self) -> None:
        _check_shape_fields(self.n_init, self.s_init)


@dataclass(frozen=True)
class GridConfig:
    """Settings of the landscape run over an (n, s) grid (``activations.md §4``)."""

    grid: str = param("3 x 3", choices=tuple(GRIDS), label="grid of initial (n, s)",
                      help="3 x 3: n in {1, 5, 10}, s in {0, 0.5, 1}; 5 x 5 and the paper's 9 x 5 are larger")
    homogeneous: bool = param(True, label="also train homogeneous networks (trajectories)",
                              help="from every grid point, a network that learns one shared (n, s): its path")
    hidden: int = param(64, **_HIDDEN)
    epochs: int = param(8, min=1, max=200, label="epochs", help="passes over the 1,400 training digits")
    lr: float = param(3e-3, min=1e-5, max=3e-2, log=True, label="learning rate", help="Adam step size of the weights")
    shape_lr_multiplier: float = param(1.0, **_SHAPE_LR)
    batch_size: int = param(50, min=10, max=700, label="batch size", help="digits per optimizer step")
    batches_per_record: int = param(1, min=1, max=28, label="optimizer steps per record",
                                    help="optimizer steps between two records")
    seed: int = param(0, min=0, max=2**31 - 1, label="seed", help="random seed (the same weights at every point)")
    device: str = param("auto", choices=("auto", "cpu", "cuda"), label="device", help="torch device")


@dataclass(frozen=True)
class ShiftConfig:
    """Settings of the input-shift protocol (``activations.md §4``, unverified as the paper's exact protocol)."""

    n_init: float = _n_field(5.0)
    s_init: float = _s_field(0.5)
    hidden: int = param(64, **_HIDDEN)
    epochs: int = param(10, min=1, max=200, label="training epochs (clean digits)",
                        help="epochs of the heterogeneous network on clean digits before the shift")
    lr: float = param(3e-3, min=1e-5, max=3e-2, log=True, label="learning rate", help="Adam step size of the weights")
    shape_lr_multiplier: float = param(1.0, **_SHAPE_LR)
    amplitude: float = param(0.8, min=0.0, max=1.0, step=0.05, label="shift amplitude A",
                             help="each pixel at step t is multiplied by 1 + A sin(2π f t / 64)")
    frequency: float = param(1.0, min=0.0, max=4.0, step=0.25, label="shift frequency f",
                             help="cycles of the sinusoid over the 64 steps of a sequence")
    adapt_epochs: int = param(3, min=1, max=50, label="adaptation epochs", help="epochs on shifted training digits")
    adapt_lr: float = param(1e-2, min=1e-4, max=1e-1, log=True, label="adaptation learning rate",
                            help="Adam step size while adapting (shapes only, or readout only)")
    batch_size: int = param(50, min=10, max=700, label="batch size", help="digits per optimizer step")
    batches_per_record: int = param(4, min=1, max=28, label="optimizer steps per record",
                                    help="optimizer steps between two records")
    seed: int = param(0, min=0, max=2**31 - 1, label="seed", help="random seed (weights and batch order)")
    device: str = param("auto", choices=("auto", "cpu", "cuda"), label="device", help="torch device")

    def __post_init__(self) -> None:
        _check_shape_fields(self.n_init, self.s_init)


PRESETS: dict[str, Config] = {
    # activations.md §4: N = 64, batch 50, Adam 3e-3, 10 epochs, three seeds at once (G = 9, the benchmark's size)
    "small": Config(),
    "talk": Config(epochs=6, n_seeds=2),
    # the paper's psMNIST optimiser and its single learning rate, on the offline digits (N = 400 would not run live)
    "paper": Config(n_init=10.0, s_init=0.0, hidden=128, lr=1e-4, shape_lr_multiplier=1.0, epochs=100, batch_size=100,
                    n_seeds=4),
}
GRID_PRESETS: dict[str, GridConfig] = {
    "small": GridConfig(),
    "talk": GridConfig(epochs=5),
    "paper": GridConfig(grid="9 x 5", hidden=128, lr=1e-4, shape_lr_multiplier=1.0, epochs=100, batch_size=100),
}
SHIFT_PRESETS: dict[str, ShiftConfig] = {
    "small": ShiftConfig(),
    "talk": ShiftConfig(epochs=6, adapt_epochs=2),
    "paper": ShiftConfig(n_init=10.0, s_init=0.0, hidden=128, lr=1e-4, shape_lr_multiplier=1.0, epochs=100,
                         batch_size=100),
}

METRICS: tuple[Metric, ...] = (
    Metric("epoch", "", "epochs trained"),
    Metric("eval_epoch", "", "epoch of the latest test evaluation"),
    *(Metric(f"loss_{m}", "nats", f"{m}: training loss (mean over seeds)") for m in MODES),
    *(Metric(f"acc_{m}", "", f"{m}: test accuracy (mean over seeds)") for m in MODES),
    Metric("hom_n", "", "homogeneous: learned gain n (seed 0)"),
    Metric("hom_s", "", "homogeneous: learned saturation s (seed 0)"),
    Metric("het_n_mean", "", "heterogeneous: mean gain over neurons (seed 0)"),
    Metric("het_n_std", "", "heterogeneous: spread (std) of the gains (seed 0)"),
    Metric("het_s_mean", "", "heterogeneous: mean saturation over neurons (seed 0)"),
    Metric("het_s_std", "", "heterogeneous: spread (std) of the saturations (seed 0)"),
    *(Metric(f"lyap_{m}", "bits/step", f"{m}: largest Lyapunov exponent of the input-free recurrence (seed 0)")
      for m in MODES),
    Metric("clamped", "", "neurons whose gain hit the floor n = 0.01 (all networks)"),
)
GRID_METRICS: tuple[Metric, ...] = (
    Metric("epoch", "", "epochs trained"),
    Metric("eval_epoch", "", "epoch of the latest test evaluation"),
    Metric("loss_mean", "nats", "training loss, mean over the grid"),
    Metric("best_static_acc", "", "best static test accuracy on the grid"),
    Metric("acc_s0", "", "static test accuracy, mean over the s = 0 starts"),
    Metric("acc_s1", "", "static test accuracy, mean over the s = 1 starts"),
    Metric("clamped", "", "neurons whose gain hit the floor n = 0.01 (all networks)"),
)
SHIFT_METRICS: tuple[Metric, ...] = (
    Metric("epoch", "", "epochs trained (training, then adaptation)"),
    Metric("phase", "", "0 while training on clean digits, 1 while adapting to the shift"),
    Metric("loss", "nats", "training loss (clean, then shifted digits: mean of the two adapted copies)"),
    Metric("clean_acc", "", "no adaptation: test accuracy on clean digits"),
    Metric("shifted_acc", "", "no adaptation: test accuracy on shifted digits"),
    Metric("shape_clean_acc", "", "shape-only adaptation: test accuracy on clean digits"),
    Metric("shape_shifted_acc", "", "shape-only adaptation: test accuracy on shifted digits"),
    Metric("readout_clean_acc", "", "readout-only adaptation: test accuracy on clean digits"),
    Metric("readout_shifted_acc", "", "readout-only adaptation: test accuracy on shifted digits"),
    Metric("clamped", "", "neurons whose gain hit the floor n = 0.01"),
)


def grid_points(config: GridConfig) -> list[tuple[float, float, str]]:
    """The grid run's configurations in row order: every (n, s) static, then (if on) every (n, s) homogeneous.

    Returns
    -------
    list of (n, s, mode), length G
    """
    gains, sats = GRIDS[config.grid]
    modes = ("static", "homogeneous") if config.homogeneous else ("static",)
    return [(n, s, mode) for mode in modes for s in sats for n in gains]


def mode_rows(config: Config, mode: str) -> list[int]:
    """Rows of the three-mode run's grid that hold ``mode`` (one per seed; row ``m · n_seeds + i`` is seed i)."""
    m = MODES.index(mode)
    return list(range(m * config.n_seeds, (m + 1) * config.n_seeds))


def evaluations(records: Sequence[Record]) -> list[Record]:
    """The records that carry a test evaluation (artifact ``acc``), in order."""
    return [r for r in records if "acc" in r.artifacts]


def lyapunov_exponent(grid: GammaRNNGrid, g: int, seed: int) -> float:
    """Largest Lyapunov exponent (bits per step) of row g's input-free recurrence ``h ← γ(V h; n, s)``.

    QR method of ``neurodyn.lyapunov`` (generic step, Jacobians by autograd), k = 2 exponents from a random
    orthonormal basis, h_0 = 0.5·1, ``LYAPUNOV_WARMUP`` steps, then ``LYAPUNOV_STEPS`` measured (card §2.3(i)).

    Parameters
    ----------
    grid : GammaRNNGrid
    g : int
        Row (configuration) index.
    seed : int
        Seeds the random starting basis.

    Returns
    -------
    float
    """
    from neurodyn.lyapunov import lyapunov_spectrum

    N = grid.V.shape[1]
    steps = LYAPUNOV_WARMUP + LYAPUNOV_STEPS
    spec = lyapunov_spectrum(grid.free_recurrence(g).cpu(), torch.zeros(1, steps, 1, dtype=torch.float64),
                             h0=torch.full((1, N), 0.5, dtype=torch.float64), k=2, warmup=LYAPUNOV_WARMUP, base=2,
                             q0="random", generator=torch_generator(seed))
    return float(spec.exponents[0, 0])


class _Trainer:
    """Adam on a :class:`GammaRNNGrid` whose rows share batches by data stream (one stream per seed)."""

    def __init__(self, grid: GammaRNNGrid, streams: Sequence[int], data: PixelSequences, *, lr: float,
                 shape_lr: float, batch_size: int, seed: int, device: torch.device,
                 transform: SinTransform | None = None) -> None:
        self.grid = grid.to(device)
        self.device = device
        self.streams = torch.as_tensor(streams)  # (G,): row g draws its batches from stream streams[g]
        self.n_streams = int(self.streams.max()) + 1
        self.data = data
        self.transform = transform
        self.batch_size = batch_size
        self.batches_per_epoch = math.ceil(len(data.y_train) / batch_size)
        self.opt = torch.optim.Adam([{"params": grid.weight_parameters(), "lr": lr},
                                     {"params": grid.shape_parameters(), "lr": shape_lr}])
        self.generators = [torch_generator(derive_seed(seed, "batches", i)) for i in range(self.n_streams)]
        self.orders: list[Tensor] = []  # this epoch's batch order per stream (drawn at its first batch)
        self.row_losses = np.full(len(self.streams), np.nan)  # (G,): mean loss of the latest batches per row
        self.batch = 0  # batches trained in the current epoch
        self.epoch = 0

    def _x(self, x: Tensor) -> Tensor:
        return self.transform(x) if self.transform is not None else x

    def _batch(self) -> tuple[Tensor, Tensor]:
        if self.batch == 0 and not self.orders:
            self.orders = [torch.randperm(len(self.data.y_train), generator=g) for g in self.generators]
        lo = self.batch * self.batch_size
        idx = torch.stack([o[lo:lo + self.batch_size] for o in self.orders])[self.streams]  # (G, B)
        return self._x(self.data.x_train[idx]).to(self.device), self.data.y_train[idx].to(self.device)

    @torch.no_grad()
    def initial_losses(self) -> np.ndarray:
        """Training loss of every row on the first batch, before any step; shape (G,). Sets :attr:`row_losses`."""
        loss, _ = self.grid.losses(*self._batch())
        self.row_losses = loss.cpu().numpy().astype(np.float64)
        return self.row_losses

    def train(self, n_batches: int, grad_mask: dict[str, Tensor] | None = None) -> np.ndarray:
        """Up to ``n_batches`` Adam steps, never past the end of the epoch.

        Parameters
        ----------
        n_batches : int
        grad_mask : mapping of str to Tensor of shape (G,), optional
            Parameter name -> 1 where a row trains that parameter, 0 where it is frozen (its gradient is zeroed
            before the step; Adam then leaves it exactly unchanged).

        Returns
        -------
        ndarray, shape (G,)
            Mean training loss of every row over these batches (also kept as :attr:`row_losses`).
        """
        losses = []
        for _ in range(min(n_batches, self.batches_per_epoch - self.batch)):
            x, y = self._batch()  # (G, B, 64, 1), (G, B)
            loss, _ = self.grid.losses(x, y)
            self.opt.zero_grad(set_to_none=True)
            loss.sum().backward()
            if grad_mask is not None:
                for name, keep in grad_mask.items():
                    p = getattr(self.grid, name)
                    p.grad.mul_(keep.view(-1, *([1] * (p.dim() - 1))).to(p.grad))
            self.opt.step()
            losses.append(loss.detach())
            self.batch += 1
        if self.batch == self.batches_per_epoch:
            self.batch, self.epoch, self.orders = 0, self.epoch + 1, []
        if losses:
            self.row_losses = torch.stack(losses).mean(0).cpu().numpy().astype(np.float64)
        return self.row_losses

    @property
    def progress(self) -> float:
        """Epochs trained, with the fraction of the current one."""
        return self.epoch + self.batch / self.batches_per_epoch

    @torch.no_grad()
    def accuracy(self, transform: SinTransform | None = None, rows: Sequence[int] | None = None) -> np.ndarray:
        """Test accuracy of every row (or of ``rows``), shape (G,) (or (len(rows),))."""
        x = self.data.x_test if transform is None else transform(self.data.x_test)
        _, acc = self.grid.losses(x.to(self.device), self.data.y_test.to(self.device), rows)
        return acc.cpu().numpy().astype(np.float64)

    def eval_chunks(self) -> list[list[int]]:
        """Rows in groups small enough that evaluating one group stays well under the 0.5 s step budget."""
        G = self.grid.size
        size = max(1, EVAL_ROWS * 64 // max(self.grid.V.shape[1], 1))
        return [list(range(lo, min(lo + size, G))) for lo in range(0, G, size)]


def _row_seeds(seed: int, n_seeds: int) -> list[int]:
    return [derive_seed(seed, "weights", i) for i in range(n_seeds)]


class ModesExperiment:
    """Static, homogeneous and heterogeneous γ-RNNs side by side, ``n_seeds`` seeds each, as one batched model.

    Row ``m · n_seeds + i`` is mode ``MODES[m]`` with seed i: the three modes of a seed start from the same weights
    and the same (n, s) and see the same batches. A step does one of: a part of a test evaluation (before training and
    after every epoch, a few networks per step), one mode's Lyapunov exponent (after an evaluation, if on), or
    ``batches_per_record`` batches.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        S = config.n_seeds
        shapes = [(config.n_init, config.s_init, mode) for mode in MODES for _ in range(S)]
        grid = GammaRNNGrid.from_shapes(shapes, 1, config.hidden, N_CLASSES, _row_seeds(config.seed, S) * len(MODES))
        self.trainer = _Trainer(grid, list(range(S)) * len(MODES), permuted_digits(PERMUTATION_SEED, SPLIT_SEED),
                                lr=config.lr, shape_lr=config.lr * config.shape_lr_multiplier,
                                batch_size=config.batch_size, seed=config.seed, device=resolve_device(config.device))
        per_epoch = math.ceil(self.trainer.batches_per_epoch / config.batches_per_record)
        lyap = len(MODES) if config.lyapunov else 0
        self._chunks = self.trainer.eval_chunks()
        self.total_steps = (config.epochs + 1) * (len(self._chunks) + lyap) + config.epochs * per_epoch
        self.k = 0
        self._pending: list[tuple[str, Any]] = []  # evaluation parts and exponents owed before training resumes
        self._partial = np.zeros(grid.size)
        self._acc = {m: 0.0 for m in MODES}
        self._lyap = {m: 0.0 for m in MODES}
        self._eval_epoch = 0

    @property
    def done(self) -> bool:
        """True once every epoch is trained and its evaluation (and exponents) recorded."""
        return self.k >= self.total_steps

    def step(self) -> Record:
        """One unit of work; see the class notes."""
        artifacts: dict[str, Any] = {}
        grid, S = self.trainer.grid, self.config.n_seeds
        if self.k == 0:
            self.trainer.initial_losses()
            self._pending = [("eval", i) for i in range(len(self._chunks))]
        if self._pending:
            job, arg = self._pending.pop(0)
            if job == "eval":
                rows = self._chunks[arg]
                self._partial[rows] = self.trainer.accuracy(rows=rows)
                if arg == len(self._chunks) - 1:
                    artifacts = self._evaluated()
            else:
                value = lyapunov_exponent(grid, MODES.index(arg) * S, derive_seed(self.config.seed, "lyapunov"))
                self._lyap[arg] = value
                artifacts = {"lyap": value, "lyap_mode": arg, "lyap_epoch": self._eval_epoch}
        else:
            self.trainer.train(self.config.batches_per_record)
            if self.trainer.batch == 0:  # an epoch ended: evaluate it over the next steps
                self._pending = [("eval", i) for i in range(len(self._chunks))]
        rec = Record(self.k, self._metrics(), artifacts)
        self.k += 1
        return rec

    def _evaluated(self) -> dict[str, Any]:
        grid, acc = self.trainer.grid, self._partial.copy()
        self._eval_epoch = self.trainer.epoch
        self._acc = {m: float(acc[mode_rows(self.config, m)].mean()) for m in MODES}
        if self.config.lyapunov:
            self._pending += [("lyap", m) for m in MODES]
        return {"acc": acc, "n": grid.n.detach().cpu().numpy().astype(np.float64),
                "s": grid.s.detach().cpu().numpy().astype(np.float64), "epoch": self._eval_epoch}

    def _metrics(self) -> dict[str, float]:
        grid, S = self.trainer.grid, self.config.n_seeds
        het = MODES.index("heterogeneous") * S
        hom = MODES.index("homogeneous") * S
        n_het, s_het = grid.n[het].detach(), grid.s[het].detach()
        metrics = {"epoch": float(self.trainer.progress), "eval_epoch": float(self._eval_epoch)}
        metrics.update({f"loss_{m}": float(self.trainer.row_losses[mode_rows(self.config, m)].mean()) for m in MODES})
        metrics.update({f"acc_{m}": self._acc[m] for m in MODES})
        metrics.update({"hom_n": float(grid.n[hom, 0].detach()), "hom_s": float(grid.s[hom, 0].detach()),
                        "het_n_mean": float(n_het.mean()), "het_n_std": float(n_het.std()),
                        "het_s_mean": float(s_het.mean()), "het_s_std": float(s_het.std())})
        metrics.update({f"lyap_{m}": self._lyap[m] for m in MODES})
        metrics["clamped"] = float(grid.clamped())
        return metrics


def build(config: Config) -> ModesExperiment:
    """Build a three-mode run from its config."""
    return ModesExperiment(config)


class GridExperiment:
    """The static landscape over an (n, s) grid, and homogeneous runs from the same points, as one batched model.

    Every configuration starts from the same weights (one seed), so the grid varies the initial shape alone; all see
    the same batches. Rows follow :func:`grid_points`. The test evaluation runs before training and after every epoch,
    a few networks per step.
    """

    def __init__(self, config: GridConfig) -> None:
        self.config = config
        points = grid_points(config)
        grid = GammaRNNGrid.from_shapes(points, 1, config.hidden, N_CLASSES,
                                        [derive_seed(config.seed, "weights", 0)] * len(points))
        self.trainer = _Trainer(grid, [0] * len(points), permuted_digits(PERMUTATION_SEED, SPLIT_SEED), lr=config.lr,
                                shape_lr=config.lr * config.shape_lr_multiplier, batch_size=config.batch_size,
                                seed=config.seed, device=resolve_device(config.device))
        self._chunks = self.trainer.eval_chunks()
        self.total_steps = ((config.epochs + 1) * len(self._chunks)
                            + config.epochs * math.ceil(self.trainer.batches_per_epoch / config.batches_per_record))
        self.k = 0
        static = np.array([mode == "static" for _, _, mode in points])
        sats = np.array([s for _, s, _ in points])
        self._static = static
        self._s0, self._s1 = static & (sats == 0.0), static & (sats == 1.0)
        self._pending: list[int] = []  # evaluation parts owed before training resumes
        self._partial = np.zeros(len(points))
        self._acc = np.zeros(len(points))
        self._eval_epoch = 0

    @property
    def done(self) -> bool:
        """True after the last epoch's evaluation."""
        return self.k >= self.total_steps

    def step(self) -> Record:
        """One part of a test evaluation (before training and after every epoch), or ``batches_per_record``
        batches."""
        artifacts: dict[str, Any] = {}
        if self.k == 0:
            self.trainer.initial_losses()
            self._pending = list(range(len(self._chunks)))
        if self._pending:
            part = self._pending.pop(0)
            rows = self._chunks[part]
            self._partial[rows] = self.trainer.accuracy(rows=rows)
            if part == len(self._chunks) - 1:
                artifacts = self._evaluated()
        else:
            self.trainer.train(self.config.batches_per_record)
            if self.trainer.batch == 0:
                self._pending = list(range(len(self._chunks)))
        rec = Record(self.k, self._metrics(), artifacts)
        self.k += 1
        return rec

    def _evaluated(self) -> dict[str, Any]:
        grid = self.trainer.grid
        self._acc = self._partial.copy()
        self._eval_epoch = self.trainer.epoch
        return {"acc": self._acc, "n": grid.n.detach()[:, 0].cpu().numpy().astype(np.float64),
                "s": grid.s.detach()[:, 0].cpu().numpy().astype(np.float64), "epoch": self._eval_epoch}

    def _metrics(self) -> dict[str, float]:
        acc = self._acc
        return {"epoch": float(self.trainer.progress), "eval_epoch": float(self._eval_epoch),
                "loss_mean": float(self.trainer.row_losses.mean()),
                "best_static_acc": float(acc[self._static].max()),
                "acc_s0": float(acc[self._s0].mean()) if self._s0.any() else 0.0,
                "acc_s1": float(acc[self._s1].mean()) if self._s1.any() else 0.0,
                "clamped": float(self.trainer.grid.clamped())}


def build_grid(config: GridConfig) -> GridExperiment:
    """Build a grid run from its config."""
    return GridExperiment(config)


#: The two adapted copies of the shift protocol: row -> the parameters it trains (the others are frozen).
SHIFT_ROWS = {"shape": ("n", "s"), "readout": ("W", "b")}


def shift_parameter_counts(config: ShiftConfig) -> dict[str, int]:
    """Parameters each adaptation trains: shape-only 2N, readout-only 10 N + 10."""
    return {"shape": 2 * config.hidden, "readout": N_CLASSES * config.hidden + N_CLASSES}


class ShiftExperiment:
    """Train a heterogeneous γ-RNN on clean digits, then adapt two copies to shifted inputs.

    Phase 0: ``epochs`` epochs on clean digits. Phase 1: two copies of the trained network, one training only its
    shape parameters (n_i, s_i), one only its readout, each with Adam at ``adapt_lr`` on the training digits under the
    :class:`SinTransform` of the config, for ``adapt_epochs`` epochs; the trained network itself is the
    "no adaptation" reference. Test accuracy on clean and shifted digits after every epoch.
    """

    def __init__(self, config: ShiftConfig) -> None:
        self.config = config
        self.device = resolve_device(config.device)
        self.data = permuted_digits(PERMUTATION_SEED, SPLIT_SEED)
        self.shift = SinTransform(config.amplitude, config.frequency, period=64)
        grid = GammaRNNGrid.from_shapes([(config.n_init, config.s_init, "heterogeneous")], 1, config.hidden, N_CLASSES,
                                        [derive_seed(config.seed, "weights", 0)])
        self.trainer = _Trainer(grid, [0], self.data, lr=config.lr, shape_lr=config.lr * config.shape_lr_multiplier,
                                batch_size=config.batch_size, seed=config.seed, device=self.device)
        self.adapter: _Trainer | None = None
        per_epoch = math.ceil(self.trainer.batches_per_epoch / config.batches_per_record)
        self.total_steps = (config.epochs + config.adapt_epochs) * per_epoch
        self.k = 0
        self._acc = {"clean": 0.0, "shifted": 0.0}
        self._adapted = {f"{row}_{split}": 0.0 for row in SHIFT_ROWS for split in ("clean", "shifted")}
        self._loss = math.nan

    @property
    def done(self) -> bool:
        """True after the last adaptation epoch."""
        return self.k >= self.total_steps

    @property
    def phase(self) -> int:
        """0 while training on clean digits, 1 while adapting."""
        return 0 if self.adapter is None else 1

    def step(self) -> Record:
        """``batches_per_record`` batches of the current phase, with the evaluations at epoch ends."""
        artifacts: dict[str, Any] = {}
        cfg = self.config
        if self.adapter is None and self.trainer.epoch >= cfg.epochs:
            self._start_adaptation()
        if self.adapter is None:
            if self.k == 0:  # the untrained network, epoch 0
                self._evaluate_base()
                artifacts = {"epoch": 0, **self._acc}
            self._loss = float(self.trainer.train(cfg.batches_per_record).mean())
            if self.trainer.batch == 0:
                self._evaluate_base()
                artifacts = {"epoch": self.trainer.epoch, **self._acc}
        else:
            self._loss = float(self.adapter.train(cfg.batches_per_record, grad_mask=self._mask).mean())
            if self.adapter.batch == 0:
                self._evaluate_adapted()
                artifacts = {"adapt_epoch": self.adapter.epoch, **self._adapted}
        rec = Record(self.k, self._metrics(), artifacts)
        self.k += 1
        return rec

    def _evaluate_base(self) -> None:
        self._acc = {"clean": float(self.trainer.accuracy()[0]),
                     "shifted": float(self.trainer.accuracy(self.shift)[0])}
        self._adapted = {f"{row}_{split}": self._acc[split] for row in SHIFT_ROWS for split in ("clean", "shifted")}

    def _start_adaptation(self) -> None:
        base = self.trainer.grid
        copies = GammaRNNGrid.from_shapes([(1.0, 0.0, "heterogeneous")] * len(SHIFT_ROWS), 1, self.config.hidden,
                                          N_CLASSES, [0] * len(SHIFT_ROWS))
        with torch.no_grad():
            for name, p in copies.named_parameters():
                p.copy_(getattr(base, name).detach().cpu().expand_as(p))
        # per parameter, 1 on the rows that train it and 0 on the rows that keep it (SHIFT_ROWS)
        self._mask = {name: torch.tensor([float(name in trained) for trained in SHIFT_ROWS.values()])
                      for name, _ in copies.named_parameters()}
        self.adapter = _Trainer(copies, [0] * len(SHIFT_ROWS), self.data, lr=self.config.adapt_lr,
                                shape_lr=self.config.adapt_lr, batch_size=self.config.batch_size,
                                seed=derive_seed(self.config.seed, "adapt"), device=self.device,
                                transform=self.shift)

    def _evaluate_adapted(self) -> None:
        assert self.adapter is not None
        clean, shifted = self.adapter.accuracy(), self.adapter.accuracy(self.shift)
        for i, row in enumerate(SHIFT_ROWS):
            self._adapted[f"{row}_clean"], self._adapted[f"{row}_shifted"] = float(clean[i]), float(shifted[i])

    def _metrics(self) -> dict[str, float]:
        trainer = self.trainer if self.adapter is None else self.adapter
        epoch = self.trainer.progress if self.adapter is None else self.trainer.epoch + self.adapter.progress
        return {"epoch": float(epoch), "phase": float(self.phase), "loss": self._loss,
                "clean_acc": self._acc["clean"], "shifted_acc": self._acc["shifted"],
                "shape_clean_acc": self._adapted["shape_clean"], "shape_shifted_acc": self._adapted["shape_shifted"],
                "readout_clean_acc": self._adapted["readout_clean"],
                "readout_shifted_acc": self._adapted["readout_shifted"],
                "clamped": float(trainer.grid.clamped())}


def build_shift(config: ShiftConfig) -> ShiftExperiment:
    """Build a shift run from its config."""
    return ShiftExperiment(config)

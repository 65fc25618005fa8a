"""Experiment ``brims``: BRIMs, the RIMs stack (no top-down) and an LSTM trained on row-by-row digits, then probed.

BRIMs, arXiv:2006.16981; card ``08-brims.md`` sections 3-4 (the SMALL preset and the "robustness to distraction"
demo). The models train on clean digits only (unless ``train_distractors``) on the same batches. After each epoch
they are evaluated on the 397 held-out digits, clean and with ``probe_rows`` distractor rows appended; every
``artifact_every`` epochs (and at the last) the probe curves are measured (distractor rows K, pixel noise sigma,
time stretch) and BRIMs' module activations are recorded for the first test digit. Every probe is one batched
no-grad pass with a fixed generator, so curves are comparable between models and epochs.

Models (card section 3): BRIMs 6 x 8 units (k = 4) under 4 x 8 units (k = 2), encoder Linear(8, 32), input
attention 4 heads with d_k = 32 and a read of 2 d per module, communication 2 heads of 16; the RIMs stack is the
same without the top-down slot; the LSTM is a 2-layer ``nn.LSTM(32, 64)`` on the same encoder width. Adam, gradient
norm clipped at 1, no dropout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neurodyn.brims.mechanisms import BRIMs
from neurodyn.brims.tasks import N_TRAIN, digit_rows, stretched, with_distractors, with_noise
from neurodyn.core.config import param
from neurodyn.core.loop import Record
from neurodyn.core.seeding import derive_seed, resolve_device, torch_generator

__all__ = ["Config", "PRESETS", "TITLE", "PAPER", "LSTMClassifier", "BRIMsExperiment", "build", "build_models",
           "model_names", "PROBE_ROWS", "PROBE_SIGMAS", "PROBE_STEPS", "parameter_table", "raster_input"]

TITLE = "BRIMs: robustness to distraction"
PAPER = "arXiv:2006.16981"
PROBE_ROWS = (0, 2, 4, 8)  # distractor rows K (card section 4)
PROBE_SIGMAS = (0.0, 0.2, 0.4, 0.6)  # pixel noise
PROBE_STEPS = (8, 10, 12, 16)  # rows after nearest-neighbour time stretch
PROBE_SEED = 7_919  # one generator seed for every probe, model and epoch
SPLIT_SEED = 0  # the 1,400 / 397 split is the same for every run seed
_PROBES = ("probe_distractors", "probe_noise", "probe_stretch")


@dataclass(frozen=True)
class Config:
    """Settings of one run (card section 4 controls)."""

    n_modules_1: int = param(6, min=1, max=12, help="modules in layer 1 (bottom)")
    k_active_1: int = param(4, min=1, max=12, help="modules updated per step in layer 1")
    n_modules_2: int = param(4, min=1, max=12, help="modules in layer 2 (top)")
    k_active_2: int = param(2, min=1, max=12, help="modules updated per step in layer 2")
    d_module_1: int = param(8, min=2, max=128, help="units per module in layer 1")
    d_module_2: int = param(8, min=2, max=128, help="units per module in layer 2")
    d_embed: int = param(32, min=8, max=512, help="encoder width (input to layer 1 and to the LSTM)")
    input_heads: int = param(4, min=1, max=8, help="heads of the input attention")
    d_key: int = param(32, min=4, max=128, help="query/key width per head of the input attention")
    communication: bool = param(True, help="active modules exchange information after their update")
    rims_baseline: bool = param(True, help="also train the RIMs stack: the same model without the top-down slot")
    lstm_baseline: bool = param(True, help="also train a 2-layer LSTM")
    lstm_hidden: int = param(64, min=8, max=512, help="LSTM units per layer")
    train_distractors: bool = param(False, help="append 0-8 random distractor rows to every training batch")
    epochs: int = param(20, min=1, max=200, help="passes over the 1,400 training digits")
    lr: float = param(5e-3, min=1e-4, max=3e-2, log=True, help="Adam step size")
    batch_size: int = param(64, min=8, max=512, help="digits per optimizer step")
    clip: float = param(1.0, min=0.1, max=10.0, help="gradient-norm clip")
    batches_per_record: int = param(2, min=1, max=50, help="optimizer steps of every model per record")
    probe_rows: int = param(4, min=0, max=16, help="distractor rows K for the per-epoch metric and the raster")
    probe_p: float = param(0.3, min=0.0, max=1.0, help="probability of a lit distractor pixel")
    artifact_every: int = param(10, min=1, max=200, help="epochs between two probe sweeps (and the last epoch)")
    seed: int = param(0, min=0, max=2**31 - 1, help="random seed (initialisation and batch order)")
    device: str = param("auto", choices=("auto", "cpu", "cuda"), help="torch device")

    def __post_init__(self) -> None:
        for layer in (1, 2):
            n, k = getattr(self, f"n_modules_{layer}"), getattr(self, f"k_active_{layer}")
            if k > n:
                raise ValueError(f"k_active_{layer}={k} exceeds n_modules_{layer}={n}: at most every module of a "
                                 "layer can be active")
        read = (2 * self.d_module_1, 2 * self.d_module_2)
        if any(r % self.input_heads for r in read):
            raise ValueError(f"input_heads={self.input_heads} must divide the read widths 2 * d_module = {read}")


PRESETS: dict[str, Config] = {
    # card section 3 SMALL preset (20 epochs); about 36 s for all three models on one thread here
    "small": Config(),
    # a shorter run for a talk: the distraction gap is already clear after 12 epochs
    "talk": Config(epochs=12, artifact_every=4),
    # the reference's sequential-MNIST model shape (emsize 300; 6 x 50 units, k = 4, under 3 x 100, k = 2; input
    # attention 4 heads of 64; Adam 1e-3; 100 epochs), on the digits that ship offline instead of MNIST
    "paper": Config(n_modules_1=6, k_active_1=4, n_modules_2=3, k_active_2=2, d_module_1=50, d_module_2=100,
                    d_embed=300, d_key=64, lstm_hidden=300, lr=1e-3, epochs=100, artifact_every=10),
}


class LSTMClassifier(nn.Module):
    """Encoder ``Linear(d_input, d_embed)``, a 2-layer LSTM, and a classifier on the last step's top state.

    Shapes: (B, T, d_input) -> (B, n_classes).
    """

    def __init__(self, d_input: int, n_classes: int, d_embed: int = 32, hidden: int = 64) -> None:
        super().__init__()
        self.encoder = nn.Linear(d_input, d_embed)
        self.lstm = nn.LSTM(d_embed, hidden, num_layers=2, batch_first=True)
        self.readout = nn.Linear(hidden, n_classes)

    def forward(self, x: Tensor) -> Tensor:
        """Logits (B, n_classes) from the top layer at the last step."""
        return self.readout(self.lstm(self.encoder(x))[0][:, -1])


def model_names(config: Config) -> list[str]:
    """The models a run trains, in drawing order: ``brims``, then ``rims`` and ``lstm`` when enabled."""
    return ["brims"] + ["rims"] * config.rims_baseline + ["lstm"] * config.lstm_baseline


def build_models(config: Config, device: torch.device | str = "cpu") -> dict[str, nn.Module]:
    """The run's models, initialised from ``config.seed`` (each from its own derived seed)."""
    cfg = config
    kwargs = dict(n_modules=(cfg.n_modules_1, cfg.n_modules_2), d_module=(cfg.d_module_1, cfg.d_module_2),
                  k_active=(cfg.k_active_1, cfg.k_active_2), d_embed=cfg.d_embed, communication=cfg.communication,
                  input_heads=cfg.input_heads, d_key=cfg.d_key)
    models: dict[str, nn.Module] = {}
    for name in model_names(cfg):
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(derive_seed(cfg.seed, "init", name))
            if name == "lstm":
                models[name] = LSTMClassifier(8, 10, cfg.d_embed, cfg.lstm_hidden)
            else:
                models[name] = BRIMs(8, 10, top_down=name == "brims", **kwargs)
        models[name].to(device)
    return models


def parameter_table(config: Config) -> list[dict[str, object]]:
    """Rows (model, what it is, parameters) for the page."""
    what = {"brims": "layers of modules with top-down attention", "rims": "the same stack, no top-down slot",
            "lstm": f"2-layer LSTM({config.d_embed}, {config.lstm_hidden})"}
    return [{"model": name, "what": what[name], "parameters": sum(p.numel() for p in m.parameters())}
            for name, m in build_models(config).items()]


def _distracted_test_set(config: Config, device: torch.device | str = "cpu") -> tuple[Tensor, Tensor]:
    """The held-out digits with ``probe_rows`` distractor rows (fixed draws), and their labels."""
    data = digit_rows(SPLIT_SEED)
    x = with_distractors(data.x_test.to(device), config.probe_rows, config.probe_p,
                         generator=torch_generator(PROBE_SEED, device))
    return x, data.y_test.to(device)


def raster_input(config: Config) -> tuple[np.ndarray, int]:
    """What the module-activation raster of a run of ``config`` is measured on, before any run.

    Returns
    -------
    image : ndarray, shape (8 + probe_rows, 8)
        The first held-out digit, one row per time step, followed by its distractor rows.
    label : int
    """
    x, y = _distracted_test_set(config)
    return x[0].numpy(), int(y[0])


def _accuracy(logits: Tensor, y: Tensor) -> float:
    return float((logits.argmax(-1) == y).float().mean().item())


def _over_time(traces: list, layer: int, field: str) -> Tensor:
    """One field of a layer's traces stacked over time: ``mask`` (B, T, n) or ``alpha`` (B, T, n, slots)."""
    return torch.stack([getattr(step[layer], field) for step in traces], dim=1)


class BRIMsExperiment:
    """BRIMs and its baselines trained side by side on row-by-row digits.

    A run is a fixed schedule of short work units, one per ``step()`` so that Stop always answers within a
    fraction of a second: ``batches_per_record`` optimizer steps of every model on the same batch, then, at each
    epoch's end, one evaluation unit per model and a raster unit, and every ``artifact_every`` epochs (and at the last)
    the probe sweep (one unit per model and probe). Before the first unit the untrained models are
    evaluated once, so every metric is defined from the first record on; metrics are carried until updated.

    Metrics (every record): ``epoch`` (epochs of training done, fractional), ``eval_epoch`` (the epoch of the
    latest complete evaluation), and per model ``m`` in :func:`model_names`: ``{m}_train_loss`` (mean over the
    latest unit's batches), ``{m}_test_acc`` (clean), ``{m}_distracted_acc`` (``probe_rows`` distractor rows); for
    BRIMs' layers ``l`` = 1, 2 on the clean test set: ``null_mass_{l}``, ``bottom_up_mass_{l}``,
    ``top_down_mass_{l}`` (mean input attention per slot; 0 where the layer has no top-down slot),
    ``switch_rate_{l}`` (fraction of steps at which the active set changes), ``active_mean_{l}`` (k_l / n_l by
    construction); and ``done``.

    Artifacts:

    - the raster unit at the end of every epoch: ``raster`` (T, n_1 + n_2) of 0/1,
      BRIMs' active modules for the first test digit with ``probe_rows`` distractor rows (layer 1, then layer 2);
      ``raster_alpha_1`` (T, n_1, 3), ``raster_alpha_2`` (T, n_2, 2): its input attention over [null,
      bottom-up(, top-down)]; ``raster_digit`` (8, 8); ``raster_label``; ``raster_prediction``; ``probe_rows_shown``;
      ``slot_mass`` (2 layers, 2 segments (digit rows, distractor rows), 3 slots) over the test set;
      ``active_fraction_1`` (n_1,), ``active_fraction_2`` (n_2,) on clean digits; ``raster_epoch``.
    - the last unit of a probe sweep (every ``artifact_every`` epochs and the last): ``probe_distractors``,
      ``probe_noise``, ``probe_stretch``, each (models, 4) over :data:`PROBE_ROWS`,
      :data:`PROBE_SIGMAS`, :data:`PROBE_STEPS`; ``probe_epoch``.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.device = resolve_device(config.device)
        self.names = model_names(config)
        self.models = build_models(config, self.device)
        self.optimizers = {n: torch.optim.Adam(m.parameters(), lr=config.lr) for n, m in self.models.items()}
        data = digit_rows(SPLIT_SEED)
        self.x_train, self.y_train = data.x_train.to(self.device), data.y_train.to(self.device)
        self.x_test, self.y_test = data.x_test.to(self.device), data.y_test.to(self.device)
        self._order_gen = torch_generator(derive_seed(config.seed, "batches"))
        self._noise_gen = torch_generator(derive_seed(config.seed, "train-distractors"), self.device)
        self.x_distracted = _distracted_test_set(config, self.device)[0]
        self.n_batches = math.ceil(N_TRAIN / config.batch_size)
        self._schedule = self._make_schedule()
        self.total_steps = len(self._schedule)
        self._unit = 0
        self._batches_done = 0
        self._order: Tensor | None = None
        self._clean_traces: list | None = None
        self._probe_acc = {key: np.zeros((len(self.names), 4)) for key in _PROBES}
        x0, y0 = self.x_train[:config.batch_size], self.y_train[:config.batch_size]
        with torch.no_grad():  # before any training the train loss is the loss on the first batch
            self._metrics: dict[str, float] = {f"{n}_train_loss": float(F.cross_entropy(m(x0), y0))
                                               for n, m in self.models.items()}
        for name in self.names:
            self._evaluate(name)
        self._metrics["eval_epoch"] = 0.0

    def _make_schedule(self) -> list[tuple]:
        cfg = self.config
        units: list[tuple] = []
        for epoch in range(1, cfg.epochs + 1):
            for start in range(0, self.n_batches, cfg.batches_per_record):
                units.append(("train", epoch, (start, min(start + cfg.batches_per_record, self.n_batches))))
            units += [("eval", epoch, name) for name in self.names]
            units.append(("raster", epoch, None))
            if epoch % cfg.artifact_every == 0 or epoch == cfg.epochs:
                units += [("probe", epoch, (name, key)) for name in self.names for key in _PROBES]
        return units

    @property
    def done(self) -> bool:
        return self._unit >= self.total_steps

    def step(self) -> Record:
        """Run the next work unit of the schedule and return the record."""
        if self.done:
            raise RuntimeError("the experiment is done; build a new one to train again")
        kind, epoch, arg = self._schedule[self._unit]
        self._unit += 1
        artifacts: dict = {}
        if kind == "train":
            self._train(*arg)
        elif kind == "eval":
            self._evaluate(arg)
            if arg == self.names[-1]:
                self._metrics["eval_epoch"] = float(epoch)
        elif kind == "raster":
            artifacts = {**self._raster(), "raster_epoch": epoch}
        else:
            name, key = arg
            self._probe(name, key)
            if self._unit == self.total_steps or self._schedule[self._unit][0] != "probe":
                artifacts = {**{k: v.copy() for k, v in self._probe_acc.items()}, "probe_epoch": epoch}
        metrics = {**self._metrics, "epoch": self._batches_done / self.n_batches, "done": float(self.done)}
        return Record(step=self._unit, metrics=metrics, artifacts=artifacts)

    def _train(self, start: int, stop: int) -> None:
        cfg = self.config
        if start == 0:
            self._order = torch.randperm(N_TRAIN, generator=self._order_gen).to(self.device)
        batches = []
        for i in range(start, stop):
            idx = self._order[i * cfg.batch_size:(i + 1) * cfg.batch_size]
            x, y = self.x_train[idx], self.y_train[idx]
            if cfg.train_distractors:
                k = int(torch.randint(0, 9, (), generator=self._order_gen))
                x = with_distractors(x, k, cfg.probe_p, generator=self._noise_gen)
            batches.append((x, y))
        losses = {n: 0.0 for n in self.names}
        for name, model in self.models.items():  # model by model: the same batches, better cache locality
            model.train()
            opt = self.optimizers[name]
            for x, y in batches:
                opt.zero_grad(set_to_none=True)
                loss = F.cross_entropy(model(x), y)
                loss.backward()
                nn.utils.clip_grad_norm_(model.parameters(), cfg.clip)
                opt.step()
                losses[name] += loss.item() / len(batches)
        self._batches_done += stop - start
        self._metrics.update({f"{n}_train_loss": float(v) for n, v in losses.items()})

    @torch.no_grad()
    def _evaluate(self, name: str) -> None:
        model = self.models[name].eval()
        if name == "brims":
            logits, self._clean_traces = model(self.x_test, return_traces=True)
            self._metrics.update(_trace_metrics(self._clean_traces))
        else:
            logits = model(self.x_test)
        self._metrics[f"{name}_test_acc"] = _accuracy(logits, self.y_test)
        self._metrics[f"{name}_distracted_acc"] = _accuracy(model(self.x_distracted), self.y_test)

    @torch.no_grad()
    def _probe(self, name: str, key: str) -> None:
        """One model, one probe: accuracies over the grid, the first point being the clean accuracy."""
        cfg, x, y = self.config, self.x_test, self.y_test
        model = self.models[name].eval()
        gen = lambda: torch_generator(PROBE_SEED, self.device)  # noqa: E731 - the same draws for every model
        if key == "probe_distractors":
            xs = [with_distractors(x, k, cfg.probe_p, generator=gen()) for k in PROBE_ROWS[1:]]
        elif key == "probe_noise":
            xs = [with_noise(x, sigma, generator=gen()) for sigma in PROBE_SIGMAS[1:]]
        else:
            xs = [stretched(x, t) for t in PROBE_STEPS[1:]]
        row = self._probe_acc[key][self.names.index(name)]
        row[0] = self._metrics[f"{name}_test_acc"]  # K = 0, sigma = 0 and 8 rows are the clean test set
        row[1:] = [_accuracy(model(xi), y) for xi in xs]

    @torch.no_grad()
    def _raster(self) -> dict[str, np.ndarray]:
        cfg = self.config
        brims = self.models["brims"].eval()
        logits, traces = brims(self.x_distracted, return_traces=True)
        masks = [_over_time(traces, layer, "mask") for layer in range(2)]  # (B, T, n_l)
        alphas = [_over_time(traces, layer, "alpha") for layer in range(2)]  # (B, T, n_l, slots)
        mass = np.zeros((2, 2, 3))
        for layer, a in enumerate(alphas):
            slot_mean = a.mean(dim=2)  # (B, T, slots): over modules
            for seg, steps in enumerate((slice(0, 8), slice(8, None))):
                part = slot_mean[:, steps]
                if part.shape[1]:
                    mass[layer, seg, : part.shape[-1]] = part.mean(dim=(0, 1)).cpu().numpy()
        clean_masks = [_over_time(self._clean_traces, layer, "mask") for layer in range(2)]
        return {
            "raster": torch.cat(masks, dim=-1)[0].to(torch.int8).cpu().numpy(),
            "raster_alpha_1": alphas[0][0].cpu().numpy(),
            "raster_alpha_2": alphas[1][0].cpu().numpy(),
            "raster_digit": self.x_test[0].cpu().numpy(),
            "raster_label": int(self.y_test[0]),
            "raster_prediction": int(logits[0].argmax()),
            "probe_rows_shown": int(cfg.probe_rows),
            "slot_mass": mass,
            "active_fraction_1": clean_masks[0].float().mean(dim=(0, 1)).cpu().numpy(),
            "active_fraction_2": clean_masks[1].float().mean(dim=(0, 1)).cpu().numpy(),
        }


def _trace_metrics(traces: list) -> dict[str, float]:
    """Per-layer slot attention, switch rate and mean active fraction from ``BRIMs(..., return_traces=True)``."""
    out = {}
    for layer in range(len(traces[0])):
        mask = _over_time(traces, layer, "mask")  # (B, T, n)
        alpha = _over_time(traces, layer, "alpha").mean(dim=(0, 1, 2))  # (slots,)
        l = layer + 1
        out[f"null_mass_{l}"] = float(alpha[0])
        out[f"bottom_up_mass_{l}"] = float(alpha[1])
        out[f"top_down_mass_{l}"] = float(alpha[2]) if alpha.numel() > 2 else 0.0
        changed = (mask[:, 1:] != mask[:, :-1]).any(dim=-1)  # (B, T - 1)
        out[f"switch_rate_{l}"] = float(changed.float().mean()) if changed.numel() else 0.0
        out[f"active_mean_{l}"] = float(mask.float().mean())
    return out


def build(config: Config) -> BRIMsExperiment:
    """Build the run of ``config``."""
    return BRIMsExperiment(config)

"""Experiment ``brims``: BRIMs, the RIMs stack (no top-down) and an LSTM trained on row-by-row digits, then probed.

BRIMs, arXiv:2006.16981; ``docs/papers/brims.md §4`` (the task, the probes and the presets) and §2 (the model).
The models train on clean digits only (unless ``train_distractors``) on the same batches. After each epoch they are
evaluated on the 397 held-out digits, clean and with ``probe_rows`` distractor rows appended; every
``artifact_every`` epochs (and at the last) the probe curves are measured (distractor rows K, pixel noise sigma,
time stretch) and BRIMs' module activations are recorded for the first test digit. Every probe is one batched
no-grad pass with a fixed generator, so curves are comparable between models and epochs.

Models (``docs/papers/brims.md §4``): BRIMs 6 x 8 units (k = 4) under 4 x 8 units (k = 2), encoder Linear(8, 32), input
attention 4 heads with d_k = 32 and a read of 2 d per module, communication 2 heads of 16; the RIMs stack is the
same without the top-down slot; the LSTM is a 2-layer ``nn.LSTM(32, 64)`` on the same encoder width. Adam, gradient
norm clipped at 1, no dropout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping, Sequence

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from neurodyn.brims.layers import BRIMs
from neurodyn.brims.tasks import N_TRAIN, digit_rows, stretched, with_distractors, with_noise
from neurodyn.core.config import param
from neurodyn.core.loop import Record
from neurodyn.core.seeding import derive_seed, resolve_device, torch_generator
from neurodyn.core.spec import Metric

__all__ = ["Config", "PRESETS", "METRICS", "MODEL_LABELS", "LSTMClassifier", "BRIMsExperiment", "build",
           "build_models", "model_names", "model_metric", "layer_metric", "declared_metrics", "evaluations",
           "distracted_test_set", "PROBE_ROWS", "PROBE_SIGMAS", "PROBE_STEPS", "PROBES", "N_LAYERS"]

PROBE_ROWS = (0, 2, 4, 8)  # distractor rows K (docs/papers/brims.md §4)
PROBE_SIGMAS = (0.0, 0.2, 0.4, 0.6)  # pixel noise
PROBE_STEPS = (8, 10, 12, 16)  # rows after nearest-neighbour time stretch
PROBE_SEED = 7_919  # one generator seed for every probe, model and epoch
SPLIT_SEED = 0  # the 1,400 / 397 split is the same for every run seed
PROBES = ("probe_distractors", "probe_noise", "probe_stretch")  # artifact keys of a probe sweep
N_LAYERS = 2  # BRIMs and the RIMs stack have two layers here
MODEL_LABELS = {"brims": "BRIMs", "rims": "RIMs stack (no top-down)", "lstm": "LSTM"}
MODEL_METRICS = {"train_loss": ("nats", "training loss"), "test_acc": ("", "clean test accuracy"),
                 "distracted_acc": ("", "test accuracy with distractor rows")}
LAYER_METRICS = {"null_mass": "attention on the null slot", "bottom_up_mass": "attention on the bottom-up slot",
                 "top_down_mass": "attention on the top-down slot",
                 "switch_rate": "fraction of steps at which the active set changes",
                 "active_mean": "mean fraction of active modules"}


def _lstm_on(values: Mapping[str, Any]) -> bool:
    """The LSTM's width is a knob only while the LSTM baseline is on."""
    return bool(values.get("lstm_baseline", True))


@dataclass(frozen=True)
class Config:
    """Settings of one run (``docs/papers/brims.md §4``)."""

    n_modules_1: int = param(6, min=1, max=12, label="modules in the bottom layer", help="modules in layer 1")
    k_active_1: int = param(4, min=1, max=12, label="active modules per step, bottom layer",
                            help="modules of layer 1 that update at each step (the k that attend least to null)")
    n_modules_2: int = param(4, min=1, max=12, label="modules in the top layer", help="modules in layer 2")
    k_active_2: int = param(2, min=1, max=12, label="active modules per step, top layer",
                            help="modules of layer 2 that update at each step")
    d_module_1: int = param(8, min=2, max=128, label="units per module, bottom layer",
                            help="LSTM state width of each module of layer 1")
    d_module_2: int = param(8, min=2, max=128, label="units per module, top layer",
                            help="LSTM state width of each module of layer 2")
    d_embed: int = param(32, min=8, max=512, label="encoder width",
                         help="width of the row encoder (the input of layer 1 and of the LSTM)")
    input_heads: int = param(4, min=1, max=8, label="input-attention heads", help="heads of the input attention")
    d_key: int = param(32, min=4, max=128, label="input-attention key width",
                       help="query/key width per head of the input attention")
    communication: bool = param(True, label="modules communicate",
                                help="active modules exchange information after their update")
    rims_baseline: bool = param(True, label="train the RIMs stack (no top-down)",
                                help="also train the same model without the top-down slot")
    lstm_baseline: bool = param(True, label="train the LSTM baseline", help="also train a 2-layer LSTM")
    lstm_hidden: int = param(64, min=8, max=512, label="LSTM units per layer", help="units of each LSTM layer",
                             applies=_lstm_on)
    train_distractors: bool = param(False, label="train with random distractor rows",
                                    help="append 0-8 random distractor rows to every training batch (does the gap "
                                    "close?)")
    epochs: int = param(20, min=1, max=200, label="epochs", help="passes over the 1,400 training digits")
    lr: float = param(5e-3, min=1e-4, max=3e-2, log=True, label="learning rate", help="Adam step size")
    batch_size: int = param(64, min=8, max=512, label="batch size", help="digits per optimizer step")
    clip: float = param(1.0, min=0.1, max=10.0, label="gradient-norm clip", help="largest gradient norm")
    batches_per_record: int = param(2, min=1, max=50, label="optimizer steps per record",
                                    help="optimizer steps of every model between two records")
    probe_rows: int = param(4, min=0, max=16, label="distractor rows shown",
                            help="distractor rows K for the per-epoch accuracy and the activation raster")
    probe_p: float = param(0.3, min=0.0, max=1.0, label="distractor pixel probability",
                           help="probability that a distractor pixel is lit")
    artifact_every: int = param(10, min=1, max=200, label="epochs between probe sweeps",
                                help="epochs between two sweeps of the robustness probes (and the last epoch)")
    seed: int = param(0, min=0, max=2**31 - 1, label="seed", help="random seed (initialisation and batch order)")
    device: str = param("auto", choices=("auto", "cpu", "cuda"), label="device", help="torch device")

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
    # docs/papers/brims.md §4: 20 epochs of all three models, under 60 s on one thread (§6 has the times)
    "small": Config(),
    # a shorter run for a talk: 12 epochs, a probe sweep every 4
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


def model_metric(model: str, kind: str) -> str:
    """Name of a per-model metric: ``kind`` is ``train_loss``, ``test_acc`` (clean) or ``distracted_acc``.

    Parameters
    ----------
    model : str
        One of :func:`model_names`.
    kind : str
        A key of ``MODEL_METRICS``.

    Returns
    -------
    str
    """
    if kind not in MODEL_METRICS:
        raise KeyError(f"unknown per-model metric {kind!r}; valid: {', '.join(MODEL_METRICS)}")
    return f"{model}_{kind}"


def layer_metric(quantity: str, layer: int) -> str:
    """Name of a per-layer metric of BRIMs (``layer`` 1 bottom, 2 top); ``quantity`` is a key of ``LAYER_METRICS``.

    Parameters
    ----------
    quantity : str
    layer : int

    Returns
    -------
    str
    """
    if quantity not in LAYER_METRICS:
        raise KeyError(f"unknown per-layer metric {quantity!r}; valid: {', '.join(LAYER_METRICS)}")
    return f"{quantity}_{layer}"


def declared_metrics(config: Config) -> tuple[Metric, ...]:
    """The metrics every record of a run of ``config`` carries (they depend on which baselines are on).

    Parameters
    ----------
    config : Config

    Returns
    -------
    tuple of Metric
    """
    out = [Metric("epoch", "epochs", "epochs of training done"),
           Metric("eval_epoch", "epochs", "epoch of the latest complete evaluation")]
    for name in model_names(config):
        for kind, (unit, what) in MODEL_METRICS.items():
            out.append(Metric(model_metric(name, kind), unit, f"{MODEL_LABELS[name]}: {what}"))
    for layer in range(1, N_LAYERS + 1):
        for quantity, what in LAYER_METRICS.items():
            out.append(Metric(layer_metric(quantity, layer), "", f"BRIMs layer {layer}: {what}"))
    out.append(Metric("done", "", "1 once the run is done"))
    return tuple(out)


#: Declared metrics (a function of the config: the baselines can be switched off).
METRICS = declared_metrics


def evaluations(records: Sequence[Any]) -> list[tuple[int, Mapping[str, float]]]:
    """The run's complete evaluations, oldest first: (epoch, metrics of the record where that evaluation ended).

    Evaluation metrics are carried between evaluations, and an epoch's models are evaluated one unit at a time, so
    only the first record whose ``eval_epoch`` is E holds every model's epoch-E values (later records of that
    ``eval_epoch`` may already hold some models' next evaluation). Epoch 0 is the untrained models.

    Parameters
    ----------
    records : sequence of Record (or their JSON dicts)

    Returns
    -------
    list of (int, mapping)
    """
    out: list[tuple[int, Mapping[str, float]]] = []
    for rec in records:
        metrics = rec["metrics"] if isinstance(rec, Mapping) else rec.metrics
        epoch = int(metrics["eval_epoch"])
        if not out or epoch != out[-1][0]:
            out.append((epoch, metrics))
    return out


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


def distracted_test_set(config: Config, device: torch.device | str = "cpu") -> tuple[Tensor, Tensor]:
    """The held-out digits with ``probe_rows`` distractor rows (fixed draws), and their labels.

    Parameters
    ----------
    config : Config
    device : torch.device or str

    Returns
    -------
    x : Tensor, shape (397, 8 + probe_rows, 8)
    y : Tensor, shape (397,), int64
    """
    data = digit_rows(SPLIT_SEED)
    x = with_distractors(data.x_test.to(device), config.probe_rows, config.probe_p,
                         generator=torch_generator(PROBE_SEED, device))
    return x, data.y_test.to(device)


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
        self.x_distracted = distracted_test_set(config, self.device)[0]
        self.n_batches = math.ceil(N_TRAIN / config.batch_size)
        self._schedule = self._make_schedule()
        self.total_steps = len(self._schedule)
        self._unit = 0
        self._batches_done = 0
        self._order: Tensor | None = None
        self._clean_traces: list | None = None
        self._probe_acc = {key: np.zeros((len(self.names), 4)) for key in PROBES}
        x0, y0 = self.x_train[:config.batch_size], self.y_train[:config.batch_size]
        with torch.no_grad():  # before any training the train loss is the loss on the first batch
            self._metrics: dict[str, float] = {model_metric(n, "train_loss"): float(F.cross_entropy(m(x0), y0))
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
                units += [("probe", epoch, (name, key)) for name in self.names for key in PROBES]
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
        self._metrics.update({model_metric(n, "train_loss"): float(v) for n, v in losses.items()})

    @torch.no_grad()
    def _evaluate(self, name: str) -> None:
        model = self.models[name].eval()
        if name == "brims":
            logits, self._clean_traces = model(self.x_test, return_traces=True)
            self._metrics.update(_trace_metrics(self._clean_traces))
        else:
            logits = model(self.x_test)
        self._metrics[model_metric(name, "test_acc")] = _accuracy(logits, self.y_test)
        self._metrics[model_metric(name, "distracted_acc")] = _accuracy(model(self.x_distracted), self.y_test)

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
        row[0] = self._metrics[model_metric(name, "test_acc")]  # K = 0, sigma = 0 and 8 rows are the clean test set
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
        name = lambda quantity: layer_metric(quantity, layer + 1)  # noqa: E731 - one short local alias
        out[name("null_mass")] = float(alpha[0])
        out[name("bottom_up_mass")] = float(alpha[1])
        out[name("top_down_mass")] = float(alpha[2]) if alpha.numel() > 2 else 0.0
        changed = (mask[:, 1:] != mask[:, :-1]).any(dim=-1)  # (B, T - 1)
        out[name("switch_rate")] = float(changed.float().mean()) if changed.numel() else 0.0
        out[name("active_mean")] = float(mask.float().mean())
    return out


def build(config: Config) -> BRIMsExperiment:
    """Build the run of ``config``."""
    return BRIMsExperiment(config)

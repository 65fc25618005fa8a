"""Experiments of the gradient-starvation page (``docs/papers/starvation.md §4``).

- ``starvation``: the two-moons MLP (2-500-1) trained with plain cross-entropy (CE), CE + weight decay and CE +
  spectral decoupling (SD) side by side, from the same weights and on the same full batch, ``n_seeds`` seeds at once
  (3 · seeds rows of one :class:`~neurodyn.starvation.mlp.StackedMLP`). Every ``artifact_every`` epochs: the output
  over the plane (seed mean), the zero contour, the card's boundary metrics, accuracy on an overlapping (Δ = −0.1)
  sample, and the margins; every record: the feature responses |Uᵀŷ| of seed 0 in the eigenbasis of the tangent
  kernel at initialisation.
- ``starvation_toy``: the paper's linear two-feature toy over s1 (exact, instantaneous).

Loss per network (mean form, card §2.2): ``mean softplus(−y ŷ) + c · mean(ŷ²)`` with c = ``sd_coef`` on the SD rows
and 0 elsewhere (:func:`~neurodyn.starvation.functional.spectral_decoupling_loss` of each row, tested equal);
weight decay ``wd · θ`` is added to the gradients of the weight-decay rows, as ``torch.optim.SGD`` does.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from neurodyn.core.config import param
from neurodyn.core.loop import Record
from neurodyn.core.seeding import derive_seed, resolve_device
from neurodyn.core.spec import Metric
from neurodyn.starvation.functional import feature_responses, linear_toy, sd_fixed_point, two_moons
from neurodyn.starvation.mlp import StackedMLP

__all__ = ["Config", "ToyConfig", "PRESETS", "TOY_PRESETS", "METRICS", "TOY_METRICS", "REGULARISERS", "REG_LABELS",
           "StarvationExperiment", "ToyExperiment", "build", "build_toy", "boundary_metrics", "contour_points",
           "plane_grid", "reg_rows", "sd_margin_target", "N_RESPONSES", "HEAT_SIZE", "METRIC_GRID", "EXTENT",
           "OOD_MARGIN", "toy_s1_values", "data_points", "warmup"]

REGULARISERS: tuple[str, ...] = ("ce", "wd", "sd")
REG_LABELS = {"ce": "cross-entropy", "wd": "+ weight decay", "sd": "+ spectral decoupling"}
EXTENT = 2.0  # the plane shown and measured: [−2, 2]² (card §2.4)
HEAT_SIZE = 50  # cells per side of the heat map sent to the page
METRIC_GRID = 201  # points per side of the grid the boundary metrics use (card §4)
N_RESPONSES = 8  # feature responses recorded: the top eigen-directions of the tangent kernel at init
OOD_MARGIN = -0.1  # the overlapping sample of card §4
BAND = 1.5  # boundary points with |y| < BAND count for the straightness metric (card §4)


@dataclass(frozen=True)
class Config:
    """Settings of the two-moons run (``starvation.md §4``)."""

    margin: float = param(0.1, min=-0.3, max=0.3, step=0.05, label="margin Δ between the classes",
                          help="Δ > 0: the classes are separable along x with a gap 2Δ; Δ < 0: they overlap")
    sd_coef: float = param(0.003, min=1e-4, max=1e-1, log=True, label="spectral decoupling strength c",
                           help="the SD network adds c · mean(logit²) to its loss")
    weight_decay: float = param(0.01, min=1e-5, max=0.1, log=True, label="weight decay",
                                help="the weight-decay network adds this · θ to its gradients (the paper's Fig. 3 "
                                "value 0.01)")
    optimizer: str = param("sgd", choices=("sgd", "adam"), label="optimizer",
                           help="SGD with momentum 0.9 (the paper's) or Adam")
    lr: float = param(1e-2, min=1e-4, max=1e-1, log=True, label="learning rate", help="step size")
    epochs: int = param(1000, min=10, max=20_000, label="epochs", help="full-batch steps on the 300 points")
    hidden: int = param(500, min=16, max=1000, label="hidden units", help="width of the hidden layer")
    n_points: int = param(300, min=50, max=1000, label="training points", help="two-moons points")
    noise: float = param(0.1, min=0.0, max=0.3, step=0.01, label="moon noise", help="make_moons' noise")
    rotation: float = param(0.0, min=0.0, max=90.0, step=5.0, label="rotation (degrees)",
                            help="rotate the data (the paper's Fig. 3 tries 45°)")
    n_seeds: int = param(3, min=1, max=10, label="seeds side by side", help="networks per regulariser, averaged")
    epochs_per_record: int = param(10, min=1, max=1000, label="epochs per record", help="steps between two records")
    artifact_every: int = param(100, min=10, max=10_000, label="epochs between boundary snapshots",
                                help="epochs between two heat maps and boundary measurements (and the last)")
    seed: int = param(0, min=0, max=2**31 - 1, label="seed", help="data and initialisation seed")
    device: str = param("auto", choices=("auto", "cpu", "cuda"), label="device", help="torch device")


@dataclass(frozen=True)
class ToyConfig:
    """Settings of the linear two-feature toy (``starvation.md §2.3``, the authors' Figure 6 script)."""

    s1_min: float = param(2.0, min=0.5, max=10.0, step=0.5, label="smallest strength s1", help="first s1")
    s1_max: float = param(6.0, min=0.5, max=10.0, step=0.5, label="largest strength s1", help="last s1")
    n_values: int = param(5, min=2, max=41, label="values of s1", help="s1 values, evenly spaced")
    s2: float = param(2.0, min=0.5, max=10.0, step=0.5, label="strength s2 of the other feature",
                      help="strength of the second feature")
    steps: int = param(5000, min=100, max=50_000, label="gradient steps", help="full-batch steps from θ = 0")
    lr: float = param(0.05, min=1e-3, max=0.5, log=True, label="learning rate", help="gradient-descent step size")
    seed: int = param(0, min=0, max=2**31 - 1, label="seed", help="unused: the toy is deterministic")

    def __post_init__(self) -> None:
        if self.s1_max < self.s1_min:
            raise ValueError(f"s1_max ({self.s1_max}) must be >= s1_min ({self.s1_min})")


PRESETS: dict[str, Config] = {
    "small": Config(),  # card §3: 1000 full-batch epochs, hidden 500, 3 seeds
    "talk": Config(epochs=600, n_seeds=2),
    "paper": Config(epochs=10_000, n_seeds=10, artifact_every=500, epochs_per_record=50),  # Figs. 2-3
}
TOY_PRESETS: dict[str, ToyConfig] = {"small": ToyConfig(), "paper": ToyConfig()}

METRICS: tuple[Metric, ...] = (
    Metric("epoch", "", "epochs trained"),
    *(m for r in REGULARISERS for m in (
        Metric(f"loss_{r}", "nats", f"{REG_LABELS[r]}: training loss (mean over seeds)"),
        Metric(f"acc_{r}", "", f"{REG_LABELS[r]}: training accuracy (mean over seeds)"),
        Metric(f"margin_{r}", "", f"{REG_LABELS[r]}: median training margin y·ŷ (mean over seeds)"),
        Metric(f"min_dist_{r}", "", f"{REG_LABELS[r]}: smallest distance from a training point to the boundary"),
        Metric(f"p10_dist_{r}", "", f"{REG_LABELS[r]}: 10th percentile of the points' distances to the boundary"),
        Metric(f"boundary_x_{r}", "", f"{REG_LABELS[r]}: mean |x| of the boundary (0: the straight line x = 0)"),
        Metric(f"ood_acc_{r}", "", f"{REG_LABELS[r]}: accuracy on an overlapping sample (Δ = −0.1)"),
    )),
    Metric("snapshot_epoch", "", "epoch of the latest boundary snapshot"),
)
TOY_METRICS: tuple[Metric, ...] = (
    Metric("s1", "", "strength s1 of the first feature"),
    Metric("z1_wd", "", "weight decay: final response |z1|"),
    Metric("z2_wd", "", "weight decay: final response |z2|"),
    Metric("z1_sd", "", "spectral decoupling: final response |z1|"),
    Metric("z2_sd", "", "spectral decoupling: final response |z2|"),
)


@functools.lru_cache(maxsize=8)
def _data(n: int, margin: float, noise: float, rotation: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    X, y = two_moons(n, margin, noise=noise, rotation=rotation, generator=seed)
    return X.numpy(), y.numpy()


def data_points(config: Config) -> tuple[np.ndarray, np.ndarray]:
    """The run's training points (n, 2) and labels (n,) in {−1, +1} (cached; treat as read-only)."""
    return _data(config.n_points, config.margin, config.noise, config.rotation, config.seed)


def reg_rows(config: Config, reg: str) -> list[int]:
    """Rows of the stacked model that hold regulariser ``reg`` (row ``r · n_seeds + i`` is seed i)."""
    r = REGULARISERS.index(reg)
    return list(range(r * config.n_seeds, (r + 1) * config.n_seeds))


def sd_margin_target(config: Config) -> float:
    """u* of the SD network: the margin solving λu = σ(−u) with λ = 2c (mean form, card §2.2 and check 8)."""
    return sd_fixed_point(2.0 * config.sd_coef)


def plane_grid(size: int, extent: float = EXTENT) -> tuple[np.ndarray, Tensor]:
    """The points of a ``size`` × ``size`` grid on [−extent, extent]².

    Returns
    -------
    axis : ndarray, shape (size,)
        The coordinates along either axis.
    points : Tensor, shape (size · size, 2)
        (x, y) pairs, y major (row i is y = axis[i]).
    """
    axis = np.linspace(-extent, extent, size)
    yy, xx = np.meshgrid(axis, axis, indexing="ij")
    return axis, torch.as_tensor(np.stack([xx.ravel(), yy.ravel()], 1), dtype=torch.float32)


def contour_points(values: np.ndarray, axis: np.ndarray) -> np.ndarray:
    """Points of the zero contour of a field sampled on a grid: where the sign changes between two neighbours, the
    zero of the linear interpolation along that edge.

    Parameters
    ----------
    values : ndarray, shape (m, m)
        ``values[i, j]`` at (x, y) = (axis[j], axis[i]).
    axis : ndarray, shape (m,)

    Returns
    -------
    ndarray, shape (k, 2)
        (x, y) of the crossings (k = 0 when the field does not change sign).
    """
    out = []
    for a, b, horizontal in ((values[:, :-1], values[:, 1:], True), (values[:-1, :], values[1:, :], False)):
        i, j = np.nonzero(np.signbit(a) != np.signbit(b))
        t = a[i, j] / (a[i, j] - b[i, j])  # in [0, 1]: where the line from a to b crosses 0
        if horizontal:
            x = axis[j] + t * (axis[j + 1] - axis[j])
            y = axis[i]
        else:
            x = axis[j]
            y = axis[i] + t * (axis[i + 1] - axis[i])
        out.append(np.stack([x, y], 1))
    return np.concatenate(out) if out else np.zeros((0, 2))


def boundary_metrics(values: np.ndarray, axis: np.ndarray, X: np.ndarray) -> dict[str, float]:
    """The card's boundary metrics (§4) of one network's output field.

    Parameters
    ----------
    values : ndarray, shape (m, m)
        Output over the grid (see :func:`contour_points`).
    axis : ndarray, shape (m,)
    X : ndarray, shape (n, 2)
        Training points.

    Returns
    -------
    dict
        ``min_dist`` and ``p10_dist``: the smallest and the 10th-percentile distance from a training point to the
        zero contour; ``boundary_x``: mean |x| of the contour points with |y| < 1.5 (0 for the straight line x = 0).
        With no contour on the grid every value is ``EXTENT · 2`` (the largest distance possible on the plane).
    """
    pts = contour_points(values, axis)
    if len(pts) == 0:
        return {"min_dist": 2 * EXTENT, "p10_dist": 2 * EXTENT, "boundary_x": 2 * EXTENT}
    d = np.sqrt(((X[:, None, :] - pts[None, :, :]) ** 2).sum(-1)).min(1)  # (n,)
    band = pts[np.abs(pts[:, 1]) < BAND]
    return {"min_dist": float(d.min()), "p10_dist": float(np.percentile(d, 10)),
            "boundary_x": float(np.abs(band[:, 0]).mean()) if len(band) else 2 * EXTENT}


class StarvationExperiment:
    """CE, CE + weight decay and CE + SD on two-moons, ``n_seeds`` each, as one stacked model.

    A step is ``epochs_per_record`` full-batch epochs, or one part of a boundary snapshot (one network's boundary
    metrics; the last network of a regulariser adds its heat map, contour, margins and overlapping-sample accuracy)
    after every ``artifact_every`` epochs, at epoch 0 and at the end.
    """

    def __init__(self, config: Config) -> None:
        self.config = config
        self.device = resolve_device(config.device)
        S = config.n_seeds
        X, y = two_moons(config.n_points, config.margin, noise=config.noise, rotation=config.rotation,
                         generator=config.seed)
        Xo, yo = two_moons(config.n_points, OOD_MARGIN, noise=config.noise, rotation=config.rotation,
                           generator=derive_seed(config.seed, "ood") % (2**32 - 1))
        self.X, self.y = X.to(self.device), y.to(self.device)
        self.X_ood, self.y_ood = Xo.to(self.device), yo.to(self.device)
        seeds = [derive_seed(config.seed, "init", i) for i in range(S)]
        self.model = StackedMLP(seeds * len(REGULARISERS), hidden=config.hidden).to(self.device)
        G = self.model.size
        self.coef = torch.zeros(G, device=self.device)
        self.coef[reg_rows(config, "sd")] = config.sd_coef
        self.decay = torch.zeros(G, device=self.device)
        self.decay[reg_rows(config, "wd")] = config.weight_decay
        params = list(self.model.parameters())
        self.opt = (torch.optim.SGD(params, lr=config.lr, momentum=0.9) if config.optimizer == "sgd"
                    else torch.optim.Adam(params, lr=config.lr))
        # feature responses: the eigenbasis of seed 0's tangent kernel at initialisation (the same for all three
        # regularisers, which start from the same weights)
        from neurodyn.alignment import tangent_kernel

        K = tangent_kernel(self.model.row(0), self.X.cpu(), centered=False)
        self.K0 = K.detach().double()
        self.axis_heat, grid_heat = plane_grid(HEAT_SIZE)
        self.axis_metric, grid_metric = plane_grid(METRIC_GRID)
        self.grid_heat, self.grid_metric = grid_heat.to(self.device), grid_metric.to(self.device)
        self.snapshot_epochs = frozenset(range(0, config.epochs, config.artifact_every)) | {config.epochs}
        per_record = math.ceil(config.epochs / config.epochs_per_record)
        snapshots = len(self.snapshot_epochs)
        self.total_steps = per_record + snapshots * len(REGULARISERS) * config.n_seeds
        self.k, self.epoch = 0, 0
        self._pending: list[tuple[str, int]] = self._snapshot_jobs()  # the epoch-0 snapshot first
        self._partial: list[dict[str, float]] = []
        self._stats = {r: {"min_dist": 0.0, "p10_dist": 0.0, "boundary_x": 0.0, "ood_acc": 0.0}
                       for r in REGULARISERS}
        self._snapshot_epoch = 0
        self._train_stats = self._evaluate_train()

    def _snapshot_jobs(self) -> list[tuple[str, int]]:
        """One step per (regulariser, seed): a network's output on the 201 × 201 grid costs about 0.15 s."""
        return [(reg, i) for reg in REGULARISERS for i in range(self.config.n_seeds)]

    @property
    def done(self) -> bool:
        """True after the last epoch and its snapshot."""
        return self.k >= self.total_steps

    def _loss(self, out: Tensor) -> Tensor:
        """Per-row mean-form loss, shape (G,)."""
        return F.softplus(-self.y * out).mean(-1) + self.coef * (out ** 2).mean(-1)

    @torch.no_grad()
    def _evaluate_train(self) -> dict[str, np.ndarray]:
        out = self.model(self.X)  # (G, n)
        margin = (self.y * out).cpu().numpy()
        return {"loss": self._loss(out).cpu().numpy().astype(np.float64),
                "acc": (margin > 0).mean(1).astype(np.float64),
                "margin": np.median(margin, axis=1).astype(np.float64), "out0": out.cpu().numpy()}

    def step(self) -> Record:
        """One unit of work; see the class notes."""
        artifacts: dict[str, Any] = {}
        if self._pending:
            reg, i = self._pending.pop(0)
            self._partial.append(self._boundary(reg_rows(self.config, reg)[i]))
            if i == self.config.n_seeds - 1:
                artifacts = self._snapshot(reg, self._partial)
                self._partial = []
        else:
            cfg = self.config
            n = min(cfg.epochs_per_record, cfg.epochs - self.epoch)
            for _ in range(n):
                out = self.model(self.X)
                loss = self._loss(out).sum()
                self.opt.zero_grad(set_to_none=True)
                loss.backward()
                with torch.no_grad():
                    for p in self.model.parameters():
                        p.grad.add_(p * self.decay.view(-1, *([1] * (p.dim() - 1))))
                self.opt.step()
            self.epoch += n
            self._train_stats = self._evaluate_train()
            if self.epoch in self.snapshot_epochs:
                self._pending = self._snapshot_jobs()
        artifacts["responses"] = self._responses()
        rec = Record(self.k, self._metrics(), artifacts)
        self.k += 1
        return rec

    def _responses(self) -> np.ndarray:
        """|Uᵀŷ| of seed 0 of every regulariser in the top ``N_RESPONSES`` eigen-directions; shape (3, N_RESPONSES)."""
        out = torch.as_tensor(self._train_stats["out0"], dtype=torch.float64)
        rows = [reg_rows(self.config, r)[0] for r in REGULARISERS]
        return feature_responses(self.K0, out[rows], N_RESPONSES).numpy().astype(np.float64)

    @torch.no_grad()
    def _boundary(self, row: int) -> dict[str, float]:
        """The card's boundary metrics of network ``row`` on the 201 × 201 grid."""
        m = METRIC_GRID
        fine = self.model(self.grid_metric, rows=[row])[0].cpu().numpy().reshape(m, m)
        return boundary_metrics(fine, self.axis_metric, self.X.cpu().numpy())

    @torch.no_grad()
    def _snapshot(self, reg: str, per_seed: list[dict[str, float]]) -> dict[str, Any]:
        rows = reg_rows(self.config, reg)
        heat = self.model(self.grid_heat, rows=rows).mean(0).reshape(HEAT_SIZE, HEAT_SIZE)
        heat = heat.cpu().numpy()
        ood = (self.y_ood * self.model(self.X_ood, rows=rows) > 0).float().mean().item()
        stats = {k: float(np.mean([s[k] for s in per_seed])) for k in ("min_dist", "p10_dist", "boundary_x")}
        self._stats[reg] = {**stats, "ood_acc": float(ood)}
        self._snapshot_epoch = self.epoch
        margins = (self.y * self.model(self.X, rows=rows)).cpu().numpy()  # (S, n)
        return {"reg": reg, "epoch": self.epoch, "heat": heat, "contour": contour_points(heat, self.axis_heat),
                "margins": margins.astype(np.float64),
                "per_seed": np.array([[s["min_dist"], s["p10_dist"], s["boundary_x"]] for s in per_seed])}

    def _metrics(self) -> dict[str, float]:
        t = self._train_stats
        metrics = {"epoch": float(self.epoch)}
        for r in REGULARISERS:
            rows = reg_rows(self.config, r)
            metrics[f"loss_{r}"] = float(t["loss"][rows].mean())
            metrics[f"acc_{r}"] = float(t["acc"][rows].mean())
            metrics[f"margin_{r}"] = float(t["margin"][rows].mean())
            for k, v in self._stats[r].items():
                metrics[f"{k}_{r}"] = v
        metrics["snapshot_epoch"] = float(self._snapshot_epoch)
        return metrics

    def data(self) -> tuple[np.ndarray, np.ndarray]:
        """The training points (n, 2) and labels (n,) in {−1, +1}."""
        return self.X.cpu().numpy(), self.y.cpu().numpy()


def warmup() -> None:
    """Pay a first run's one-off costs in a worker's warm-up: the stacked MLP's numba kernels (about 2 s to compile
    on a fresh machine, then loaded from ``NUMBA_CACHE_DIR``), torch.func's first Jacobian, scikit-learn's moons."""
    from neurodyn.alignment import tangent_kernel

    X, _ = two_moons(8, 0.1, generator=0)
    model = StackedMLP([0], hidden=8)
    model(X).sum().backward()
    tangent_kernel(model.row(0), X, centered=False)


def build(config: Config) -> StarvationExperiment:
    """Build a two-moons run from its config."""
    return StarvationExperiment(config)


def toy_s1_values(config: ToyConfig) -> np.ndarray:
    """The s1 values of a toy run, shape (n_values,)."""
    return np.linspace(config.s1_min, config.s1_max, config.n_values)


class ToyExperiment:
    """The linear two-feature toy at each s1, under weight decay and under SD; one s1 per step."""

    def __init__(self, config: ToyConfig) -> None:
        self.config = config
        self.values = toy_s1_values(config)
        self.total_steps = len(self.values)
        self.k = 0

    @property
    def done(self) -> bool:
        """True after the last s1."""
        return self.k >= self.total_steps

    def step(self) -> Record:
        """Both regularisers at the next s1; artifacts: both paths of |z| (steps + 1, 2)."""
        s1 = float(self.values[self.k])
        cfg = self.config
        wd = linear_toy(s1, cfg.s2, reg="wd", steps=cfg.steps, lr=cfg.lr)
        sd = linear_toy(s1, cfg.s2, reg="sd", steps=cfg.steps, lr=cfg.lr)
        rec = Record(self.k, {"s1": s1, "z1_wd": float(wd.z[0]), "z2_wd": float(wd.z[1]), "z1_sd": float(sd.z[0]),
                              "z2_sd": float(sd.z[1])},
                     {"path_wd": np.asarray(wd.path, dtype=np.float64), "path_sd": np.asarray(sd.path,
                                                                                             dtype=np.float64)})
        self.k += 1
        return rec


def build_toy(config: ToyConfig) -> ToyExperiment:
    """Build a toy run from its config."""
    return ToyExperiment(config)


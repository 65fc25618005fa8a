"""Experiments ``lyapunov`` (spectra during training) and ``lyapunov_sweep`` (init-scale sweep).

The project's account: ``docs/papers/lyapunov.md §4``.

Vogt et al., *On Lyapunov Exponents for RNNs*, arXiv:2006.14123.

``lyapunov``: a one-layer char-level RNN / GRU / LSTM, weights ``U(-p, p)`` (``init_scale`` = p), trained with Adam
on :mod:`neurodyn.lyapunov.tasks`. At training steps 0, ``le_every``, 2 ``le_every``, ... and after the last update,
the validation loss is computed and the Lyapunov spectrum of the current weights is started on a fixed bank of
held-out windows (``le_batch`` windows of ``le_warmup + le_steps`` characters, the same for every checkpoint, so
curves over training are comparable). The spectrum is computed in slices (:func:`iter_lyapunov_spectrum`) spread
over the next ``le_every // 4`` steps so that no ``step()`` stalls; its record carries the artifacts. After the
``n_steps`` updates a few extra steps finish the last spectrum, so ``total_steps`` is ``n_steps`` plus that tail.

Metrics (:func:`metrics`; every step; LE values are those of the latest finished spectrum, 0.0 before the first
one, whose training step is ``le_checkpoint``, -1 before any): ``train_loss``, ``val_loss``, ``lambda_max``,
``lambda_mean``, ``n_positive``, ``kaplan_yorke_dim``, ``ks_entropy``, ``le_seconds``, ``le_checkpoint``,
``train_step``.
Artifacts (when a spectrum finishes): ``le_step``, ``spectrum`` (k,) batch mean, ``spectrum_std`` (k,),
``curves`` (n, 5) batch-mean finite-time estimates of the top 5 exponents at ``curve_steps`` (n,), ``val_loss``,
``lambda_max``. Exponents are per step, in nats (``units="bits"``: bits); ``-inf`` is clamped to -100 in artifacts
(plotting only).

Deviations from the reference: the text is ``pydoc_data.topics`` (not *War and Peace*), biases are kept, the LSTM
spectrum defaults to the full (h, c) state, ``J`` (not ``J^T``) and nats; all three are switchable.

``lyapunov_sweep``: ``n_networks`` networks with ``p`` stratified over ``[p_min, p_max]`` (visited in random order),
each trained for ``n_steps`` updates on the same batches, then its spectrum and validation loss; one ``step()`` is
one update or one slice of a spectrum. :func:`run_init_sweep` runs it to the end and returns the table and
Spearman's rho between ``lambda_max`` and the final validation loss (``docs/papers/lyapunov.md §5``, figure 2).
Metrics (:func:`sweep_metrics`): ``net``, ``p``, ``train_loss``, ``networks_done``, ``spearman_rho``,
``spearman_rho_mean``.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np
import torch

from neurodyn.core.config import param
from neurodyn.core.loop import Record
from neurodyn.core.seeding import derive_seed, numpy_generator, resolve_device, torch_generator
from neurodyn.core.spec import Metric
from neurodyn.lyapunov.spectrum import LyapunovSpectrum, iter_lyapunov_spectrum, kaplan_yorke_dimension, ks_entropy
from neurodyn.lyapunov.tasks import CharRNN, load_corpus, one_hot, sample_windows

__all__ = [
    "Config", "PRESETS", "LyapunovExperiment", "build", "metrics", "exponent_unit", "lstm_only",
    "SweepConfig", "SWEEP_PRESETS", "SweepExperiment", "build_sweep", "sweep_metrics", "run_init_sweep",
    "spearman_rho", "summarise",
]

N_TOP_CURVES = 5  # finite-time curves kept for the convergence plot
MAX_CURVE_POINTS = 100
PLOT_FLOOR = -100.0  # -inf exponents (directions mapped to 0) are clamped here in artifacts only
VAL_WINDOWS, VAL_LENGTH = 32, 129  # fixed validation bank for the loss: 32 windows of 128 predictions
GRAD_CLIP = 5.0  # the small preset's gradient-norm clip (docs/papers/lyapunov.md §4)


def lstm_only(values: Mapping[str, Any]) -> bool:
    """Whether an LSTM-only setting applies: the sidebar hides it for a GRU or a tanh RNN.

    Parameters
    ----------
    values : mapping of str to value
        The config's current field values (at least ``cell``).

    Returns
    -------
    bool
    """
    return values.get("cell") == "lstm"


@dataclass(frozen=True)
class Config:
    """Settings of one training run with spectra (``docs/papers/lyapunov.md §4``)."""

    cell: str = param("gru", choices=("gru", "lstm", "rnn"), label="recurrent cell",
                      help="recurrent cell (nn.GRU, nn.LSTM, tanh nn.RNN)")
    lstm_state: str = param("hc", choices=("hc", "h"), label="LSTM tangent space (h and c, or h only)",
                            help="LSTM only: the full (h, c) state, or h only with c held fixed (the reference)",
                            applies=lstm_only)
    hidden: int = param(64, min=8, max=512, label="hidden units H", help="hidden size H")
    init_scale: float = param(0.08, min=0.01, max=0.5, label="initial weight scale p",
                              help="every weight drawn from U(-p, p)")
    lr: float = param(3e-3, min=1e-4, max=5e-2, log=True, label="learning rate", help="Adam step size")
    batch_size: int = param(32, min=1, max=256, label="training windows per update", help="batch size")
    seq_len: int = param(64, min=8, max=256, label="characters per training window", help="training sequence length")
    n_steps: int = param(400, min=1, max=50_000, label="training steps", help="Adam updates of one run")
    le_every: int = param(100, min=1, max=5_000, label="training steps between spectra",
                          help="a spectrum every this many updates, plus one after the last")
    n_exponents: int = param(0, min=0, max=1024, label="exponents to compute (0 = all)",
                             help="the leading k exponents; 0 computes all D")
    le_batch: int = param(8, min=1, max=64, label="held-out windows per spectrum",
                          help="B held-out windows drive every spectrum")
    le_steps: int = param(200, min=10, max=5_000, label="measured steps per spectrum", help="T")
    le_warmup: int = param(50, min=0, max=2_000, label="warm-up steps per spectrum",
                           help="steps before measuring, T_w")
    t_ons: int = param(1, min=1, max=10, label="steps between re-orthonormalisations",
                       help="QR every this many steps (t_ons)")
    units: str = param("nats", choices=("nats", "bits"), label="exponent units", help="nats or bits per step")
    transpose_jacobian: bool = param(False, label="multiply by Jᵀ like the reference code",
                                     help="the reference's convention; reproduction only")
    q0: str = param("identity", choices=("identity", "random"), label="initial tangent basis",
                    help="first k columns of the identity, or a random orthonormal basis")
    seed: int = param(0, min=0, max=2**31 - 1, label="seed", help="random seed (weights, batches, held-out windows)")
    device: str = param("auto", choices=("auto", "cpu", "cuda"), label="device", help="torch device")

    def __post_init__(self) -> None:
        d = 2 * self.hidden if (self.cell == "lstm" and self.lstm_state == "hc") else self.hidden
        if self.n_exponents > d:
            raise ValueError(f"n_exponents must be <= the state size D = {d} (0 means all), got {self.n_exponents}")


PRESETS: dict[str, Config] = {
    # GRU, H = 64, Adam 3e-3, p = 0.08, spectrum every 100 steps (B = 8, T_w = 50, T = 200, float64); under a minute
    # on 2 CPU cores (docs/papers/lyapunov.md §4)
    "small": Config(),
    # an h-only LSTM starts far below zero and spreads (docs/papers/lyapunov.md §7: lambda_max -2.3 -> -0.7 nats)
    "talk": Config(cell="lstm", lstm_state="h", n_steps=600),
    # the 2020 spectra-during-training notebook: LSTM, U(+-0.08), Adam 0.002, batch 100, sequence 100; spectra on
    # B = 25 windows, T = 250, warm-up 10; reference conventions (h-only, J^T, bits)
    "paper": Config(cell="lstm", lstm_state="h", hidden=512, init_scale=0.08, lr=2e-3, batch_size=100,
                    seq_len=100, n_steps=20_000, le_every=2_000, le_batch=25, le_steps=250, le_warmup=10,
                    units="bits", transpose_jacobian=True),
}


def exponent_unit(config: Config | SweepConfig) -> str:
    """Unit of the exponents of a run: ``"nats/step"`` or ``"bits/step"``.

    Parameters
    ----------
    config : Config or SweepConfig

    Returns
    -------
    str
    """
    return f"{config.units}/step"


def metrics(config: Config) -> tuple[Metric, ...]:
    """Declared metrics of the ``lyapunov`` experiment (units follow ``config.units``).

    Parameters
    ----------
    config : Config

    Returns
    -------
    tuple of Metric
    """
    u = exponent_unit(config)
    return (
        Metric("train_loss", "nats", "training loss"),
        Metric("val_loss", "nats", "validation loss at the latest spectrum"),
        Metric("lambda_max", u, "largest exponent λ_max"),
        Metric("lambda_mean", u, "mean exponent"),
        Metric("n_positive", "", "positive exponents"),
        Metric("kaplan_yorke_dim", "", "Kaplan–Yorke dimension"),
        Metric("ks_entropy", u, "KS-entropy bound"),
        Metric("le_seconds", "s", "time of the latest spectrum"),
        Metric("le_checkpoint", "steps", "training step of the latest spectrum"),
        Metric("train_step", "steps", "training step"),
    )


# ----------------------------------------------------------------------------------------------------------------
# shared machinery


def _base(units: str) -> str | int:
    return 2 if units == "bits" else "e"


def _finite(x: np.ndarray) -> np.ndarray:
    return np.nan_to_num(np.asarray(x, dtype=np.float64), nan=PLOT_FLOOR, neginf=PLOT_FLOOR, posinf=-PLOT_FLOOR)


def summarise(res: LyapunovSpectrum) -> dict[str, float]:
    """Scalar features of a spectrum's batch mean: ``lambda_max``, ``lambda_mean`` (over finite exponents),
    ``n_positive``, ``kaplan_yorke_dim``, ``ks_entropy``; all finite."""
    mean = res.mean.detach().cpu().numpy()
    finite = mean[np.isfinite(mean)]
    return {
        "lambda_max": float(finite.max()) if finite.size else PLOT_FLOOR,
        "lambda_mean": float(finite.mean()) if finite.size else PLOT_FLOOR,
        "n_positive": float(np.sum(mean > 0)),
        "kaplan_yorke_dim": float(kaplan_yorke_dimension(mean)),
        "ks_entropy": float(ks_entropy(mean)),
    }


def _curve_artifacts(res: LyapunovSpectrum) -> tuple[np.ndarray, np.ndarray]:
    curves = res.curves[:, :, :N_TOP_CURVES].mean(dim=1).cpu().numpy()  # (n, 5) batch mean
    steps = res.curve_steps.cpu().numpy().astype(np.float64)
    idx = np.unique(np.linspace(0, len(steps) - 1, min(MAX_CURVE_POINTS, len(steps))).round().astype(int))
    return _finite(curves[idx]), steps[idx]


class _CharTrainer:
    """Model, optimizer, data stream and fixed held-out banks of one char-level network."""

    def __init__(self, *, cell: str, hidden: int, init_scale: float, lr: float, batch_size: int, seq_len: int,
                 le_batch: int, le_length: int, seed: int, data_seed: int, bank_seed: int, device: torch.device):
        self.corpus = load_corpus()
        self.device = device
        self.batch_size, self.seq_len = batch_size, seq_len
        self.model = CharRNN(cell, self.corpus.n_symbols, hidden, init_scale, torch_generator(seed)).to(device)
        self.opt = torch.optim.Adam(self.model.parameters(), lr=lr)
        self.data_rng = numpy_generator(data_seed)
        bank_rng = numpy_generator(bank_seed)
        val_ids = sample_windows(self.corpus.val, VAL_WINDOWS, VAL_LENGTH, bank_rng)
        self.val_ids = torch.from_numpy(val_ids).to(device)  # (32, 129)
        le_ids = sample_windows(self.corpus.val, le_batch, le_length, bank_rng)
        self.le_inputs = one_hot(torch.from_numpy(le_ids), self.corpus.n_symbols, torch.float64).to(device)

    def train_step(self) -> float:
        ids = torch.from_numpy(sample_windows(self.corpus.train, self.batch_size, self.seq_len + 1, self.data_rng))
        self.model.train()
        loss = self.model.loss(ids.to(self.device))
        self.opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(self.model.parameters(), GRAD_CLIP)
        self.opt.step()
        return float(loss.detach())

    def val_loss(self) -> float:
        self.model.eval()
        with torch.no_grad():
            return float(self.model.loss(self.val_ids))


class _SpectrumJob:
    """A spectrum of frozen weights computed a slice at a time."""

    def __init__(self, trainer: _CharTrainer, *, warmup: int, k: int, t_ons: int, lstm_state: str, units: str,
                 transpose: bool, q0: str, seed: int, chunk: int):
        t0 = time.perf_counter()
        self._it = iter_lyapunov_spectrum(
            trainer.model.rnn, trainer.le_inputs, warmup=warmup, k=k or None, t_ons=t_ons, lstm_state=lstm_state,
            base=_base(units), transpose_jacobian=transpose, q0=q0, generator=torch_generator(seed),
            return_curves=True, chunk=chunk)
        self.seconds = time.perf_counter() - t0
        self.result: LyapunovSpectrum | None = None

    def advance(self) -> LyapunovSpectrum | None:
        """Compute one slice; return the result when the spectrum is complete."""
        t0 = time.perf_counter()
        try:
            next(self._it)
        except StopIteration as stop:
            self.result = stop.value
        self.seconds += time.perf_counter() - t0
        return self.result


def _n_chunks(n_time: int, chunk: int) -> int:
    return -(-n_time // chunk)


# ----------------------------------------------------------------------------------------------------------------
# experiment "lyapunov"


class LyapunovExperiment:
    """Train a char-level RNN and follow its Lyapunov spectrum (see the module docstring)."""

    def __init__(self, config: Config):
        self.config = config
        c = config
        self.device = resolve_device(c.device)
        n_time = c.le_warmup + c.le_steps
        self._chunk = -(-n_time // max(1, c.le_every // 4))  # a spectrum finishes within le_every // 4 steps
        self.total_steps = c.n_steps + _n_chunks(n_time, self._chunk)
        self.trainer = _CharTrainer(
            cell=c.cell, hidden=c.hidden, init_scale=c.init_scale, lr=c.lr, batch_size=c.batch_size,
            seq_len=c.seq_len, le_batch=c.le_batch, le_length=n_time, seed=derive_seed(c.seed, "model"),
            data_seed=derive_seed(c.seed, "data"), bank_seed=derive_seed(c.seed, "held-out"), device=self.device)
        self._k = 0
        self._job: _SpectrumJob | None = None
        self._job_step = -1
        self._job_val = math.nan
        self._train_loss = math.nan
        self._metrics: dict[str, float] = {
            "val_loss": 0.0, "lambda_max": 0.0, "lambda_mean": 0.0, "n_positive": 0.0, "kaplan_yorke_dim": 0.0,
            "ks_entropy": 0.0, "le_seconds": 0.0, "le_checkpoint": -1.0,
        }

    @property
    def done(self) -> bool:
        return self._k >= self.total_steps

    def _checkpoint(self, train_step: int) -> None:
        c = self.config
        assert self._job is None, "spectra are scheduled so that they never overlap"
        self._job_val = self.trainer.val_loss()
        self._metrics["val_loss"] = self._job_val
        self._job_step = train_step
        self._job = _SpectrumJob(self.trainer, warmup=c.le_warmup, k=c.n_exponents, t_ons=c.t_ons,
                                 lstm_state=c.lstm_state, units=c.units, transpose=c.transpose_jacobian, q0=c.q0,
                                 seed=derive_seed(c.seed, "q0"), chunk=self._chunk)

    def step(self) -> Record:
        """One Adam update (or, after the last one, one slice of the final spectrum)."""
        if self.done:
            raise RuntimeError("the run is finished; build a new experiment")
        c, k = self.config, self._k
        if k < c.n_steps and k % c.le_every == 0:
            self._checkpoint(k)
        elif k == c.n_steps:
            self._checkpoint(k)  # the trained network
        if k < c.n_steps:
            self._train_loss = self.trainer.train_step()
        artifacts: dict[str, Any] = {}
        if self._job is not None and self._job.advance() is not None:
            res, seconds = self._job.result, self._job.seconds
            self._job = None
            summary = summarise(res)
            self._metrics.update(summary, le_seconds=seconds, le_checkpoint=float(self._job_step))
            curves, curve_steps = _curve_artifacts(res)
            artifacts = {
                "le_step": float(self._job_step),
                "spectrum": _finite(res.mean.cpu().numpy()),
                "spectrum_std": _finite(res.std.cpu().numpy()),
                "curves": curves,
                "curve_steps": curve_steps,
                "val_loss": self._job_val,
                "lambda_max": summary["lambda_max"],
            }
        self._k += 1
        train_loss = self._train_loss if math.isfinite(self._train_loss) else self._metrics["val_loss"]
        metrics = {"train_loss": train_loss, **self._metrics, "train_step": float(min(self._k, c.n_steps))}
        return Record(step=k, metrics=metrics, artifacts=artifacts)


def build(config: Config) -> LyapunovExperiment:
    """Build the ``lyapunov`` experiment."""
    return LyapunovExperiment(config)


# ----------------------------------------------------------------------------------------------------------------
# experiment "lyapunov_sweep"


@dataclass(frozen=True)
class SweepConfig:
    """Settings of an init-scale sweep (``docs/papers/lyapunov.md §4``, second tab; §5, figure 2)."""

    cell: str = param("gru", choices=("gru", "lstm", "rnn"), label="recurrent cell",
                      help="recurrent cell of every network")
    lstm_state: str = param("hc", choices=("hc", "h"), label="LSTM tangent space (h and c, or h only)",
                            help="LSTM only: the full (h, c) state, or h only with c held fixed (the reference)",
                            applies=lstm_only)
    hidden: int = param(32, min=8, max=512, label="hidden units H", help="hidden size H of every network")
    n_networks: int = param(8, min=3, max=64, label="networks", help="networks in the sweep")
    p_min: float = param(0.04, min=0.01, max=0.5, label="smallest initial weight scale p",
                         help="smallest p; weights drawn from U(-p, p)")
    p_max: float = param(0.5, min=0.01, max=1.0, label="largest initial weight scale p", help="largest p")
    n_steps: int = param(150, min=1, max=50_000, label="training steps per network",
                         help="Adam updates per network (the fixed training budget)")
    lr: float = param(3e-3, min=1e-4, max=5e-2, log=True, label="learning rate", help="Adam step size")
    batch_size: int = param(32, min=1, max=256, label="training windows per update", help="batch size")
    seq_len: int = param(64, min=8, max=256, label="characters per training window", help="training sequence length")
    n_exponents: int = param(0, min=0, max=1024, label="exponents to compute (0 = all)",
                             help="the leading k exponents; 0 computes all D")
    le_batch: int = param(8, min=1, max=64, label="held-out windows per spectrum",
                          help="B held-out windows drive every spectrum")
    le_steps: int = param(150, min=10, max=5_000, label="measured steps per spectrum", help="T")
    le_warmup: int = param(30, min=0, max=2_000, label="warm-up steps per spectrum", help="steps before measuring")
    le_chunk: int = param(60, min=1, max=5_000, label="spectrum steps per update",
                          help="spectrum time steps computed per step() (keeps steps short)")
    units: str = param("nats", choices=("nats", "bits"), label="exponent units", help="nats or bits per step")
    transpose_jacobian: bool = param(False, label="multiply by Jᵀ like the reference code",
                                     help="the reference's convention; reproduction only")
    seed: int = param(0, min=0, max=2**31 - 1, label="seed", help="random seed (init scales, weights, batches)")
    device: str = param("auto", choices=("auto", "cpu", "cuda"), label="device", help="torch device")

    def __post_init__(self) -> None:
        if self.p_min >= self.p_max:
            raise ValueError(f"p_min must be < p_max, got p_min={self.p_min}, p_max={self.p_max}")
        d = 2 * self.hidden if (self.cell == "lstm" and self.lstm_state == "hc") else self.hidden
        if self.n_exponents > d:
            raise ValueError(f"n_exponents must be <= the state size D = {d} (0 means all), got {self.n_exponents}")


SWEEP_PRESETS: dict[str, SweepConfig] = {
    # 8 GRUs with H = 32, 150 updates each: under two minutes on two CPU cores
    "small": SweepConfig(),
    "talk": SweepConfig(n_networks=12, hidden=64, n_steps=300),
    # the 2021 sweep notebooks: GRU/LSTM, sizes 64-512, p in [0.04, 0.24], Adam 0.002, batch 128, sequence 100;
    # spectra on B = 10, T = 1000, no warm-up; larger sweeps belong to Optuna with the shared storage
    "paper": SweepConfig(cell="lstm", lstm_state="h", hidden=128, n_networks=60, p_min=0.04, p_max=0.24,
                         n_steps=5_000, lr=2e-3, batch_size=128, seq_len=100, le_batch=10, le_steps=1_000,
                         le_warmup=0, le_chunk=200, units="bits", transpose_jacobian=True),
}


def sweep_metrics(config: SweepConfig) -> tuple[Metric, ...]:
    """Declared metrics of the ``lyapunov_sweep`` experiment.

    Parameters
    ----------
    config : SweepConfig

    Returns
    -------
    tuple of Metric
    """
    return (
        Metric("net", "", "network index"),
        Metric("p", "", "initial weight scale p"),
        Metric("train_loss", "nats", "training loss"),
        Metric("networks_done", "", "networks finished"),
        Metric("spearman_rho", "", "Spearman ρ(λ_max, validation loss)"),
        Metric("spearman_rho_mean", "", "Spearman ρ(mean λ, validation loss)"),
    )


def _ranks(v: np.ndarray) -> np.ndarray:
    """Ranks 1..n with ties given their average rank."""
    order = np.argsort(v, kind="stable")
    ranks = np.empty(len(v))
    ranks[order] = np.arange(1, len(v) + 1)
    for value in np.unique(v):
        tied = v == value
        if tied.sum() > 1:
            ranks[tied] = ranks[tied].mean()
    return ranks


def spearman_rho(x: np.ndarray | list[float], y: np.ndarray | list[float]) -> float:
    """Spearman's rank correlation (Pearson correlation of average ranks, as ``scipy.stats.spearmanr``).

    Returns 0.0 with fewer than 3 points or a constant input, so that it stays a finite metric.
    """
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"x and y must be 1-d of the same length, got shapes {x.shape} and {y.shape}")
    if x.size < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return 0.0
    rx, ry = _ranks(x), _ranks(y)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    return float(np.dot(rx, ry) / math.sqrt(np.dot(rx, rx) * np.dot(ry, ry)))


class SweepExperiment:
    """Train ``n_networks`` char-level networks over init scales, one update or spectrum slice per step."""

    def __init__(self, config: SweepConfig):
        self.config = c = config
        self.device = resolve_device(c.device)
        rng = numpy_generator(derive_seed(c.seed, "scales"))
        n = c.n_networks
        strata = c.p_min + (c.p_max - c.p_min) * (np.arange(n) + rng.random(n)) / n  # stratified over [min, max]
        self.scales = strata[rng.permutation(n)]  # visited in random order
        n_time = c.le_warmup + c.le_steps
        self._per_net = c.n_steps + _n_chunks(n_time, c.le_chunk)
        self.total_steps = n * self._per_net
        self._k = 0
        self._trainer: _CharTrainer | None = None
        self._job: _SpectrumJob | None = None
        self._val = math.nan
        self._train_loss = math.nan
        self.table: dict[str, list[float]] = {"p": [], "lambda_max": [], "lambda_mean": [], "val_loss": []}
        self.spectra: list[np.ndarray] = []

    @property
    def done(self) -> bool:
        return self._k >= self.total_steps

    def _new_trainer(self, net: int) -> _CharTrainer:
        c = self.config
        return _CharTrainer(
            cell=c.cell, hidden=c.hidden, init_scale=float(self.scales[net]), lr=c.lr, batch_size=c.batch_size,
            seq_len=c.seq_len, le_batch=c.le_batch, le_length=c.le_warmup + c.le_steps,
            seed=derive_seed(c.seed, "model", net), data_seed=derive_seed(c.seed, "data"),  # same batches for all
            bank_seed=derive_seed(c.seed, "held-out"), device=self.device)

    def step(self) -> Record:
        """One Adam update of the current network, or one slice of its spectrum once its budget is spent."""
        if self.done:
            raise RuntimeError("the sweep is finished; build a new experiment")
        c, k = self.config, self._k
        net, local = divmod(k, self._per_net)
        if local == 0:
            self._trainer = self._new_trainer(net)
        assert self._trainer is not None
        artifacts: dict[str, Any] = {}
        if local < c.n_steps:
            self._train_loss = self._trainer.train_step()
        else:
            if local == c.n_steps:
                self._val = self._trainer.val_loss()
                self._job = _SpectrumJob(self._trainer, warmup=c.le_warmup, k=c.n_exponents, t_ons=1,
                                         lstm_state=c.lstm_state, units=c.units, transpose=c.transpose_jacobian,
                                         q0="identity", seed=0, chunk=c.le_chunk)
            assert self._job is not None
            res = self._job.advance()
            if res is not None:
                summary = summarise(res)
                p = float(self.scales[net])
                for key, value in (("p", p), ("lambda_max", summary["lambda_max"]),
                                   ("lambda_mean", summary["lambda_mean"]), ("val_loss", self._val)):
                    self.table[key].append(value)
                spectrum = _finite(res.mean.cpu().numpy())
                self.spectra.append(spectrum)
                artifacts = {"net": float(net), "p": p, "val_loss": self._val, "lambda_max": summary["lambda_max"],
                             "lambda_mean": summary["lambda_mean"], "spectrum": spectrum,
                             "le_seconds": self._job.seconds}
                self._job, self._trainer = None, None
        self._k += 1
        t = self.table
        metrics = {
            "net": float(net), "p": float(self.scales[net]), "train_loss": self._train_loss,
            "networks_done": float(len(t["p"])),
            "spearman_rho": spearman_rho(t["lambda_max"], t["val_loss"]),
            "spearman_rho_mean": spearman_rho(t["lambda_mean"], t["val_loss"]),
        }
        return Record(step=k, metrics=metrics, artifacts=artifacts)


def build_sweep(config: SweepConfig) -> SweepExperiment:
    """Build the ``lyapunov_sweep`` experiment."""
    return SweepExperiment(config)


def run_init_sweep(config: SweepConfig | None = None) -> dict[str, Any]:
    """Run an init-scale sweep to the end (``docs/papers/lyapunov.md §5``, figure 2).

    Parameters
    ----------
    config : SweepConfig, optional
        Defaults to ``SWEEP_PRESETS["small"]``.

    Returns
    -------
    dict
        ``p``, ``lambda_max``, ``lambda_mean``, ``val_loss`` (arrays of shape (n_networks,)), ``spectra``
        (n_networks, k), ``spearman_rho`` (lambda_max vs val_loss) and ``spearman_rho_mean``.
    """
    exp = SweepExperiment(config or SWEEP_PRESETS["small"])
    while not exp.done:
        exp.step()
    out: dict[str, Any] = {key: np.asarray(v) for key, v in exp.table.items()}
    out["spectra"] = np.stack(exp.spectra)
    out["spearman_rho"] = spearman_rho(out["lambda_max"], out["val_loss"])
    out["spearman_rho_mean"] = spearman_rho(out["lambda_mean"], out["val_loss"])
    return out

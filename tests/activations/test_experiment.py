"""The adaptive-activation experiments (docs/papers/activations.md §4, §6): the three-mode run, the (n, s) grid and the
input-shift protocol, each on a short real run checked against the artifacts and against independent computations;
the Lyapunov exponent against a closed form and a plain QR loop; determinism and config validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from neurodyn.activations.experiment import (
    LYAPUNOV_STEPS,
    LYAPUNOV_WARMUP,
    N_CLASSES,
    SHIFT_ROWS,
    Config,
    GridConfig,
    ShiftConfig,
    build,
    build_grid,
    build_shift,
    evaluations,
    grid_points,
    lyapunov_exponent,
    mode_rows,
    shift_parameter_counts,
)
from neurodyn.activations.gamma import MODES, max_slope
from neurodyn.activations.rnn import GammaRNNGrid
from neurodyn.core.config import ConfigError, apply_overrides
from neurodyn.core.loop import run
from neurodyn.core.seeding import derive_seed, torch_generator

torch.set_num_threads(1)
F64 = torch.float64

# ---------------------------------------------------------------------------------------------------------------
# the three-mode run


@pytest.fixture(scope="module")
def modes_run():
    cfg = Config(epochs=1, n_seeds=2, hidden=16, lyapunov=True, device="cpu")
    exp = build(cfg)
    return cfg, exp, list(run(exp))


def test_modes_schedule_length_and_evaluations(modes_run):
    cfg, exp, records = modes_run
    assert exp.total_steps == len(records) and exp.done
    assert [r.step for r in records] == list(range(len(records)))
    evals = evaluations(records)
    assert [int(r.artifacts["epoch"]) for r in evals] == [0, 1]
    assert records[0] is evals[0] and records[-1].metrics["eval_epoch"] == 1.0
    for r in evals:
        assert r.artifacts["acc"].shape == (3 * cfg.n_seeds,)
        assert r.artifacts["n"].shape == r.artifacts["s"].shape == (3 * cfg.n_seeds, cfg.hidden)


def test_modes_of_a_seed_start_identical_and_seeds_differ(modes_run):
    cfg, _, records = modes_run
    acc0 = records[0].artifacts["acc"]
    rows = {m: mode_rows(cfg, m) for m in MODES}
    assert rows["static"] == [0, 1] and rows["homogeneous"] == [2, 3] and rows["heterogeneous"] == [4, 5]
    np.testing.assert_array_equal(acc0[rows["static"]], acc0[rows["homogeneous"]])
    np.testing.assert_array_equal(acc0[rows["static"]], acc0[rows["heterogeneous"]])
    assert acc0[0] != acc0[1]  # two seeds: different weights
    # on a fresh build: the weights of a seed are equal across modes, different across seeds
    grid = build(cfg).trainer.grid
    for name in ("U", "b_U", "V", "b_V", "W", "b"):
        p = getattr(grid, name).detach()
        for i in range(cfg.n_seeds):
            assert torch.equal(p[i], p[2 + i]) and torch.equal(p[i], p[4 + i]), name
        if name != "b":  # the readout bias starts at zero for every seed
            assert not torch.equal(p[0], p[1]), name


def test_shape_parameters_follow_their_modes(modes_run):
    cfg, exp, records = modes_run
    st, hom, het = (mode_rows(cfg, m) for m in MODES)
    for r in evaluations(records):
        n, s = r.artifacts["n"], r.artifacts["s"]
        assert np.all(n[st] == cfg.n_init) and np.all(s[st] == cfg.s_init)  # static never moves
        for g in hom:  # one shared pair: equal across units
            assert np.all(n[g] == n[g, 0]) and np.all(s[g] == s[g, 0])
    n, s = evaluations(records)[-1].artifacts["n"], evaluations(records)[-1].artifacts["s"]
    for g in hom:
        assert n[g, 0] != cfg.n_init and s[g, 0] != cfg.s_init  # ... but moved
    for g in het:  # one pair per unit: spread
        assert n[g].std() > 1e-4 and s[g].std() > 1e-4


def test_modes_of_a_seed_see_the_same_batches():
    # with the shapes frozen (shape learning rate 0), the three modes of a seed are the same network: they stay
    # equal under training iff they see the same batches; the two seeds do not
    cfg = Config(epochs=1, n_seeds=2, hidden=8, lyapunov=False, batches_per_record=2, device="cpu")
    exp = build(cfg)
    exp.trainer.opt.param_groups[1]["lr"] = 0.0
    for _ in range(4):  # one evaluation step, then 6 batches
        exp.step()
    grid = exp.trainer.grid
    assert exp.trainer.batch == 6
    losses = exp.trainer.row_losses
    for name in ("U", "V", "W", "n", "s"):
        p = getattr(grid, name).detach()
        for i in range(cfg.n_seeds):
            torch.testing.assert_close(p[i], p[2 + i], rtol=1e-6, atol=1e-7)
            torch.testing.assert_close(p[i], p[4 + i], rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(losses[[0, 1]], losses[[2, 3]], rtol=1e-6)
    np.testing.assert_allclose(losses[[0, 1]], losses[[4, 5]], rtol=1e-6)
    assert abs(losses[0] - losses[1]) > 1e-4


def test_mode_metrics_equal_the_latest_artifacts(modes_run):
    cfg, _, records = modes_run
    latest = None
    lyap: dict[str, float] = {m: 0.0 for m in MODES}
    for r in records:
        if "acc" in r.artifacts:
            latest = r.artifacts
            n, s = latest["n"], latest["s"]
            hom, het = mode_rows(cfg, "homogeneous")[0], mode_rows(cfg, "heterogeneous")[0]
            assert r.metrics["hom_n"] == pytest.approx(n[hom, 0], rel=1e-6)
            assert r.metrics["hom_s"] == pytest.approx(s[hom, 0], rel=1e-6)
            assert r.metrics["het_n_mean"] == pytest.approx(n[het].mean(), rel=1e-6)
            assert r.metrics["het_n_std"] == pytest.approx(n[het].std(ddof=1), rel=1e-4, abs=1e-7)
            assert r.metrics["het_s_mean"] == pytest.approx(s[het].mean(), rel=1e-6)
            assert r.metrics["het_s_std"] == pytest.approx(s[het].std(ddof=1), rel=1e-4, abs=1e-7)
            assert r.metrics["eval_epoch"] == latest["epoch"]
        if "lyap" in r.artifacts:
            lyap[r.artifacts["lyap_mode"]] = r.artifacts["lyap"]
        for m in MODES:
            assert r.metrics[f"acc_{m}"] == pytest.approx(latest["acc"][mode_rows(cfg, m)].mean(), abs=1e-12)
            assert r.metrics[f"lyap_{m}"] == lyap[m]


def test_lyapunov_artifacts_once_per_mode_per_evaluation_and_recomputable(modes_run):
    cfg, exp, records = modes_run
    arts = [r.artifacts for r in records if "lyap" in r.artifacts]
    assert [(a["lyap_epoch"], a["lyap_mode"]) for a in arts] == [(e, m) for e in (0, 1) for m in MODES]
    # each exponent follows its evaluation: right after the evaluation record, before training resumes
    first_eval = [i for i, r in enumerate(records) if "acc" in r.artifacts]
    for i in first_eval:
        assert [records[i + 1 + j].artifacts.get("lyap_mode") for j in range(3)] == list(MODES)
    # epoch 0: the three modes share V and the shape, so their exponents are equal
    assert arts[0]["lyap"] == arts[1]["lyap"] == arts[2]["lyap"]
    seed = derive_seed(cfg.seed, "lyapunov")
    for a in arts[3:]:  # the last evaluation, recomputed on the final grid
        g = MODES.index(a["lyap_mode"]) * cfg.n_seeds
        assert a["lyap"] == pytest.approx(lyapunov_exponent(exp.trainer.grid, g, seed), abs=1e-12)
    assert len({a["lyap"] for a in arts[3:]}) == 3  # after training the modes differ


def test_exponent_of_the_initial_orthogonal_recurrence_is_negative():
    cfg = Config(hidden=16, n_seeds=1, lyapunov=True, device="cpu")
    grid = build(cfg).trainer.grid
    V = grid.V[0].detach().double()
    torch.testing.assert_close(V @ V.T, torch.eye(16, dtype=F64), atol=1e-5, rtol=0)  # Henaff: orthogonal
    lam = lyapunov_exponent(grid, 0, derive_seed(cfg.seed, "lyapunov"))
    # |J| <= sup γ' · |V| = sup γ' = 0.9 at (n, s) = (5, 0.5): the exponent is at most log2 0.9 < 0
    assert lam <= math.log2(max_slope(cfg.n_init, cfg.s_init)) + 1e-9
    assert lam < 0


# ---------------------------------------------------------------------------------------------------------------
# lyapunov_exponent against independent computations


def _dgamma(a: torch.Tensor, n: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    sig = torch.sigmoid(n * a)
    return (1 - s) * sig + s * n * sig * (1 - sig)


def _gamma(a: torch.Tensor, n: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
    return (1 - s) * torch.logaddexp(torch.zeros_like(a), n * a) / n + s * torch.sigmoid(n * a)


def test_lyapunov_exponent_of_a_scaled_identity_is_the_mean_log_slope():
    # V = c·I: J_t = c·γ'(c h_t)·I, so both exponents are the mean over the measured steps of log2 |c γ'(c h_t)|
    N, c, n, s = 6, 1.25, 2.0, 0.25
    grid = GammaRNNGrid.from_shapes([(n, s, "static")], 1, N, N_CLASSES, [3])
    with torch.no_grad():
        grid.V[0].copy_(c * torch.eye(N))
    h, logs = torch.tensor(0.5, dtype=F64), []
    nt, st = torch.tensor(n, dtype=F64), torch.tensor(s, dtype=F64)
    for t in range(LYAPUNOV_WARMUP + LYAPUNOV_STEPS):
        a = c * h
        if t >= LYAPUNOV_WARMUP:
            logs.append(math.log2(abs(c * float(_dgamma(a, nt, st)))))
        h = _gamma(a, nt, st)
    assert lyapunov_exponent(grid, 0, 7) == pytest.approx(float(np.mean(logs)), abs=1e-10)


def test_lyapunov_exponent_matches_a_plain_qr_loop():
    N, k, seed = 6, 2, 11
    grid = GammaRNNGrid.from_shapes([(3.0, 0.4, "heterogeneous")], 1, N, N_CLASSES, [5])
    gen = torch.Generator().manual_seed(1)
    with torch.no_grad():  # a non-orthogonal V and per-unit shapes
        grid.V[0].copy_(5.0 * torch.randn(N, N, generator=gen) / math.sqrt(N))
        grid.n[0].copy_(torch.linspace(1.0, 6.0, N))
        grid.s[0].copy_(torch.linspace(-0.1, 0.9, N))
    V, n, s = (p[0].detach().double() for p in (grid.V, grid.n, grid.s))
    Q = torch.linalg.qr(torch.randn(N, k, generator=torch_generator(seed), dtype=F64)).Q
    h, acc = torch.full((N,), 0.5, dtype=F64), torch.zeros(k, dtype=F64)
    for t in range(LYAPUNOV_WARMUP + LYAPUNOV_STEPS):
        a = V @ h
        J = _dgamma(a, n, s)[:, None] * V
        Q, R = torch.linalg.qr(J @ Q)
        if t >= LYAPUNOV_WARMUP:
            acc += torch.diagonal(R).abs().log()
        h = _gamma(a, n, s)
    expected = float((acc / LYAPUNOV_STEPS / math.log(2.0)).max())
    got = lyapunov_exponent(grid, 0, seed)
    assert got == pytest.approx(expected, abs=1e-6)
    assert got > 0  # the gain-5 random matrix makes the measured case expanding, not a trivial fixed point


# ---------------------------------------------------------------------------------------------------------------
# the grid run


@pytest.fixture(scope="module")
def grid_run():
    cfg = GridConfig(epochs=1, hidden=16, device="cpu")
    exp = build_grid(cfg)
    return cfg, exp, list(run(exp))


def test_grid_rows_follow_grid_points(grid_run):
    cfg, exp, records = grid_run
    points = grid_points(cfg)
    assert len(points) == 18 and exp.trainer.grid.modes == tuple(m for _, _, m in points)
    assert points[:9] == [(n, s, "static") for s in (0.0, 0.5, 1.0) for n in (1.0, 5.0, 10.0)]
    art = records[0].artifacts
    assert art["epoch"] == 0
    np.testing.assert_array_equal(art["n"], [p[0] for p in points])
    np.testing.assert_array_equal(art["s"], [p[1] for p in points])
    assert exp.total_steps == len(records) and [int(r.artifacts["epoch"]) for r in evaluations(records)] == [0, 1]
    assert len(grid_points(GridConfig(homogeneous=False))) == 9


def test_grid_rows_start_from_the_same_weights(grid_run):
    cfg, _, records = grid_run
    acc0 = records[0].artifacts["acc"]
    np.testing.assert_array_equal(acc0[:9], acc0[9:])  # static and homogeneous from the same (n, s)
    grid = build_grid(cfg).trainer.grid
    for name in ("U", "b_U", "V", "b_V", "W", "b"):
        p = getattr(grid, name).detach()
        assert all(torch.equal(p[0], p[g]) for g in range(grid.size)), name


def test_grid_metrics_equal_the_artifact_values(grid_run):
    cfg, _, records = grid_run
    points = grid_points(cfg)
    static = np.array([m == "static" for _, _, m in points])
    sats = np.array([s for _, s, _ in points])
    latest = None
    for r in records:
        if "acc" in r.artifacts:
            latest = r.artifacts["acc"]
        assert r.metrics["best_static_acc"] == pytest.approx(latest[static].max(), abs=1e-12)
        assert r.metrics["acc_s0"] == pytest.approx(latest[static & (sats == 0)].mean(), abs=1e-12)
        assert r.metrics["acc_s1"] == pytest.approx(latest[static & (sats == 1)].mean(), abs=1e-12)
    assert records[-1].metrics["acc_s0"] == pytest.approx(records[-1].artifacts["acc"][[0, 1, 2]].mean())


def test_grid_homogeneous_rows_move_while_static_rows_do_not(grid_run):
    cfg, exp, records = grid_run
    points = grid_points(cfg)
    art = records[-1].artifacts
    for g, (n, s, mode) in enumerate(points):
        if mode == "static":
            assert art["n"][g] == n and art["s"][g] == s
        else:
            assert art["n"][g] != n and art["s"][g] != s
    grid = exp.trainer.grid
    for g in range(9, 18):  # one shared pair per homogeneous network
        assert torch.all(grid.n[g] == grid.n[g, 0]) and torch.all(grid.s[g] == grid.s[g, 0])


# ---------------------------------------------------------------------------------------------------------------
# the shift run


@pytest.fixture(scope="module")
def shift_run():
    cfg = ShiftConfig(epochs=1, adapt_epochs=1, hidden=16, device="cpu")
    exp = build_shift(cfg)
    records = []
    while exp.phase == 0:
        records.append(exp.step())
    trained = {k: v.detach().clone() for k, v in exp.trainer.grid.named_parameters()}
    while not exp.done:
        records.append(exp.step())
    return cfg, exp, records, trained


def test_shift_phases_and_schedule(shift_run):
    cfg, exp, records, _ = shift_run
    assert exp.total_steps == len(records)
    end = next(i for i, r in enumerate(records) if r.artifacts.get("epoch") == cfg.epochs)
    # phase 0 while training; phase 1 once the adaptation has started (the step that ends training starts it)
    assert all(r.metrics["phase"] == 0.0 for r in records[:end])
    assert all(r.metrics["phase"] == 1.0 for r in records[end + 1:])
    assert [r.metrics["phase"] for r in records] == sorted(r.metrics["phase"] for r in records)
    adapted = [r for r in records if "adapt_epoch" in r.artifacts]
    assert [r.artifacts["adapt_epoch"] for r in adapted] == [1] and adapted[0] is records[-1]
    assert records[-1].metrics["epoch"] == cfg.epochs + cfg.adapt_epochs


def test_shift_copies_train_only_their_own_parameters(shift_run):
    _, exp, _, trained = shift_run
    base = exp.trainer.grid
    for name, p in base.named_parameters():  # the reference network is untouched while the copies adapt
        assert torch.equal(p.detach(), trained[name]), name
    copies = exp.adapter.grid
    assert list(SHIFT_ROWS) == ["shape", "readout"] and copies.size == 2
    for name, p in copies.named_parameters():
        ref = trained[name][0]
        shape_row, readout_row = p[0].detach(), p[1].detach()
        if name in SHIFT_ROWS["shape"]:
            assert not torch.equal(shape_row, ref), name
        else:
            assert torch.equal(shape_row, ref), name
        if name in SHIFT_ROWS["readout"]:
            assert not torch.equal(readout_row, ref), name
        else:
            assert torch.equal(readout_row, ref), name


def test_shift_adapted_metrics_equal_the_unadapted_ones_before_adaptation(shift_run):
    _, _, records, _ = shift_run
    before = [r for r in records if r is not records[-1]]
    for r in before:
        m = r.metrics
        for row in SHIFT_ROWS:
            assert m[f"{row}_clean_acc"] == m["clean_acc"] and m[f"{row}_shifted_acc"] == m["shifted_acc"]
    last = records[-1]
    for key in ("shape_clean", "shape_shifted", "readout_clean", "readout_shifted"):
        assert last.metrics[f"{key}_acc"] == last.artifacts[key]
    assert last.metrics["shape_shifted_acc"] != last.metrics["shifted_acc"]
    trained_art = [r.artifacts for r in records if "clean" in r.artifacts][-1]  # the last training epoch's
    assert last.metrics["clean_acc"] == trained_art["clean"] and last.metrics["shifted_acc"] == trained_art["shifted"]


def test_shift_parameter_counts(shift_run):
    cfg, exp, _, _ = shift_run
    counts = shift_parameter_counts(cfg)
    assert counts == {"shape": 2 * 16, "readout": 10 * 16 + 10}
    grid = exp.adapter.grid
    for row, names in SHIFT_ROWS.items():
        assert counts[row] == sum(getattr(grid, name)[0].numel() for name in names)


def test_zero_amplitude_shift_leaves_accuracy_unchanged():
    cfg = ShiftConfig(epochs=1, adapt_epochs=1, hidden=8, amplitude=0.0, batches_per_record=14, device="cpu")
    records = list(run(build_shift(cfg)))
    assert len(records) == 4
    for r in records:
        m = r.metrics
        assert m["shifted_acc"] == m["clean_acc"]
        assert m["shape_shifted_acc"] == m["shape_clean_acc"]
        assert m["readout_shifted_acc"] == m["readout_clean_acc"]


# ---------------------------------------------------------------------------------------------------------------
# determinism and validation


def _same_records(a, b) -> bool:
    if a.step != b.step or dict(a.metrics) != dict(b.metrics) or a.artifacts.keys() != b.artifacts.keys():
        return False
    return all(np.array_equal(np.asarray(a.artifacts[k]), np.asarray(b.artifacts[k])) for k in a.artifacts)


@pytest.mark.parametrize("make", [
    lambda: build(Config(epochs=1, n_seeds=2, hidden=8, lyapunov=False, device="cpu")),
    lambda: build_grid(GridConfig(epochs=1, hidden=8, homogeneous=False, device="cpu")),
    lambda: build_shift(ShiftConfig(epochs=1, hidden=8, device="cpu")),
])
def test_same_config_gives_identical_records_and_leaves_the_global_rng(make):
    torch.manual_seed(1234)
    state = torch.get_rng_state()
    first = list(run(make(), 4))
    assert torch.equal(torch.get_rng_state(), state)
    second = list(run(make(), 4))
    assert len(first) == len(second) == 4
    assert all(_same_records(a, b) for a, b in zip(first, second))
    assert first[-1].metrics != first[0].metrics  # training moved something within these steps


@pytest.mark.parametrize("cls", [Config, ShiftConfig])
@pytest.mark.parametrize("value", [0.0, -1.0])
def test_non_positive_initial_gain_is_refused_naming_the_field(cls, value):
    with pytest.raises(ConfigError, match="n_init must be >= 0.5"):
        apply_overrides(cls(), {"n_init": value})
    with pytest.raises(ValueError, match=r"n_init \(the initial gain n\) must be a finite number > 0"):
        cls(n_init=value)  # the dataclass refuses it itself, naming the field
    with pytest.raises(ValueError, match="n_init"):
        cls(n_init=float("nan"))
    assert issubclass(ConfigError, ValueError)

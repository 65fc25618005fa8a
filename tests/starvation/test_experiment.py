"""The gradient-starvation experiments (``docs/papers/starvation.md`` §4, §6): the stacked two-moons run against
separate networks and the optimiser it stands for, the schedule of records and snapshots, the metrics against their
artifacts and against independent recomputations, the boundary metrics on hand-made fields, the feature responses
against a closed-form tangent kernel, the toy run against ``linear_toy``, determinism and config validation."""

from __future__ import annotations

import dataclasses
import math
import random

import numpy as np
import pytest
import torch

from neurodyn.alignment import tangent_kernel
from neurodyn.core.loop import run
from neurodyn.core.testing import check_experiment
from neurodyn.starvation.experiment import (
    EXTENT,
    HEAT_SIZE,
    METRIC_GRID,
    N_RESPONSES,
    REGULARISERS,
    Config,
    ToyConfig,
    boundary_metrics,
    build,
    build_toy,
    contour_points,
    data_points,
    plane_grid,
    reg_rows,
    sd_margin_target,
    toy_s1_values,
)
from neurodyn.starvation.functional import linear_toy, sd_fixed_point, spectral_decoupling_loss, two_moons
from neurodyn.starvation.mlp import StackedMLP

torch.set_num_threads(1)

SMALL = Config(epochs=40, artifact_every=20, epochs_per_record=10, n_seeds=2, hidden=32, n_points=100, device="cpu")
SNAPSHOT_EPOCHS = [0, 20, 40]
FALLBACK = 2 * EXTENT


@pytest.fixture(scope="module")
def small_run():
    """The small run, stepped by hand: every record with the model's outputs on the data right after it."""
    exp = build(SMALL)
    row0_init = exp.model.row(0)
    records, outputs = [], []
    while not exp.done:
        records.append(exp.step())
        with torch.no_grad():
            outputs.append(exp.model(exp.X).double().numpy())
    return exp, row0_init, records, outputs


def _snapshots(records, reg=None):
    return [r for r in records if "reg" in r.artifacts and (reg is None or r.artifacts["reg"] == reg)]


# ---------------------------------------------------------------------------------------------------------------
# the stacked model against separate networks


def test_row_is_the_network_of_the_stack():
    model = StackedMLP([3, 4, 5, 3], hidden=24)
    x = torch.randn(17, 2, generator=torch.Generator().manual_seed(0))
    out = model(x)
    assert out.shape == (4, 17)
    for g in range(4):
        net = model.row(g)
        assert isinstance(net, torch.nn.Sequential)
        torch.testing.assert_close(net(x).squeeze(-1), out[g], rtol=1e-6, atol=1e-6)
    torch.testing.assert_close(model(x, rows=[2, 0]), out[[2, 0]], rtol=0, atol=0)
    torch.testing.assert_close(out[0], out[3], rtol=0, atol=0)  # equal seeds, equal networks
    assert (out[0] - out[1]).abs().max() > 1e-3
    # a copy: training the row leaves the stack alone
    net = model.row(1)
    with torch.no_grad():
        net[0].weight.add_(1.0)
    torch.testing.assert_close(model(x)[1], out[1], rtol=0, atol=0)


def test_training_loss_is_spectral_decoupling_of_each_row():
    cfg = dataclasses.replace(SMALL, sd_coef=0.05)
    exp = build(cfg)
    with torch.no_grad():
        out = exp.model(exp.X) * 3.0  # larger logits: the penalty weighs more
        per_row = exp._loss(out)
    assert per_row.shape == (3 * cfg.n_seeds,)
    targets = (exp.y + 1) / 2
    sd = set(reg_rows(cfg, "sd"))
    for g in range(exp.model.size):
        coef = cfg.sd_coef if g in sd else 0.0
        expected = spectral_decoupling_loss(out[g], targets, coef)
        assert per_row[g].item() == pytest.approx(expected.item(), abs=1e-6)
    # the penalty is really there on the SD rows (and the test could see it missing)
    for ce, s in zip(reg_rows(cfg, "ce"), reg_rows(cfg, "sd")):
        assert per_row[s] - per_row[ce] == pytest.approx(cfg.sd_coef * (out[ce] ** 2).mean().item(), rel=1e-4)
        assert cfg.sd_coef * (out[ce] ** 2).mean().item() > 1e-3


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_training_steps_equal_the_torch_optimiser_on_separate_networks(optimizer):
    # weight decay and c large enough that a row decayed (or penalised) by mistake is far outside the tolerance
    cfg = dataclasses.replace(SMALL, epochs=20, artifact_every=20, epochs_per_record=3, weight_decay=0.05,
                              sd_coef=0.05, lr=0.05 if optimizer == "sgd" else 1e-3, optimizer=optimizer)
    exp = build(cfg)
    nets = [exp.model.row(g) for g in range(exp.model.size)]
    X, y = exp.X, exp.y
    targets = (y + 1) / 2
    decay = {g: cfg.weight_decay for g in reg_rows(cfg, "wd")}
    coef = {g: cfg.sd_coef for g in reg_rows(cfg, "sd")}
    while exp.epoch == 0:  # the epoch-0 snapshot, then one record of 3 epochs
        exp.step()
    assert exp.epoch == 3
    for g, net in enumerate(nets):
        cls = torch.optim.SGD if optimizer == "sgd" else torch.optim.Adam
        kwargs = {"momentum": 0.9} if optimizer == "sgd" else {}
        opt = cls(net.parameters(), lr=cfg.lr, weight_decay=decay.get(g, 0.0), **kwargs)
        for _ in range(3):
            opt.zero_grad()
            spectral_decoupling_loss(net(X).squeeze(-1), targets, coef.get(g, 0.0)).backward()
            opt.step()
        stacked = exp.model.row(g)
        for (name, a), b in zip(net.named_parameters(), stacked.parameters()):
            torch.testing.assert_close(b, a, rtol=1e-5, atol=2e-6, msg=f"row {g}, {name}")
    # the three regularisers have left the common start, each its own way
    W = exp.model.W1.detach()
    ce, wd, sd = (reg_rows(cfg, r)[0] for r in REGULARISERS)
    assert (W[ce] - W[wd]).abs().max() > 1e-5 and (W[ce] - W[sd]).abs().max() > 1e-6


def test_rows_of_a_seed_start_from_the_same_weights(small_run):
    exp, _, records, _ = small_run
    fresh = build(SMALL).model
    for name, p in fresh.named_parameters():
        p = p.detach()
        for i in range(SMALL.n_seeds):
            ce, wd, sd = (reg_rows(SMALL, r)[i] for r in REGULARISERS)
            assert torch.equal(p[ce], p[wd]) and torch.equal(p[ce], p[sd]), name
        assert not torch.equal(p[0], p[1]), name  # seeds differ
    m0 = records[0].metrics  # before any training: CE and WD are the same networks
    assert m0["epoch"] == 0 and m0["loss_ce"] == m0["loss_wd"] and m0["margin_ce"] == m0["margin_sd"]
    assert m0["loss_sd"] > m0["loss_ce"]  # ... and SD adds its penalty
    resp0 = records[0].artifacts["responses"]
    np.testing.assert_array_equal(resp0[0], resp0[1])
    np.testing.assert_array_equal(resp0[0], resp0[2])


def test_reg_rows_and_data_points():
    assert reg_rows(SMALL, "ce") == [0, 1] and reg_rows(SMALL, "wd") == [2, 3] and reg_rows(SMALL, "sd") == [4, 5]
    X, y = data_points(SMALL)
    Xt, yt = two_moons(SMALL.n_points, SMALL.margin, noise=SMALL.noise, rotation=SMALL.rotation, generator=SMALL.seed)
    np.testing.assert_array_equal(X, Xt.numpy())
    np.testing.assert_array_equal(y, yt.numpy())
    exp_X, exp_y = build(SMALL).data()
    np.testing.assert_array_equal(X, exp_X)
    np.testing.assert_array_equal(y, exp_y)
    u = sd_margin_target(SMALL)
    assert u == sd_fixed_point(2 * SMALL.sd_coef) and 2 * SMALL.sd_coef * u == pytest.approx(1 / (1 + math.exp(u)))
    assert u == pytest.approx(3.76689, abs=1e-5)  # card check 1, λ = 0.006


def test_plane_grid_is_y_major():
    axis, pts = plane_grid(5, 2.0)
    np.testing.assert_allclose(axis, [-2, -1, 0, 1, 2])
    P = pts.numpy().reshape(5, 5, 2)
    assert pts.dtype == torch.float32
    np.testing.assert_array_equal(P[3, :, 0], axis)  # along a row x runs over the axis
    np.testing.assert_array_equal(P[3, :, 1], np.full(5, axis[3]))  # ... at the row's y


# ---------------------------------------------------------------------------------------------------------------
# schedule, snapshots and metrics


def test_total_steps_and_snapshot_schedule(small_run):
    exp, _, records, _ = small_run
    assert exp.done and exp.total_steps == len(records) == 4 + len(SNAPSHOT_EPOCHS) * 3 * SMALL.n_seeds
    assert [r.step for r in records] == list(range(len(records)))
    snaps = _snapshots(records)
    assert [(int(s.artifacts["epoch"]), s.artifacts["reg"]) for s in snaps] == [
        (e, r) for e in SNAPSHOT_EPOCHS for r in REGULARISERS]
    for s in snaps:
        a = s.artifacts
        assert a["heat"].shape == (HEAT_SIZE, HEAT_SIZE) and a["contour"].shape[1] == 2
        assert a["margins"].shape == (SMALL.n_seeds, SMALL.n_points) and a["per_seed"].shape == (SMALL.n_seeds, 3)
        assert s.metrics["snapshot_epoch"] == a["epoch"] == s.metrics["epoch"]
    for r in records:
        assert r.artifacts["responses"].shape == (3, N_RESPONSES)
        assert set(r.artifacts) <= {"responses", "reg", "epoch", "heat", "contour", "margins", "per_seed"}
    assert records[-1].metrics["epoch"] == SMALL.epochs and records[-1].metrics["snapshot_epoch"] == SMALL.epochs
    # a snapshot that is not a multiple of artifact_every: the last epoch
    odd = dataclasses.replace(SMALL, epochs=30, artifact_every=20)
    assert _snapshot_epochs_of(odd) == [0, 20, 30]


def _snapshot_epochs_of(cfg):
    return sorted({int(s.artifacts["epoch"]) for s in _snapshots(list(run(build(cfg))))})


def test_boundary_metrics_are_the_means_of_the_per_seed_artifact(small_run):
    _, _, records, _ = small_run
    latest = {r: None for r in REGULARISERS}
    for rec in records:
        if "reg" in rec.artifacts:
            latest[rec.artifacts["reg"]] = rec.artifacts["per_seed"]
        for reg, per_seed in latest.items():
            for col, key in enumerate(("min_dist", "p10_dist", "boundary_x")):
                expected = 0.0 if per_seed is None else per_seed[:, col].mean()
                assert rec.metrics[f"{key}_{reg}"] == pytest.approx(expected, abs=1e-12), (rec.step, key, reg)


def test_final_snapshot_recomputed_from_the_final_weights(small_run):
    exp, _, records, _ = small_run
    axis_m, grid_m = plane_grid(METRIC_GRID)
    axis_h, grid_h = plane_grid(HEAT_SIZE)
    X, y = exp.X, exp.y
    m = records[-1].metrics
    for reg in REGULARISERS:
        snap = _snapshots(records, reg)[-1].artifacts
        rows = reg_rows(SMALL, reg)
        with torch.no_grad():
            per_seed = []
            for row in rows:
                net = exp.model.row(row)
                field = net(grid_m).squeeze(-1).numpy().reshape(METRIC_GRID, METRIC_GRID)
                b = boundary_metrics(field, axis_m, X.numpy())
                per_seed.append([b["min_dist"], b["p10_dist"], b["boundary_x"]])
            heat = np.mean([exp.model.row(row)(grid_h).squeeze(-1).numpy() for row in rows], 0)
            margins = np.stack([(y * exp.model.row(row)(X).squeeze(-1)).numpy() for row in rows])
            ood = np.mean([(exp.y_ood * exp.model.row(row)(exp.X_ood).squeeze(-1) > 0).float().mean().item()
                           for row in rows])
        np.testing.assert_allclose(snap["per_seed"], per_seed, atol=1e-4)
        np.testing.assert_allclose(snap["heat"], heat.reshape(HEAT_SIZE, HEAT_SIZE), rtol=1e-5, atol=1e-5)
        np.testing.assert_allclose(snap["contour"], contour_points(snap["heat"], axis_h))
        np.testing.assert_allclose(snap["margins"], margins, rtol=1e-5, atol=1e-5)
        assert m[f"ood_acc_{reg}"] == pytest.approx(ood, abs=1e-6)
        # the final median margin seen both ways
        assert m[f"margin_{reg}"] == pytest.approx(np.median(snap["margins"], axis=1).mean(), rel=1e-5)


def test_train_metrics_equal_the_outputs(small_run):
    _, _, records, outputs = small_run
    X, y = data_points(SMALL)
    yy = y.astype(np.float64)
    for rec, out in zip(records, outputs):
        margin = yy * out  # (G, n)
        for reg in REGULARISERS:
            rows = reg_rows(SMALL, reg)
            coef = SMALL.sd_coef if reg == "sd" else 0.0
            loss = np.logaddexp(0.0, -margin[rows]).mean(1) + coef * (out[rows] ** 2).mean(1)
            assert rec.metrics[f"margin_{reg}"] == pytest.approx(np.median(margin[rows], axis=1).mean(), abs=1e-6)
            assert rec.metrics[f"acc_{reg}"] == pytest.approx((margin[rows] > 0).mean(), abs=1e-12)
            assert rec.metrics[f"loss_{reg}"] == pytest.approx(loss.mean(), rel=1e-5)
    # training happened: CE's median margin grows, and differs from the SD networks'
    assert records[-1].metrics["margin_ce"] > records[0].metrics["margin_ce"] + 0.1


# ---------------------------------------------------------------------------------------------------------------
# boundary metrics and contours on hand-made fields


def _field(fn, m=METRIC_GRID):
    axis = np.linspace(-EXTENT, EXTENT, m)
    yy, xx = np.meshgrid(axis, axis, indexing="ij")
    return fn(xx, yy), axis


@pytest.mark.parametrize("a", [0.137, -0.262, 0.0051])
def test_straight_boundary(a):
    values, axis = _field(lambda x, y: x - a)
    pts = contour_points(values, axis)
    assert len(pts) == METRIC_GRID  # one crossing per row
    np.testing.assert_allclose(pts[:, 0], a, atol=1e-12)
    np.testing.assert_allclose(np.sort(pts[:, 1]), axis)
    rng = np.random.default_rng(1)
    X = np.stack([rng.uniform(-1.8, 1.8, 40), axis[rng.integers(0, METRIC_GRID, 40)]], 1)  # y on grid rows
    d = np.abs(X[:, 0] - a)
    b = boundary_metrics(values, axis, X)
    assert b["boundary_x"] == pytest.approx(abs(a), abs=1e-12)
    assert b["min_dist"] == pytest.approx(d.min(), abs=1e-12)
    assert b["p10_dist"] == pytest.approx(np.percentile(d, 10), abs=1e-12)


def test_circle_boundary_gives_the_radius():
    r = 1.2
    values, axis = _field(lambda x, y: r - np.sqrt(x ** 2 + y ** 2))
    pts = contour_points(values, axis)
    np.testing.assert_allclose(np.hypot(pts[:, 0], pts[:, 1]), r, atol=2e-3)
    b = boundary_metrics(values, axis, np.array([[0.0, 0.0], [0.1, -0.05]]))
    assert b["min_dist"] == pytest.approx(r - math.hypot(0.1, 0.05), abs=2e-3)
    assert b["p10_dist"] > b["min_dist"]
    b = boundary_metrics(values, axis, np.array([[0.0, 0.0]]))
    assert b["min_dist"] == pytest.approx(r, abs=2e-3) and b["p10_dist"] == pytest.approx(r, abs=2e-3)


@pytest.mark.parametrize("sign", [1.0, -1.0])
def test_no_sign_change_gives_the_fallback(sign):
    values, axis = _field(lambda x, y: sign * (1.0 + x ** 2 + y ** 2))
    assert contour_points(values, axis).shape == (0, 2)
    b = boundary_metrics(values, axis, np.array([[0.0, 0.0], [1.0, 1.0]]))
    assert b == {"min_dist": FALLBACK, "p10_dist": FALLBACK, "boundary_x": FALLBACK}


def test_boundary_outside_the_band_falls_back_for_the_straightness_only():
    values, axis = _field(lambda x, y: y - 1.81)  # horizontal line above |y| < 1.5
    X = np.array([[0.3, 1.0], [-0.5, 0.0]])
    b = boundary_metrics(values, axis, X)
    assert b["boundary_x"] == FALLBACK
    assert b["min_dist"] == pytest.approx(0.81, abs=1e-12)


@pytest.mark.parametrize("coef", [(1.0, 0.0, -0.3), (0.7, -1.3, 0.21), (-0.2, 2.0, 0.55)])
def test_contour_interpolation_is_exact_for_linear_fields(coef):
    a, b, c = coef
    values, axis = _field(lambda x, y: a * x + b * y + c, m=41)
    pts = contour_points(values, axis)
    assert len(pts) > 0
    np.testing.assert_allclose(a * pts[:, 0] + b * pts[:, 1] + c, 0.0, atol=1e-12)
    # every crossing lies on a grid line, inside the plane
    on_x = np.isclose(pts[:, 0][:, None], axis[None, :], atol=1e-12).any(1)
    on_y = np.isclose(pts[:, 1][:, None], axis[None, :], atol=1e-12).any(1)
    assert np.all(on_x | on_y) and np.all(np.abs(pts) <= EXTENT + 1e-12)


# ---------------------------------------------------------------------------------------------------------------
# feature responses


def _ntk_closed_form(net: torch.nn.Sequential, X: torch.Tensor) -> np.ndarray:
    """``J Jᵀ`` of a 2-h-1 ReLU network by hand: ∂ŷ/∂(W1, b1, W2, b2) = (a·x, a, h, 1), a = w2 ⊙ relu'(W1 x + b1)."""
    W1, b1 = net[0].weight.detach().double(), net[0].bias.detach().double()
    w2 = net[2].weight.detach().double()[0]
    x = X.double()
    pre = x @ W1.T + b1
    h = torch.relu(pre)
    a = w2 * (pre > 0).double()  # (n, hidden)
    J = torch.cat([(a[:, :, None] * x[:, None, :]).reshape(len(x), -1), a, h, torch.ones(len(x), 1,
                                                                                         dtype=torch.float64)], 1)
    return (J @ J.T).numpy()


def test_responses_are_projections_on_the_initial_tangent_kernel(small_run):
    exp, row0_init, records, outputs = small_run
    K = tangent_kernel(row0_init, exp.X, centered=False).double().numpy()
    np.testing.assert_allclose(K, _ntk_closed_form(row0_init, exp.X), rtol=1e-4, atol=1e-4 * np.abs(K).max())
    _, vecs = np.linalg.eigh(K)
    U = vecs[:, ::-1][:, :N_RESPONSES]  # descending eigenvalues
    rows = [reg_rows(SMALL, r)[0] for r in REGULARISERS]
    for rec, out in zip(records, outputs):
        expected = np.abs(out[rows] @ U)
        np.testing.assert_allclose(rec.artifacts["responses"], expected, rtol=1e-5, atol=1e-6 * np.abs(out).max())
    assert not np.allclose(records[0].artifacts["responses"], records[-1].artifacts["responses"])


# ---------------------------------------------------------------------------------------------------------------
# determinism, the contract, global RNGs


def test_same_config_gives_the_same_records():
    cfg = dataclasses.replace(SMALL, epochs=20, artifact_every=20)
    a, b = build(cfg), build(cfg)
    for _ in range(9):
        ra, rb = a.step(), b.step()
        assert ra.metrics == rb.metrics
        assert ra.artifacts.keys() == rb.artifacts.keys()
        for k in ra.artifacts:
            np.testing.assert_array_equal(ra.artifacts[k], rb.artifacts[k])
    other = build(dataclasses.replace(cfg, seed=1)).step()
    assert other.metrics != build(cfg).step().metrics


def test_global_rngs_untouched():
    np_state, py_state, t_state = np.random.get_state()[1].copy(), random.getstate(), torch.get_rng_state().clone()
    exp = build(dataclasses.replace(SMALL, epochs=10, artifact_every=10, n_seeds=1))
    while not exp.done:
        exp.step()
    assert np.array_equal(np_state, np.random.get_state()[1]) and py_state == random.getstate()
    assert torch.equal(t_state, torch.get_rng_state())


def test_starvation_contract():
    from neurodyn.core import registry

    assert {"starvation", "starvation_toy"} <= set(registry.names())
    # 11 records: the 9 parts of the epoch-0 snapshot (the 3 heavier last parts included) and two training records
    check_experiment("starvation", n_records=11)


def test_starvation_toy_contract():
    check_experiment("starvation_toy", n_records=3)


# ---------------------------------------------------------------------------------------------------------------
# the toy


def test_toy_records_equal_linear_toy():
    cfg = ToyConfig(s1_min=2.0, s1_max=5.0, n_values=4, steps=600, lr=0.07, s2=1.5)
    exp = build_toy(cfg)
    records = list(run(exp))
    np.testing.assert_allclose(toy_s1_values(cfg), [2.0, 3.0, 4.0, 5.0])
    assert exp.total_steps == len(records) == 4 and exp.done
    for rec, s1 in zip(records, toy_s1_values(cfg)):
        wd = linear_toy(s1, 1.5, reg="wd", steps=600, lr=0.07)
        sd = linear_toy(s1, 1.5, reg="sd", steps=600, lr=0.07)
        assert rec.metrics == {"s1": s1, "z1_wd": wd.z[0], "z2_wd": wd.z[1], "z1_sd": sd.z[0], "z2_sd": sd.z[1]}
        np.testing.assert_array_equal(rec.artifacts["path_wd"], wd.path)
        np.testing.assert_array_equal(rec.artifacts["path_sd"], sd.path)
        assert rec.artifacts["path_wd"].shape == (601, 2)


def test_toy_config_validation():
    with pytest.raises(ValueError, match=r"s1_max \(2\.5\).*s1_min \(3\.5\)"):
        ToyConfig(s1_min=3.5, s1_max=2.5)
    one = ToyConfig(s1_min=3.0, s1_max=3.0, n_values=2)  # equal bounds are allowed
    np.testing.assert_array_equal(toy_s1_values(one), [3.0, 3.0])

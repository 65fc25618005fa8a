"""The feature-alignment run (``docs/papers/alignment.md`` §4, §6): the checkpoint schedule, the ceiling, the MLP and
its initialisation, the records of a short run (metrics, checkpoint artifacts, spectrum, heat map), the class-balanced
probes, binary mode, the corrupted probe, step cost, determinism, the global RNG, and the layer-wise alignments
against a kernel recomputed independently."""

from __future__ import annotations

import dataclasses
import math
import time

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from neurodyn.alignment import centered_alignment, effective_rank, tangent_kernel
from neurodyn.alignment.experiment import (
    HEAT_MAX,
    PRESETS,
    Config,
    build,
    ceiling,
    checkpoints,
    metrics,
    mlp,
)
from neurodyn.core.loop import run
from neurodyn.core.seeding import derive_seed

torch.set_num_threads(1)

SHORT = Config(steps=60, steps_per_record=20, width=32, device="cpu")
TINY = Config(steps=5, width=32, probe_per_class=5, device="cpu")  # checkpoints 0, 1, 2, 5; 500 x 500 kernels


@pytest.fixture(scope="module")
def short_run():
    exp = build(SHORT)
    records = list(run(exp))
    return exp, records


def _names(cfg: Config) -> list[str]:
    return [m.name for m in metrics(cfg)]


def _ckpt_records(records):
    return [r for r in records if "checkpoint" in r.artifacts]


def _probe_records(records):
    return [r for r in records if "probes_at" in r.artifacts]


# ---------------------------------------------------------------------------------------------------------------
# schedule, ceiling, model


def test_checkpoints_are_log_spaced_and_end_at_the_last_step():
    assert checkpoints(6000) == [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 6000]
    assert checkpoints(50) == [0, 1, 2, 5, 10, 20, 50]
    assert checkpoints(60) == [0, 1, 2, 5, 10, 20, 50, 60]
    assert checkpoints(1000) == [0, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000]
    for steps in (50, 51, 99, 100, 2000, 6000, 20_000, 100_000):
        cps = checkpoints(steps)
        assert cps[0] == 0 and cps[-1] == steps
        assert all(a < b for a, b in zip(cps[:-1], cps[1:])), cps


def test_ceiling():
    assert ceiling(10) == pytest.approx(1 / math.sqrt(90), abs=1e-12)
    assert abs(ceiling(10) - 0.105409) < 1e-6  # card check 5
    assert ceiling(2) == pytest.approx(1 / math.sqrt(2), abs=1e-12)
    assert ceiling(1) is None


@pytest.mark.parametrize("depth", [2, 3, 5])
def test_mlp_layer_sizes(depth):
    net = mlp(depth, 48, 10, torch.Generator().manual_seed(0))
    assert isinstance(net[0], torch.nn.Flatten)
    linears = [m for m in net if isinstance(m, torch.nn.Linear)]
    sizes = [(lin.in_features, lin.out_features) for lin in linears]
    assert sizes == [(64, 48)] + [(48, 48)] * (depth - 2) + [(48, 10)]
    assert len(net) == 1 + 2 * depth - 1  # Flatten, then ReLU after every Linear but the last
    assert [type(m) for m in net[1:]] == [torch.nn.Linear, torch.nn.ReLU] * (depth - 1) + [torch.nn.Linear]
    assert net(torch.zeros(7, 8, 8)).shape == (7, 10)
    assert mlp(depth, 48, 1, torch.Generator().manual_seed(0))(torch.zeros(3, 8, 8)).shape == (3, 1)


def test_mlp_draws_kaiming_weights_and_zero_biases_from_its_generator():
    state = torch.random.get_rng_state()
    net = mlp(3, 512, 10, torch.Generator().manual_seed(1))
    again = mlp(3, 512, 10, torch.Generator().manual_seed(1))
    other = mlp(3, 512, 10, torch.Generator().manual_seed(2))
    assert torch.equal(torch.random.get_rng_state(), state)
    for a, b, c in zip(net.parameters(), again.parameters(), other.parameters()):
        assert torch.equal(a, b)
        if a.dim() == 2:
            assert not torch.equal(a, c)
    for lin in (m for m in net if isinstance(m, torch.nn.Linear)):
        assert torch.count_nonzero(lin.bias) == 0
        w = lin.weight.detach()
        expected = math.sqrt(2.0 / lin.in_features)  # Kaiming normal, fan_in, ReLU gain
        assert abs(float(w.std()) / expected - 1) < 0.05, (lin, float(w.std()), expected)
        assert abs(float(w.mean())) < 0.1 * expected


def test_bad_depth_raises():
    with pytest.raises(ValueError):
        build(dataclasses.replace(TINY, depth=1))


def test_presets():
    assert PRESETS["small"] == Config()
    assert Config().steps == 6000 and Config().width == 128 and Config().depth == 3
    assert PRESETS["paper"].random_labels == 0.5


# ---------------------------------------------------------------------------------------------------------------
# a short run


def test_short_run_completes_with_the_declared_metrics(short_run):
    exp, records = short_run
    assert exp.done and exp.k == exp.total_steps == len(records)
    assert [r.step for r in records] == list(range(len(records)))
    names = _names(SHORT)
    assert "align_corrupt" not in names and {"align_layer1", "align_layer2", "align_layer3"} <= set(names)
    for r in records:
        assert list(r.metrics) == names
        for k, v in r.metrics.items():
            assert isinstance(v, float) and math.isfinite(v), (r.step, k, v)
    # SGD never steps past a checkpoint and takes at most steps_per_record per record
    steps = [r.metrics["step"] for r in records]
    assert all(0 <= b - a <= SHORT.steps_per_record for a, b in zip(steps[:-1], steps[1:]))
    assert set(checkpoints(SHORT.steps)) <= set(steps) and steps[-1] == SHORT.steps


def test_one_checkpoint_artifact_per_checkpoint_in_order(short_run):
    _, records = short_run
    cps = checkpoints(SHORT.steps)
    ck, pr = _ckpt_records(records), _probe_records(records)
    assert [r.artifacts["checkpoint"] for r in ck] == cps
    assert [r.artifacts["probes_at"] for r in pr] == cps
    for r in ck:
        assert r.metrics["checkpoint"] == r.metrics["step"] == r.artifacts["checkpoint"]
        assert "probes_at" not in r.artifacts
    # the probes record follows its checkpoint record directly
    for r in pr:
        assert "checkpoint" in records[r.step - 1].artifacts
        assert r.metrics["checkpoint"] == r.artifacts["probes_at"]


def test_spectrum_and_heat(short_run):
    exp, records = short_run
    n = 10 * SHORT.probe_per_class
    for r in _ckpt_records(records):
        lam = np.asarray(r.artifacts["spectrum"])
        assert lam.shape == (n * 10,)
        assert np.all(lam >= 0) and np.all(np.diff(lam) <= 0)
        m = r.metrics
        assert m["eig_max"] == pytest.approx(lam[0], rel=1e-12)
        assert m["eig_mean"] == pytest.approx(lam.mean(), rel=1e-9)
        assert m["erank"] == pytest.approx(effective_rank(torch.from_numpy(lam)), rel=1e-9)
        assert 1 <= m["erank"] <= n * 10
        assert 0 <= m["t10"] <= m["t40"] <= m["t80"] <= m["t160"] <= 1 + 1e-12
        heat = np.asarray(r.artifacts["heat"])
        assert heat.shape == (min(n, HEAT_MAX), min(n, HEAT_MAX))
        assert np.all(heat >= -1) and np.all(heat <= 1)
        np.testing.assert_allclose(np.diag(heat), 1.0, atol=1e-9)
        np.testing.assert_allclose(heat, heat.T, atol=1e-6)  # a float32 kernel
        labels = np.asarray(r.artifacts["heat_labels"])
        assert labels.shape == (n,) and np.all(np.diff(labels) >= 0)  # probe sorted by class
    # path complexity: zero at step 0, never decreasing
    path = [r.metrics["path_complexity"] for r in _ckpt_records(records)]
    assert path[0] == 0.0 and all(b >= a for a, b in zip(path[:-1], path[1:])) and path[-1] > 0


def test_layer_alignments_equal_an_independent_recomputation(short_run):
    exp, records = short_run
    last = _ckpt_records(records)[-1].metrics
    assert last["checkpoint"] == SHORT.steps  # no training after the last checkpoint: the model is its state
    exp.model.eval()
    X = exp.x_train[exp.probe_clean]
    Y = F.one_hot(exp.true_train[exp.probe_clean], 10).double()
    names = [name for name, mod in exp.model.named_modules() if isinstance(mod, torch.nn.Linear)]
    assert len(names) == SHORT.depth
    blocks = tangent_kernel(exp.model, X, layers=names)
    for i, name in enumerate(names):
        assert last[f"align_layer{i + 1}"] == pytest.approx(centered_alignment(blocks[name].double(), Y), abs=1e-9)
    K = sum(blocks.values()).double()
    assert last["align_train"] == pytest.approx(centered_alignment(K, Y), abs=1e-9)
    assert last["trace"] == pytest.approx(float(torch.trace(K)) / len(X), rel=1e-6)
    # and the full kernel of a direct call agrees with the blocks' sum (card check 8)
    # (another float32 summation order: agreement to float32 precision)
    assert last["align_train"] == pytest.approx(centered_alignment(tangent_kernel(exp.model, X).double(), Y),
                                                rel=1e-5)
    # the test probe likewise, on the record that completes the checkpoint's other probes
    probes = _probe_records(records)[-1].metrics
    assert probes["checkpoint"] == SHORT.steps and probes["align_train"] == last["align_train"]
    Xt = exp.x_test[exp.probe_test]
    Yt = F.one_hot(exp.y_test[exp.probe_test], 10).double()
    assert probes["align_test"] == pytest.approx(centered_alignment(tangent_kernel(exp.model, Xt).double(), Yt),
                                                 abs=1e-9)


def test_alignment_does_not_depend_on_centring_the_features(short_run):
    _, records = short_run
    cfg = dataclasses.replace(SHORT, steps=20, centered=False)
    other = list(run(build(cfg)))
    base = [r for r in records if r.metrics["step"] <= 20][:len(other)]
    assert len(base) == len(other)
    align = [k for k in _names(SHORT) if k.startswith("align")]
    for a, b in zip(base, other):
        for k in align:
            assert abs(a.metrics[k] - b.metrics[k]) < 1e-9, (a.step, k, a.metrics[k], b.metrics[k])
    # ... whereas the spectrum is that of the raw kernel: its largest eigenvalue grows with the mean feature
    assert other[0].metrics["eig_max"] > records[0].metrics["eig_max"]


# ---------------------------------------------------------------------------------------------------------------
# probes


def _corrupted_indices(cfg: Config, n_train: int) -> set[int]:
    """The randomised training images, drawn as the module docstring states (seed "labels")."""
    gen = torch.Generator().manual_seed(derive_seed(cfg.seed, "labels") % (2**63 - 1))
    k = int(round(cfg.random_labels * n_train))
    return set(torch.randperm(n_train, generator=gen)[:k].tolist())


def test_clean_probes_are_class_balanced(short_run):
    exp, _ = short_run
    per = SHORT.probe_per_class
    assert exp.probe_corrupt is None
    assert torch.equal(torch.bincount(exp.true_train[exp.probe_clean], minlength=10), torch.full((10,), per))
    assert torch.equal(torch.bincount(exp.y_test[exp.probe_test], minlength=10), torch.full((10,), per))
    assert len(set(exp.probe_clean.tolist())) == 10 * per and len(set(exp.probe_test.tolist())) == 10 * per
    assert torch.equal(exp.y_train, exp.true_train)


def test_probe_size_follows_probe_per_class():
    exp = build(TINY)
    per = TINY.probe_per_class
    assert torch.equal(torch.bincount(exp.true_train[exp.probe_clean], minlength=10), torch.full((10,), per))
    assert torch.equal(torch.bincount(exp.y_test[exp.probe_test], minlength=10), torch.full((10,), per))
    rec = exp.step()
    assert np.asarray(rec.artifacts["spectrum"]).shape == (10 * per * 10,)
    exp = build(dataclasses.replace(TINY, probe_per_class=20))
    assert torch.equal(torch.bincount(exp.true_train[exp.probe_clean], minlength=10), torch.full((10,), 20))


def test_corrupted_probe_holds_only_corrupted_images():
    cfg = dataclasses.replace(TINY, random_labels=0.5)
    exp = build(cfg)
    per = cfg.probe_per_class
    corrupted = _corrupted_indices(cfg, len(exp.true_train))
    assert len(corrupted) == 700
    changed = set(torch.nonzero(exp.y_train != exp.true_train).flatten().tolist())
    assert changed <= corrupted and len(changed) > 0.8 * len(corrupted)  # ~90 % of drawn labels differ
    clean = set(exp.probe_clean.tolist())
    corrupt = set(exp.probe_corrupt.tolist())
    assert not clean & corrupted
    assert corrupt <= corrupted and len(corrupt) == 10 * per
    assert torch.equal(torch.bincount(exp.true_train[exp.probe_clean], minlength=10), torch.full((10,), per))
    # balanced over the labels the corrupted images are trained on
    assert torch.equal(torch.bincount(exp.y_train[exp.probe_corrupt], minlength=10), torch.full((10,), per))
    # test labels stay true
    assert torch.equal(exp.y_test, build(TINY).y_test)
    records = list(run(exp))
    names = _names(cfg)
    assert names[-1] == "align_corrupt"
    for r in records:
        assert list(r.metrics) == names and all(math.isfinite(v) for v in r.metrics.values())
    m = _probe_records(records)[-1].metrics
    Y = F.one_hot(exp.y_train[exp.probe_corrupt], 10).double()
    K = tangent_kernel(exp.model.eval(), exp.x_train[exp.probe_corrupt]).double()
    assert m["align_corrupt"] == pytest.approx(centered_alignment(K, Y), abs=1e-9)


def test_binary_mode_has_a_scalar_output_kernel():
    cfg = dataclasses.replace(TINY, binary=True)
    exp = build(cfg)
    assert exp.c == 1
    records = list(run(exp))
    n = 10 * cfg.probe_per_class
    for r in _ckpt_records(records):
        lam = np.asarray(r.artifacts["spectrum"])
        assert lam.shape == (n,) and np.all(lam >= 0) and np.all(np.diff(lam) <= 0)
        assert np.asarray(r.artifacts["heat"]).shape == (HEAT_MAX, HEAT_MAX)
    for r in records:
        for k, v in r.metrics.items():
            assert math.isfinite(v), (k, v)
    m = _ckpt_records(records)[-1].metrics
    assert 0 < m["align_train"] <= 1 and 0 < m["align_test"] <= 1
    Y = torch.where(exp.true_train[exp.probe_clean] < 5, 1.0, -1.0).double()
    blocks = tangent_kernel(exp.model.eval(), exp.x_train[exp.probe_clean], layers=exp.layers)
    K = sum(blocks.values()).double()
    assert K.shape == (n, n)
    assert m["align_train"] == pytest.approx(centered_alignment(K, Y), abs=1e-9)
    assert 0 <= m["train_acc"] <= 1 and 0 <= m["test_acc"] <= 1


def test_align_corrupt_is_declared_only_with_random_labels():
    assert "align_corrupt" not in _names(Config(random_labels=0.0))
    assert "align_corrupt" in _names(Config(random_labels=0.1))
    assert [n for n in _names(Config(depth=5)) if n.startswith("align_layer")] == [f"align_layer{i}"
                                                                                   for i in range(1, 6)]


# ---------------------------------------------------------------------------------------------------------------
# cost, determinism, RNG


def test_every_step_is_fast_at_the_small_width():
    cfg = dataclasses.replace(PRESETS["small"], steps=100, device="cpu")
    assert cfg.width == 128
    exp = build(cfg)
    slowest = 0.0
    while not exp.done:
        t0 = time.perf_counter()
        exp.step()
        slowest = max(slowest, time.perf_counter() - t0)
    assert slowest < 1.0, slowest  # < 0.5 s on an idle core; a shared machine gets slack


def test_same_seed_same_records_and_another_seed_differs():
    a = [r.metrics for r in run(build(TINY))]
    b = [r.metrics for r in run(build(TINY))]
    assert a == b
    c = [r.metrics for r in run(build(dataclasses.replace(TINY, seed=1)))]
    assert a[0] != c[0] and a[-1] != c[-1]


def test_global_rng_is_untouched():
    torch.manual_seed(123)
    state = torch.random.get_rng_state()
    np_state = np.random.get_state()[1].copy()
    exp = build(dataclasses.replace(TINY, random_labels=0.3))
    for _ in range(6):
        exp.step()
    assert torch.equal(torch.random.get_rng_state(), state)
    assert np.array_equal(np.random.get_state()[1], np_state)

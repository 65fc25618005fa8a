"""The causal-induction run (``docs/papers/causal.md §4``, card 03 §3, §6): the evaluation schedule and record count,
the records of a tiny run (declared metrics, the example and adjacency artifacts, one evaluation artifact per point),
step cost at the SMALL preset's sizes, determinism, the global RNG, shared batches, the test paths replayed in a fresh
world, the example transition's locality, the sweep's sizes and records, and an oracle ranking."""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from neurodyn.causal import experiment as ex
from neurodyn.causal.experiment import (
    HORIZONS,
    MODELS,
    PRESETS,
    Config,
    SweepConfig,
    build,
    build_sweep,
    eval_points,
    make_world,
    metrics,
    sweep_metrics,
    total_steps,
)
from neurodyn.causal.graphs import descendants
from neurodyn.causal.metrics import ranking_metrics
from neurodyn.core.loop import run

torch.set_num_threads(1)

TINY = Config(steps=16, eval_every=8, steps_per_record=4, episodes=20, episode_steps=5, test_paths=100, batch=16,
              device="cpu")
ODD = replace(TINY, steps=16, eval_every=6)  # evaluations at 0, 6, 12, 16: chunks of 4 + 2, 4 + 2, 4


@pytest.fixture(scope="module")
def tiny_run():
    exp = build(TINY)
    return exp, list(run(exp))


def _names(cfg: Config) -> list[str]:
    return [m.name for m in metrics(cfg)]


def _evals(records):
    return [r for r in records if "evaluated" in r.artifacts]


# ---------------------------------------------------------------------------------------------------------------
# schedule


def test_eval_points_and_total_steps():
    assert eval_points(Config(steps=100, eval_every=30)) == [0, 30, 60, 90, 100]
    assert eval_points(Config(steps=100, eval_every=50)) == [0, 50, 100]
    assert eval_points(Config(steps=100, eval_every=100)) == [0, 100]
    assert eval_points(Config(steps=100, eval_every=500)) == [0, 100]
    assert eval_points(PRESETS["small"]) == list(range(0, 1001, 100))
    # chunks never cross an evaluation: 30 = 8 + 8 + 8 + 6 four times... and 10 = 8 + 2
    assert total_steps(Config(steps=100, eval_every=30, steps_per_record=8)) == 4 * 3 + 2 + 5 * 3
    assert total_steps(Config(steps=100, eval_every=50, steps_per_record=50)) == 2 + 3 * 3
    assert total_steps(PRESETS["small"]) == 10 * math.ceil(100 / 8) + 11 * 3
    assert total_steps(ODD) == 5 + 4 * 3


@pytest.mark.parametrize("cfg", [TINY, ODD], ids=["multiple", "not-a-multiple"])
def test_a_run_takes_exactly_total_steps_records(cfg):
    exp = build(cfg)
    assert exp.total_steps == total_steps(cfg) and exp.eval_points == eval_points(cfg)
    records = list(run(exp))
    assert exp.done and exp.k == exp.total_steps == len(records)
    assert [r.step for r in records] == list(range(len(records)))
    steps = [r.metrics["step"] for r in records]
    assert all(0 <= b - a <= cfg.steps_per_record for a, b in zip(steps[:-1], steps[1:]))
    assert set(eval_points(cfg)) <= set(steps) and steps[-1] == cfg.steps
    assert [r.artifacts["evaluated"] for r in _evals(records)] == eval_points(cfg)


# ---------------------------------------------------------------------------------------------------------------
# records of a tiny run


def test_every_record_carries_exactly_the_declared_metrics(tiny_run):
    _, records = tiny_run
    names = _names(TINY)
    assert len(names) == len(set(names))
    for r in records:
        assert list(r.metrics) == names
        for k, v in r.metrics.items():
            assert isinstance(v, float) and math.isfinite(v), (r.step, k, v)
            if k.startswith(("h1_", "mrr_")):
                assert 0.0 <= v <= 1.0, (r.step, k, v)
    # every model's scores are filled in once it has been evaluated
    last = records[-1].metrics
    for m in MODELS:
        for k in HORIZONS:
            assert last[f"mrr_k{k}_{m}"] > 0 and last[f"mrr_k{k}_{m}_paper"] > 0
        assert last[f"loss_{m}"] > 0


def test_first_record_has_the_example_and_the_adjacency(tiny_run):
    exp, records = tiny_run
    first = records[0].artifacts
    assert set(first) >= {"example", "adjacency"}
    assert all("example" not in r.artifacts and "adjacency" not in r.artifacts for r in records[1:])
    ex_ = first["example"]
    assert set(ex_) >= {"before", "after", "action", "positions", "colors_before", "colors_after"}
    world = make_world(TINY, 1)
    n, c = TINY.n_objects, TINY.n_colors
    H = 5 * (math.ceil(math.sqrt(n)) + 1)
    for key in ("before", "after"):
        img = np.asarray(ex_[key])
        assert img.shape == (3, H, H) == world.image_shape == exp.image_shape
        assert img.min() >= 0.0 and img.max() <= 1.0
    assert isinstance(ex_["action"], int) and 0 <= ex_["action"] < n * c
    assert np.asarray(ex_["positions"]).shape == (n, 2)
    np.testing.assert_array_equal(first["adjacency"], world.adjacency)
    # the example is the first training transition
    np.testing.assert_array_equal(exp.obs[0].cpu().numpy(), ex_["before"])
    np.testing.assert_array_equal(exp.next_obs[0].cpu().numpy(), ex_["after"])
    assert int(exp.actions[0]) == ex_["action"]
    np.testing.assert_array_equal(world.render(ex_["colors_before"][None], ex_["positions"][None])[0], ex_["before"])
    np.testing.assert_array_equal(world.render(ex_["colors_after"][None], ex_["positions"][None])[0], ex_["after"])


def test_one_evaluation_artifact_per_point_in_order(tiny_run):
    _, records = tiny_run
    evals = _evals(records)
    assert [r.artifacts["evaluated"] for r in evals] == eval_points(TINY)
    for r in evals:
        assert r.metrics["evaluated_at"] == r.metrics["step"] == r.artifacts["evaluated"]
        lat = r.artifacts["latents"]
        assert set(lat) == {*MODELS, "first_colors"}
        m = min(300, TINY.test_paths)
        for model in MODELS:
            assert lat[model].shape == (m, 2) and np.isfinite(lat[model]).all()
        assert lat["first_colors"].shape == (m,)
        assert set(np.unique(lat["first_colors"])) <= set(range(TINY.n_colors))
    assert sum("latents" in r.artifacts for r in records) == len(evals)
    # each evaluation takes one record per model; the last of them carries the artifact
    for r in evals:
        i = records.index(r)
        assert all(records[j].metrics["step"] == r.metrics["step"] for j in range(i - len(MODELS) + 1, i + 1))


def test_every_step_takes_under_a_second_at_the_small_sizes():
    cfg = replace(PRESETS["small"], steps=24, eval_every=8, device="cpu")
    exp = build(cfg)
    times, kinds = [], []
    for _ in range(7):  # three evaluations at 0, a chunk of 8 steps of batch 64, three evaluations at 8
        t = time.perf_counter()
        rec = exp.step()
        times.append(time.perf_counter() - t)
        kinds.append(rec.metrics["step"])
    assert kinds == [0, 0, 0, 8, 8, 8, 8]
    assert max(times) < 1.0, times


# ---------------------------------------------------------------------------------------------------------------
# seeds, RNG and batches


def test_same_seed_same_metrics_other_seed_differs(tiny_run):
    _, records = tiny_run
    again = list(run(build(TINY)))
    assert [r.metrics for r in again] == [r.metrics for r in records]
    other = list(run(build(replace(TINY, seed=1))))
    assert [r.metrics for r in other] != [r.metrics for r in records]


def test_build_and_steps_leave_the_global_rngs_alone():
    np_state, torch_state = np.random.get_state(), torch.get_rng_state().clone()
    exp = build(TINY)
    for _ in range(8):
        exp.step()
    assert torch.equal(torch.get_rng_state(), torch_state)
    after = np.random.get_state()
    assert after[0] == np_state[0] and np.array_equal(after[1], np_state[1]) and after[2:] == np_state[2:]


def test_the_three_models_train_on_the_same_batches(monkeypatch):
    exp = build(TINY)
    assert isinstance(exp.batch_gen, torch.Generator)
    calls = []
    real = ex.contrastive_loss

    def spy(model, obs, action, next_obs, **kw):
        calls.append((model.kind, obs.clone(), action.clone(), next_obs.clone()))
        return real(model, obs, action, next_obs, **kw)

    monkeypatch.setattr(ex, "contrastive_loss", spy)
    list(run(exp))
    assert len(calls) == len(MODELS) * TINY.steps
    for i in range(0, len(calls), len(MODELS)):
        group = calls[i:i + len(MODELS)]
        assert [g[0] for g in group] == list(MODELS)
        for _, obs, act, nxt in group[1:]:
            assert torch.equal(obs, group[0][1]) and torch.equal(act, group[0][2]) and torch.equal(nxt, group[0][3])
        assert obs.shape[0] == TINY.batch
    # different batches from step to step
    assert not all(torch.equal(calls[0][2], calls[i][2]) for i in range(len(MODELS), len(calls), len(MODELS)))
    # each batch is a set of rows of the one data set
    obs0, act0 = calls[0][1], calls[0][2]
    rows = [int(torch.nonzero((exp.obs == o).flatten(1).all(1) & (exp.actions == a))[0])
            for o, a in zip(obs0, act0)]
    assert torch.equal(exp.next_obs[rows], calls[0][3])


# ---------------------------------------------------------------------------------------------------------------
# test paths and the example transition


@pytest.mark.parametrize("family", ["chain", "full"])
def test_test_paths_replay_in_a_fresh_world(family):
    cfg = replace(TINY, family=family, n_objects=4)
    exp = build(cfg)
    assert set(exp.test) == set(HORIZONS)
    for k in HORIZONS:
        path = exp.test[k]
        assert path["actions"].shape == (cfg.test_paths, k)
        world = make_world(cfg, cfg.test_paths)
        world.colors = np.asarray(path["colors0"]).copy()
        np.testing.assert_array_equal(world.render(world.colors, world.positions), path["first"].cpu().numpy())
        for t in range(k):
            world.step(path["actions"][:, t].cpu().numpy())
        np.testing.assert_array_equal(world.render(world.colors, world.positions), path["last"].cpu().numpy())
        np.testing.assert_array_equal(world.state_ids(world.colors), path["ids"].cpu().numpy())


@pytest.mark.parametrize("family, n, seed", [("chain", 3, 0), ("chain", 5, 1), ("collider", 4, 2), ("full", 5, 3),
                                             ("random", 6, 4)])
def test_the_example_changes_only_the_intervened_object_and_its_descendants(family, n, seed):
    cfg = replace(TINY, family=family, n_objects=n, seed=seed)
    exp = build(cfg)
    e = exp.example
    i, below = exp.intervened()
    assert i == e["action"] // cfg.n_colors and below == descendants(exp.adjacency, i)
    assert e["colors_after"][i] == e["action"] % cfg.n_colors
    changed = set(np.nonzero(e["colors_before"] != e["colors_after"])[0].tolist())
    assert changed <= {i} | below
    # in the images: only the cells of those objects differ
    cell = 5
    diff = np.asarray(e["before"]) != np.asarray(e["after"])
    allowed = np.zeros(diff.shape[1:], dtype=bool)
    for j in {i} | below:
        r, c = e["positions"][j]
        allowed[r * cell:(r + 1) * cell, c * cell:(c + 1) * cell] = True
    assert not diff.any(0)[~allowed].any()


# ---------------------------------------------------------------------------------------------------------------
# sweep


@pytest.mark.parametrize("sizes", ["2,3", "3,9", "x", "", ",", "3,x"])
def test_bad_sweep_sizes_raise(sizes):
    with pytest.raises(ValueError):
        SweepConfig(sizes=sizes)


def test_sweep_sizes_parse():
    assert SweepConfig(sizes="5, 3,3").n_values == [3, 5]
    assert SweepConfig().n_values == [3, 5, 7]


def test_sweep_runs_every_size_and_copies_the_final_scores():
    cfg = SweepConfig(sizes="3,4", steps=8, device="cpu")
    exp = build_sweep(cfg)
    records = list(run(exp))
    assert exp.done and exp.k == exp.total_steps == len(records)
    names = [m.name for m in sweep_metrics(cfg)]
    assert all(list(r.metrics) == names for r in records)
    finished = [r for r in records if "finished_n" in r.artifacts]
    assert [r.artifacts["finished_n"] for r in finished] == [3, 4]
    assert finished[-1] is records[-1]
    assert [r.metrics["n_done"] for r in finished] == [1.0, 2.0]
    assert records[0].metrics["current_n"] == 3.0 and records[-1].metrics["current_n"] == 4.0
    last = records[-1].metrics
    for r in finished:
        n = r.artifacts["finished_n"]
        for m in MODELS:
            assert last[f"h1_k5_{m}_n{n}"] == r.artifacts["scores"][f"h1_k5_{m}"]
            assert r.metrics[f"h1_k5_{m}_n{n}"] == r.artifacts["scores"][f"h1_k5_{m}"]
    # the inner run of N = 3 is the small preset at N = 3 with the sweep's steps
    inner = list(run(build(replace(PRESETS["small"], n_objects=3, steps=8, eval_every=8, device="cpu"))))
    assert finished[0].artifacts["scores"] == inner[-1].metrics


# ---------------------------------------------------------------------------------------------------------------
# oracle


def test_oracle_states_rank_first_under_the_pessimistic_rule(tiny_run):
    exp, _ = tiny_run
    world = make_world(TINY, TINY.test_paths)
    for k in HORIZONS:
        path = exp.test[k]
        colors = world.decode(path["last"].cpu().numpy())
        np.testing.assert_array_equal(world.state_ids(colors), path["ids"].cpu().numpy())
        z = F.one_hot(torch.as_tensor(colors), TINY.n_colors).double()  # (M, N, C): the true state
        scores = ranking_metrics(z, z, rule="pessimistic", state_ids=path["ids"])
        assert scores == {"hits_at_1": 1.0, "mrr": 1.0}
        if k == 1:  # few distinct states after one step: without de-duplication equal states compete
            assert ranking_metrics(z, z, rule="pessimistic")["hits_at_1"] < 1.0

"""The causal-induction page's figure builders and texts on tiny real runs: every chart compiles to Vega-Lite, fills
its container, speaks words and carries the records' values (scores at each evaluation, losses, final H@1 per N,
latents); the intervention images outline the intervened cell and change nothing else; the graph view has the
adjacency's edges and colours the intervened object, its descendants and the others apart; the world preview and the
page texts."""

from __future__ import annotations

import math
from dataclasses import replace

import networkx as nx
import numpy as np
import pytest
import torch
from chart_specs import assert_container_and_words, layer_rows

from neurodyn.causal import figures as figs
from neurodyn.causal import page_support as support
from neurodyn.causal.claims import evaluations
from neurodyn.causal.experiment import (
    HORIZONS,
    MODEL_LABELS,
    MODELS,
    Config,
    SweepConfig,
    build,
    build_sweep,
    make_world,
    metrics,
    sweep_metrics,
)
from neurodyn.causal.graphs import descendants, make_graph
from neurodyn.core.loop import run

torch.set_num_threads(1)

TINY = Config(steps=16, eval_every=8, steps_per_record=4, episodes=20, episode_steps=5, test_paths=100, batch=16,
              device="cpu")
SWEEP = SweepConfig(sizes="3,4", steps=8, device="cpu")


@pytest.fixture(scope="module")
def tiny():
    exp = build(TINY)
    return exp, list(run(exp))


@pytest.fixture(scope="module")
def sweep():
    return list(run(build_sweep(SWEEP)))


def _charts(records, sweep_records):
    out = [figs.ranking_chart(records, score=s, rule=r) for s in ("h1", "mrr") for r in figs.RULES]
    out += [figs.loss_chart(records), figs.sweep_chart(sweep_records, SWEEP)]
    latents = figs.latest_latents(records)
    out += [figs.latent_chart(latents, m) for m in MODELS]
    return out


def test_every_chart_compiles_fills_its_container_and_speaks_words(tiny, sweep):
    _, records = tiny
    names = ({m.name for m in metrics(TINY)} | {m.name for m in sweep_metrics(SWEEP)}) - {"step"}  # a word too
    for chart in _charts(records, sweep):
        assert_container_and_words(chart.to_dict(), names, ("model",), rows_required=True)


@pytest.mark.parametrize("score", ["h1", "mrr"])
@pytest.mark.parametrize("rule", ["pessimistic", "paper"])
def test_ranking_chart_rows_are_the_evaluation_metrics(tiny, score, rule):
    _, records = tiny
    spec = figs.ranking_chart(records, score=score, rule=rule).to_dict()
    (rows,) = layer_rows(spec)
    suffix = "" if rule == "pessimistic" else "_paper"
    expected = [{"step": e["evaluated_at"], "model": MODEL_LABELS[m], "horizon": f"k = {k}",
                 "value": e[f"{score}_k{k}_{m}{suffix}"]} for e in evaluations(records) for m in MODELS
                for k in HORIZONS]
    assert len(rows) == 3 * len(MODELS) * len(HORIZONS)
    assert [{k: r[k] for k in ("step", "model", "horizon", "value")} for r in rows] == expected
    title = spec["title"]["text"]
    assert ("H@1" if score == "h1" else "MRR") in title and figs.RULES[rule] in title
    assert "dashed" in spec["title"]["subtitle"] and "k = 5" in spec["title"]["subtitle"]  # the dash key


def test_ranking_chart_before_any_evaluation_is_empty(tiny):
    _, records = tiny
    spec = figs.ranking_chart(records[:1]).to_dict()
    assert layer_rows(spec) == [[]]


def test_loss_chart_has_one_row_per_trained_step_and_model(tiny):
    _, records = tiny
    (rows,) = layer_rows(figs.loss_chart(records).to_dict())
    steps = sorted({r.metrics["step"] for r in records} - {0.0})
    assert sorted({r["step"] for r in rows}) == steps and len(rows) == len(steps) * len(MODELS)
    for row in rows:
        rec = next(r for r in records if r.metrics["step"] == row["step"])
        m = next(k for k in MODELS if MODEL_LABELS[k] == row["model"])
        assert row["loss"] == rec.metrics[f"loss_{m}"]


def test_sweep_chart_has_one_row_per_finished_size_and_model(sweep):
    (rows,) = layer_rows(figs.sweep_chart(sweep, SWEEP).to_dict())
    last = sweep[-1].metrics
    assert [(r["n"], r["model"]) for r in rows] == [(n, MODEL_LABELS[m]) for n in (3, 4) for m in MODELS]
    for r in rows:
        m = next(k for k in MODELS if MODEL_LABELS[k] == r["model"])
        assert r["value"] == last[f"h1_k5_{m}_n{r['n']}"]
    first_done = next(i for i, r in enumerate(sweep) if "finished_n" in r.artifacts)
    (rows,) = layer_rows(figs.sweep_chart(sweep[:first_done + 1], SWEEP).to_dict())
    assert [r["n"] for r in rows] == [3] * len(MODELS)
    assert layer_rows(figs.sweep_chart([], SWEEP).to_dict()) == [[]]


def test_latent_chart_holds_each_models_latents(tiny):
    _, records = tiny
    latents = figs.latest_latents(records)
    assert latents is records[-1].artifacts["latents"]
    assert figs.latest_latents(records[:1]) is None
    for m in MODELS:
        spec = figs.latent_chart(latents, m).to_dict()
        (rows,) = layer_rows(spec)
        assert len(rows) == len(latents[m]) == TINY.test_paths
        np.testing.assert_allclose([[r["pc1"], r["pc2"]] for r in rows], latents[m])
        assert [r["colour"] for r in rows] == [f"colour {c + 1}" for c in latents["first_colors"]]
        assert MODEL_LABELS[m] in spec["title"]


# ---------------------------------------------------------------------------------------------------------------
# the intervention images and the graph


def _enlarged(img: np.ndarray, scale: int = 16) -> np.ndarray:
    x = (np.clip(np.asarray(img, dtype=float), 0, 1).transpose(1, 2, 0) * 255).astype(np.uint8)
    return x.repeat(scale, axis=0).repeat(scale, axis=1)


@pytest.mark.parametrize("n, seed", [(3, 0), (5, 1), (7, 2)])
def test_intervention_images_outline_the_intervened_cell(n, seed):
    cfg = replace(TINY, n_objects=n, seed=seed)
    e = support.world_example(cfg)
    before, after = figs.intervention_images(e, cfg.n_colors)
    H = e["before"].shape[1]
    assert H == 5 * (math.ceil(math.sqrt(n)) + 1)
    for img in (before, after):
        assert img.dtype == np.uint8 and img.shape == (H * 16, H * 16, 3)
    np.testing.assert_array_equal(before, _enlarged(e["before"]))
    i = e["action"] // cfg.n_colors
    r, c = e["positions"][i]
    size = 5 * 16
    box = np.zeros((H * 16, H * 16), dtype=bool)
    box[r * size:(r + 1) * size, c * size:(c + 1) * size] = True
    inside = np.zeros_like(box)
    inside[r * size + 2:(r + 1) * size - 2, c * size + 2:(c + 1) * size - 2] = True
    ring = box & ~inside
    assert (after[ring] == 255).all()
    base = _enlarged(e["after"])
    np.testing.assert_array_equal(after[~ring], base[~ring])
    assert (base[ring] != 255).any()  # the outline is visible on the black background


def test_graph_view_edges_and_colours():
    A = make_graph("chain", 4)
    g, colors, hover = figs.graph_view(A, intervened=1)
    assert isinstance(g, nx.DiGraph)
    names = [f"object {i + 1}" for i in range(4)]
    assert list(g.nodes) == names
    assert set(g.edges) == {(names[p], names[c]) for c, p in zip(*np.nonzero(A))}
    assert set(g.edges) == {("object 1", "object 2"), ("object 2", "object 3"), ("object 3", "object 4")}
    assert colors["object 3"] == colors["object 4"]  # the descendants
    assert len({colors["object 2"], colors["object 3"], colors["object 1"]}) == 3
    assert set(colors) == set(hover) == set(names)
    assert "intervened" in hover["object 2"]


@pytest.mark.parametrize("family, n, node", [("collider", 5, 0), ("full", 5, 2), ("random", 6, 1), ("chain", 3, 2)])
def test_graph_view_colours_follow_the_descendants(family, n, node):
    A = make_graph(family, n, rng=np.random.default_rng(3))
    g, colors, _ = figs.graph_view(A, intervened=node)
    assert set(g.edges) == {(f"object {p + 1}", f"object {c + 1}") for c, p in zip(*np.nonzero(A))}
    below = descendants(A, node)
    hit = colors[f"object {node + 1}"]
    for j in range(n):
        col = colors[f"object {j + 1}"]
        if j == node:
            continue
        assert col != hit
        assert (col == figs._DESCENDANT) == (j in below)
    _, plain, _ = figs.graph_view(A)
    assert len(set(plain.values())) == 1 and hit not in plain.values()


# ---------------------------------------------------------------------------------------------------------------
# page support


@pytest.mark.parametrize("family, n, seed", [("chain", 3, 0), ("collider", 5, 1), ("full", 4, 2), ("random", 6, 3)])
def test_world_example_is_deterministic_and_local(family, n, seed):
    cfg = replace(TINY, family=family, n_objects=n, seed=seed)
    a, b = support.world_example(cfg), support.world_example(cfg)
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k])
    side = 5 * (math.ceil(math.sqrt(n)) + 1)
    assert a["before"].shape == a["after"].shape == (3, side, side)
    i, colour = divmod(a["action"], cfg.n_colors)
    allowed = {i} | descendants(a["adjacency"], i)
    assert a["colors_after"][i] == colour
    assert set(np.nonzero(a["colors_before"] != a["colors_after"])[0].tolist()) <= allowed
    diff = (a["before"] != a["after"]).any(0)
    mask = np.zeros_like(diff)
    for j in allowed:
        r, c = a["positions"][j]
        mask[r * 5:(r + 1) * 5, c * 5:(c + 1) * 5] = True
    assert not diff[~mask].any()


def test_world_example_uses_the_runs_world():
    e = support.world_example(TINY)
    np.testing.assert_array_equal(e["adjacency"], make_world(TINY, 1).adjacency)
    np.testing.assert_array_equal(e["before"], make_world(TINY, 1).render(e["colors_before"][None],
                                                                          e["positions"][None])[0])


def test_example_text_names_the_intervened_object():
    for seed in range(4):
        cfg = replace(TINY, n_objects=4, seed=seed)
        e = support.world_example(cfg)
        i, colour = divmod(e["action"], cfg.n_colors)
        text = support.example_text(e, cfg.n_colors)
        assert text.startswith(f"The action sets object {i + 1} to colour {colour + 1}")
        for j in descendants(e["adjacency"], i):
            assert f"object {j + 1}" in text.split("Objects that changed")[0]
        assert "_" not in text


def test_ranking_text_before_and_after_records(tiny):
    _, records = tiny
    assert "on its way" in support.ranking_text([], TINY)
    assert "on its way" in support.ranking_text(records[:1], TINY)
    text = support.ranking_text(records, TINY)
    last = records[-1].metrics
    assert text.startswith(f"H@1 at k = 5 after {TINY.steps} of {TINY.steps} steps")
    for m in MODELS:
        assert f"{MODEL_LABELS[m]} {last[f'h1_k5_{m}']:.2f} ({last[f'h1_k5_{m}_paper']:.2f}" in text
    assert support.RULE_TEXT in text


def test_sweep_status_before_and_after_records(sweep):
    assert support.sweep_status([], SWEEP) == "Finished N = none yet; training N = 3."
    first_done = next(i for i, r in enumerate(sweep) if "finished_n" in r.artifacts)
    assert support.sweep_status(sweep[:first_done], SWEEP) == "Finished N = none yet; training N = 3."
    assert support.sweep_status(sweep[:first_done + 1], SWEEP) == "Finished N = 3; training N = 4."
    assert support.sweep_status(sweep, SWEEP) == "Finished N = 3, 4."

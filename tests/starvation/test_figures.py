"""The gradient-starvation page's figure builders on short real runs: every chart compiles to Vega-Lite and fills its
container; the data each chart carries is the records' (heat cells, contour, points, margins, u*, per-seed means,
responses, toy lines and the printed values); no title is a metric name; builders without data return None."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from chart_specs import layer_rows, titles

from neurodyn.core.loop import run
from neurodyn.starvation import figures as figs
from neurodyn.starvation.claims import TOY_SD_Z, TOY_WD_Z2
from neurodyn.starvation.experiment import (
    EXTENT,
    HEAT_SIZE,
    METRICS,
    REG_LABELS,
    REGULARISERS,
    TOY_METRICS,
    Config,
    ToyConfig,
    build,
    build_toy,
    data_points,
    sd_margin_target,
)

torch.set_num_threads(1)

METRIC_KEYS = ("min_dist", "p10_dist", "boundary_x")




@pytest.fixture(scope="module")
def moons():
    cfg = Config(epochs=40, artifact_every=20, epochs_per_record=10, n_seeds=2, hidden=32, n_points=100,
                 device="cpu")
    return cfg, list(run(build(cfg)))


@pytest.fixture(scope="module")
def toy():
    cfg = ToyConfig(s1_min=2.0, s1_max=5.0, n_values=4, steps=5000)
    return cfg, list(run(build_toy(cfg)))






def _all_charts(moons, toy):
    (cm, rm), (_, rt) = moons, toy
    X, y = data_points(cm)
    charts = [figs.boundary_chart(figs.latest_snapshot(rm, r), X, y) for r in REGULARISERS]
    charts += [figs.margin_chart(rm, cm), figs.loss_chart(rm), figs.responses_chart(rm, figs.chosen_components(rm)),
               figs.toy_chart(rt, TOY_WD_Z2, TOY_SD_Z)]
    charts += [figs.boundary_metric_chart(rm, k) for k in METRIC_KEYS]
    return charts


def test_every_chart_compiles_and_fills_its_container(moons, toy):
    charts = _all_charts(moons, toy)
    assert all(c is not None for c in charts)
    for chart in charts:
        spec = chart.to_dict()
        assert spec["width"] == "container"
        assert spec["height"] > 0
    assert figs.fixed_width(charts[0]).to_dict()["width"] == 640


def test_titles_are_words_not_metric_names(moons, toy):
    names = {m.name for m in METRICS + TOY_METRICS} - {"epoch", "s1"}
    for chart in _all_charts(moons, toy):
        spec = chart.to_dict()
        shown = list(titles(spec))
        assert shown, "every chart has a title"
        for title in shown:
            assert title not in names and "_" not in title, title
        for rows in layer_rows(spec):
            for row in rows:
                for key in ("regulariser", "direction", "response", "what", "class", "label"):
                    if key in row:
                        assert "_" not in str(row[key]), row[key]


@pytest.mark.parametrize("reg", REGULARISERS)
def test_boundary_chart_draws_the_snapshot(moons, reg):
    cfg, records = moons
    X, y = data_points(cfg)
    snap = figs.latest_snapshot(records, reg)
    assert snap is figs.snapshots(records, reg)[-1] and int(snap.artifacts["epoch"]) == cfg.epochs
    spec = figs.boundary_chart(snap, X, y).to_dict()
    cells, contour, points = layer_rows(spec)
    heat = snap.artifacts["heat"]
    assert len(cells) == HEAT_SIZE ** 2
    np.testing.assert_allclose([c["output"] for c in cells], heat.ravel(), rtol=1e-6)
    axis = np.linspace(-EXTENT, EXTENT, HEAT_SIZE)
    half = (axis[1] - axis[0]) / 2
    k = HEAT_SIZE + 3  # row 1, column 3: x = axis[3], y = axis[1]
    assert cells[k]["output"] == pytest.approx(float(heat[1, 3]), rel=1e-6)
    assert (cells[k]["x"], cells[k]["x2"]) == pytest.approx((axis[3] - half, axis[3] + half))
    assert (cells[k]["y"], cells[k]["y2"]) == pytest.approx((axis[1] - half, axis[1] + half))
    np.testing.assert_allclose([[p["x"], p["y"]] for p in contour], snap.artifacts["contour"], rtol=1e-9)
    np.testing.assert_allclose([[p["x"], p["y"]] for p in points], X, rtol=1e-6)
    assert [p["class"] for p in points] == [figs.CLASS_LABELS[float(v)] for v in y]
    assert str(cfg.epochs) in spec["title"]


def test_boundary_chart_without_a_contour_has_twolayer_rows(moons):
    cfg, records = moons
    X, y = data_points(cfg)
    snap = figs.latest_snapshot(records, "ce")
    flat = type(snap)(snap.step, snap.metrics, {**snap.artifacts, "contour": np.zeros((0, 2))})
    assert len(layer_rows(figs.boundary_chart(flat, X, y).to_dict())) == 2


def test_margin_chart_holds_the_latest_margins_and_u_star(moons):
    cfg, records = moons
    spec = figs.margin_chart(records, cfg).to_dict()
    bars, rule, text = layer_rows(spec)
    for reg in REGULARISERS:
        got = [b["margin"] for b in bars if b["regulariser"] == REG_LABELS[reg]]
        expected = figs.latest_snapshot(records, reg).artifacts["margins"].ravel()
        np.testing.assert_allclose(got, expected, rtol=1e-9)
    assert len(bars) == 3 * cfg.n_seeds * cfg.n_points
    assert rule == [{"margin": pytest.approx(sd_margin_target(cfg)), "label": f"u* = {sd_margin_target(cfg):.2f}"}]
    assert figs.margin_chart(records[:0], cfg) is None
    before = [r for r in records if "reg" not in r.artifacts]
    assert figs.margin_chart(before, cfg) is None


@pytest.mark.parametrize("col, key", list(enumerate(METRIC_KEYS)))
def test_boundary_metric_chart_is_the_per_seed_mean(moons, col, key):
    _, records = moons
    rows = layer_rows(figs.boundary_metric_chart(records, key).to_dict())[0]
    expected = [(int(s.artifacts["epoch"]), REG_LABELS[reg], float(s.artifacts["per_seed"][:, col].mean()))
                for reg in REGULARISERS for s in figs.snapshots(records, reg)]
    assert [(r["epoch"], r["regulariser"]) for r in rows] == [e[:2] for e in expected]
    np.testing.assert_allclose([r["value"] for r in rows], [e[2] for e in expected], rtol=1e-12)
    # the chart's values are also the metrics of each snapshot record
    for s in figs.snapshots(records, "sd"):
        assert s.metrics[f"{key}_sd"] == pytest.approx(s.artifacts["per_seed"][:, col].mean())
    assert figs.boundary_metric_chart([r for r in records if "reg" not in r.artifacts], key) is None


def test_loss_chart_has_one_row_per_epoch_and_regulariser(moons):
    _, records = moons
    spec = figs.loss_chart(records).to_dict()
    rows = layer_rows(spec)[0]
    epochs = sorted({r.metrics["epoch"] for r in records})
    assert len(rows) == 3 * len(epochs) == 3 * 5
    for row in rows:
        rec = next(r for r in records if r.metrics["epoch"] == row["epoch"])
        reg = next(g for g in REGULARISERS if REG_LABELS[g] == row["regulariser"])
        assert row["loss"] == rec.metrics[f"loss_{reg}"]
    assert spec["encoding"]["y"]["scale"]["type"] == "log"


def test_responses_chart_draws_the_chosen_components(moons):
    _, records = moons
    chosen = figs.chosen_components(records)
    last = records[-1].artifacts["responses"][0]
    assert len(chosen) == 2 and chosen == sorted(chosen)
    assert set(chosen) == set(np.argsort(-last)[:2].tolist())
    assert min(last[chosen]) >= max(np.delete(last, chosen))
    assert figs.chosen_components(records, 3) == sorted(np.argsort(-last)[:3].tolist())
    rows = layer_rows(figs.responses_chart(records, chosen).to_dict())[0]
    firsts = {}
    for r in records:
        firsts.setdefault(r.metrics["epoch"], r)
    assert len(rows) == len(firsts) * 3 * len(chosen)
    for row in rows:
        rec = firsts[row["epoch"]]
        i = [REG_LABELS[g] for g in REGULARISERS].index(row["regulariser"])
        j = int(row["direction"].split()[-1]) - 1
        assert j in chosen
        assert row["response"] == pytest.approx(float(rec.artifacts["responses"][i, j]), rel=1e-12)


def test_toy_chart_draws_the_metrics_and_the_printed_values(toy):
    _, records = toy
    lines, marks = layer_rows(figs.toy_chart(records, TOY_WD_Z2, TOY_SD_Z).to_dict())
    assert len(lines) == 4 * len(records)
    for row in lines:
        rec = next(r for r in records if r.metrics["s1"] == row["s1"])
        reg = {"weight decay": "wd", "spectral decoupling": "sd"}[row["regulariser"]]
        comp = {"|z1|": "z1", "|z2|": "z2"}[row["response"]]
        assert row["z"] == rec.metrics[f"{comp}_{reg}"]
    printed = sorted((m["s1"], m["z"]) for m in marks if m["what"] == "printed, weight decay")
    assert printed == [(s, TOY_WD_Z2[s]) for s in (2.0, 3.0, 4.0, 5.0)]  # s1 = 6 lies outside this run
    sd = sorted((m["s1"], m["z"]) for m in marks if m["what"] == "printed, spectral decoupling")
    assert sd == sorted((s, z) for s in (2.0, 5.0) for z in TOY_SD_Z)
    # the lines pass through the printed markers (the toy reproduces the script)
    for s, z in printed:
        got = next(r["z"] for r in lines if r["s1"] == s and r["regulariser"] == "weight decay"
                   and r["response"] == "|z2|")
        assert abs(got - z) < 0.02

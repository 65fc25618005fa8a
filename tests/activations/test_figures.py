"""The adaptive-activation page's figure builders on real (short) runs: every chart compiles to Vega-Lite, fills its
container and has legible text; the data each chart carries is the records' (means, clouds, cells, bars); no title
is a metric name; builders without data return None."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch
from chart_specs import layer_rows, titles

from neurodyn.activations import figures as figs
from neurodyn.activations.experiment import (
    GRID_METRICS,
    METRICS,
    MODE_LABELS,
    SHIFT_METRICS,
    Config,
    GridConfig,
    ShiftConfig,
    build,
    build_grid,
    build_shift,
    evaluations,
    grid_points,
    mode_rows,
)
from neurodyn.activations.gamma import MODES, gamma, max_slope
from neurodyn.core.loop import run

torch.set_num_threads(1)




@pytest.fixture(scope="module")
def modes():
    cfg = Config(epochs=2, n_seeds=2, hidden=16, device="cpu")
    return cfg, list(run(build(cfg)))


@pytest.fixture(scope="module")
def grid():
    cfg = GridConfig(epochs=1, hidden=16, device="cpu")
    return cfg, list(run(build_grid(cfg)))


@pytest.fixture(scope="module")
def shift():
    cfg = ShiftConfig(epochs=1, adapt_epochs=1, hidden=16, device="cpu")
    return cfg, list(run(build_shift(cfg)))




def _all_charts(modes, grid, shift):
    (cm, rm), (cg, rg), (cs, rs) = modes, grid, shift
    return [figs.family_chart(5.0, 0.5), figs.slope_chart(5.0, 0.5), figs.accuracy_chart(rm, cm),
            figs.loss_chart(rm), figs.cloud_chart(rm, cm), figs.lyapunov_chart(rm), figs.landscape_chart(rg, cg),
            figs.trajectories_chart(rg, cg), figs.shift_chart(rs, cs), figs.shift_curve_chart(rs)]




def test_every_chart_compiles_fills_its_container_and_has_legible_text(modes, grid, shift):
    charts = _all_charts(modes, grid, shift)
    for chart in charts:
        spec = chart.to_dict()
        assert spec["width"] == "container"
        config = spec["config"]
        assert config["axis"]["labelFontSize"] >= 12 and config["axis"]["titleFontSize"] >= 12
        assert config["legend"]["labelFontSize"] >= 12 and config["title"]["fontSize"] >= 12
        for layer in spec.get("layer", [spec]):  # mark text (labels on bars, cells, curves) is legible too
            if isinstance(layer["mark"], dict) and layer["mark"]["type"] == "text":
                assert layer["mark"]["fontSize"] >= 12
    assert figs.fixed_width(charts[0]).to_dict()["width"] == 640  # exported copies


def test_titles_and_labels_are_words_not_metric_names(modes, grid, shift):
    names = {m.name for m in METRICS + GRID_METRICS + SHIFT_METRICS} - {"epoch", "phase"}
    for chart in _all_charts(modes, grid, shift):
        spec = chart.to_dict()
        shown = list(titles(spec))
        assert shown, "every chart has a title"
        for title in shown:
            assert title not in names and "_" not in title, title
        for rows in layer_rows(spec):
            for row in rows:
                for key in ("mode", "network", "curve", "label", "test", "when"):
                    if key in row:
                        assert "_" not in str(row[key]), row[key]


def test_family_chart_draws_gamma_and_the_named_members():
    spec = figs.family_chart(5.0, 0.5).to_dict()
    layers = layer_rows(spec)
    refs, bold = layers[0], layers[-1]
    for x in (-2.0, 0.0, 1.5):
        row = next(r for r in bold if abs(r["x"] - x) < 1e-9)
        assert row["value"] == pytest.approx(float(gamma(torch.tensor(x, dtype=torch.float64), 5.0, 0.5)), abs=1e-12)

    def ref(name, x):
        return next(r["value"] for r in refs if r["curve"] == name and abs(r["x"] - x) < 1e-9)

    assert ref("ReLU (n → ∞)", 2.0) == 2.0 and ref("ReLU (n → ∞)", -1.0) == 0.0
    assert (ref("step (n → ∞)", -0.5), ref("step (n → ∞)", 0.0), ref("step (n → ∞)", 0.5)) == (0.0, 0.5, 1.0)
    assert ref("softplus", 0.0) == pytest.approx(np.log(2.0))
    assert ref("sigmoid", 1.0) == pytest.approx(1 / (1 + np.exp(-1.0)))
    assert ref("(1 + tanh x)/2", 0.7) == pytest.approx((1 + np.tanh(0.7)) / 2)
    labels = [rows[0]["curve"] for rows in layers[1:-1]]
    assert sorted(labels) == sorted(["softplus", "ReLU (n → ∞)", "sigmoid", "(1 + tanh x)/2", "step (n → ∞)"])
    assert spec["layer"][-1]["encoding"]["y"]["scale"]["domain"] == list(figs._FAMILY_Y)


@pytest.mark.parametrize("n, s", [(5.0, 0.5), (1.0, 0.0), (2.0, 1.0), (10.0, 0.05)])
def test_slope_chart_rule_sits_at_the_largest_slope(n, s):
    spec = figs.slope_chart(n, s).to_dict()
    curve, rule, text = layer_rows(spec)
    assert rule[0]["slope"] == pytest.approx(max_slope(n, s))
    assert text[0]["label"].startswith("largest slope")
    assert max(r["slope"] for r in curve) <= max_slope(n, s) + 1e-12
    plain = figs.slope_chart(n, 1.4).to_dict()  # s outside [0, 1]: no rule
    assert "layer" not in plain


def test_accuracy_chart_means_are_the_seed_means(modes):
    cfg, recs = modes
    thin, bold = layer_rows(figs.accuracy_chart(recs, cfg).to_dict())
    evals = evaluations(recs)
    assert len(bold) == 3 * len(evals) and len(thin) == 3 * cfg.n_seeds * len(evals)
    for rec in evals:
        epoch, acc = rec.artifacts["epoch"], rec.artifacts["acc"]
        for m in MODES:
            mean = next(r["accuracy"] for r in bold if r["epoch"] == epoch and r["mode"] == MODE_LABELS[m])
            seeds = [r["accuracy"] for r in thin if r["epoch"] == epoch and r["mode"] == MODE_LABELS[m]]
            assert mean == pytest.approx(np.mean(seeds)) == pytest.approx(acc[mode_rows(cfg, m)].mean())
    assert sorted({r["epoch"] for r in bold}) == [0, 1, 2]


def test_mode_colours_agree_across_charts(modes):
    cfg, recs = modes
    for chart in (figs.accuracy_chart(recs, cfg), figs.loss_chart(recs), figs.lyapunov_chart(recs)):
        spec = chart.to_dict()
        for layer in spec.get("layer", [spec]):
            colour = layer.get("encoding", {}).get("color")
            if colour and colour["field"] == "mode":
                assert colour["scale"]["domain"] == [MODE_LABELS[m] for m in MODES]
                assert colour["scale"]["range"] == [figs.MODE_COLORS[MODE_LABELS[m]] for m in MODES]


def test_loss_chart_reads_each_epoch_once(modes):
    _, recs = modes
    (rows,) = layer_rows(figs.loss_chart(recs).to_dict())
    keys = [(r["epoch"], r["mode"]) for r in rows]
    assert len(keys) == len(set(keys))
    last = recs[-1].metrics
    for m in MODES:
        assert next(r["loss"] for r in rows if r["epoch"] == last["epoch"] and r["mode"] == MODE_LABELS[m]) \
            == pytest.approx(last[f"loss_{m}"])


def test_cloud_chart_centre_is_the_mean_of_the_latest_shapes(modes):
    cfg, recs = modes
    spec = figs.cloud_chart(recs, cfg).to_dict()
    earlier, latest, start, start_text, centre, centre_text = layer_rows(spec)
    row = mode_rows(cfg, "heterogeneous")[0]
    art = evaluations(recs)[-1].artifacts
    assert [r["n"] for r in latest] == pytest.approx(art["n"][row].tolist())
    assert [r["s"] for r in latest] == pytest.approx(art["s"][row].tolist())
    assert (centre[0]["n"], centre[0]["s"]) == pytest.approx((art["n"][row].mean(), art["s"][row].mean()))
    assert (start[0]["n"], start[0]["s"]) == (cfg.n_init, cfg.s_init)
    assert start_text[0]["label"] == "start" and centre_text[0]["label"] == "centre of mass"
    assert len(earlier) == cfg.hidden * (len(evaluations(recs)) - 1)
    x = spec["layer"][1]["encoding"]["x"]
    assert x["title"] == "gain n" and spec["layer"][1]["encoding"]["y"]["title"] == "saturation s"
    lo, hi = x["scale"]["domain"]  # zoomed to the data, not 0-20
    assert lo < min(r["n"] for r in latest) and hi > max(r["n"] for r in latest) and hi - lo < 5


def test_lyapunov_chart_reads_every_measurement_and_none_without(modes):
    _, recs = modes
    rule, lines = layer_rows(figs.lyapunov_chart(recs).to_dict())
    measured = [r.artifacts for r in recs if "lyap" in r.artifacts]
    assert len(lines) == len(measured) == 3 * 3
    for a in measured:
        assert any(r["epoch"] == a["lyap_epoch"] and r["mode"] == MODE_LABELS[a["lyap_mode"]]
                   and r["exponent"] == a["lyap"] for r in lines)
    assert rule == [{"exponent": 0.0}]
    assert figs.lyapunov_chart([r for r in recs if "lyap" not in r.artifacts]) is None


def test_landscape_cells_are_the_static_accuracies(grid):
    cfg, recs = grid
    spec = figs.landscape_chart(recs, cfg).to_dict()
    cells, text = layer_rows(spec)
    assert cells == text  # one set of rows for both layers
    acc = evaluations(recs)[-1].artifacts["acc"]
    expected = {(n, s): acc[g] for g, (n, s, mode) in enumerate(grid_points(cfg)) if mode == "static"}
    assert {(r["n"], r["s"]): r["accuracy"] for r in cells} == pytest.approx(expected)
    assert all(r["label"] == f"{r['accuracy']:.2f}" for r in cells)
    assert all(r["ink"] == ("black" if r["accuracy"] >= 0.6 else "white") for r in cells)
    enc = spec["layer"][0]["encoding"]
    assert enc["color"]["scale"]["domain"] == [0, 1] and enc["y"]["sort"] == "descending"


def test_trajectories_follow_the_homogeneous_rows(grid):
    cfg, recs = grid
    spec = figs.trajectories_chart(recs, cfg).to_dict()
    paths, starts, ends = layer_rows(spec)
    hom = [(g, n, s) for g, (n, s, mode) in enumerate(grid_points(cfg)) if mode == "homogeneous"]
    assert len(paths) == len(hom) * len(evaluations(recs)) and len(starts) == len(ends) == len(hom)
    last = evaluations(recs)[-1].artifacts
    for (g, n0, s0), start, end in zip(hom, starts, ends):
        assert (start["n"], start["s"]) == (n0, s0)
        assert (end["n"], end["s"], end["accuracy"]) == pytest.approx((last["n"][g], last["s"][g], last["acc"][g]))
    enc = spec["layer"][2]["encoding"]
    assert enc["color"]["scale"]["domain"] == [0, 1]
    x_lo, x_hi = enc["x"]["scale"]["domain"]
    y_lo, y_hi = enc["y"]["scale"]["domain"]
    assert x_lo <= 0 and x_hi >= 21 and y_lo <= -0.15 and y_hi >= 1.75
    assert figs.trajectories_chart(recs, dataclasses.replace(cfg, homogeneous=False)) is None


def test_shift_bars_are_the_latest_metrics(shift):
    cfg, recs = shift
    bars, text = layer_rows(figs.shift_chart(recs, cfg).to_dict())
    assert bars == text
    m = recs[-1].metrics
    values = {(r["network"].split(" (")[0], r["test"]): r["accuracy"] for r in bars}
    assert values == pytest.approx({
        ("no adaptation", "clean digits"): m["clean_acc"], ("no adaptation", "shifted digits"): m["shifted_acc"],
        ("shapes only", "clean digits"): m["shape_clean_acc"],
        ("shapes only", "shifted digits"): m["shape_shifted_acc"],
        ("readout only", "clean digits"): m["readout_clean_acc"],
        ("readout only", "shifted digits"): m["readout_shifted_acc"]})
    assert any(f"{2 * cfg.hidden} parameters" in r["network"] for r in bars)
    assert any(f"{10 * cfg.hidden + 10} parameters" in r["network"] for r in bars)
    training = [r for r in recs if r.metrics["phase"] == 0.0]  # before adaptation: the trained network alone
    (only,) = {r["network"] for r in layer_rows(figs.shift_chart(training, cfg).to_dict())[0]}
    assert only == "no adaptation"


def test_shift_curve_reads_the_artifacts_and_marks_adaptation(shift):
    cfg, recs = shift
    spec = figs.shift_curve_chart(recs).to_dict()
    lines, points, rule, text = layer_rows(spec)
    assert lines == points
    assert rule[0]["epoch"] == cfg.epochs and text[0]["label"] == "adaptation starts"
    adapt = [r.artifacts for r in recs if "adapt_epoch" in r.artifacts]
    for a in adapt:
        for network, copy in (("shapes only", "shape"), ("readout only", "readout")):
            for test, key in (("clean digits", "clean"), ("shifted digits", "shifted")):
                assert next(r["accuracy"] for r in lines if r["network"] == network and r["test"] == test
                            and r["epoch"] == cfg.epochs + a["adapt_epoch"]) == pytest.approx(a[f"{copy}_{key}"])
    trained = [r.artifacts for r in recs if "clean" in r.artifacts]
    assert {(r["epoch"], r["test"]): r["accuracy"] for r in lines if r["network"] == "no adaptation"} \
        == pytest.approx({(a["epoch"], t): a[k] for a in trained for t, k in (("clean digits", "clean"),
                                                                                ("shifted digits", "shifted"))})


def test_builders_return_none_without_data(modes, grid, shift):
    cm, cg, cs = modes[0], grid[0], shift[0]
    assert figs.accuracy_chart([], cm) is None and figs.loss_chart([]) is None and figs.cloud_chart([], cm) is None
    assert figs.lyapunov_chart([]) is None and figs.landscape_chart([], cg) is None
    assert figs.trajectories_chart([], cg) is None
    assert figs.shift_chart([], cs) is None and figs.shift_curve_chart([]) is None

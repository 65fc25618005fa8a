"""The BRIMs page's figure builders on a real (short) run: every chart compiles to Vega-Lite; bad shapes raise; the
accuracy chart reads each evaluation where it ended; legends carry line samples; text is legible."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodyn.brims import figures as figs
from neurodyn.brims.experiment import PROBES, build, model_metric, model_names
from neurodyn.core import registry
from neurodyn.core.loop import Record, run

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def records():
    cfg = registry.make_config("brims", "small", device="cpu", epochs=2, artifact_every=2, batches_per_record=11)
    return cfg, list(run(build(cfg)))


def _all_charts(cfg, recs):
    names = model_names(cfg)
    _, art = figs.latest_artifacts(recs, "raster")
    _, probes = figs.latest_artifacts(recs, "probe_distractors")
    return ([figs.accuracy_chart(recs, names, cfg.probe_rows), figs.train_loss_chart(recs, names),
             figs.raster_chart(art["raster"], (cfg.n_modules_1, cfg.n_modules_2)),
             figs.sequence_chart(art["raster_digit"])]
            + [figs.probe_chart(probes, names, p) for p in PROBES]
            + [figs.slot_attention_chart(art["raster_alpha_1"], 1, s) for s in range(3)]
            + [figs.slot_attention_chart(art["raster_alpha_2"], 2, s) for s in range(2)]
            + [figs.slot_mass_chart(art["slot_mass"], layer) for layer in (1, 2)]
            + [figs.dynamics_chart(recs, layer) for layer in (1, 2)])


def test_every_chart_compiles_fills_its_container_and_has_legible_text(records):
    cfg, recs = records
    for chart in _all_charts(cfg, recs):
        spec = chart.to_dict()
        assert spec["width"] == "container"
        config = spec["config"]
        assert config["axis"]["labelFontSize"] >= 12 and config["axis"]["titleFontSize"] >= 12
        assert config["legend"]["labelFontSize"] >= 12
    assert figs.fixed_width(_all_charts(cfg, recs)[0]).to_dict()["width"] == 640  # exported copies


def test_accuracy_chart_reads_every_evaluation_where_it_ended(records):
    # models are evaluated one unit at a time, so the last record of eval_epoch 1 already holds BRIMs' epoch-2
    # accuracy: each point must come from the first record of its eval_epoch
    cfg, recs = records
    df = figs.per_evaluation(recs, [model_metric("brims", "test_acc")])
    assert df["step"].tolist() == [0.0, 1.0, 2.0]  # the untrained models, then epochs 1 and 2
    first = {}
    for r in recs:
        first.setdefault(int(r.metrics["eval_epoch"]), r.metrics)
    for epoch in (0, 1, 2):
        assert df.loc[df["step"] == epoch, "value"].item() == first[epoch][model_metric("brims", "test_acc")]
    epoch_1 = [r.metrics for r in recs if r.metrics["eval_epoch"] == 1.0]
    assert epoch_1[-1][model_metric("brims", "test_acc")] != epoch_1[0][model_metric("brims", "test_acc")]


def test_accuracy_chart_legend_shows_a_line_sample_for_clean_and_distracted():
    recs = [Record(e, {"eval_epoch": float(e), **{model_metric(n, k): 0.1 * e for n in ("brims", "lstm")
                                                 for k in ("test_acc", "distracted_acc")}}) for e in range(3)]
    spec = figs.accuracy_chart(recs, ["brims", "lstm"], 4).to_dict()
    line_layer = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "line")
    dash = line_layer["encoding"]["strokeDash"]
    assert dash["scale"]["domain"] == ["clean", "+4 distractor rows"]
    legend = dash["legend"]
    assert legend["symbolType"] == "stroke" and legend["symbolStrokeWidth"] >= 2 and legend["symbolStrokeColor"]
    # the point layer must not claim the dash legend (it would draw empty symbols)
    point_layer = next(layer for layer in spec["layer"] if layer["mark"]["type"] == "point")
    assert "strokeDash" not in point_layer.get("encoding", {})


def test_raster_marks_distractor_steps_and_rejects_bad_shapes():
    raster = np.zeros((10, 5), dtype=np.int8)
    raster[:, :2] = 1
    data = figs.raster_chart(raster, (3, 2)).to_dict()["datasets"]
    states = {row["state"] for rows in data.values() for row in rows}
    assert states == {"idle", "active", "idle, distractor row", "active, distractor row"}
    with pytest.raises(ValueError, match=r"raster must be \(T, 5\)"):
        figs.raster_chart(raster[:, :4], (3, 2))
    with pytest.raises(ValueError, match="probe_distractors has shape"):
        figs.probe_chart({"probe_distractors": np.zeros((2, 3))}, ["brims", "lstm"], "probe_distractors")
    with pytest.raises(ValueError, match="unknown probe"):
        figs.probe_chart({}, ["brims"], "probe_blur")
    with pytest.raises(ValueError, match="slot 2 < slots"):
        figs.slot_attention_chart(np.zeros((4, 3, 2)), 2, 2)


def test_probe_chart_axis_is_labelled_in_words_with_the_grid_as_ticks():
    acc = np.array([[0.9, 0.7, 0.5, 0.3], [0.95, 0.6, 0.2, 0.1]])
    spec = figs.probe_chart({"probe_distractors": acc}, ["brims", "lstm"], "probe_distractors").to_dict()
    assert spec["encoding"]["x"]["title"] == "distractor rows after the digit (K)"
    assert spec["encoding"]["x"]["axis"]["values"] == [0.0, 2.0, 4.0, 8.0]
    rows = next(iter(spec["datasets"].values()))
    assert [r["accuracy"] for r in rows if r["model"] == "LSTM"] == [0.95, 0.6, 0.2, 0.1]


def test_slot_mass_draws_no_top_down_bar_for_the_top_layer():
    mass = np.zeros((2, 2, 3))
    mass[0] = [[0.2, 0.5, 0.3], [0.3, 0.3, 0.4]]
    mass[1, :, :2] = [[0.4, 0.6], [0.5, 0.5]]
    top = next(iter(figs.slot_mass_chart(mass, 2).to_dict()["datasets"].values()))
    bottom = next(iter(figs.slot_mass_chart(mass, 1).to_dict()["datasets"].values()))
    assert {r["slot"] for r in top} == {"null", "bottom-up"} and len(bottom) == 6
    assert [r["mass"] for r in bottom if r["steps"] == "distractor rows"] == [0.3, 0.3, 0.4]


def test_sequence_chart_colours_digit_and_distractor_rows_apart():
    image = np.zeros((11, 8))
    spec = figs.sequence_chart(image).to_dict()
    digit, noise = (spec["datasets"][layer["data"]["name"]] for layer in spec["layer"])  # each layer its own rows
    assert {r["t"] for r in digit} == set(range(8)) and {r["part"] for r in digit} == {"digit"}
    assert {r["t"] for r in noise} == {8, 9, 10} and {r["part"] for r in noise} == {"distractor"}
    assert len(digit) + len(noise) == image.size
    assert spec["layer"][1]["encoding"]["color"]["scale"]["range"] == ["#fdf0e6", "#8a3b00"]  # orange distractors
    only_digit = figs.sequence_chart(np.zeros((8, 8))).to_dict()
    assert "layer" not in only_digit and len(only_digit["datasets"][only_digit["data"]["name"]]) == 64
    with pytest.raises(ValueError, match=r"image must be \(T, W\)"):
        figs.sequence_chart(np.zeros(8))

"""The BRIMs page's figure builders on a real (short) run: every chart compiles to Vega-Lite; bad shapes raise."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from neurodyn.brims.experiment import PROBE_ROWS, PROBE_SIGMAS, PROBE_STEPS, build, model_names
from neurodyn.core import registry
from neurodyn.core.loop import run
from neurodyn.viz import brims as figs

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def records():
    cfg = registry.make_config("brims", "small", device="cpu", epochs=1)
    return cfg, list(run(build(cfg)))


def test_every_chart_compiles(records):
    cfg, recs = records
    names = model_names(cfg)
    _, art = figs.latest_artifacts(recs, "raster")
    _, probes = figs.latest_artifacts(recs, "probe_distractors")
    charts = [figs.accuracy_chart(recs, names, cfg.probe_rows), figs.train_loss_chart(recs, names),
              figs.probe_chart(probes, names, PROBE_ROWS, PROBE_SIGMAS, PROBE_STEPS),
              figs.raster_chart(art["raster"], (cfg.n_modules_1, cfg.n_modules_2)),
              figs.slot_attention_chart(art["raster_alpha_1"], art["raster_alpha_2"]),
              figs.slot_mass_chart(art["slot_mass"]), figs.dynamics_chart(recs)]
    for chart in charts:
        assert isinstance(chart.to_dict(), dict)


def test_accuracy_chart_has_one_point_per_evaluation(records):
    cfg, recs = records
    df = figs.per_evaluation(recs, ["brims_test_acc"])
    assert df["step"].tolist() == [0.0, 1.0]  # the untrained models, then epoch 1
    assert df["value"].iloc[-1] == recs[-1].metrics["brims_test_acc"]


def test_raster_marks_distractor_steps_and_rejects_bad_shapes():
    raster = np.zeros((10, 5), dtype=np.int8)
    raster[:, :2] = 1
    data = figs.raster_chart(raster, (3, 2)).to_dict()["datasets"]
    states = {row["state"] for rows in data.values() for row in rows}
    assert states == {"idle", "active", "idle, distractor row", "active, distractor row"}
    with pytest.raises(ValueError, match=r"raster must be \(T, 5\)"):
        figs.raster_chart(raster[:, :4], (3, 2))
    with pytest.raises(ValueError, match="probe_distractors has shape"):
        figs.probe_chart({"probe_distractors": np.zeros((2, 3)), "probe_noise": np.zeros((2, 4)),
                          "probe_stretch": np.zeros((2, 4))}, ["brims", "lstm"], PROBE_ROWS, PROBE_SIGMAS, PROBE_STEPS)


def test_sequence_chart_colours_digit_and_distractor_rows_apart():
    image = np.zeros((11, 8))
    spec = figs.sequence_chart(image).to_dict()
    rows = next(iter(spec["datasets"].values()))
    assert {r["part"] for r in rows if r["t"] < 8} == {"digit"} and {r["part"] for r in rows if r["t"] >= 8} == {"distractor"}
    with pytest.raises(ValueError, match=r"image must be \(T, W\)"):
        figs.sequence_chart(np.zeros(8))

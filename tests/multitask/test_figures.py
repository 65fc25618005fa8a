"""The modular-latent-primitives page's figure builders and texts on a tiny real run: every chart compiles to
Vega-Lite, fills its container, speaks words and carries the records' values; the page's stage list follows the run."""

from __future__ import annotations

import altair as alt
import numpy as np
import pytest
import torch
from chart_specs import assert_container_and_words, layer_rows

from neurodyn.core.loop import run
from neurodyn.multitask import figures as figs
from neurodyn.multitask import page_support as support
from neurodyn.multitask.experiment import STAGES, STRATEGIES, STRATEGY_LABELS, Config, build, metrics
from neurodyn.multitask.tasks import TASK_LABELS

torch.set_num_threads(1)

TINY = Config(tasks="DelayPro,MemoryDm1", n_modules=2, module_size=16, separate_units=16, joint_units=32,
              steps_per_task=3, pretrain_steps=4, corpus_batches=9, batch=8, eval_trials=16, levels=2, draws=1)


@pytest.fixture(scope="module")
def records():
    return list(run(build(TINY)))


def _charts(records):
    ex = figs.latest(records, "examples")
    out = {"scree": figs.scree_chart(records), "pre_loss": figs.pretrain_loss_chart(records, TINY),
           "sample": figs.pretrain_sample_chart(figs.latest(records, "pretrain_sample"), 1),
           "loss": figs.loss_chart(records), "params": figs.params_chart(records),
           "growth": figs.params_growth_chart(TINY), "accuracy": figs.accuracy_chart(records, TINY),
           "inputs": figs.inputs_chart(ex, 1, "MemoryDm1"), "outputs": figs.outputs_chart(ex, 1, "MemoryDm1", "MoLaP"),
           "activity": figs.activity_chart(figs.latest(records, "activity"), TINY.task_list),
           "matrix": figs.matrix_chart(figs.latest(records, "w_rec_molap"), "MoLaP recurrent weights")}
    for kind in TINY.kinds:
        for norm in (False, True):
            out[f"{kind}{norm}"] = figs.perturbation_chart(records, TINY, kind, normalised=norm)
    return out


def test_every_chart_compiles_fills_its_container_and_speaks_words(records):
    names = {m.name for m in metrics(TINY)}
    for name, chart in _charts(records).items():
        spec = chart.to_dict()
        # a tiny run can score 0 unperturbed, which leaves the normalised curves without a finite value
        assert_container_and_words(spec, names, ("strategy", "task", "module", "count", "input", "output"),
                                   rows_required=not name.endswith("True"))
        figs.fixed_width(chart).to_json()  # an export copy compiles too


def test_charts_carry_the_records_values(records):
    last = records[-1].metrics
    charts = _charts(records)
    acc = layer_rows(charts["accuracy"].to_dict())[0]
    assert len(acc) == len(STRATEGIES) * 2
    for row in acc:
        s = next(k for k, v in STRATEGY_LABELS.items() if v == row["strategy"])
        t = next(k for k, v in TASK_LABELS.items() if v == row["task"])
        assert row["accuracy"] == last[f"acc_{s}_{t}"]
    params = layer_rows(charts["params"].to_dict())[0]
    assert {(r["strategy"], r["count"]) for r in params} == {(STRATEGY_LABELS[s], c) for s in STRATEGIES
                                                            for c in ("stored for all tasks", "updated per new task")}
    growth = layer_rows(charts["growth"].to_dict())[0]
    mol = [r["parameters"] for r in growth if r["strategy"] == "MoLaP"]
    assert mol == [last["params_total_molap"] - last["params_updated_molap"], last["params_total_molap"]]
    loss = layer_rows(charts["loss"].to_dict())[0]
    assert sorted({r["step"] for r in loss}) == [1, 2, 3]
    scree = layer_rows(charts["scree"].to_dict())[0]
    assert sum(r["kept"] == "kept for the modules" for r in scree) == 2 * TINY.n_modules
    pert = layer_rows(charts["weight noiseFalse"].to_dict())[0]
    assert sorted({r["magnitude"] for r in pert}) == pytest.approx([0.0, 0.25, 0.5])
    matrix = layer_rows(charts["matrix"].to_dict())[0]
    assert len(matrix) == 32 * 32 and sum(r["weight"] == 0 for r in matrix) >= 2 * 16 * 16


def test_charts_of_an_early_run_have_no_rows_but_compile(records):
    early = records[:2]
    for chart in (figs.loss_chart(early), figs.accuracy_chart(early, TINY),
                  figs.perturbation_chart(early, TINY, "silencing")):
        assert isinstance(chart.to_dict(), dict)
        assert all(not rows for rows in layer_rows(chart.to_dict()))


def test_stage_list_follows_the_run(records):
    states = support.stage_states(records[:1], TINY)
    assert [s[0] for s in states] == list(STAGES) and states[0][1] == "running"
    assert all(s[1] == "waiting" for s in states[1:])
    states = support.stage_states(records, TINY)
    assert all(s[1] == "done" for s in states)
    text = support.progress_markdown(records, TINY)
    assert text.count("✅") == 4 and "perturbation sweep" in text
    random = Config(**{**TINY.__dict__, "primitives": "random"})
    assert support.stage_states([], random)[1][1] == "skipped"


def test_accuracy_text_waits_then_names_every_strategy(records):
    assert "follow" in support.accuracy_text(records[:3], TINY)
    text = support.accuracy_text(records, TINY)
    assert all(v in text for v in STRATEGY_LABELS.values()) and "Prototype" in text


def test_palette_has_a_colour_per_task():
    assert len(set(figs._TASK_RANGE)) >= 9
    assert isinstance(figs.activity_chart({"trajectories": np.zeros((9, 3, 2)), "explained": np.array([0.5, 0.2])},
                                          tuple(TASK_LABELS)), alt.LayerChart)


def test_robustness_text_names_the_primitives_and_the_definitions():
    text = support.robustness_text(TINY)
    assert "latent bank PCA" in text and "standard deviation" in text and "clamped to 0" in text
    assert "Prototype" in text

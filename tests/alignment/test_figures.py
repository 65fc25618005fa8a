"""The feature-alignment page's figure builders on short real runs: every chart compiles to Vega-Lite and fills its
container; each carries the records' values (probe alignments, layer blocks, eigenvalues, effective rank, T_k, the
spectrum at step 0 and now, the heat map and its digit ticks, accuracies); the ceiling line is 1/sqrt(90) and absent
in binary mode; no title is a metric name."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from chart_specs import assert_container_and_words, layer_rows

from neurodyn.alignment import figures as figs
from neurodyn.alignment import page_support as support
from neurodyn.alignment.claims import checkpoint_rows, probe_rows
from neurodyn.alignment.experiment import T_KS, Config, build, metrics
from neurodyn.core.loop import run

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def noisy():
    cfg = Config(steps=60, steps_per_record=20, width=32, random_labels=0.5, device="cpu")
    return cfg, list(run(build(cfg)))


@pytest.fixture(scope="module")
def binary():
    cfg = Config(steps=20, steps_per_record=10, width=16, binary=True, device="cpu")
    return cfg, list(run(build(cfg)))


def _charts(cfg, records):
    return [figs.alignment_chart(records, cfg), figs.layer_chart(records, cfg), figs.eigen_chart(records),
            figs.rank_chart(records), figs.mass_chart(records), figs.spectrum_chart(records),
            figs.heat_chart(figs.latest_checkpoint(records)), figs.accuracy_chart(records)]


def test_every_chart_compiles_fills_its_container_and_speaks_words(noisy, binary):
    names = {m.name for cfg, _ in (noisy, binary) for m in metrics(cfg)} - {"step", "checkpoint"}
    for cfg, records in (noisy, binary):
        for chart in _charts(cfg, records):
            assert_container_and_words(chart.to_dict(), names, ("series",))


def test_alignment_chart_holds_each_probe_and_the_ceiling(noisy, binary):
    cfg, records = noisy
    lines, rule, text = layer_rows(figs.alignment_chart(records, cfg).to_dict())
    rows = probe_rows(records)
    assert len(rows) == len(checkpoint_rows(records)) == 8  # 0, 1, 2, 5, 10, 20, 50 and 60
    for key, label in figs._PROBES.items():
        got = [(r["step"], r["value"]) for r in lines if r["series"] == label]
        assert got == [(row["checkpoint"], pytest.approx(row[key])) for row in rows]
    assert rule[0]["value"] == pytest.approx(1 / np.sqrt(90), abs=1e-12) and "0.105" in text[0]["text"]
    cfg_b, records_b = binary
    assert len(layer_rows(figs.alignment_chart(records_b, cfg_b).to_dict())) == 1  # no ceiling for one output
    series = {r["series"] for r in layer_rows(figs.alignment_chart(records_b, cfg_b).to_dict())[0]}
    assert series == {figs._PROBES["align_train"], figs._PROBES["align_test"]}


def test_layer_eigen_rank_and_mass_charts_carry_the_checkpoint_metrics(noisy):
    cfg, records = noisy
    rows = checkpoint_rows(records)
    layers = layer_rows(figs.layer_chart(records, cfg).to_dict())[0]
    assert {r["series"] for r in layers} == {"layer 1 (input)", "layer 2", "layer 3 (output)"}
    assert [r["value"] for r in layers if r["series"] == "layer 2"] == pytest.approx([x["align_layer2"] for x in rows])
    eig = layer_rows(figs.eigen_chart(records).to_dict())[0]
    assert [r["value"] for r in eig if r["series"] == "largest"] == pytest.approx([x["eig_max"] for x in rows])
    rank = layer_rows(figs.rank_chart(records).to_dict())[0]
    assert [r["value"] for r in rank] == pytest.approx([x["erank"] for x in rows])
    mass = layer_rows(figs.mass_chart(records).to_dict())[0]
    assert {r["series"] for r in mass} == {f"top {k}" for k in T_KS}
    assert all(0 <= r["value"] <= 1 for r in mass)


def test_spectrum_chart_compares_step_zero_with_now(noisy):
    _, records = noisy
    rows = layer_rows(figs.spectrum_chart(records).to_dict())[0]
    first, last = figs.first_checkpoint(records), figs.latest_checkpoint(records)
    assert {r["when"] for r in rows} == {"step 0", f"step {int(last.artifacts['checkpoint'])}"}
    lam0 = first.artifacts["spectrum"]
    zero = [r for r in rows if r["when"] == "step 0"]
    assert zero[0]["rank"] == 1 and zero[0]["eigenvalue"] == pytest.approx(float(lam0[0]))
    assert all(r["eigenvalue"] == pytest.approx(float(lam0[r["rank"] - 1])) for r in zero)
    only_first = [r for r in records if r.step <= first.step]
    assert {r["when"] for r in layer_rows(figs.spectrum_chart(only_first).to_dict())[0]} == {"step 0"}


def test_heat_chart_is_the_recorded_matrix_with_digit_ticks(noisy):
    _, records = noisy
    rec = figs.latest_checkpoint(records)
    spec = figs.heat_chart(rec).to_dict()
    cells = layer_rows(spec)[0]
    heat = rec.artifacts["heat"]
    assert len(cells) == heat.size
    np.testing.assert_allclose([c["cosine"] for c in cells], heat.ravel())
    assert spec["encoding"]["x"]["axis"]["values"] == [5 * d for d in range(10)]  # 50 shown, 5 per digit
    assert "digit" in spec["encoding"]["x"]["axis"]["labelExpr"]


def test_accuracy_chart_has_one_point_per_training_record(noisy):
    _, records = noisy
    rows = layer_rows(figs.accuracy_chart(records).to_dict())[0]
    steps = sorted({r.metrics["step"] for r in records})
    assert [r["step"] for r in rows if r["series"] == "test set"] == steps


def test_page_texts_follow_the_run(noisy):
    cfg, records = noisy
    assert support.status_text([], cfg).startswith("The first kernel")
    text = support.alignment_text(records, cfg)
    assert "Corrupted probe" in text and "0.105" in text
    assert "Largest eigenvalue" in support.spectrum_text(records)
    assert support.spectrum_text(records[:1]).startswith("The spectrum")

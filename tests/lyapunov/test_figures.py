"""The Lyapunov figures build valid Vega-Lite specs from real records (and from no records)."""

from __future__ import annotations

import json

import pytest

from neurodyn.core.loop import record_to_json, run
from neurodyn.lyapunov import figures as figs
from neurodyn.lyapunov.experiment import Config, SweepConfig, build, build_sweep


@pytest.fixture(scope="module")
def records():
    cfg = Config(hidden=12, n_steps=20, le_every=10, le_steps=30, le_warmup=5, device="cpu")
    return list(run(build(cfg)))


@pytest.fixture(scope="module")
def sweep_records():
    cfg = SweepConfig(hidden=8, n_networks=4, n_steps=3, le_steps=20, le_warmup=0, le_chunk=20, device="cpu")
    return list(run(build_sweep(cfg)))


def test_training_figures_build_from_records(records):
    assert set(figs.spectrum_frame(records)["step"]) == {0, 10, 20}
    for chart in (figs.spectrum_chart(records), figs.lambda_max_chart(records, unit="bits"),
                  figs.loss_chart(records), figs.convergence_chart(records), figs.convergence_chart(records,
                                                                                                     checkpoint=10)):
        spec = chart.to_dict()
        assert spec["$schema"].startswith("https://vega.github.io/schema/vega-lite/")
    assert "bits" in json.dumps(figs.lambda_max_chart(records, unit="bits").to_dict())


def test_records_are_json_serialisable(records, sweep_records):
    for r in records + sweep_records:
        json.loads(json.dumps(record_to_json(r), allow_nan=False))


def test_sweep_figures_show_spearman_rho_in_title(sweep_records):
    assert len(figs.sweep_frame(sweep_records)) == 4
    spec = figs.sweep_chart(sweep_records).to_dict()
    assert "Spearman ρ" in json.dumps(spec, ensure_ascii=False)
    figs.sweep_chart(sweep_records, x="lambda_mean").to_dict()
    figs.sweep_spectra_chart(sweep_records).to_dict()


def test_figures_accept_no_records():
    for build_chart in (figs.spectrum_chart, figs.lambda_max_chart, figs.loss_chart, figs.convergence_chart,
                        figs.sweep_chart, figs.sweep_spectra_chart):
        build_chart([]).to_dict()

"""Figure builders for the LEAD page return altair charts from records and arrays (no streamlit)."""

from __future__ import annotations

import dataclasses
import sys

import altair as alt
import numpy as np
import pytest

from neurodyn.core.loop import run
from neurodyn.games.experiment import GAN_PRESETS, PRESETS, build, build_gan
from neurodyn.games.games import quadratic_game
from neurodyn.games.spectral import best_rho_vs_adversarialness, spectral_radius
from neurodyn.viz import games as figs
from neurodyn.viz.theme import no_row_limit


@pytest.fixture(autouse=True)
def _inline_data_without_row_cap():
    with no_row_limit():  # Streamlit ships DataFrames as Arrow; plain altair caps inline data at 5000 rows
        yield


def test_trajectory_figures_build_from_lead_records():
    recs = list(run(build(dataclasses.replace(PRESETS["small"], n_steps=30, use_hb=True, device="cpu"))))
    for chart in (figs.paths_chart(recs), figs.norm_chart(recs), figs.norm_chart(recs, against="grad_evals"),
                  figs.lyapunov_chart(recs)):
        spec = chart.to_dict()
        assert "layer" in spec or "mark" in spec
    df = figs.path_frame(recs)
    assert set(df["method"]) >= {"LEAD", "GDA (sim.)"} and len(df[df["method"] == "LEAD"]) == 31
    assert figs.paths_chart([]).to_dict()  # empty records draw an empty frame


def test_spectral_figures_build_from_arrays():
    game = quadratic_game(0.8, s=[0.5, 1.5], a=[0.5, 1.5])
    eta, alpha = np.linspace(0.01, 1.5, 200), np.linspace(0.0, 1.5, 200)
    rho = spectral_radius("lead", game, lr=eta[:, None], beta=0.3, alpha=alpha[None, :])
    heat = figs.rho_heatmap(eta, alpha, rho, point=(0.3, 0.4))
    assert len(heat.to_dict()["layer"]) == 3
    lines = figs.rho_lines(eta, {m: spectral_radius(m, game, lr=eta) for m in ("gda", "eg", "ogda")})
    assert lines.to_dict()
    rows = best_rho_vs_adversarialness([0.0, 1.0], ("gda", "lead"), lr_grid=np.linspace(0.01, 1.5, 20),
                                       beta_grid=np.linspace(-0.5, 0.9, 8), alpha_grid=np.linspace(0, 1, 8))
    assert figs.best_rho_chart(rows).to_dict()


def test_gan_figures_build_from_lead_gan_records():
    cfg = dataclasses.replace(GAN_PRESETS["small"], n_steps=3, hidden=16, log_every=1, device="cpu")
    recs = list(run(build_gan(cfg)))
    assert isinstance(figs.gan_samples_chart(recs), alt.HConcatChart)
    for metric in ("modes", "hq", "d_loss", "g_loss"):
        assert figs.gan_metric_chart(recs, metric).to_dict()


def test_viz_module_does_not_import_streamlit():
    assert "streamlit" not in sys.modules or not hasattr(figs, "st")

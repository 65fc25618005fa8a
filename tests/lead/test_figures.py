"""Figure builders for the LEAD page: altair charts from records and arrays (no streamlit), ranges that show the
structure and labels that a room can read (``docs/papers/lead.md`` §13)."""

from __future__ import annotations

import dataclasses
import json
import sys

import altair as alt
import numpy as np
import pytest

from neurodyn.core.loop import run
from neurodyn.lead import figures as figs
from neurodyn.lead.experiment import GAN_PRESETS, PRESETS, START, build, build_gan
from neurodyn.lead.games import quadratic_game, xy_game
from neurodyn.lead.page_support import spectral_maps, start_record
from neurodyn.lead.spectral import best_rho_vs_adversarialness, spectral_radius
from neurodyn.viz.theme import no_row_limit


@pytest.fixture(autouse=True)
def _inline_data_without_row_cap():
    with no_row_limit():  # Streamlit ships DataFrames as Arrow; plain altair caps inline data at 5000 rows
        yield


@pytest.fixture(scope="module")
def default_run():
    cfg = dataclasses.replace(PRESETS["small"], device="cpu")
    return list(run(build(cfg))), cfg


def _font_sizes(spec):
    """Every font size a chart's config sets (axis, legend, title)."""
    cfg = spec.get("config", {})
    return [v for part in ("axis", "legend", "title") for k, v in cfg.get(part, {}).items() if "FontSize" in k
            or k == "fontSize"]


def test_trajectory_figures_build_from_lead_records():
    cfg = dataclasses.replace(PRESETS["small"], n_steps=30, use_hb=True, device="cpu")
    recs = list(run(build(cfg)))
    for chart in (figs.paths_chart(recs, cfg), figs.norm_chart(recs, cfg),
                  figs.norm_chart(recs, cfg, against="grad_evals"), figs.lyapunov_chart(recs)):
        spec = chart.to_dict()
        assert "layer" in spec or "mark" in spec
    df = figs.path_frame(recs, cfg)
    assert set(df["method"]) >= {"LEAD", "GDA (sim.)", "Heavy ball"} and len(df[df["method"] == "LEAD"]) == 31
    assert figs.paths_chart([], cfg).to_dict()  # empty records draw an empty frame
    assert figs.paths_chart([start_record(cfg)], cfg).to_dict()  # the page's preview


def test_paths_frame_holds_the_whole_gda_spiral_of_the_default_run(default_run):
    """Issue #13: GDA's spiral left the frame (1.5 x the start); the frame now holds every path of the default run."""
    recs, cfg = default_run
    df = figs.path_frame(recs, cfg)
    extent, clipped = figs.path_view(df)
    reach = float(df[["x", "y"]].abs().to_numpy().max())
    assert reach > 2.5 * START  # GDA (sim.) grows by 1.00499 per step: ‖w_200‖ = 2.71
    assert extent >= reach and clipped == []
    assert extent <= 1.1 * reach + 1e-12  # and no wider than it needs: LEAD's spiral keeps its size
    x_dom = figs.paths_chart(recs, cfg).to_dict()["layer"][0]["encoding"]["x"]["scale"]["domain"]
    assert x_dom == [-extent, extent]


def test_paths_frame_leaves_out_a_diverging_method_and_names_it():
    cfg = dataclasses.replace(PRESETS["small"], lr=0.5, beta=0.0, alpha=0.5, n_steps=60, device="cpu")  # LEAD ρ 0.71
    recs = list(run(build(cfg)))
    extent, clipped = figs.path_view(figs.path_frame(recs, cfg))
    assert extent <= 1.1 * figs.PATH_CAP * START
    assert clipped == ["GDA (sim.)"]  # ‖w_60‖ = 1.118^60 = 810


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


def test_rho_map_colours_span_the_map_without_saturation():
    """Issue #13: tab B's map clipped ρ at 1.25, so 85% of the cells on xy had one colour. Now no cell is clamped,
    and the converging cells (5% of the map) get their own half of the diverging scale."""
    maps = spectral_maps(PRESETS["small"])
    rho = maps["rho"]
    assert 0.03 < np.mean(rho < 1) < 0.1 and np.mean(rho > 1.25) > 0.8  # the map the old scale saturated
    spec = figs.rho_heatmap(maps["eta"], maps["alpha"], rho).to_dict()
    colour = spec["layer"][0]["encoding"]["color"]
    lo, mid, hi = colour["scale"]["domain"]
    assert mid == 1.0 and lo <= rho.min() and hi >= rho.max()
    drawn = np.array([row["rho"] for row in next(iter(spec["datasets"].values()))])
    assert drawn.max() == pytest.approx(rho.max(), rel=0.01)  # drawn every 2nd cell: the map has 200 x 200
    assert np.mean((drawn <= lo) | (drawn >= hi)) < 0.01


def test_rho_curves_are_not_clipped():
    """Issue #13: the ρ-against-η curves were clipped at 1.5; now the axis spans every curve (log scale)."""
    maps = spectral_maps(PRESETS["small"])
    top = max(float(v.max()) for v in maps["curves"].values())
    assert top > 2.0  # OGDA and LEAD pass 2 at large η on xy
    spec = figs.rho_lines(maps["etas"], maps["curves"]).to_dict()
    y = spec["layer"][0]["encoding"]["y"]
    assert y["scale"]["type"] == "log" and y["scale"]["domain"][1] >= top
    drawn = max(row["rho"] for row in next(iter(spec["datasets"].values())) if "rho" in row)
    assert drawn == pytest.approx(top)


def test_rho_colour_domain_straddles_one():
    assert figs.rho_colour_domain(np.array([1.2, 3.0])) == [0.999, 1.0, 3.0]
    assert figs.rho_colour_domain(np.array([0.5, 0.9])) == [0.5, 1.0, 1.001]
    rho = spectral_radius("lead", xy_game(), lr=np.linspace(0.01, 1, 5)[:, None], beta=0.5,
                          alpha=np.linspace(0, 1, 5)[None, :])
    lo, _, hi = figs.rho_colour_domain(rho)
    assert lo == pytest.approx(rho.min()) and hi == pytest.approx(rho.max())


def test_gan_figures_build_from_lead_gan_records():
    cfg = dataclasses.replace(GAN_PRESETS["small"], n_steps=3, hidden=16, log_every=1, device="cpu")
    recs = list(run(build_gan(cfg)))
    for o in ("adam", "lead"):
        chart = figs.gan_samples_chart(recs, o)
        assert isinstance(chart, alt.LayerChart) and f"step {recs[-1].step}" in json.dumps(chart.to_dict())
    for metric in ("modes", "hq", "d_loss", "g_loss"):
        spec = figs.gan_metric_chart(recs, cfg, metric).to_dict()
        rows = next(iter(spec["datasets"].values()))
        assert len(rows) == 3 * 2 * cfg.n_seeds  # steps x optimizers x seeds, read through the declared names
    with pytest.raises(ValueError):
        figs.gan_metric_chart(recs, cfg, "fid")


def test_every_chart_fills_its_column_and_has_legible_labels(default_run):
    """Issue #13: charts take the container's width; axis, legend and title fonts are at least 12 px."""
    recs, cfg = default_run
    gcfg = dataclasses.replace(GAN_PRESETS["small"], n_steps=2, hidden=16, device="cpu")
    grecs = list(run(build_gan(gcfg)))
    maps = spectral_maps(cfg)
    rows = best_rho_vs_adversarialness([0.0, 1.0], ("gda",), lr_grid=np.linspace(0.01, 1.5, 5))
    charts = [figs.paths_chart(recs, cfg), figs.norm_chart(recs, cfg), figs.lyapunov_chart(recs),
              figs.rho_heatmap(maps["eta"], maps["alpha"], maps["rho"]), figs.rho_lines(maps["etas"], maps["curves"]),
              figs.best_rho_chart(rows), figs.gan_samples_chart(grecs, "lead"),
              figs.gan_metric_chart(grecs, gcfg, "modes")]
    for chart in charts:
        spec = chart.to_dict()
        assert spec.get("width") == "container", spec.get("title")
        sizes = _font_sizes(spec)
        assert len(sizes) >= 5 and min(sizes) >= 12, (spec.get("title"), sizes)


def test_viz_module_does_not_import_streamlit():
    assert "streamlit" not in sys.modules or not hasattr(figs, "st")

"""Page support of the LEAD page: the pre-run record, status texts and the spectral tab's arrays (no streamlit)."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from neurodyn.core.loop import run
from neurodyn.lead.experiment import PLANE, PRESETS, build, path_key
from neurodyn.lead.page_support import (
    CURVE_METHODS,
    diverged_methods,
    diverged_text,
    rate_text,
    spectral_maps,
    start_record,
)
from neurodyn.lead.spectral import spectral_radius

CFG = dataclasses.replace(PRESETS["small"], device="cpu")


@pytest.mark.parametrize("game", ["xy", "bilinear", "quadratic"])
def test_start_record_is_where_the_run_starts(game):
    """The page's pre-run figure: f's plane and each enabled method's start, as the first record reports them."""
    cfg = dataclasses.replace(CFG, game=game, use_co=True)
    before, first = start_record(cfg), build(cfg).step()
    np.testing.assert_array_equal(before.artifacts[PLANE], first.artifacts[PLANE])
    paths = sorted(k for k in first.artifacts if k.startswith("path_"))
    assert sorted(k for k in before.artifacts if k.startswith("path_")) == paths and path_key("co") in paths
    for k in paths:
        np.testing.assert_array_equal(before.artifacts[k], first.artifacts[k][:1])
    assert before.step == 0 and before.metrics == {}


def test_diverged_methods_and_text():
    cfg = dataclasses.replace(CFG, lr=0.5, beta=0.0, alpha=0.5, n_steps=150)  # GDA grows by 1.118: 1e6 at step 122
    recs = list(run(build(cfg)))
    assert diverged_methods(recs[:100], cfg) == [] and diverged_text(recs[:100], cfg) is None
    assert diverged_methods(recs, cfg) == ["simgda"]
    assert "GDA (simultaneous)" in diverged_text(recs, cfg)
    assert diverged_methods([], cfg) == []


def test_rate_text_names_the_closed_form_rate_of_the_settings():
    assert "ρ = 0.87766" in rate_text(CFG) and "converges" in rate_text(CFG)
    fast = dataclasses.replace(CFG, lr=1.5)
    assert "diverges" in rate_text(fast)
    alt = dataclasses.replace(CFG, lead_order="alternating")
    rho = float(spectral_radius("altlead", (np.array([0.0]), np.array([1.0])), lr=0.1, beta=0.5, alpha=0.51))
    assert f"ρ = {rho:.5f}" in rate_text(alt) and "alternating LEAD" in rate_text(alt)


def test_spectral_maps_cover_the_sliders_and_agree_with_the_closed_form():
    maps = spectral_maps(CFG, n_map=50, n_curve=40)
    assert maps["rho"].shape == (50, 50) and set(maps["curves"]) == set(CURVE_METHODS)
    assert maps["eta"][0] == 0.005 and maps["eta"][-1] == 1.5 and maps["alpha"][-1] == 1.5  # the sliders' ranges
    i, j = 10, 20
    assert maps["rho"][i, j] == pytest.approx(float(spectral_radius(
        "lead", (np.array([0.0]), np.array([1.0])), lr=maps["eta"][i], beta=0.5, alpha=maps["alpha"][j])))
    np.testing.assert_allclose(maps["curves"]["gda"], np.sqrt(1 + maps["etas"] ** 2), rtol=1e-12)  # xy: √(1 + η²)


def _saved(rows):
    from neurodyn.lead.study import summarise

    return {"studies": {"small": {"rows": rows, "summary": summarise(rows), "command": "python -m x", "date": "d"}}}


def _row(adam, lead, seed=0, stack=0):
    return {"seed": seed, "stack": stack, "adam_modes": adam, "lead_modes": lead, "adam_all8": 0.5, "lead_all8": 0.9,
            "adam_min": 0.0, "lead_min": 8.0, "adam_hq": 0.5, "lead_hq": 0.5}


def test_gan_study_text_says_plainly_what_the_seeds_show():
    from neurodyn.lead.page_support import gan_study_table, gan_study_text

    assert "No multi-seed study" in gan_study_text(None) and gan_study_table(None) == []
    more = gan_study_text(_saved([_row(6, 8), _row(8, 8, stack=1), _row(7, 7.5, seed=1)]))
    assert "LEAD-Adam keeps more modes than Adam, as the paper shows" in more and "Over 3 seeds" in more
    assert "more modes in 2, as many in 1 and fewer in 0" in more and "`python -m x`" in more
    assert "LEAD-Adam in 0 seeds, Adam in 1 seed." in more  # seeds below 7 modes on average
    draw = gan_study_text(_saved([_row(4, 8), _row(8, 7.9, stack=1), _row(8, 7.9, seed=1)]))  # +4, -0.1, -0.1
    assert "on average, because Adam loses modes for good in more seeds, but it does not win more seeds" in draw
    assert "Adam in 1" in draw and "more modes in 1, as many in 0 and fewer in 2" in draw
    near = gan_study_text(_saved([_row(7.2, 8), _row(8, 7.9, stack=1), _row(8, 7.9, seed=1)]))  # no seed below 7
    assert "on average but it does not win more seeds" in near and "because" not in near
    fewer = gan_study_text(_saved([_row(8, 6), _row(8, 7, stack=1)]))
    assert "does not appear at this size" in fewer
    mixed = gan_study_text(_saved([_row(8, 6), _row(6, 8, stack=1)]))
    assert "the seeds differ more than the optimizers do" in mixed
    table = gan_study_table(_saved([_row(6, 8)]))
    assert table == [{"run seed": 0, "stacked seed": 0, "modes, Adam": 6, "modes, LEAD-Adam": 8,
                      "all 8 held, Adam": 0.5, "all 8 held, LEAD-Adam": 0.9}]


def test_gan_study_text_counts_a_small_gap_as_no_difference():
    from neurodyn.lead.page_support import SAME_MODES, gan_study_text

    rows = [_row(8, 8 - SAME_MODES / 2), _row(7.5, 7.6, stack=1), _row(8, 7.9, seed=1)]  # mean gap -0.02
    assert "neither optimizer keeps more modes" in gan_study_text(_saved(rows))

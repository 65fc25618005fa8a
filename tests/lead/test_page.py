"""The LEAD page draws a run from the config it was started with, not from the sidebar (issue #12, item 4)."""

from __future__ import annotations

from pathlib import Path

from apptest_runs import run_to_end
from streamlit.testing.v1 import AppTest

PAGE = Path(__file__).resolve().parents[2] / "pages" / "lead.py"


def _text(at: AppTest) -> str:
    return " ".join(m.value for m in at.markdown)


def test_moving_a_slider_after_a_run_keeps_its_claims_and_figures():
    """Before the fix, moving η after a run made the live check compare the old run's rate with the new ρ."""
    at = AppTest.from_file(str(PAGE), default_timeout=90).run()
    assert not at.exception, at.exception
    job = run_to_end(at, "lead")
    assert job.state.value == "done", (job.state, job.message)
    at.run()
    assert not at.exception, at.exception
    before = _text(at)
    assert "within 1% of ρ = 0.87766" in before and "✅ reproduced" in before
    at.session_state["nd.lead.lr"] = 0.3  # the sidebar moves after the run
    at.run()
    assert not at.exception, at.exception
    after = _text(at)
    assert "ρ = 0.87766 (simultaneous LEAD)" in after  # the run's ρ, not the new setting's
    assert "❌" not in after and after.count("✅ reproduced") == before.count("✅ reproduced")
    assert any("The settings changed since this run" in c.value for c in at.caption)


def test_lead_page_previews_the_game_and_draws_the_spectral_tab_only_while_open():
    at = AppTest.from_file(str(PAGE), default_timeout=90).run()
    assert not at.exception and len(at.get("vega_lite_chart")) == 1  # tab A before a run: the game's preview
    assert any("The game before the run" in c.value for c in at.caption)
    at.session_state["lead.tab"] = "B · Spectral radius"
    at.run()
    assert not at.exception
    assert len(at.get("vega_lite_chart")) == 1 + 3  # + the (η, α) map, ρ against η, best ρ against adversarialness
    assert any("spectral radius ρ of LEAD's linear update" in c.value for c in at.caption)

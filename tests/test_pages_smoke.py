"""Every page in the navigation loads in AppTest without an exception; a live run starts, stops and keeps results."""

from __future__ import annotations

import ast
import time
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from neurodyn.core import registry

ROOT = Path(__file__).resolve().parents[1]

PAPERS = {p.page: p for p in registry.papers()}  # the dashboard's papers and the template (registered in conftest)


def test_every_page_file_belongs_to_a_registered_paper():
    files = {f.name for f in (ROOT / "pages").glob("*.py")} - {"home.py", "runs.py"}  # runs.py: the run registry
    assert files == set(PAPERS)


def test_app_shell_shows_home_and_every_registered_paper():
    home = ast.parse((ROOT / "pages" / "home.py").read_text())
    planned = next(n.value for n in home.body if isinstance(n, ast.Assign) and n.targets[0].id == "PLANNED")
    n_planned = len(ast.literal_eval(planned))
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value.endswith("neurodyn lab")
    assert sum("Planned" in c.value for c in at.caption) == n_planned
    assert f"({len(registry.papers())} of {len(registry.papers()) + n_planned} pages ready)" in at.subheader[0].value


@pytest.mark.parametrize("page", [p for p in PAPERS if PAPERS[p].key in registry.PACKAGES])
def test_page_loads_through_the_navigation_without_exception(page):
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90).run()
    at.switch_page(f"pages/{page}").run()
    assert not at.exception, at.exception
    assert at.title[0].value == PAPERS[page].experiments[0].title


@pytest.mark.parametrize("page", PAPERS)
def test_page_shows_its_claims_before_a_run(page):
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=90).run()
    assert not at.exception, at.exception
    text = " ".join(m.value for m in at.markdown)
    claims = PAPERS[page].claims_for(PAPERS[page].experiments[0].name)
    assert "Claim checks" in text and all(c.text in text for c in claims)


@pytest.mark.parametrize("page", PAPERS)
def test_page_starts_a_run_and_stop_keeps_the_partial_records(page):
    at = AppTest.from_file(str(ROOT / "pages" / page), default_timeout=90).run()
    if page == "template.py":  # its 60 steps take milliseconds: pause each so that the run is still going at Stop
        next(w for w in [*at.number_input, *at.slider, *at.select_slider] if w.key == "nd.template.sleep").set_value(
            0.2).run()
    start = [b for b in at.button if b.key and b.key.endswith(".start")]
    assert start, "the page has no Start button"
    start[0].click().run()
    assert not at.exception, at.exception
    key = start[0].key.removesuffix(".start")
    job = at.session_state[f"nd.job.{key}"]
    deadline = time.monotonic() + 60
    while job.n_records < 2 and job.state.active and time.monotonic() < deadline:
        time.sleep(0.1)
    assert job.n_records >= 2, job.message
    job.heartbeat()
    at.button(key=f"{key}.stop").click().run()
    assert job.wait(1.5), "Stop did not end the run within the heartbeat-free grace"
    assert job.state.value in ("stopped", "done") and job.n_records >= 2
    at.run()
    assert not at.exception, at.exception


def test_live_view_draws_the_run_with_the_config_it_was_started_with():
    """Change a widget after a run: the figures and the claim checks still describe the run, not the sidebar."""
    from neurodyn.template.experiment import Config, contraction_rate

    at = AppTest.from_file(str(ROOT / "pages" / "template.py"), default_timeout=90).run()
    at.button(key="template.start").click().run()
    job = at.session_state["nd.job.template"]
    assert job.wait(60) and job.state.value == "done", job.message
    at.run()
    rho_run = contraction_rate(Config(n_steps=60))
    assert any(f"ρ = {rho_run:.4f}" in m.value for m in at.markdown)
    at.select_slider(key="nd.template.lr").set_value(0.2).run()
    assert not at.exception, at.exception
    text = " ".join(m.value for m in at.markdown)
    rho_new = contraction_rate(Config(lr=0.2))
    assert f"(η = 0.1): **ρ = {rho_run:.4f}**" in text and f"{rho_new:.4f}" not in text
    assert "✅ reproduced" in text and f"within 2% of ρ = {rho_run:.4f}" in text
    assert any("The settings changed since this run" in c.value for c in at.caption)


def test_stored_runs_page_loads_through_the_navigation(tmp_path, monkeypatch):
    monkeypatch.setenv("NEURODYN_HOME", str(tmp_path))
    monkeypatch.delenv("NEURODYN_DB_URL", raising=False)
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=90).run()
    at.switch_page("pages/runs.py").run()
    assert not at.exception, at.exception
    assert at.title[0].value.endswith("Stored runs") and at.info  # an empty registry says how to make a run

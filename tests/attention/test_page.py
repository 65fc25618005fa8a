"""The attention page in AppTest: the held-out task before a run, the model-size table."""

from __future__ import annotations

import time
from pathlib import Path

from apptest_runs import run_to_end
from streamlit.testing.v1 import AppTest

from neurodyn.attention.experiment import Config
from neurodyn.attention.page_support import parameter_table

PAGE = Path(__file__).resolve().parents[2] / "pages" / "attention.py"


def test_attention_page_previews_the_held_out_task_before_a_run_and_replaces_it_with_the_run():
    at = AppTest.from_file(str(PAGE), default_timeout=90).run()
    assert not at.exception
    assert any("What the maps will be compared with" in c.value for c in at.caption)
    assert len(at.get("vega_lite_chart")) == 1  # the task preview, before any run
    at.button(key="attention.start").click().run()
    job = at.session_state["nd.job.attention"]
    deadline = time.monotonic() + 60
    while job.n_records < 1 and job.state.active and time.monotonic() < deadline:
        time.sleep(0.05)
    job.heartbeat()
    at.run()
    assert not any("What the maps will be compared with" in c.value for c in at.caption)
    at.button(key="attention.stop").click().run()
    assert job.wait(1.5)


def test_model_size_table_shows_the_sizes_of_the_configured_models():
    at = AppTest.from_file(str(PAGE), default_timeout=90).run()
    assert not at.exception
    table = at.dataframe[0].value
    row = table[table["model"] == "Comp(S=2, R=2)"].iloc[0]
    assert row["attention parameters"] == next(r for r in parameter_table(Config()) if r["model"] == "Comp(S=2, R=2)")[
        "attention parameters"]


def test_only_the_open_figure_tab_is_built_and_sent():
    """A hidden tab's charts cost the server and the browser on every redraw; before the fix all six were sent."""
    at = AppTest.from_file(str(PAGE), default_timeout=90).run()
    at.session_state["nd.attention.n_steps"] = 20  # four records: a snapshot at the first and at the last
    at.run()
    job = run_to_end(at, "attention")
    assert job.state.value == "done", (job.state, job.message)
    at.run()
    assert not at.exception, at.exception
    assert len(at.get("vega_lite_chart")) == 3  # the open tab: value scores, confusion, search maps
    assert any("Search maps A_i" in c.value for c in at.caption)
    at.session_state["attention.figures_tab"] = "MHA heads"
    at.run()
    assert not at.exception, at.exception
    assert len(at.get("vega_lite_chart")) == 1  # the MHA head maps
    assert not any("Search maps A_i" in c.value for c in at.caption)
    at.session_state["attention.figures_tab"] = "Loss and specialisation"
    at.run()
    assert not at.exception, at.exception
    assert len(at.get("vega_lite_chart")) == 2  # losses and specialisation (no seed study for 20 steps)

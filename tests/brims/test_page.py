"""The BRIMs page in AppTest: the model-size table and the raster's input before a run."""

from __future__ import annotations

from pathlib import Path

from apptest_runs import run_to_end
from streamlit.testing.v1 import AppTest

from neurodyn.brims.experiment import Config
from neurodyn.brims.page_support import parameter_table

PAGE = Path(__file__).resolve().parents[2] / "pages" / "brims.py"


def test_model_size_table_shows_the_sizes_of_the_configured_models():
    at = AppTest.from_file(str(PAGE), default_timeout=90).run()
    assert not at.exception
    table = at.dataframe[0].value
    row = table[table["model"] == "brims"].iloc[0]
    assert row["parameters"] == next(r for r in parameter_table(Config()) if r["model"] == "brims")["parameters"]
    assert row["parameters"] == 47_946  # the small preset's BRIMs (docs/papers/brims.md)


def test_brims_page_previews_the_raster_input_before_a_run():
    at = AppTest.from_file(str(PAGE), default_timeout=90).run()
    assert not at.exception
    assert any("What the module-activation raster will be measured on" in c.value for c in at.caption)
    assert len(at.get("vega_lite_chart")) == 1


def test_only_the_open_figure_tab_is_built_and_sent():
    """The accuracy and loss curves always, then only the open tab's charts (before the fix: all 2 + 6 + 3 + 4)."""
    at = AppTest.from_file(str(PAGE), default_timeout=90).run()
    for knob, value in {"epochs": 1, "lstm_baseline": False, "rims_baseline": False}.items():
        at.session_state[f"nd.brims.{knob}"] = value
    at.run()
    job = run_to_end(at, "brims")
    assert job.state.value == "done", (job.state, job.message)
    # the default tab: the raster and the slot attention of layer 1 (null, bottom-up, top-down) and layer 2 (no
    # top-down slot at the top)
    expected = {None: 2 + 1 + 3 + 2,
                "Robustness curves": 2 + 3, "Attention over slots": 2 + 4}
    for tab, n in expected.items():
        if tab is not None:
            at.session_state["brims.figures_tab"] = tab
        at.run()
        assert not at.exception, at.exception
        assert len(at.get("vega_lite_chart")) == n, tab

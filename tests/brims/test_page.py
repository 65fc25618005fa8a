"""The BRIMs page in AppTest: the model-size table and the raster's input before a run."""

from __future__ import annotations

from pathlib import Path

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

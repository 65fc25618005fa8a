"""``neurodyn.ui.chart``: a snapshot figure is built once per version and sent as the same Vega-Lite spec."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest


def _app() -> None:
    import altair as alt
    import pandas as pd
    import streamlit as st

    from neurodyn import ui

    st.session_state.setdefault("builds", 0)
    if st.session_state.pop("reset", False):
        ui.charts.reset()  # what starting a run does

    def build() -> alt.Chart:
        st.session_state["builds"] += 1
        v = st.session_state.get("v", 0)
        return alt.Chart(pd.DataFrame({"x": [1, 2, 3], "y": [v, v + 1, v + 2]})).mark_line().encode(x="x", y="y")

    ui.chart(build, key="demo", version=st.session_state.get("v", 0))
    ui.chart(build, key="plain")  # no version: built on every run


def _spec(at: AppTest) -> tuple[dict, list[str]]:
    """The versioned chart's spec and the names of its datasets (content hashes, sent beside the spec)."""
    charts = at.get("vega_lite_chart")
    assert len(charts) == 2
    proto = charts[0].proto
    return json.loads(proto.spec), [d.name for d in proto.datasets]


def test_versioned_chart_is_built_once_per_version_and_resent_unchanged():
    at = AppTest.from_function(_app).run()
    assert not at.exception
    assert at.session_state["builds"] == 2  # the versioned chart and the plain one
    first = _spec(at)
    at.run()
    assert at.session_state["builds"] == 3  # only the plain chart was built again
    assert _spec(at) == first
    at.session_state["v"] = 5
    at.run()
    assert at.session_state["builds"] == 5  # a new version rebuilds
    spec, names = _spec(at)
    assert names != first[1] and spec["data"]["name"] == names[0]  # new data, referenced by the spec


def test_starting_a_run_forgets_the_cached_specs():
    at = AppTest.from_function(_app).run()
    at.run()
    assert at.session_state["builds"] == 3
    at.session_state["reset"] = True
    at.run()
    assert at.session_state["builds"] == 5  # same version, but the cache was emptied: built again

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
    """The versioned chart's spec and the names of its datasets (sent beside the spec)."""
    charts = at.get("vega_lite_chart")
    assert len(charts) == 2
    proto = charts[0].proto
    return json.loads(proto.spec), [d.name for d in proto.datasets]


def test_versioned_chart_is_built_once_per_version_and_resent_unchanged():
    at = AppTest.from_function(_app).run()
    assert not at.exception
    assert at.session_state["builds"] == 2  # the versioned chart and the plain one
    first = _spec(at)
    first_bytes = at.get("vega_lite_chart")[0].proto.datasets[0].data.data
    at.run()
    assert at.session_state["builds"] == 3  # only the plain chart was built again
    assert _spec(at) == first
    at.session_state["v"] = 5
    at.run()
    assert at.session_state["builds"] == 5  # a new version rebuilds
    spec, names = _spec(at)
    # new data under the same name, so the spec is unchanged and the browser updates the chart's data in place
    assert spec == first[0] and names == first[1] == ["d0"] and spec["data"]["name"] == "d0"
    assert at.get("vega_lite_chart")[0].proto.datasets[0].data.data != first_bytes


def test_starting_a_run_forgets_the_cached_specs():
    at = AppTest.from_function(_app).run()
    at.run()
    assert at.session_state["builds"] == 3
    at.session_state["reset"] = True
    at.run()
    assert at.session_state["builds"] == 5  # same version, but the cache was emptied: built again


def _inline_app() -> None:
    import altair as alt
    import pandas as pd

    from neurodyn import ui

    rows = alt.Data(values=[{"x": 1, "y": 2}, {"x": 2, "y": 3}])  # how the figure modules pass their data
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule().encode(y="y:Q")
    ui.chart(lambda: alt.Chart(rows).mark_line().encode(x="x:Q", y="y:Q") + zero, key="layered")
    ui.chart(lambda: alt.Chart(rows).mark_point().encode(x="x:Q", y="y:Q"), key="single")


def test_every_data_source_goes_out_as_a_named_dataset():
    """A top-level ``data.values`` would go out beside the spec and be inserted after the first embed: Vega computes
    the scales on no rows first and warns "Infinite extent for field". Named datasets are embedded with the spec."""
    at = AppTest.from_function(_inline_app).run()
    assert not at.exception
    layered, single = (c.proto for c in at.get("vega_lite_chart"))
    for proto in (layered, single):
        assert not proto.data.data  # nothing inserted after the embed
    assert [d.name for d in layered.datasets] == ["d0", "d1"]
    spec = json.loads(layered.spec)
    used = {layer["data"]["name"] for layer in spec["layer"] if "data" in layer} | {spec.get("data", {}).get("name")}
    assert {"d0", "d1"} <= used
    assert [d.name for d in single.datasets] == ["d0"] and json.loads(single.spec)["data"] == {"name": "d0"}

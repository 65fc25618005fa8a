"""Charts that are built once per version of their data and reused on every redraw of a live view.

A live view redraws twice a second, but a snapshot figure (search maps, a spectrum at one training step) only
changes when a new snapshot arrives. Building an altair chart and serialising it costs 10-90 ms of the server's
CPU, which the training worker on the same cores would rather have; :func:`chart` keeps the finished Vega-Lite
spec in the session and sends the same spec again until ``version`` changes. The browser then receives an
identical element and does not re-render it. Starting a run empties the session's cache (:func:`reset`), so a
version only has to tell the states of one run apart (a snapshot step, a record count).
"""

from __future__ import annotations

from typing import Any, Callable, Hashable

import altair as alt
import streamlit as st

_CACHE = "nd.chart_cache"


def chart_spec(build: Callable[[], alt.TopLevelMixin], *, key: str, version: Hashable) -> dict[str, Any]:
    """The Vega-Lite spec of ``build()``, rebuilt only when ``version`` differs from the cached one.

    Parameters
    ----------
    build : callable
        Returns the altair chart; called only on a cache miss.
    key : str
        Names the chart's slot in this session (one slot per figure on a page).
    version : hashable
        Anything that changes exactly when the figure must change within one run, e.g. the snapshot's step.

    Returns
    -------
    dict
        The spec (with its data inline and the active altair theme applied).
    """
    cache: dict[str, tuple[Hashable, dict[str, Any]]] = st.session_state.setdefault(_CACHE, {})
    hit = cache.get(key)
    if hit is None or hit[0] != version:
        cache[key] = hit = (version, _spec(build()))
    return hit[1]


def _spec(chart: alt.TopLevelMixin) -> dict[str, Any]:
    """The chart's Vega-Lite spec, without altair's JSON-schema validation.

    Validation is most of the server's cost of a live redraw (about a fifth of its CPU in a profile of the Lyapunov
    sweep) and finds nothing new on the tenth redraw of the same figure: the figure tests validate every chart
    function's output once (``to_dict()`` with validation), the live views skip it.
    """
    with alt.data_transformers.disable_max_rows():
        spec = chart.to_dict(validate=False)
    return _for_streamlit(spec)


def _for_streamlit(spec: dict[str, Any]) -> dict[str, Any]:
    """Give every data source a stable name in ``datasets`` and set the autosize (see :func:`_autosize`).

    Streamlit sends named datasets with the spec, so the browser embeds the chart with its data. A top-level
    ``data.values`` instead goes out separately and is inserted after the first embed: Vega then computes every scale
    on empty data first and prints "Infinite extent for field ..." once per field (a warning for every chart of a
    live view, on every redraw). Names are ``d0``, ``d1``, ... in order of first use instead of altair's content
    hashes, so two redraws of a figure whose data changed but whose rows did not (a heatmap of new values) send the
    same spec, and the browser updates the data of the chart it has instead of building a new one.
    """
    datasets: dict[str, Any] = dict(spec.get("datasets") or {})
    out: dict[str, Any] = {}  # new name -> rows, in order of first use
    names: dict[str, str] = {}  # altair's name -> new name

    def named(rows: Any) -> str:
        name = f"d{len(out)}"
        out[name] = rows
        return name

    def walk(node: Any) -> Any:
        if isinstance(node, list):
            return [walk(v) for v in node]
        if not isinstance(node, dict):
            return node
        # rows are not walked: they hold no data references, and a long series would cost a copy of every row
        new = {k: (v if k == "data" else walk(v)) for k, v in node.items() if k != "datasets"}
        data = new.get("data")
        if isinstance(data, dict):
            rest = {k: v for k, v in data.items() if k not in ("values", "name")}
            if isinstance(data.get("values"), list):
                new["data"] = {"name": named(data["values"]), **rest}
            elif isinstance(data.get("name"), str) and data["name"] in datasets:
                old = data["name"]
                if old not in names:
                    names[old] = named(datasets[old])
                new["data"] = {"name": names[old], **rest}
        return new

    spec = walk(spec)
    if out:
        spec["datasets"] = out
    spec.setdefault("autosize", _autosize(spec))
    return spec


def _autosize(spec: dict[str, Any]) -> dict[str, str]:
    """How the chart fits its column, set here because Streamlit's default (``fit`` for most specs) makes Vega warn
    about heatmaps ("Dropping fit-y because spec has discrete height") and side-by-side views ("fit only works for
    single views"): side-by-side and faceted views keep their own widths (``pad``); a single or layered view takes
    the column's width and keeps its own height (``fit-x``). A single view must give its height as a number: with a
    step height (``alt.Step``) Vega-Lite warns "Dropping fit-y" even under ``fit-x``."""
    composed = any(k in spec for k in ("hconcat", "concat", "vconcat", "facet", "repeat"))
    return {"type": "pad" if composed else "fit-x", "contains": "padding"}


def reset() -> None:
    """Forget every cached spec of this session (called when a run starts)."""
    st.session_state.pop(_CACHE, None)


def chart(build: Callable[[], alt.TopLevelMixin], *, key: str, version: Hashable | None = None,
          width: str = "stretch", container: Any = None) -> None:
    """Draw an altair chart; with ``version`` its spec is reused until the version changes.

    Parameters
    ----------
    build : callable
        Returns the altair chart.
    key : str
        Slot name for the cache (unique per figure and page).
    version : hashable, optional
        ``None`` builds the chart on every call (plain ``st.altair_chart``).
    width : {"stretch", "content"}
        As in ``st.altair_chart``.
    container : streamlit container, optional
        Where to draw (a column, a tab); default the current one.
    """
    box = container if container is not None else st
    spec = _spec(build()) if version is None else chart_spec(build, key=key, version=version)
    box.vega_lite_chart(spec, width=width)

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
        with alt.data_transformers.disable_max_rows():
            spec = build().to_dict()
        cache[key] = hit = (version, spec)
    return hit[1]


def reset() -> None:
    """Forget every cached spec of this session (called when a run starts)."""
    st.session_state.pop(_CACHE, None)


def chart(build: Callable[[], alt.TopLevelMixin], *, key: str, version: Hashable | None = None,
          width: str = "stretch") -> None:
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
    """
    if version is None:
        st.altair_chart(build(), width=width)
        return
    st.vega_lite_chart(chart_spec(build, key=key, version=version), width=width)

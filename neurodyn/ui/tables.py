"""A table computed from the page's config (cached per config) in a collapsed expander, with captions under it."""

from __future__ import annotations

from typing import Any, Callable

import streamlit as st

__all__ = ["config_table"]


@st.cache_data(show_spinner=False, max_entries=64)
def _rows(_build: Callable[[Any], list[dict[str, object]]], name: str, config: Any) -> list[dict[str, object]]:
    return _build(config)  # ``name`` keys the cache on the builder; ``_build`` itself is not hashed


def config_table(title: str, build: Callable[[Any], list[dict[str, object]]], config: Any, *captions: str) -> None:
    """Draw ``build(config)`` (rows of a table, e.g. model sizes) in a collapsed expander titled ``title``.

    Parameters
    ----------
    title : str
    build : callable
        ``build(config) -> list of row dicts``; cached per (builder, config), so widgets that do not change the
        config do not rebuild it.
    config : dataclass config
    *captions : str
        Drawn under the table.
    """
    with st.expander(title, expanded=False):
        st.dataframe(_rows(build, f"{build.__module__}.{build.__qualname__}", config), hide_index=True)
        for text in captions:
            st.caption(text)

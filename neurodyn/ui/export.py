"""Download buttons for a run: metrics (CSV), the run record (JSON), charts (SVG).

Button data are produced lazily (callables), so a page that redraws twice a second does no export work until a
user clicks. The builders live in :mod:`neurodyn.core.export`.
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import streamlit as st

from neurodyn.core.export import chart_bytes, records_csv, run_json
from neurodyn.core.loop import Record

__all__ = ["downloads"]


def downloads(
    name: str, config: Any, records: Sequence[Record], *, status: str = "", message: str = "",
    charts: dict[str, Any] | None = None, key: str = "", seconds: float | None = None,
) -> None:
    """Draw download buttons for the run's CSV, its JSON record and, optionally, charts as SVG.

    Parameters
    ----------
    name : str
        Experiment name (used in the file names).
    config : dataclass config
    records : sequence of Record
    status, message : str
    charts : dict of str to altair.Chart, optional
        Charts offered as SVG downloads, by file stem.
    key : str
        Widget key namespace.
    seconds : float, optional
    """
    recs = list(records)
    stem = f"neurodyn-{name}-seed{getattr(config, 'seed', 0)}"
    # one wrapping row of buttons as wide as their labels: equal columns cut long labels ("Run record (J...")
    row = st.container(horizontal=True)
    row.download_button(
        "Metrics (CSV)", data=lambda: records_csv(recs), file_name=f"{stem}.csv", mime="text/csv",
        key=f"{key}dl-csv", on_click="ignore", icon="📄", width="content",
    )
    row.download_button(
        "Run record (JSON)",
        data=lambda: run_json(name, config, recs, status=status, message=message, seconds=seconds),
        file_name=f"{stem}.json", mime="application/json", key=f"{key}dl-json", on_click="ignore", icon="🧾",
        width="content",
    )
    for label, chart in (charts or {}).items():
        row.download_button(
            f"{label} (SVG)", data=functools.partial(chart_bytes, chart, "svg"), file_name=f"{stem}-{label}.svg",
            mime="image/svg+xml", key=f"{key}dl-{label}", on_click="ignore", icon="🖼️", width="content",
        )

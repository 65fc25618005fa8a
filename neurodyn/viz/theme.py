"""Shared chart pieces: a colour palette that reads on light and dark backgrounds, metric line charts, export theme."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd

__all__ = ["LEGIBLE", "MIN_FONT_PX", "PALETTE", "color_scale", "metric_chart", "long_metrics", "paper_theme",
           "no_row_limit", "record_parts", "latest_artifacts", "legible", "fixed_width"]

#: Sizes that stay legible from the back of a room: every axis, legend and header label at least 13 px (Streamlit's
#: own chart theme uses 12 px tick labels cut at 100 px). Registered as the altair theme "neurodyn" and enabled on
#: import, so every chart a page draws carries it in its config (a chart's own config overrides Streamlit's theme).
LEGIBLE: dict[str, Any] = {
    "axis": {"labelFontSize": 13, "titleFontSize": 14, "labelLimit": 240, "titleLimit": 0},
    "legend": {"labelFontSize": 13, "titleFontSize": 14, "labelLimit": 0, "symbolSize": 140, "symbolStrokeWidth": 2.5},
    "header": {"labelFontSize": 14, "titleFontSize": 14, "labelLimit": 0},
    "title": {"fontSize": 16, "subtitleFontSize": 13, "limit": 0},
    "text": {"fontSize": 13},
}
MIN_FONT_PX = 13


@alt.theme.register("neurodyn", enable=True)
def _neurodyn_theme() -> alt.theme.ThemeConfig:
    return alt.theme.ThemeConfig(config=LEGIBLE)


def legible(chart: alt.TopLevelMixin, font_px: int = MIN_FONT_PX) -> alt.TopLevelMixin:
    """``chart`` with axis, legend and header text of ``font_px`` pixels and a title two pixels larger.

    Parameters
    ----------
    chart : altair top-level chart
    font_px : int, default MIN_FONT_PX

    Returns
    -------
    altair top-level chart
    """
    return (chart.configure_axis(labelFontSize=font_px, titleFontSize=font_px)
            .configure_legend(labelFontSize=font_px, titleFontSize=font_px, labelLimit=0)
            .configure_header(labelFontSize=font_px, titleFontSize=font_px)
            .configure_title(fontSize=font_px + 2))


def fixed_width(chart: alt.TopLevelMixin, width: int = 640) -> alt.TopLevelMixin:
    """A copy of ``chart`` with a fixed width, for an SVG export (outside a page there is no container).

    Parameters
    ----------
    chart : altair top-level chart
    width : int
        Pixels.

    Returns
    -------
    altair top-level chart
    """
    return chart.properties(width=width)


# Colour-blind-safe categorical palette (Okabe-Ito order) that keeps contrast on white and on near-black.
PALETTE = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#999999"]


def color_scale(domain: Sequence[str]) -> alt.Scale:
    """A categorical colour scale over ``domain`` with the shared palette (stable colour per name)."""
    return alt.Scale(domain=list(domain), range=PALETTE[: max(1, len(domain))] if len(domain) <= len(PALETTE) else None)


def record_parts(rec: Any) -> tuple[int, Mapping[str, float], Mapping[str, Any]]:
    """(step, metrics, artifacts) of a Record or of its JSON dict."""
    if isinstance(rec, Mapping):
        return int(rec["step"]), rec.get("metrics", {}), rec.get("artifacts", {}) or {}
    return int(rec.step), rec.metrics, rec.artifacts


def latest_artifacts(records: Sequence[Any], key: str | None = None) -> tuple[int, dict[str, np.ndarray]] | None:
    """(step, artifacts as numpy arrays) of the latest record that has artifacts (that contain ``key``), or None."""
    for rec in reversed(records):
        step, _, artifacts = record_parts(rec)
        if artifacts and (key is None or key in artifacts):
            return step, {k: np.asarray(v) for k, v in artifacts.items()}
    return None


def long_metrics(records: Sequence[Any], metrics: Sequence[str]) -> pd.DataFrame:
    """Metrics of records in long form: columns ``step``, ``metric``, ``value``.

    Parameters
    ----------
    records : sequence of Record (or their JSON dicts)
    metrics : sequence of str
        Metric names to keep (missing ones, and the nulls a JSON record has for NaN, are skipped).

    Returns
    -------
    pandas.DataFrame
    """
    rows = []
    for rec in records:
        step, values, _ = record_parts(rec)
        rows += [{"step": step, "metric": m, "value": float(values[m])} for m in metrics if values.get(m) is not None]
    return pd.DataFrame(rows, columns=["step", "metric", "value"])


def metric_chart(
    records: Sequence[Any], metrics: Sequence[str], *, title: str = "", log_y: bool = False, y_title: str = "value",
    labels: dict[str, str] | None = None, height: int = 260,
) -> alt.Chart:
    """Line chart of several metrics against the step.

    Parameters
    ----------
    records : sequence of Record
    metrics : sequence of str
    title : str
    log_y : bool
        Log-scale y axis (non-positive values are dropped).
    y_title : str
    labels : dict, optional
        Display names of the metrics.
    height : int

    Returns
    -------
    altair.Chart
    """
    df = long_metrics(records, metrics)
    if labels:
        df["metric"] = df["metric"].map(lambda m: labels.get(m, m))
    if log_y:
        df = df[df["value"] > 0]
    names = [labels.get(m, m) if labels else m for m in metrics]
    return (
        alt.Chart(df, title=title)
        .mark_line()
        .encode(
            x=alt.X("step:Q", title="step"),
            y=alt.Y("value:Q", title=y_title, scale=alt.Scale(type="log") if log_y else alt.Undefined),
            color=alt.Color("metric:N", title=None, scale=color_scale(names)),
            tooltip=["step", "metric", alt.Tooltip("value:Q", format=".4g")],
        )
        .properties(height=height)
    )


def paper_theme(chart: alt.Chart) -> alt.Chart:
    """Fixed light 'paper' styling for exported figures (white background, serif labels)."""
    return chart.configure(background="white", font="serif").configure_axis(grid=False).configure_view(stroke=None)


def no_row_limit():
    """Context manager: altair's default data transformer without its 5000-row cap (for export and tests)."""
    return alt.data_transformers.enable("default", max_rows=None)

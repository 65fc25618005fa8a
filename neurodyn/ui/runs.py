"""What the Runs page shows of the stored runs: the table, one metric of several runs overlaid, the settings that
differ between them, their claim verdicts.

Pure functions over :class:`neurodyn.core.store.RunInfo` objects and the record dicts of
:meth:`neurodyn.core.store.RunStore.records` (``{"step", "metrics", ["artifacts"]}``); ``pages/runs.py`` draws them.
Nothing here opens the registry, so the functions are tested without a database.
"""

from __future__ import annotations

import json
import math
from typing import Any, Iterable, Mapping, Sequence

import altair as alt
import pandas as pd

from neurodyn.viz.theme import color_scale

__all__ = ["TABLE_COLUMNS", "run_name", "filter_runs", "runs_table", "common_metrics", "metric_words", "overlay_data",
           "overlay_chart", "config_diff", "claims_table", "record_file_name", "parse_ids"]

#: Columns of the runs table, in order.
TABLE_COLUMNS = ("id", "experiment", "preset", "seed", "status", "records", "started", "seconds", "label")

#: How a verdict reads in the claims table: an icon and the verdict in words (never colour alone).
_VERDICTS = {"reproduced": "✅ reproduced", "not reproduced": "❌ not reproduced", "inconclusive": "⏳ inconclusive"}


def run_name(run: Any) -> str:
    """The name a run goes by in legends and table headers: ``#<id> <experiment>``, plus ``(<label>)`` if labelled.

    Parameters
    ----------
    run : RunInfo
        Any object with ``id``, ``experiment`` and ``label`` attributes.

    Returns
    -------
    str
    """
    label = (run.label or "").strip()
    return f"#{run.id} {run.experiment}" + (f" ({label})" if label else "")


def filter_runs(runs: Iterable[Any], *, experiment: str | None = None, status: str | None = None,
                label: str = "") -> list[Any]:
    """The runs of ``experiment`` with ``status`` whose label contains ``label`` (case-insensitive).

    Parameters
    ----------
    runs : iterable of RunInfo
    experiment, status : str, optional
        ``None`` keeps every experiment (status).
    label : str
        Text the label must contain; empty keeps every run.

    Returns
    -------
    list of RunInfo
        In the order given.
    """
    needle = label.strip().lower()
    return [r for r in runs
            if (experiment is None or r.experiment == experiment) and (status is None or r.status == status)
            and needle in (r.label or "").lower()]


def runs_table(runs: Iterable[Any]) -> pd.DataFrame:
    """The table of runs, newest first (highest id first), one row per run.

    Parameters
    ----------
    runs : iterable of RunInfo

    Returns
    -------
    pandas.DataFrame
        Columns :data:`TABLE_COLUMNS`; ``started`` is the UTC start time as text (``2026-01-31 14:05:09``),
        ``seconds`` the wall time (empty while a run is going), ``records`` the number of stored records.
    """
    rows = [{
        "id": int(r.id), "experiment": r.experiment, "preset": r.preset or "", "seed": r.seed,
        "status": r.status, "records": int(r.n_records),
        "started": r.started_at.strftime("%Y-%m-%d %H:%M:%S") if r.started_at is not None else "",
        "seconds": None if r.seconds is None else round(float(r.seconds), 1), "label": r.label or "",
    } for r in sorted(runs, key=lambda r: r.id, reverse=True)]
    df = pd.DataFrame(rows, columns=list(TABLE_COLUMNS))
    df["seed"] = df["seed"].astype("Int64")  # a run without a seed leaves the cell empty instead of making it float
    df["seconds"] = df["seconds"].astype("Float64")
    return df


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def common_metrics(records_by_run: Mapping[Any, Sequence[Mapping[str, Any]]]) -> list[str]:
    """The numeric metrics that every one of the runs recorded, in the order the first run recorded them.

    Parameters
    ----------
    records_by_run : mapping of run to list of record dicts
        Each record ``{"step": int, "metrics": {name: value}, ...}``.

    Returns
    -------
    list of str
        Empty when no run is given or the runs share no metric.
    """
    seen: list[dict[str, None]] = []
    for records in records_by_run.values():
        names: dict[str, None] = {}
        for rec in records:
            names.update((k, None) for k, v in (rec.get("metrics") or {}).items() if _finite(v))
        seen.append(names)
    if not seen:
        return []
    return [m for m in seen[0] if all(m in names for names in seen[1:])]


def metric_words(metric: str) -> str:
    """A metric's name in words for an axis title: underscores become spaces (``grad_norm`` -> ``grad norm``)."""
    return metric.replace("_", " ")


def overlay_data(records_by_run: Mapping[str, Sequence[Mapping[str, Any]]], metric: str) -> pd.DataFrame:
    """One metric of several runs in long form: columns ``run``, ``step``, ``value``.

    Parameters
    ----------
    records_by_run : mapping of run name to list of record dicts
        Names as :func:`run_name` gives them; they become the chart's series.
    metric : str

    Returns
    -------
    pandas.DataFrame
        One row per record that has a finite value of ``metric``, runs in the mapping's order, steps in record order.
    """
    rows = [{"run": name, "step": int(rec["step"]), "value": float(rec["metrics"][metric])}
            for name, records in records_by_run.items() for rec in records
            if _finite((rec.get("metrics") or {}).get(metric))]
    return pd.DataFrame(rows, columns=["run", "step", "value"])


def overlay_chart(records_by_run: Mapping[str, Sequence[Mapping[str, Any]]], metric: str, *,
                  log_y: bool = False, height: int = 340) -> alt.Chart:
    """Line chart of ``metric`` against the step, one coloured line per run.

    Parameters
    ----------
    records_by_run : mapping of run name to list of record dicts
    metric : str
    log_y : bool
        Log-scale value axis (values <= 0 are left out).
    height : int
        Pixels; the width follows the page's column.

    Returns
    -------
    altair.Chart
    """
    df = overlay_data(records_by_run, metric)
    if log_y:
        df = df[df["value"] > 0]
    names = list(records_by_run)
    words = metric_words(metric)
    return (
        alt.Chart(df, title=f"{words} against the step, one line per run")
        .mark_line(point=len(df) <= 60 * max(1, len(names)), strokeWidth=2.5)
        .encode(
            x=alt.X("step:Q", title="training step"),
            y=alt.Y("value:Q", title=words, scale=alt.Scale(type="log") if log_y else alt.Scale(zero=False)),
            color=alt.Color("run:N", title="run", scale=color_scale(names), legend=alt.Legend(orient="bottom",
                                                                                          columns=2)),
            tooltip=[alt.Tooltip("run:N", title="run"), alt.Tooltip("step:Q", title="step"),
                     alt.Tooltip("value:Q", title=words, format=".4g")],
        )
        .properties(height=height)
    )


def _flat(config: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(_flat(value, f"{name}."))
        else:
            out[name] = value
    return out


def _cell(value: Any, present: bool) -> str:
    if not present:
        return "—"
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, default=str)


def config_diff(runs: Sequence[Any]) -> pd.DataFrame:
    """The settings whose values differ between the runs (nested settings as ``outer.inner``).

    Parameters
    ----------
    runs : sequence of RunInfo
        Each with a ``config`` dict.

    Returns
    -------
    pandas.DataFrame
        Column ``setting`` then one text column per run, headed by :func:`run_name`; one row per differing setting,
        sorted by name. A setting that a run lacks reads "—". No rows with fewer than two runs or equal settings.
    """
    flats = [_flat(r.config or {}) for r in runs]
    keys = sorted(set().union(*flats)) if flats else []
    rows = []
    for key in keys:
        cells = [_cell(f.get(key), key in f) for f in flats]
        if len(set(cells)) > 1:
            rows.append({"setting": key, **{run_name(r): c for r, c in zip(runs, cells)}})
    return pd.DataFrame(rows, columns=["setting", *[run_name(r) for r in runs]])


def claims_table(run: Any) -> pd.DataFrame:
    """The claim verdicts stored with a run: columns ``claim``, ``verdict`` (icon and words), ``measured``.

    Parameters
    ----------
    run : RunInfo
        Its ``claims`` are the dicts of the finished run's summary (``key``, ``verdict``, ``measured``, ...).

    Returns
    -------
    pandas.DataFrame
        One row per claim; empty when the run stored none (it is still going, or its experiment has no claims).
    """
    rows = [{"claim": c.get("key", ""), "verdict": _VERDICTS.get(c.get("verdict", ""), c.get("verdict") or "—"),
             "measured": c.get("measured") if _finite(c.get("measured")) else None}
            for c in (run.claims or [])]
    df = pd.DataFrame(rows, columns=["claim", "verdict", "measured"])
    df["measured"] = df["measured"].astype("Float64")
    return df


def record_file_name(run: Any) -> str:
    """The file name of a run's JSON record: ``neurodyn-run-<id>-<experiment>.json``."""
    return f"neurodyn-run-{int(run.id)}-{run.experiment}.json"


def parse_ids(text: Any) -> list[int]:
    """Run ids from a URL value such as ``"3,5"`` (or a list of such values); anything not a number is skipped.

    Parameters
    ----------
    text : str or list of str or None

    Returns
    -------
    list of int
        In the order given, without repeats.
    """
    parts = text if isinstance(text, (list, tuple)) else [text or ""]
    out: list[int] = []
    for part in parts:
        for piece in str(part).split(","):
            piece = piece.strip().lstrip("#")
            if piece.isdigit() and int(piece) not in out:
                out.append(int(piece))
    return out

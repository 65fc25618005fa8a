"""Downloads: records as CSV, the run as a JSON record, charts as SVG or PNG.

The builders (``records_csv``, ``run_record``, ``chart_bytes``) are pure; :func:`downloads` draws the buttons.
Button data are produced lazily (callables), so a page that redraws twice a second does no export work until a
user actually clicks.
"""

from __future__ import annotations

import datetime as _dt
import functools
import io
import json
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any, Sequence

import streamlit as st

from neurodyn.core.config import to_dict
from neurodyn.core.loop import Record, record_to_json

__all__ = ["records_frame", "records_csv", "run_record", "run_json", "chart_bytes", "downloads", "versions"]

_PACKAGES = ("neurodyn", "torch", "numpy", "scipy", "streamlit", "altair", "scikit-learn", "pot", "umap-learn",
             "scanpy", "anndata", "networkx", "neurogym")


@functools.lru_cache(maxsize=1)
def versions() -> dict[str, str]:
    """Installed versions of Python and the packages a run depends on."""
    out = {"python": platform.python_version()}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            import neurodyn

            out[name] = neurodyn.__version__ if name == "neurodyn" else "not installed"
    return out


@functools.lru_cache(maxsize=1)
def git_revision() -> str:
    """The git commit of the running checkout, or "unknown"."""
    try:
        root = Path(__file__).resolve().parents[2]
        return subprocess.run(["git", "rev-parse", "HEAD"], cwd=root, capture_output=True, text=True, timeout=2,
                              check=True).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def records_frame(records: Sequence[Record]):
    """Metrics of all records as a pandas DataFrame with a ``step`` column (one row per record)."""
    import pandas as pd

    return pd.DataFrame([{"step": r.step, **dict(r.metrics)} for r in records])


def records_csv(records: Sequence[Record]) -> bytes:
    """Metrics of all records as CSV bytes (header ``step,<metric>,...``)."""
    return records_frame(records).to_csv(index=False).encode()


def run_record(
    name: str, config: Any, records: Sequence[Record], *, status: str = "", message: str = "", device: str = "",
    preset: str | None = None, seconds: float | None = None,
) -> dict[str, Any]:
    """A self-describing JSON-ready record of one run: config, seed, versions, device, git revision, records.

    Parameters
    ----------
    name : str
        Experiment name.
    config : dataclass config
    records : sequence of Record
    status, message : str
        Final state of the run and its message.
    device : str
        Device the run used.
    preset : str, optional
    seconds : float, optional
        Wall time of the run.

    Returns
    -------
    dict
    """
    cfg = to_dict(config)
    return {
        "experiment": name,
        "preset": preset,
        "config": cfg,
        "seed": cfg.get("seed"),
        "status": status,
        "message": message,
        "device": device or str(cfg.get("device", "cpu")),
        "seconds": seconds,
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
        "git": git_revision(),
        "rerun": f"python -m neurodyn run {name} " + " ".join(f"--set {k}={v}" for k, v in cfg.items()),
        "records": [record_to_json(r) for r in records],
    }


def run_json(*args: Any, **kwargs: Any) -> bytes:
    """:func:`run_record` encoded as JSON bytes."""
    return json.dumps(run_record(*args, **kwargs)).encode()


def chart_bytes(chart: Any, fmt: str = "svg") -> bytes:
    """Render an altair chart to SVG or PNG bytes offline (through vl-convert).

    Parameters
    ----------
    chart : altair.Chart
    fmt : {"svg", "png"}

    Returns
    -------
    bytes
    """
    if fmt not in ("svg", "png"):
        raise ValueError(f"fmt must be 'svg' or 'png', got {fmt!r}")
    buf = io.StringIO() if fmt == "svg" else io.BytesIO()
    chart.save(buf, format=fmt)
    data = buf.getvalue()
    return data.encode() if isinstance(data, str) else data


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
    cols = st.columns(2 + len(charts or {}))
    cols[0].download_button(
        "Metrics (CSV)", data=lambda: records_csv(recs), file_name=f"{stem}.csv", mime="text/csv",
        key=f"{key}dl-csv", on_click="ignore", icon="📄",
    )
    cols[1].download_button(
        "Run record (JSON)",
        data=lambda: run_json(name, config, recs, status=status, message=message, seconds=seconds),
        file_name=f"{stem}.json", mime="application/json", key=f"{key}dl-json", on_click="ignore", icon="🧾",
    )
    for col, (label, chart) in zip(cols[2:], (charts or {}).items()):
        col.download_button(
            f"{label} (SVG)", data=functools.partial(chart_bytes, chart, "svg"), file_name=f"{stem}-{label}.svg",
            mime="image/svg+xml", key=f"{key}dl-{label}", on_click="ignore", icon="🖼️",
        )

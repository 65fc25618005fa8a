"""Run records: metrics as CSV, a self-describing JSON record of a run, chart export, saving finished runs.

Pure functions (no streamlit); ``neurodyn.ui.export`` draws the download buttons over them, the job manager saves
finished runs with :func:`save_run` when ``NEURODYN_DATA_DIR`` is set, and the CLI uses the same JSON form.
"""

from __future__ import annotations

import datetime as _dt
import functools
import io
import json
import os
import platform
import subprocess
from importlib import metadata
from pathlib import Path
from typing import Any, Sequence

from neurodyn.core.config import to_dict
from neurodyn.core.loop import Record, record_to_json

__all__ = ["records_frame", "records_csv", "claim_checks", "run_summary", "run_record", "run_json", "chart_bytes",
           "versions", "git_revision",
           "data_dir", "save_run"]

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


def claim_checks(name: str, config: Any, records: Sequence[Record]) -> list[dict[str, Any]]:
    """The claim checks of experiment ``name`` evaluated on ``records`` (empty for an unregistered experiment).

    Parameters
    ----------
    name : str
    config : dataclass config
    records : sequence of Record

    Returns
    -------
    list of dict
        One per claim: key, claim, source, paper_value, verdict, measured, threshold, detail.
    """
    from neurodyn.core import registry

    try:
        paper = registry.paper_of(name)
    except KeyError:
        return []
    return [c.to_json(records, config) for c in paper.claims_for(name)]


def run_summary(
    name: str, config: Any, records: Sequence[Record], *, status: str = "", message: str = "", device: str = "",
    preset: str | None = None, seconds: float | None = None,
) -> dict[str, Any]:
    """What a run was and how it ended, without its records: the CLI's summary line and the head of a run record.

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
        experiment, preset, config, seed, status, message, device, steps, seconds, last_metrics, claims (see
        :func:`claim_checks`), created, versions, git, rerun (a CLI command that repeats the run).
    """
    cfg = to_dict(config)
    last = record_to_json(records[-1], artifacts=False)["metrics"] if records else {}
    rerun = f"python -m neurodyn run {name}" + (f" --preset {preset}" if preset else "")
    return {
        "experiment": name,
        "preset": preset,
        "config": cfg,
        "seed": cfg.get("seed"),
        "status": status,
        "message": message,
        "device": device or str(cfg.get("device", "cpu")),
        "steps": len(records),
        "seconds": None if seconds is None else round(float(seconds), 3),
        "last_metrics": last,
        "claims": claim_checks(name, config, records),
        "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "versions": versions(),
        "git": git_revision(),
        "rerun": rerun + "".join(f" --set {k}={v}" for k, v in cfg.items()),
    }


def run_record(
    name: str, config: Any, records: Sequence[Record], *, status: str = "", message: str = "", device: str = "",
    preset: str | None = None, seconds: float | None = None,
) -> dict[str, Any]:
    """A self-describing JSON-ready record of one run: :func:`run_summary` plus every record.

    Parameters
    ----------
    name, config, records, status, message, device, preset, seconds
        As for :func:`run_summary`.

    Returns
    -------
    dict
    """
    out = run_summary(name, config, records, status=status, message=message, device=device, preset=preset,
                      seconds=seconds)
    out["records"] = [record_to_json(r) for r in records]
    return out


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
    import altair as alt

    buf = io.StringIO() if fmt == "svg" else io.BytesIO()
    with alt.data_transformers.enable("default", max_rows=None):  # heat maps exceed the 5000-row default cap
        chart.save(buf, format=fmt)
    data = buf.getvalue()
    return data.encode() if isinstance(data, str) else data


def data_dir() -> Path | None:
    """The folder where finished runs are kept (``NEURODYN_DATA_DIR``), or None when unset."""
    value = os.environ.get("NEURODYN_DATA_DIR", "").strip()
    return Path(value).expanduser() if value else None


def save_run(record: dict[str, Any], folder: Path | None = None) -> Path | None:
    """Write a run record as ``<folder>/runs/<experiment>/<UTC time>-<seed>.json``.

    Parameters
    ----------
    record : dict
        From :func:`run_record`.
    folder : Path, optional
        Default :func:`data_dir`; nothing is written when both are unset.

    Returns
    -------
    Path or None
        The file written.
    """
    folder = folder if folder is not None else data_dir()
    if folder is None:
        return None
    out = Path(folder) / "runs" / str(record.get("experiment", "run"))
    out.mkdir(parents=True, exist_ok=True)
    stamp = _dt.datetime.now(_dt.timezone.utc).strftime("%Y%m%dT%H%M%S%fZ")
    path = out / f"{stamp}-seed{record.get('seed')}.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(record))
    tmp.replace(path)
    return path

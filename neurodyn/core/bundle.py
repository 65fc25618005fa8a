"""A run as one zip file to share: its settings, records, claim verdicts, figures and the command that repeats it.

Layout of a bundle (``neurodyn-run-<id>-<experiment>.zip``):

- ``README.txt``: what the run was, how it ended, and the command that reproduces it;
- ``run.json``: the whole run record (the page's JSON download: summary and every record);
- ``config.json``, ``versions.json``, ``claims.json``: the settings (seed included), the installed versions and git
  revision, the paper's claim verdicts on this run;
- ``records.jsonl``: one record per line, as ``python -m neurodyn run ... --out`` writes them;
- ``figures/<unit or metric>.svg``: the run's metric curves over its steps, one figure per unit (rendered offline);
- ``rerun.sh``: the command alone.

Re-running ``rerun.sh`` on the same machine gives the same metrics (``tests/core/test_bundle.py``), for as many steps
as the run recorded (a run stopped early is repeated up to where it stopped).
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Mapping
from typing import Any

__all__ = ["rerun_command", "metric_figures", "make_bundle", "bundle_name"]


def rerun_command(record: Mapping[str, Any]) -> str:
    """The CLI command that repeats a run: its stored ``rerun`` line, for exactly as many steps as it recorded.

    Parameters
    ----------
    record : mapping
        A run record (:func:`neurodyn.core.export.run_record` or :meth:`neurodyn.core.store.RunStore.run_record`).

    Returns
    -------
    str
    """
    cmd = record.get("rerun")
    if not cmd:
        cfg = record.get("config") or {}
        cmd = f"python -m neurodyn run {record['experiment']}" + (
            f" --preset {record['preset']}" if record.get("preset") else "") + "".join(
            f" --set {k}={v}" for k, v in cfg.items())
    return cmd + f" --steps {len(record.get('records') or [])}"


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", name).strip("-") or "metric"


def metric_figures(record: Mapping[str, Any]) -> dict[str, Any]:
    """Altair line charts of the run's metrics over its steps, one per unit (metrics without a unit: one each).

    Parameters
    ----------
    record : mapping
        A run record with ``records`` (``{"step", "metrics"}`` dicts) and ``experiment``.

    Returns
    -------
    dict of str to altair.Chart
        File stem -> chart; empty when the run has no records.
    """
    from neurodyn.viz.theme import fixed_width, metric_chart

    records = record.get("records") or []
    names = list(dict.fromkeys(k for r in records for k, v in (r.get("metrics") or {}).items()
                               if isinstance(v, (int, float))))
    if not names:
        return {}
    units: dict[str, str] = {}
    try:
        from neurodyn.core import registry

        spec = registry.get(str(record["experiment"]))
        cfg = spec.config(record.get("preset") or "small", {})
        units = {m.name: m.unit for m in spec.declared_metrics(cfg)}
    except Exception:  # an experiment this checkout does not know: one figure per metric
        units = {}
    groups: dict[str, list[str]] = {}
    for metric in names:
        groups.setdefault(units.get(metric) or metric, []).append(metric)
    title = f"{record['experiment']} run" + (f" {record['id']}" if record.get("id") is not None else "")
    charts = {}
    for key, metrics in groups.items():
        y_title = key if len(metrics) > 1 else metrics[0] + (f" ({units[metrics[0]]})" if units.get(metrics[0]) else "")
        charts[_safe(key)] = fixed_width(metric_chart(records, metrics, title=title, y_title=y_title, height=320))
    return charts


def bundle_name(record: Mapping[str, Any]) -> str:
    """``neurodyn-run-<id>-<experiment>.zip`` (without the id when the run has none)."""
    run_id = record.get("id")
    return f"neurodyn-run-{run_id}-{_safe(str(record.get('experiment', 'run')))}.zip" if run_id is not None else (
        f"neurodyn-run-{_safe(str(record.get('experiment', 'run')))}.zip")


def make_bundle(record: Mapping[str, Any], *, figures: bool = True) -> bytes:
    """Zip a run record into a bundle (layout in the module notes).

    Parameters
    ----------
    record : mapping
        A run record with its ``records``.
    figures : bool, default True
        Include the metric curves as SVG (rendered offline with vl-convert, about 0.1-0.3 s each).

    Returns
    -------
    bytes
        The zip file.
    """
    from neurodyn.core.export import chart_bytes

    records = list(record.get("records") or [])
    cmd = rerun_command(record)
    claims = record.get("claims") or []
    lines = [
        f"neurodyn run bundle: {record.get('experiment')} (preset {record.get('preset') or 'custom'}, "
        f"seed {record.get('seed', (record.get('config') or {}).get('seed'))})",
        f"status: {record.get('status')}" + (f" - {record['message']}" if record.get("message") else ""),
        f"records: {len(records)}; wall time: {record.get('seconds')} s; git revision: {record.get('git')}",
        "",
        "Reproduce it (same machine, same versions: the same metrics):",
        f"    {cmd}",
        "",
        "Claim checks on this run:",
        *[f"    {c.get('key')}: {c.get('verdict')} (measured {c.get('measured')})" for c in claims],
    ]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("README.txt", "\n".join(lines) + "\n")
        zf.writestr("rerun.sh", f"#!/usr/bin/env bash\n{cmd}\n")
        zf.writestr("run.json", json.dumps(record))
        zf.writestr("config.json", json.dumps(record.get("config") or {}, indent=2))
        zf.writestr("versions.json", json.dumps({"versions": record.get("versions"), "git": record.get("git")},
                                                indent=2))
        zf.writestr("claims.json", json.dumps(claims, indent=2))
        zf.writestr("records.jsonl", "".join(json.dumps(r) + "\n" for r in records))
        if figures:
            for stem, chart in metric_figures(record).items():
                zf.writestr(f"figures/{stem}.svg", chart_bytes(chart, "svg"))
    return buf.getvalue()

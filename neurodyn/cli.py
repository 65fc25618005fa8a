"""Command line: list the experiments and run one headless, writing its records as JSON lines.

Examples
--------
``python -m neurodyn list``
``python -m neurodyn run lead --preset small --seed 0 --set lr=0.05 --steps 200 --out runs/lead.jsonl``
``python -m neurodyn runs list --experiment lead``; ``runs show 3``; ``runs export 3 --out run3.json``; ``runs rm 3``
``python -m neurodyn sweep lead --preset small --param lr=log:0.01:0.3 --objective norm_lead --trials 20 --study lr``

Each record is one JSON line ``{"step": ..., "metrics": {...}, "artifacts": {...}}``; the last line is
``{"summary": {...}}``, the same summary that heads a run record (:func:`neurodyn.core.export.run_summary`: the
experiment, preset, config, steps, wall time, status, last metrics and the paper's claim checks on this run).
Unknown names, presets or keys print the valid ones and exit with status 2.

``run`` also stores the run in the run registry (:mod:`neurodyn.core.store`: SQLite under ``NEURODYN_HOME``, or the
database ``NEURODYN_DB_URL`` names) as it goes, unless ``--no-store``; a registry that cannot be opened is reported
on stderr and the run goes on unsaved. ``runs`` lists, shows, exports and deletes stored runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import IO, Any, Sequence

__all__ = ["main"]


def _progress(out: IO[str], done: int, total: int, t0: float, metrics: dict) -> None:
    width = 28
    frac = done / total if total else 1.0
    bar = "#" * int(width * frac) + "-" * (width - int(width * frac))
    elapsed = time.perf_counter() - t0
    eta = elapsed / done * (total - done) if done else 0.0
    shown = ", ".join(f"{k}={v:.4g}" for k, v in list(metrics.items())[:3])
    out.write(f"\r[{bar}] {done}/{total} {elapsed:5.1f}s eta {eta:5.1f}s  {shown}"[:160].ljust(100))
    out.flush()


def _cmd_list(args: argparse.Namespace) -> int:
    from neurodyn.core import registry

    for paper in registry.papers():
        for spec in paper.experiments:
            presets = ", ".join(spec.presets)
            print(f"{spec.name:<16} {spec.title}  [{paper.key}, arXiv:{paper.arxiv}]  presets: {presets}")
    return 0


def _cmd_run(args: argparse.Namespace) -> int:
    import torch

    from neurodyn.core import registry
    from neurodyn.core.config import ConfigError, parse_assignments
    from neurodyn.core.export import run_summary
    from neurodyn.core.loop import non_finite_metrics, record_to_json, run

    try:
        spec = registry.get(args.name)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    try:
        overrides = parse_assignments(args.set or [])
        if args.seed is not None:
            overrides["seed"] = str(args.seed)
        cfg = spec.config(args.preset, overrides)
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    torch.set_num_threads(max(1, args.threads))
    exp = spec.build(cfg)
    writer = None if args.no_store else _open_writer(args, cfg)
    total = min(exp.total_steps, args.steps) if args.steps else exp.total_steps
    out_path = Path(args.out) if args.out else None
    if out_path is not None:
        out_path.parent.mkdir(parents=True, exist_ok=True)
    sink = open(out_path, "w") if out_path is not None else None
    status, message, records = "done", "", []
    t0 = time.perf_counter()
    try:
        for rec in run(exp, total):
            bad = non_finite_metrics(rec)
            if bad:
                status, message = "failed", f"diverged at step {rec.step}: {', '.join(bad)} not finite"
                break
            records.append(rec)
            if writer is not None:
                writer.put(rec)  # converted to JSON by the writer's thread
            if sink is not None:
                sink.write(json.dumps(record_to_json(rec)) + "\n")
            if not args.quiet:
                _progress(sys.stderr, len(records), total, t0, dict(rec.metrics))
    except KeyboardInterrupt:
        status, message = "stopped", "interrupted"
    finally:
        summary = run_summary(args.name, cfg, records, status=status, message=message, preset=args.preset,
                              seconds=time.perf_counter() - t0)
        if sink is not None:
            sink.write(json.dumps({"summary": summary}) + "\n")
            sink.close()
        if not args.quiet:
            sys.stderr.write("\n")
        if writer is not None:
            stored = "diverged" if message.startswith("diverged") else status
            if writer.close(stored, message=message, summary=summary, seconds=summary.get("seconds")):
                print(f"stored as run {writer.run_id} ({writer.store.url})", file=sys.stderr)
            else:
                print(f"warning: run {writer.run_id} was not fully stored: {writer.error}", file=sys.stderr)
            writer.store.close()
        print(json.dumps({"summary": summary}))
    return 0 if status != "failed" else 1


def _open_writer(args: argparse.Namespace, cfg: Any) -> Any:
    """A record writer on a new stored run, or None (with a warning on stderr) when the registry cannot be opened."""
    from neurodyn.core.store import RunStore, StoreError, start_experiment_run

    try:
        store = RunStore(args.db)
    except StoreError as exc:
        print(f"warning: this run is not stored: {exc}", file=sys.stderr)
        return None
    return start_experiment_run(store, args.name, cfg, preset=args.preset, label=args.label or "", source="cli")


def _cmd_runs(args: argparse.Namespace) -> int:
    from neurodyn.core.store import RunStore, StoreError

    try:
        store = RunStore(args.db)
    except StoreError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        if args.action == "list":
            rows = store.runs(experiment=args.experiment, status=args.status, label=args.label, limit=args.limit)
            print(f"{'id':>5}  {'experiment':<12} {'preset':<8} {'seed':>6}  {'status':<9} {'records':>7}  "
                  f"{'started (UTC)':<19}  label")
            for r in rows:
                started = r.started_at.strftime("%Y-%m-%d %H:%M:%S")
                seed = "" if r.seed is None else str(r.seed)
                print(f"{r.id:>5}  {r.experiment:<12} {r.preset or '':<8} {seed:>6}  {r.status:<9} {r.n_records:>7}  "
                      f"{started:<19}  {r.label}")
            return 0
        if args.action == "show":
            info = store.run(args.id)
            out = {"id": info.id, "experiment": info.experiment, "paper": info.paper, "preset": info.preset,
                   "seed": info.seed, "label": info.label, "source": info.source, "status": info.status,
                   "message": info.message, "records": info.n_records, "seconds": info.seconds,
                   "started_at": info.started_at.isoformat(),
                   "ended_at": info.ended_at.isoformat() if info.ended_at else None, "config": info.config,
                   "git": info.git, "claims": [{k: c.get(k) for k in ("key", "verdict", "measured", "threshold")}
                                              for c in info.claims]}
            print(json.dumps(out, indent=2))
            return 0
        if args.action == "export" and args.bundle:
            from neurodyn.core.bundle import bundle_name, make_bundle

            record = store.run_record(args.id)
            target = Path(args.out or bundle_name(record))
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(make_bundle(record))
            print(f"wrote the bundle of run {args.id} to {target}", file=sys.stderr)
            return 0
        if args.action == "export":
            data = json.dumps(store.run_record(args.id))
            if args.out:
                Path(args.out).parent.mkdir(parents=True, exist_ok=True)
                Path(args.out).write_text(data)
                print(f"wrote run {args.id} to {args.out}", file=sys.stderr)
            else:
                print(data)
            return 0
        for run_id in args.ids:  # rm
            store.delete_run(run_id)
            print(f"deleted run {run_id}", file=sys.stderr)
        return 0
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    finally:
        store.close()


def _cmd_warmup(args: argparse.Namespace) -> int:
    from neurodyn.core.warmup import run_warmup, tasks

    seconds, errors = run_warmup(progress=lambda line: print(line, file=sys.stderr, flush=True))
    print(f"warm-up: {len(tasks())} task(s) in {seconds:.1f} s" + (f"; failed: {errors}" if errors else ""))
    return 1 if errors else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``python -m neurodyn`` and the ``neurodyn`` console script.

    Parameters
    ----------
    argv : sequence of str, optional
        Arguments without the program name; defaults to ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status: 0 success, 1 the run failed, 2 bad usage.
    """
    parser = argparse.ArgumentParser(prog="neurodyn", description="Run neurodyn experiments headless.")
    sub = parser.add_subparsers(dest="command", required=True)
    p_list = sub.add_parser("list", help="list the experiment names")
    p_list.set_defaults(func=_cmd_list)
    p_run = sub.add_parser("run", help="run one experiment and write its records as JSON lines")
    p_run.add_argument("name", help="experiment name (see `list`)")
    p_run.add_argument("--preset", default="small", help="preset name (default: small)")
    p_run.add_argument("--seed", type=int, default=None, help="random seed (overrides the preset's)")
    p_run.add_argument("--set", action="append", metavar="KEY=VALUE", help="override a config field; repeatable")
    p_run.add_argument("--steps", type=int, default=None, help="stop after this many steps")
    p_run.add_argument("--out", default=None, help="write records to this .jsonl file")
    p_run.add_argument("--threads", type=int, default=1, help="torch threads (default 1)")
    p_run.add_argument("--quiet", action="store_true", help="no progress bar")
    p_run.add_argument("--no-store", action="store_true", help="do not store the run in the run registry")
    p_run.add_argument("--label", default="", help="a label for the stored run")
    p_run.add_argument("--db", default=None, help="registry URL (default: NEURODYN_DB_URL, else SQLite under "
                       "NEURODYN_HOME)")
    p_run.set_defaults(func=_cmd_run)
    p_runs = sub.add_parser("runs", help="stored runs: list, show, export, rm")
    p_runs.add_argument("--db", default=None, help="registry URL (default: NEURODYN_DB_URL, else SQLite under "
                        "NEURODYN_HOME)")
    acts = p_runs.add_subparsers(dest="action", required=True)
    a_list = acts.add_parser("list", help="stored runs, newest first")
    a_list.add_argument("--experiment", default=None)
    a_list.add_argument("--status", default=None)
    a_list.add_argument("--label", default=None)
    a_list.add_argument("--limit", type=int, default=50)
    a_show = acts.add_parser("show", help="one run's settings, status and claim verdicts")
    a_show.add_argument("id", type=int)
    a_export = acts.add_parser("export", help="one run as the JSON run record (the page's download)")
    a_export.add_argument("id", type=int)
    a_export.add_argument("--out", default=None, help="write to this file instead of stdout")
    a_export.add_argument("--bundle", action="store_true", help="a zip: settings, records, claim verdicts, figures "
                          "(SVG) and the command that repeats the run (default file: neurodyn-run-<id>-<name>.zip)")
    a_rm = acts.add_parser("rm", help="delete stored runs")
    a_rm.add_argument("ids", type=int, nargs="+")
    p_runs.set_defaults(func=_cmd_runs)
    from neurodyn.core.sweep import add_sweep_parser

    add_sweep_parser(sub)
    p_warm = sub.add_parser("warmup", help="pay one-off JIT costs (numba behind UMAP) into NUMBA_CACHE_DIR")
    p_warm.set_defaults(func=_cmd_warmup)
    args = parser.parse_args(argv)
    return int(args.func(args))

"""Command line: list the experiments and run one headless, writing its records as JSON lines.

Examples
--------
``python -m neurodyn list``
``python -m neurodyn run lead --preset small --seed 0 --set lr=0.05 --steps 200 --out runs/lead.jsonl``

Each record is one JSON line ``{"step": ..., "metrics": {...}, "artifacts": {...}}``; the last line is
``{"summary": {...}}``, the same summary that heads a run record (:func:`neurodyn.core.export.run_summary`: the
experiment, preset, config, steps, wall time, status, last metrics and the paper's claim checks on this run).
Unknown names, presets or keys print the valid ones and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import IO, Sequence

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
        print(json.dumps({"summary": summary}))
    return 0 if status != "failed" else 1


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
    p_run.set_defaults(func=_cmd_run)
    p_warm = sub.add_parser("warmup", help="pay one-off JIT costs (numba behind UMAP) into NUMBA_CACHE_DIR")
    p_warm.set_defaults(func=_cmd_warmup)
    args = parser.parse_args(argv)
    return int(args.func(args))

"""Runs of the ``brims`` experiment over several seeds, summarised into the results file the page shows.

The page quotes no measured number of its own: multi-seed numbers come from a results file written by this module,
together with the exact command, the date, the machine and the wall time of each run (``docs/papers/brims.md §6``)::

    .venv/bin/python -m neurodyn.brims.sweep --preset small --seeds 0 1 2 3 4 5 \\
        --out neurodyn/brims/results/small.json

Each run is the experiment as the page runs it (one torch thread, CPU); the summary keeps, per seed, the last
evaluation's accuracies, the last probe sweep and the verdict of every claim of the paper's spec.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from neurodyn.brims.experiment import PRESETS, PROBES, Config, build, evaluations, model_metric, model_names
from neurodyn.core.config import apply_overrides, parse_assignments, to_dict
from neurodyn.core.loop import Record, record_to_json, run

__all__ = ["run_summary", "aggregate", "add_runs", "main"]


def run_summary(records: Sequence[Record], config: Config, seconds: float, *, cpu_seconds: float | None = None,
                load: float | None = None) -> dict[str, Any]:
    """What the results file keeps of one run: last evaluation, last probe sweep, claim verdicts.

    Parameters
    ----------
    records : sequence of Record
        The whole run.
    config : Config
    seconds : float
        Wall time of the run.
    cpu_seconds : float, optional
        CPU time of the process during the run (on one thread, about the wall time on an idle machine).
    load : float, optional
        The machine's 1-minute load average at the end of the run (other jobs sharing the cores).

    Returns
    -------
    dict
        ``seed``, ``seconds``, ``epoch`` (of the last evaluation), ``accuracy`` ({model: {"clean", "distracted"}}),
        ``probes`` ({probe key: (models, 4) nested lists}, empty without a sweep), ``claims`` ([{key, verdict,
        measured}]), and ``cpu_seconds`` and ``load`` when given.
    """
    from neurodyn.brims import SPEC  # the package imports this module's caller; import the spec when needed

    epoch, last = evaluations(records)[-1]
    acc = {m: {"clean": float(last[model_metric(m, "test_acc")]),
               "distracted": float(last[model_metric(m, "distracted_acc")])} for m in model_names(config)}
    probes: dict[str, Any] = {}
    for rec in reversed(records):
        if PROBES[0] in rec.artifacts:
            probes = {key: np.asarray(rec.artifacts[key]).tolist() for key in PROBES}
            probes["epoch"] = int(rec.artifacts["probe_epoch"])
            break
    claims = []
    for claim in SPEC.claims_for("brims"):
        res = claim.evaluate(records, config)
        claims.append({"key": claim.key, "verdict": res.verdict, "measured": res.measured})
    out = {"seed": config.seed, "seconds": round(seconds, 1), "epoch": epoch, "accuracy": acc, "probes": probes,
           "claims": claims}
    if cpu_seconds is not None:
        out["cpu_seconds"] = round(cpu_seconds, 1)
    if load is not None:
        out["load"] = round(load, 2)
    return out


def aggregate(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Min, mean and max over seeds of each model's accuracy and of each claim's measured value.

    Parameters
    ----------
    runs : sequence of dict
        :func:`run_summary` outputs.

    Returns
    -------
    dict
        ``accuracy`` ({model: {"clean"|"distracted": [min, mean, max]}}), ``claims`` ({key: {"measured": [min,
        mean, max], "verdicts": {verdict: count}}}).
    """
    def stats(values: list[float]) -> list[float]:
        return [float(np.min(values)), float(np.mean(values)), float(np.max(values))]

    acc: dict[str, dict[str, list[float]]] = {}
    for model in runs[0]["accuracy"]:
        acc[model] = {kind: stats([r["accuracy"][model][kind] for r in runs]) for kind in ("clean", "distracted")}
    claims: dict[str, Any] = {}
    for c in runs[0]["claims"]:
        values = [x["measured"] for r in runs for x in r["claims"]
                  if x["key"] == c["key"] and x["measured"] is not None]
        verdicts: dict[str, int] = {}
        for r in runs:
            for x in r["claims"]:
                if x["key"] == c["key"]:
                    verdicts[x["verdict"]] = verdicts.get(x["verdict"], 0) + 1
        claims[c["key"]] = {"measured": stats(values) if values else None, "verdicts": verdicts}
    return {"accuracy": acc, "claims": claims}


def add_runs(old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    """Results of two sweeps of the same preset and settings as one: the runs of both, both commands.

    Parameters
    ----------
    old, new : dict
        Results files' contents; ``new`` was made after ``old``.

    Returns
    -------
    dict
        ``new`` with ``runs`` = old runs then new runs (by seed, a seed of ``new`` replaces the same seed of ``old``),
        ``command`` = both commands joined by `` && ``, ``summary`` recomputed.

    Raises
    ------
    ValueError
        When the preset or the settings differ.
    """
    for key in ("preset", "overrides"):
        if old.get(key) != new.get(key):
            raise ValueError(f"cannot add runs with {key} {new.get(key)!r} to a file with {key} {old.get(key)!r}")
    seeds = {r["seed"] for r in new["runs"]}
    runs = [r for r in old["runs"] if r["seed"] not in seeds] + list(new["runs"])
    dates = sorted({old["date"], new["date"]})
    return {**new, "command": f"{old['command']} && {new['command']}", "date": " and ".join(dates), "runs": runs,
            "summary": aggregate(runs)}


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: run the seeds one after the other and write the results file (and optionally the records)."""
    parser = argparse.ArgumentParser(prog="python -m neurodyn.brims.sweep", description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small", choices=sorted(PRESETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="override a config field")
    parser.add_argument("--out", required=True, help="results file (JSON)")
    parser.add_argument("--records", default=None, help="folder for each run's records (JSON lines), optional")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--add", action="store_true",
                        help="add these seeds' runs to the runs already in --out (same preset and settings)")
    args = parser.parse_args(argv)

    import torch

    torch.set_num_threads(max(1, args.threads))
    base = apply_overrides(PRESETS[args.preset], {**parse_assignments(args.set), "device": "cpu"})
    runs = []
    for seed in args.seeds:
        cfg = apply_overrides(base, {"seed": seed})
        t0, c0 = time.perf_counter(), time.process_time()
        records = list(run(build(cfg)))
        seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
        if args.records:
            folder = Path(args.records)
            folder.mkdir(parents=True, exist_ok=True)
            with open(folder / f"{args.preset}-seed{seed}.jsonl", "w") as sink:
                for rec in records:
                    sink.write(json.dumps(record_to_json(rec)) + "\n")
        runs.append(run_summary(records, cfg, seconds, cpu_seconds=cpu, load=os.getloadavg()[0]))
        print(json.dumps(runs[-1]), flush=True)
    command = " ".join([".venv/bin/python -m neurodyn.brims.sweep", *map(shlex.quote, (argv or sys.argv[1:]))])
    result = {
        "command": command,
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}, "
                   f"{max(1, args.threads)} thread(s)",
        "preset": args.preset,
        "overrides": {k: v for k, v in to_dict(base).items() if v != to_dict(PRESETS[args.preset])[k]},
        "runs": runs,
        "summary": aggregate(runs),
    }
    out = Path(args.out)
    if args.add:
        result = add_runs(json.loads(out.read_text()), result)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

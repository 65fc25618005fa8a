"""What storing a run in the run registry costs the run: small presets headless, with and without storing.

Issue: "Storing must not slow training: ``benchmarks/store.py`` prints the small presets' time with and without it
(goal: <= 5% overhead on SQLite and PostgreSQL)."

Each timed run builds the experiment and runs every step of its ``small`` preset in this process on one torch thread,
the way the CLI does (``python -m neurodyn run NAME``). The stored variant also opens a run in the registry, hands
every record to a :class:`neurodyn.core.store.RecordWriter` (whose thread converts and writes them in batches) and,
at the end, waits for the writer to store everything and close the run: the whole cost is inside the timed span.
Baseline: the same run without the registry. Both compute the run's summary with its claim verdicts, as the CLI
always does. Each repeat times the baseline and every backend in a rotating order,
so a change of load on a shared host hits all; the headline is the median over repeats of the process CPU time
(both threads count) and of the wall time, and their ratio to the baseline.

Backends: SQLite (a fresh file in a temporary folder) and PostgreSQL when ``--pg URL`` or ``NEURODYN_TEST_PG_URL``
names a server (``scripts/test-postgres.sh start`` gives one).

Run: ``python benchmarks/store.py [--experiments lead,starvation,udemd] [--repeats 3] [--pg URL] [--json out.json]
[--check]``; ``--check`` exits with 1 when a backend's wall-time ratio exceeds 1.05 for an experiment.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402 - after the path setup above

from neurodyn.core import registry  # noqa: E402 - after the path setup above
from neurodyn.core.export import run_summary  # noqa: E402 - after the path setup above
from neurodyn.core.loop import run  # noqa: E402 - after the path setup above

GOAL = 1.05  # stored / unstored wall time


def timed_run(name: str, url: str | None) -> tuple[float, float, int]:
    """One full ``small`` run of ``name``, storing it in the registry at ``url`` (None: not stored).

    Returns
    -------
    wall_s, cpu_s : float
        Wall-clock and process CPU seconds from build to the stored run's close.
    n_records : int
    """
    from neurodyn.core.store import RecordWriter, RunStore

    store = RunStore(url) if url is not None else None
    spec = registry.get(name)
    cfg = spec.config("small", {})
    t0, c0 = time.perf_counter(), time.process_time()
    exp = spec.build(cfg)
    writer = None
    if store is not None:
        writer = RecordWriter(store, store.start_run(name, {}, preset="small", source="test"))
    records = []
    for rec in run(exp):
        records.append(rec)
        if writer is not None:
            writer.put(rec)
    summary = run_summary(name, cfg, records, status="done", preset="small")  # the CLI's summary, stored or not
    if writer is not None:
        if not writer.close("done", summary=summary, seconds=time.perf_counter() - t0):
            raise RuntimeError(f"the run of {name} was not fully stored: {writer.error}")
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    if store is not None:
        stored = store.run(writer.run_id).n_records
        store.close()
        if stored != len(records):
            raise RuntimeError(f"{name}: {stored} records stored of {len(records)}")
    return wall, cpu, len(records)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--experiments", default="lead,starvation,udemd",
                        help="comma-separated experiment names (their small presets)")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--pg", default=os.environ.get("NEURODYN_TEST_PG_URL") or None,
                        help="a PostgreSQL URL (default: NEURODYN_TEST_PG_URL)")
    parser.add_argument("--json", default=None, help="also write the results to this file")
    parser.add_argument("--check", action="store_true", help="exit 1 when a wall-time ratio exceeds the goal")
    args = parser.parse_args()
    torch.set_num_threads(1)
    tmp = tempfile.mkdtemp(prefix="neurodyn-store-bench-")
    backends: dict[str, str | None] = {"none": None, "sqlite": f"sqlite:///{tmp}/runs.sqlite"}
    if args.pg:
        backends["postgresql"] = args.pg
    print(f"# {platform.processor() or platform.machine()}, torch {torch.__version__}, one thread; "
          f"backends: {', '.join(b for b in backends if b != 'none')}")
    rows, failed = [], False
    for name in args.experiments.split(","):
        times: dict[str, list[tuple[float, float]]] = {b: [] for b in backends}
        n_records = 0
        order = list(backends)
        for rep in range(args.repeats):
            for b in order[rep % len(order):] + order[:rep % len(order)]:
                wall, cpu, n_records = timed_run(name, backends[b])
                times[b].append((wall, cpu))
        base_wall = statistics.median(w for w, _ in times["none"])
        base_cpu = statistics.median(c for _, c in times["none"])
        for b in backends:
            wall = statistics.median(w for w, _ in times[b])
            cpu = statistics.median(c for _, c in times[b])
            row = {"experiment": name, "backend": b, "records": n_records, "wall_s": round(wall, 3),
                   "cpu_s": round(cpu, 3), "wall_ratio": round(wall / base_wall, 3),
                   "cpu_ratio": round(cpu / base_cpu, 3)}
            rows.append(row)
            verdict = "" if b == "none" else ("  ok" if row["wall_ratio"] <= GOAL else f"  OVER the {GOAL} goal")
            failed |= b != "none" and row["wall_ratio"] > GOAL
            print(f"{name:<12} {b:<11} {n_records:>5} records  wall {wall:7.2f} s (x{row['wall_ratio']:.3f})  "
                  f"cpu {cpu:7.2f} s (x{row['cpu_ratio']:.3f}){verdict}", flush=True)
    if args.json:
        Path(args.json).write_text(json.dumps({"goal_wall_ratio": GOAL, "rows": rows}, indent=2))
    return 1 if args.check and failed else 0


if __name__ == "__main__":
    sys.exit(main())

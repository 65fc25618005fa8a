"""The causal-induction page's two hot spots against the way the reference code does them, in one run.

``docs/papers/causal.md §8`` (card 03 §7): the reference generates data by stepping one environment at a time and
evaluates by sorting every row of the M × M distance matrix with ``np.lexsort`` in a Python loop.

(a) **Environment.** :class:`neurodyn.causal.envs.ChemistryBatch` with B = 512 environments stepped at once (array
    operations; each step also renders the B images) against 512 Gymnasium ``neurodyn/Chemistry-v0`` environments
    stepped one after the other (each step renders its image, as the Gymnasium API returns it). N = 5 objects,
    C = 5 colours, chain graph, uniformly random actions. Reported: transitions per second.
(b) **Ranking.** :func:`neurodyn.causal.metrics.ranking_metrics` (counting in row chunks, no sort) against
    :func:`neurodyn.causal.metrics.reference_ranks` (one stable ``np.lexsort`` per row, as the reference evaluates) on
    M = 10,000 random 20-dimensional predictions and targets; both must give the same H@1 and MRR.

Goals: at least 20x each. The headline is the median over repeats of the calling thread's CPU time (wall time
printed beside it), with the order of the variants alternating between repeats.

Run: ``python benchmarks/causal.py [--repeats 3] [--m 10000] [--json out.json] [--check]``.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from neurodyn.causal.envs import ChemistryBatch, ChemistryEnv
from neurodyn.causal.metrics import ranking_metrics, reference_ranks

N, C, B, STEPS = 5, 5, 512, 20
GOAL = 20.0


def env_batch(steps: int) -> tuple[float, float]:
    """Thread-CPU and wall seconds of ``steps`` steps (with rendering) of B environments at once."""
    env = ChemistryBatch(N, C, family="chain", batch=B, seed=0)
    env.reset(seed=1)
    rng = np.random.default_rng(2)
    c0, w0 = time.thread_time(), time.perf_counter()
    for _ in range(steps):
        env.step(rng.integers(0, N * C, size=B))
        env.render()
    return time.thread_time() - c0, time.perf_counter() - w0


def env_single(steps: int) -> tuple[float, float]:
    """Thread-CPU and wall seconds of ``steps`` steps of B Gymnasium environments stepped one at a time."""
    envs = [ChemistryEnv(n=N, c=C, family="chain", graph_seed=0, max_steps=10 ** 9) for _ in range(B)]
    for i, e in enumerate(envs):
        e.reset(seed=i)
    rng = np.random.default_rng(2)
    c0, w0 = time.thread_time(), time.perf_counter()
    for _ in range(steps):
        actions = rng.integers(0, N * C, size=B)
        for e, a in zip(envs, actions):
            e.step(int(a))
    return time.thread_time() - c0, time.perf_counter() - w0


def ranks_ours(pred: torch.Tensor, target: torch.Tensor) -> tuple[dict[str, float], float, float]:
    """Our ranking metrics (paper rule) with their thread-CPU and wall seconds."""
    c0, w0 = time.thread_time(), time.perf_counter()
    out = ranking_metrics(pred, target, rule="paper")
    return out, time.thread_time() - c0, time.perf_counter() - w0


def ranks_reference(pred: torch.Tensor, target: torch.Tensor) -> tuple[dict[str, float], float, float]:
    """The per-row lexsort loop with its thread-CPU and wall seconds."""
    c0, w0 = time.thread_time(), time.perf_counter()
    ranks = reference_ranks(pred, target)
    out = {"hits_at_1": float(np.mean(ranks == 1)), "mrr": float(np.mean(1.0 / ranks))}
    return out, time.thread_time() - c0, time.perf_counter() - w0


def main() -> int:
    """Run both comparisons, print the table; the exit code for ``--check``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="runs of each variant (median)")
    parser.add_argument("--m", type=int, default=10_000, help="test paths M of the ranking comparison")
    parser.add_argument("--json", default="", help="also write the numbers to this file")
    parser.add_argument("--check", action="store_true", help=f"exit with 1 if a ratio is below {GOAL}")
    args = parser.parse_args()
    torch.set_num_threads(1)

    env_batch(2)  # warm-up
    env_single(1)
    cpu: dict[str, list[float]] = {k: [] for k in ("batch", "single", "ours", "reference")}
    wall: dict[str, list[float]] = {k: [] for k in cpu}
    for r in range(args.repeats):
        for name in (("batch", "single") if r % 2 == 0 else ("single", "batch")):
            c, w = (env_batch if name == "batch" else env_single)(STEPS)
            cpu[name].append(c / (STEPS * B))
            wall[name].append(w / (STEPS * B))
    gen = torch.Generator().manual_seed(0)
    target = torch.randn(args.m, 20, generator=gen)
    pred = target + 0.7 * torch.randn(args.m, 20, generator=gen)
    pred[: args.m // 10] = pred[0]  # a block of identical predictions: ties exercise the tie rule
    scores: dict[str, dict[str, float]] = {}
    for r in range(args.repeats):
        for name in (("ours", "reference") if r % 2 == 0 else ("reference", "ours")):
            scores[name], c, w = (ranks_ours if name == "ours" else ranks_reference)(pred, target)
            cpu[name].append(c)
            wall[name].append(w)
    med = {k: statistics.median(v) for k, v in cpu.items()}
    medw = {k: statistics.median(v) for k, v in wall.items()}
    agree = all(abs(scores["ours"][k] - scores["reference"][k]) < 1e-9 for k in ("hits_at_1", "mrr"))
    env_ratio = med["single"] / med["batch"]
    rank_ratio = med["reference"] / med["ours"]

    print(f"torch {torch.__version__}, numpy {np.__version__}, 1 thread; median of {args.repeats} runs after a "
          "warm-up")
    print(f"(a) Chemistry N={N} C={C}, chain, {STEPS} steps of {B} environments with rendering")
    print(f"    batch of {B}: {1 / med['batch']:,.0f} transitions/s ({1 / medw['batch']:,.0f} wall)")
    print(f"    one at a time: {1 / med['single']:,.0f} transitions/s ({1 / medw['single']:,.0f} wall)")
    verdict = "met" if env_ratio >= GOAL else "NOT met"
    print(f"    batch / one at a time: {env_ratio:.1f}x; goal >= {GOAL:g}x: {verdict}")
    print(f"(b) ranking M={args.m:,} (paper rule, 10% tied predictions): H@1 {scores['ours']['hits_at_1']:.4f}, "
          f"MRR {scores['ours']['mrr']:.4f}; reference {scores['reference']['hits_at_1']:.4f}, "
          f"{scores['reference']['mrr']:.4f} ({'agree' if agree else 'DISAGREE'})")
    print(f"    ours: {med['ours']:.3f} s ({medw['ours']:.3f} wall); per-row lexsort: {med['reference']:.2f} s "
          f"({medw['reference']:.2f} wall)")
    print(f"    lexsort / ours: {rank_ratio:.1f}x; goal >= {GOAL:g}x: {'met' if rank_ratio >= GOAL else 'NOT met'}")
    if args.json:
        report = {"machine": f"{platform.machine()}, {platform.python_version()}, torch {torch.__version__}",
                  "env": {"n": N, "c": C, "batch": B, "steps": STEPS, "s_per_transition": {
                      k: med[k] for k in ("batch", "single")}, "ratio": env_ratio},
                  "ranking": {"m": args.m, "seconds": {k: med[k] for k in ("ours", "reference")},
                              "ratio": rank_ratio, "scores": scores, "agree": agree},
                  "goal": GOAL}
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    if not agree:
        return 2
    if args.check and (env_ratio < GOAL or rank_ratio < GOAL):
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Training time of 8 seeds of the two-moons MLP stacked as one model against the same 8 networks one after the other.

``docs/papers/starvation.md §8``: the page trains every (seed, regulariser) pair of the 2-500-1 network side by side,
as one :class:`neurodyn.starvation.mlp.StackedMLP` (fused kernels over all of them, see the doc), and the card
suggests exactly this to beat per-network overhead on one thread (~2.4 ms per full-batch step for one network). The
goal is at least 2.5x (4.4-4.9x on the development machine). This script trains, from the same
initial weights (``StackedMLP.row``), on the 300 two-moons points (Δ = 0.1, seed 0), full batch, SGD lr 1e-2 with
momentum 0.9, mean softplus loss, for ``--steps`` steps:

- ``stacked``: one ``StackedMLP`` of 8 rows, the sum of the 8 mean losses, one backward and one optimiser step;
- ``separate``: 8 ``nn.Sequential`` networks, each with its own SGD, trained in turn.

Each repeat trains both variants afresh (alternating which goes first, so a change of load on a shared host hits
both); the headline is the median over repeats of the calling thread's CPU time per step, wall-clock medians are
printed beside it. The final losses of the two variants must agree (float32 rounding only).

Run: ``python benchmarks/starvation.py [--repeats 3] [--steps 200] [--json out.json] [--check]``; ``--check`` exits
with 1 when the ratio separate / stacked is below 2.5.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from neurodyn.starvation.functional import two_moons
from neurodyn.starvation.mlp import StackedMLP

SEEDS = tuple(range(8))
HIDDEN, POINTS, MARGIN, LR, MOMENTUM = 500, 300, 0.1, 1e-2, 0.9
ANCHOR_STEP_S = 2.4e-3  # card §7: one network's full-batch step on one thread
GOAL_RATIO = 2.5


def train_stacked(X: torch.Tensor, y: torch.Tensor, steps: int) -> tuple[torch.Tensor, float, float]:
    """Train the 8 networks as one stacked model.

    Parameters
    ----------
    X : Tensor, shape (n, 2)
    y : Tensor, shape (n,)
        Labels in {−1, +1}.
    steps : int

    Returns
    -------
    losses : Tensor, shape (8,)
        Each network's final mean loss (after the last step).
    cpu_s, wall_s : float
        Thread-CPU and wall seconds of the training loop.
    """
    model = StackedMLP(SEEDS, hidden=HIDDEN)
    opt = torch.optim.SGD(model.parameters(), lr=LR, momentum=MOMENTUM)
    c0, w0 = time.thread_time(), time.perf_counter()
    for _ in range(steps):
        loss = F.softplus(-y * model(X)).mean(-1).sum()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
    cpu, wall = time.thread_time() - c0, time.perf_counter() - w0
    with torch.no_grad():
        return F.softplus(-y * model(X)).mean(-1), cpu, wall


def train_separate(X: torch.Tensor, y: torch.Tensor, steps: int) -> tuple[torch.Tensor, float, float]:
    """Train the same 8 networks (same initial weights) one after the other; returns as :func:`train_stacked`."""
    stack = StackedMLP(SEEDS, hidden=HIDDEN)
    nets: list[nn.Sequential] = [stack.row(g) for g in range(len(SEEDS))]
    opts = [torch.optim.SGD(net.parameters(), lr=LR, momentum=MOMENTUM) for net in nets]
    c0, w0 = time.thread_time(), time.perf_counter()
    for net, opt in zip(nets, opts):
        for _ in range(steps):
            loss = F.softplus(-y * net(X).squeeze(-1)).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
    cpu, wall = time.thread_time() - c0, time.perf_counter() - w0
    with torch.no_grad():
        return torch.stack([F.softplus(-y * net(X).squeeze(-1)).mean() for net in nets]), cpu, wall


def main() -> int:
    """Time the stacked model against the separate networks, print the table; the exit code for ``--check``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="training runs of each variant (median)")
    parser.add_argument("--steps", type=int, default=200, help="full-batch steps per network and run")
    parser.add_argument("--json", default="", help="also write the numbers to this file")
    parser.add_argument("--check", action="store_true", help=f"exit with 1 if separate / stacked < {GOAL_RATIO}")
    args = parser.parse_args()
    torch.set_num_threads(1)

    X, y = two_moons(POINTS, MARGIN, generator=0)
    train_stacked(X, y, 5)  # warm-up: allocator, first autograd graph
    train_separate(X, y, 5)
    runs = {"stacked": train_stacked, "separate": train_separate}
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    wall: dict[str, list[float]] = {name: [] for name in runs}
    losses: dict[str, torch.Tensor] = {}
    names = list(runs)
    for r in range(args.repeats):
        for name in (names if r % 2 == 0 else names[::-1]):
            losses[name], c, w = runs[name](X, y, args.steps)
            cpu[name].append(c / args.steps)
            wall[name].append(w / args.steps)
    t = {name: {"cpu_s": statistics.median(cpu[name]), "wall_s": statistics.median(wall[name])} for name in runs}
    gap = (losses["stacked"] - losses["separate"]).abs().max().item()
    ratio = t["separate"]["cpu_s"] / t["stacked"]["cpu_s"]
    ratio_wall = t["separate"]["wall_s"] / t["stacked"]["wall_s"]

    print(f"torch {torch.__version__}, 1 thread; {len(SEEDS)} networks 2-{HIDDEN}-1, {POINTS} two-moons points, full "
          f"batch, SGD lr {LR:g} momentum {MOMENTUM}, {args.steps} steps; median of {args.repeats} runs after a "
          "warm-up")
    print(f"final mean losses: stacked {losses['stacked'].mean().item():.6f}, separate "
          f"{losses['separate'].mean().item():.6f}, max difference over the networks {gap:.1e}")
    print(f"{'variant':10} {'cpu ms/step':>12} {'wall ms/step':>13}   (all {len(SEEDS)} networks; card: "
          f"{ANCHOR_STEP_S * 1e3:.1f} ms for one)")
    for name in names:
        print(f"{name:10} {t[name]['cpu_s'] * 1e3:12.2f} {t[name]['wall_s'] * 1e3:13.2f}")
    print(f"separate / stacked: {ratio:.2f}x (thread CPU), {ratio_wall:.2f}x (wall); goal >= {GOAL_RATIO}x: "
          f"{'met' if ratio >= GOAL_RATIO else 'NOT met'}")

    if args.json:
        report = {"machine": f"{platform.machine()}, {platform.python_version()}, torch {torch.__version__}",
                  "networks": len(SEEDS), "hidden": HIDDEN, "points": POINTS, "steps": args.steps,
                  "repeats": args.repeats, "loss_gap": gap, "times_per_step": t, "ratio_cpu": ratio,
                  "ratio_wall": ratio_wall, "goal_ratio": GOAL_RATIO}
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    if args.check and ratio < GOAL_RATIO:
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

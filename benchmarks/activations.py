"""Forward + backward time of a 3×3 grid of γ-RNNs batched as one model against the same 9 models run one by one.

``docs/papers/activations.md §7``: the sequential loop of a small RNN is dominated by per-step overhead, so training
a whole (n, s) grid as one model with a leading configuration axis (one ``bmm`` per time step,
:class:`neurodyn.activations.rnn.GammaRNNGrid`) should beat G separate models. The card measured 2.4x for 9
configurations (N = 64, T = 64, B = 50, forward + backward, one CPU thread: 0.095 s against 0.230 s); the goal is at
least 2x. This script times, on one batch of 50 permuted digit sequences (64 steps):

- ``batched``: the grid of 9 static configurations (n ∈ {1, 5, 10} × s ∈ {0, 0.5, 1}) as one
  ``GammaRNNGrid``, the sum of its 9 losses, one backward pass;
- ``separate``: the same 9 ``GammaRNN`` models (same weights), each forward and backward in turn.

Repeats alternate between the two (so a change of load on a shared host hits both), after warm-up iterations; the
median of the calling thread's CPU time is the headline, wall-clock medians are printed beside it.

Run: ``python benchmarks/activations.py [--repeats 10] [--json out.json] [--check]``; ``--check`` exits with 1 when
the ratio separate / batched is below 2.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from pathlib import Path
from typing import Callable

import torch
import torch.nn.functional as F

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from neurodyn.activations.rnn import GammaRNN, GammaRNNGrid
from neurodyn.activations.tasks import permuted_digits

GRID_N = (1.0, 5.0, 10.0)
GRID_S = (0.0, 0.5, 1.0)
HIDDEN, BATCH, CLASSES = 64, 50, 10
ANCHOR_RATIO = 2.4  # card §7: 0.095 s batched vs 0.230 s separate
ANCHOR_SECONDS = {"batched": 0.095, "separate": 0.230}
GOAL_RATIO = 2.0


def build_models(seed: int = 0) -> list[GammaRNN]:
    """The 9 static γ-RNNs of the grid, each drawn from a generator seeded with ``seed`` (the same network at every
    grid point, as the page's grid tab).

    Parameters
    ----------
    seed : int, default 0

    Returns
    -------
    list of GammaRNN
        Row-major over n ∈ {1, 5, 10}, s ∈ {0, 0.5, 1}; N = 64, one input, 10 classes.
    """
    return [GammaRNN(1, HIDDEN, CLASSES, n=n, s=s, mode="static", generator=torch.Generator().manual_seed(seed))
            for n in GRID_N for s in GRID_S]


def batched_step(grid: GammaRNNGrid, x: torch.Tensor, y: torch.Tensor) -> Callable[[], None]:
    """One forward + backward pass of the whole grid (sum of the per-configuration mean cross-entropies).

    Parameters
    ----------
    grid : GammaRNNGrid
    x : Tensor, shape (B, T, 1)
    y : Tensor, shape (B,)

    Returns
    -------
    callable
        Runs the pass, gradients cleared first.
    """
    def step() -> None:
        grid.zero_grad(set_to_none=True)
        grid.losses(x, y)[0].sum().backward()

    return step


def separate_step(models: list[GammaRNN], x: torch.Tensor, y: torch.Tensor) -> Callable[[], None]:
    """One forward + backward pass of each model in turn (mean cross-entropy each).

    Parameters
    ----------
    models : list of GammaRNN
    x : Tensor, shape (B, T, 1)
    y : Tensor, shape (B,)

    Returns
    -------
    callable
        Runs the 9 passes, gradients cleared first.
    """
    def step() -> None:
        for model in models:
            model.zero_grad(set_to_none=True)
            F.cross_entropy(model(x), y).backward()

    return step


def time_interleaved(steps: dict[str, Callable[[], None]], repeats: int, warmup: int = 2
                     ) -> dict[str, dict[str, float]]:
    """Median thread-CPU and wall seconds per call of each step, repeats alternating between the steps.

    Parameters
    ----------
    steps : dict of str to callable
    repeats : int
        Timed calls of each step.
    warmup : int, default 2
        Untimed calls of each step first.

    Returns
    -------
    dict
        ``{name: {"cpu_s": median, "wall_s": median}}``.
    """
    for _ in range(warmup):
        for step in steps.values():
            step()
    cpu: dict[str, list[float]] = {name: [] for name in steps}
    wall: dict[str, list[float]] = {name: [] for name in steps}
    names = list(steps)
    for r in range(repeats):
        for name in (names if r % 2 == 0 else names[::-1]):
            c0, w0 = time.thread_time(), time.perf_counter()
            steps[name]()
            cpu[name].append(time.thread_time() - c0)
            wall[name].append(time.perf_counter() - w0)
    return {name: {"cpu_s": statistics.median(cpu[name]), "wall_s": statistics.median(wall[name])} for name in steps}


def main() -> int:
    """Time the batched grid against the separate models, print the table; the exit code for ``--check``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10, help="timed iterations of each variant (median)")
    parser.add_argument("--json", default="", help="also write the numbers to this file")
    parser.add_argument("--check", action="store_true", help=f"exit with 1 if separate / batched < {GOAL_RATIO}")
    args = parser.parse_args()
    torch.set_num_threads(1)

    data = permuted_digits()
    x, y = data.x_train[:BATCH], data.y_train[:BATCH]
    models = build_models()
    grid = GammaRNNGrid(models)
    with torch.no_grad():
        grid_loss = grid.losses(x, y)[0]
        separate_loss = torch.stack([F.cross_entropy(m(x), y) for m in models])
    gap = (grid_loss - separate_loss).abs().max().item()

    t = time_interleaved({"batched": batched_step(grid, x, y), "separate": separate_step(models, x, y)},
                         args.repeats)
    ratio = t["separate"]["cpu_s"] / t["batched"]["cpu_s"]
    ratio_wall = t["separate"]["wall_s"] / t["batched"]["wall_s"]

    print(f"torch {torch.__version__}, 1 thread; G = {len(models)} static configurations (n in {list(GRID_N)} x "
          f"s in {list(GRID_S)}), N = {HIDDEN}, T = {x.shape[1]}, B = {BATCH}, forward + backward; median of "
          f"{args.repeats} after 2 warm-up; batched vs separate losses differ by {gap:.1e}")
    print(f"{'variant':10} {'cpu ms/iter':>12} {'wall ms/iter':>13} {'card (s)':>9}")
    for name in ("batched", "separate"):
        print(f"{name:10} {t[name]['cpu_s'] * 1e3:12.1f} {t[name]['wall_s'] * 1e3:13.1f} "
              f"{ANCHOR_SECONDS[name]:9.3f}")
    print(f"separate / batched: {ratio:.2f}x (thread CPU), {ratio_wall:.2f}x (wall); card anchor {ANCHOR_RATIO}x, "
          f"goal >= {GOAL_RATIO:.0f}x: {'met' if ratio >= GOAL_RATIO else 'NOT met'}")

    if args.json:
        report = {"machine": f"{platform.machine()}, {platform.python_version()}, torch {torch.__version__}",
                  "configurations": len(models), "hidden": HIDDEN, "steps": int(x.shape[1]), "batch": BATCH,
                  "repeats": args.repeats, "loss_gap": gap, "times": t, "ratio_cpu": ratio,
                  "ratio_wall": ratio_wall, "anchor_ratio": ANCHOR_RATIO, "goal_ratio": GOAL_RATIO}
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    if args.check and ratio < GOAL_RATIO:
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

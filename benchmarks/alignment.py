"""Time of one centred tangent kernel on the digits probe: ours against nngeometry 0.4 and a per-example autograd loop.

``/work/shared/papers/07-feature-alignment.md`` (the feature-alignment card) §2.5 and §7: the live demo recomputes the
1000 x 1000 centred tangent kernel of the SMALL preset (§3) at log-spaced iterations, so one evaluation must cost no
more than the peer library's and far less than the naive construction. Workload: scikit-learn ``load_digits`` inputs
/ 16 (a seeded random 1297 / 500 split), MLP 64-128-128-10 ReLU (P = 26,122; Kaiming-normal weights, zero biases, seed
0), probe = the first 10 training images of each class (n = 100, c = 10), float32, centring on. Variants:

- ``ours``: ``neurodyn.alignment.tangent_kernel(model, X, centered=True)`` (examples major);
- ``nngeometry``: ``TorchHooksJacobianBackend(centering=True)`` then ``FMatDense(...).to_torch()``, building its
  objects inside the timing as a user would, plus the permutation of its output-major [c, n, c, n] tensor to our
  (n·c, n·c) order (a copy of 1e6 floats, negligible);
- ``loop``: one ``torch.autograd.grad`` per (example, output) pair (1000 backward passes) into the rows of J, then
  J centred over examples per output and ``Jc Jcᵀ``.

The three kernels must agree to 1e-4 relative (max abs difference / max abs entry; float32 rounding only), else the
script fails. Each repeat times ``ours`` and ``nngeometry`` (alternating which goes first, so a change of load on a
shared host hits both) and, in the first ``--loop-repeats`` repeats, the loop; the headline is the median over repeats
of the calling thread's CPU time (torch pinned to one thread), wall-clock medians are printed beside it. Goals:
nngeometry / ours >= 1.0 and loop / ours >= 10.

Run: ``python benchmarks/alignment.py [--repeats 3] [--loop-repeats 1] [--json out.json] [--check]``; ``--check``
exits with 1 when a goal is missed.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from neurodyn.alignment import tangent_kernel

SEED, N_TRAIN, PER_CLASS, WIDTH, CLASSES = 0, 1297, 10, 128, 10
AGREE_TOL = 1e-4
GOAL_NNGEOMETRY, GOAL_LOOP = 1.0, 10.0
ANCHOR_S = 1.1  # card §3: kernel + eigendecomposition of the SMALL preset, one thread of a busy 2-core CPU


def digits_probe() -> torch.Tensor:
    """The SMALL preset's probe: the first ``PER_CLASS`` training images of each digit, grouped by class.

    Returns
    -------
    Tensor, shape (100, 64), float32
        Flattened 8x8 images / 16, classes 0..9 in turn.
    """
    from sklearn.datasets import load_digits

    data = load_digits()
    train = np.random.default_rng(SEED).permutation(len(data.target))[:N_TRAIN]
    x, y = data.data[train] / 16.0, data.target[train]
    rows = np.concatenate([np.flatnonzero(y == k)[:PER_CLASS] for k in range(CLASSES)])
    return torch.as_tensor(x[rows], dtype=torch.float32)


def mlp() -> nn.Sequential:
    """64-128-128-10 ReLU MLP, Kaiming-normal weights (fan in), zero biases, seeded; P = 26,122."""
    torch.manual_seed(SEED)
    model = nn.Sequential(nn.Linear(64, WIDTH), nn.ReLU(), nn.Linear(WIDTH, WIDTH), nn.ReLU(),
                          nn.Linear(WIDTH, CLASSES))
    for layer in model:
        if isinstance(layer, nn.Linear):
            nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
            nn.init.zeros_(layer.bias)
    return model


def kernel_ours(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """Centred tangent kernel from :func:`neurodyn.alignment.tangent_kernel`.

    Parameters
    ----------
    model : nn.Module
    X : Tensor, shape (n, d)

    Returns
    -------
    Tensor, shape (n·c, n·c)
        Examples major (row ``i·c + a``).
    """
    return tangent_kernel(model, X, centered=True)


def kernel_nngeometry(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """nngeometry 0.4's dense centred Gram matrix, permuted to our order; arguments and result as :func:`kernel_ours`.

    ``FMatDense.to_torch()`` is [c, n, c, n], output major, and **not** divided by n (the Gram matrix is the plain sum
    over parameters, unlike nngeometry's FIM objects); its centring is ``C = I − 11ᵀ/n`` on both example axes, i.e. the
    same ``(H ⊗ I_c) K (H ⊗ I_c)``. (``C`` is built in torch's default dtype: fine here, everything is float32.)
    """
    from nngeometry.backend import TorchHooksJacobianBackend
    from nngeometry.object import FMatDense

    backend = TorchHooksJacobianBackend(model=model, function=lambda *batch: model(batch[0]), centering=True)
    G = FMatDense(generator=backend, examples=(X,)).to_torch()
    c, n = G.shape[:2]
    return G.permute(1, 0, 3, 2).reshape(n * c, n * c)


def kernel_loop(model: nn.Module, X: torch.Tensor) -> torch.Tensor:
    """``Jc Jcᵀ`` from one ``autograd.grad`` per (example, output) pair; arguments and result as :func:`kernel_ours`."""
    params = [p for p in model.parameters() if p.requires_grad]
    rows = []
    for i in range(X.shape[0]):
        out = model(X[i:i + 1])[0]
        for a in range(out.shape[0]):
            grads = torch.autograd.grad(out[a], params, retain_graph=a < out.shape[0] - 1)
            rows.append(torch.cat([g.reshape(-1) for g in grads]))
    J = torch.stack(rows).reshape(X.shape[0], -1, rows[0].numel())  # (n, c, P)
    Jc = (J - J.mean(dim=0, keepdim=True)).reshape(len(rows), -1)
    return Jc @ Jc.T


def timed(fn: Callable[[nn.Module, torch.Tensor], torch.Tensor], model: nn.Module,
          X: torch.Tensor) -> tuple[torch.Tensor, float, float]:
    """Run ``fn(model, X)``; return its kernel, thread-CPU seconds and wall seconds."""
    c0, w0 = time.thread_time(), time.perf_counter()
    K = fn(model, X)
    return K, time.thread_time() - c0, time.perf_counter() - w0


def rel_diff(A: torch.Tensor, B: torch.Tensor) -> float:
    """max |A − B| / max |B|."""
    return ((A - B).abs().max() / B.abs().max()).item()


def main() -> int:
    """Time the three kernels, check they agree, print the table; the exit code for ``--check``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3, help="evaluations of ours and nngeometry (median)")
    parser.add_argument("--loop-repeats", type=int, default=1, help="evaluations of the slow loop (median)")
    parser.add_argument("--json", default="", help="also write the numbers to this file")
    parser.add_argument("--check", action="store_true",
                        help=f"exit with 1 if nngeometry / ours < {GOAL_NNGEOMETRY} or loop / ours < {GOAL_LOOP}")
    args = parser.parse_args()
    torch.set_num_threads(1)
    import nngeometry  # noqa: F401  (imported here so that its import time stays out of the first timing)

    X, model = digits_probe(), mlp()
    n_params = sum(p.numel() for p in model.parameters())
    runs = {"ours": kernel_ours, "nngeometry": kernel_nngeometry, "loop": kernel_loop}
    for fn in runs.values():  # warm-up on a few examples: allocator, first autograd graph, lazy imports
        fn(model, X[:5])
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    wall: dict[str, list[float]] = {name: [] for name in runs}
    kernels: dict[str, torch.Tensor] = {}
    fast = ["ours", "nngeometry"]
    for r in range(max(args.repeats, args.loop_repeats)):
        order = fast if r % 2 == 0 else fast[::-1]
        names = [name for name in order if r < args.repeats] + (["loop"] if r < args.loop_repeats else [])
        for name in names:
            kernels[name], c, w = timed(runs[name], model, X)
            cpu[name].append(c)
            wall[name].append(w)
    t = {name: {"cpu_s": statistics.median(cpu[name]), "wall_s": statistics.median(wall[name])} for name in runs}
    gaps = {name: rel_diff(kernels[name], kernels["ours"]) for name in ("nngeometry", "loop")}
    ratios = {name: t[name]["cpu_s"] / t["ours"]["cpu_s"] for name in ("nngeometry", "loop")}
    ratios_wall = {name: t[name]["wall_s"] / t["ours"]["wall_s"] for name in ("nngeometry", "loop")}
    met = {"nngeometry": ratios["nngeometry"] >= GOAL_NNGEOMETRY, "loop": ratios["loop"] >= GOAL_LOOP}
    n, m = X.shape[0], kernels["ours"].shape[0]

    print(f"torch {torch.__version__}, 1 thread; digits MLP 64-{WIDTH}-{WIDTH}-{CLASSES} ReLU (P = {n_params:,}), "
          f"probe n = {n} ({PER_CLASS} per class), centred kernel {m} x {m}, float32; median of {args.repeats} runs "
          f"(loop: {args.loop_repeats}) after a warm-up")
    print(f"agreement with ours (max |diff| / max |K|): nngeometry {gaps['nngeometry']:.1e}, loop {gaps['loop']:.1e} "
          f"(tolerance {AGREE_TOL:g})")
    print(f"{'variant':11} {'cpu s':>8} {'wall s':>8} {'runs':>5}   (card: ~{ANCHOR_S} s with the eigendecomposition)")
    for name in runs:
        print(f"{name:11} {t[name]['cpu_s']:8.3f} {t[name]['wall_s']:8.3f} {len(cpu[name]):5d}")
    print(f"nngeometry / ours: {ratios['nngeometry']:.2f}x (thread CPU), {ratios_wall['nngeometry']:.2f}x (wall); "
          f"goal >= {GOAL_NNGEOMETRY}x: {'met' if met['nngeometry'] else 'NOT met'}")
    print(f"loop / ours: {ratios['loop']:.2f}x (thread CPU), {ratios_wall['loop']:.2f}x (wall); goal >= {GOAL_LOOP}x: "
          f"{'met' if met['loop'] else 'NOT met'}")

    if args.json:
        report = {"machine": f"{platform.machine()}, {platform.python_version()}, torch {torch.__version__}",
                  "n": n, "outputs": CLASSES, "parameters": n_params, "repeats": args.repeats,
                  "loop_repeats": args.loop_repeats, "agreement": gaps, "times": t, "ratio_cpu": ratios,
                  "ratio_wall": ratios_wall, "goals": {"nngeometry": GOAL_NNGEOMETRY, "loop": GOAL_LOOP}, "met": met}
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    bad = {name: gap for name, gap in gaps.items() if not gap < AGREE_TOL}
    if bad:
        raise AssertionError(f"kernels disagree with ours beyond {AGREE_TOL:g} relative: {bad}")
    if args.check and not all(met.values()):
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Forward + backward time of the block-diagonal grouped leaky RNN against a dense RNN with a masked recurrent matrix.

``docs/papers/multitask.md §2`` and ``/work/shared/papers/04-modular-primitives.md`` §7: the MoLaP network's modules
have no connections between them, so its recurrence is stored only as M diagonal n x n blocks and run as one batched
product over the blocks per step (:class:`neurodyn.multitask.network.LeakyRNN`, time loop with a hand-written
backward through time). The obvious alternative keeps a dense N x N weight and multiplies it by a fixed 0/1 block mask
at every step, so that the gradient of the off-block entries is 0; it does N / n times the arithmetic of the blocks.
Goal: the grouped network is not slower than the dense masked one (ratio dense / grouped >= 1).

Workload, per size (M modules x n units, N = M n): the Yang et al. size N = 256 (M = 4, n = 64) and the SMALL preset
N = 128 (M = 4, n = 32); one group, 5 inputs, 3 outputs, batch 64, T = 40 steps, alpha 0.5, no recurrent noise
(the noise draw is the same for both and would only dilute the ratio), the same weights and inputs for both, all
weights trained. One timed call = forward, mean-squared loss against a fixed random target, backward. Variants:

- ``grouped``: ``LeakyRNN`` (blocks, custom backward);
- ``grouped-autograd``: the same model with ``fused = False`` (plain autograd of the same loop), for reference;
- ``dense-masked``: a dense (N, N) weight times the fixed block mask at every step, plain autograd.

The outputs and the input-weight gradients of the three must agree (float32 rounding only), else the script fails.
Each repeat times every variant (rotating the order, so a change of load on a shared host hits all); the headline is
the median over repeats of the process CPU time per call (torch pinned to one thread), wall-clock medians beside it.
Then, for the record, the time of one training step (forward, backward, Adam) of the page's two grouped models, with
recurrent noise: 4 task groups sharing one frozen core of 4 x 32 units (MoLaP), and 4 groups of 1 x 64 units trained
in full (Separate).

Run: ``python benchmarks/multitask.py [--repeats 5] [--calls 10] [--json out.json] [--check]``; ``--check`` exits with
1 when a dense / grouped ratio is below 1.
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

import torch
from torch import Tensor, nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from neurodyn.multitask.network import LeakyRNN, masked_mse

SIZES = ((4, 64), (4, 32))  # (M, n): N = 256 (Yang et al.) and N = 128 (SMALL)
BATCH, STEPS, D_IN, D_OUT, ALPHA = 64, 40, 5, 3, 0.5
AGREE_TOL = 1e-4
GOAL_RATIO = 1.0


class DenseMaskedRNN(nn.Module):
    """One leaky ReLU RNN with a dense recurrent weight multiplied by a fixed block mask at every step.

    Parameters
    ----------
    model : LeakyRNN
        A one-group model whose weights are copied (``w_rec`` becomes the dense block-diagonal matrix).
    """

    def __init__(self, model: LeakyRNN) -> None:
        super().__init__()
        n, m = model.module_size, model.n_modules
        self.register_buffer("mask", torch.block_diag(*[torch.ones(n, n)] * m))
        self.w_rec = nn.Parameter(model.recurrent_matrix(0).clone())
        self.w_in = nn.Parameter(model.w_in.detach()[0].clone())
        self.bias = nn.Parameter((model.b_in.detach()[0] + model.b_rec.detach()[0]).clone())
        self.w_out = nn.Parameter(model.w_out.detach()[0].clone())
        self.b_out = nn.Parameter(model.b_out.detach()[0].clone())
        self.alpha = model.alpha

    def forward(self, x: Tensor) -> Tensor:
        """Outputs (B, T, d_out) for inputs (B, T, d_in)."""
        drive = x @ self.w_in.T + self.bias  # all steps at once, as the grouped model does
        h = x.new_zeros(x.shape[0], self.w_rec.shape[0])
        states = []
        for t in range(x.shape[1]):
            w = self.w_rec * self.mask  # the masked dense product, every step
            h = (1 - self.alpha) * h + self.alpha * torch.relu(h @ w.T + drive[:, t])
            states.append(h)
        return torch.stack(states, 1) @ self.w_out.T + self.b_out


def _fwd_bwd(model: nn.Module, x: Tensor, target: Tensor, grouped: bool) -> tuple[Tensor, Tensor]:
    """One forward + loss + backward; returns the outputs (B, T, d_out) and the input-weight gradient (N, d_in)."""
    model.zero_grad(set_to_none=True)
    y = model(x[None])[0][0] if grouped else model(x)
    (y - target).pow(2).mean().backward()
    return y.detach(), (model.w_in.grad[0] if grouped else model.w_in.grad)


def _timed(fn: Callable[[], object], calls: int) -> tuple[float, float]:
    """Process-CPU and wall seconds per call of ``fn`` over ``calls`` calls."""
    c0, w0 = time.process_time(), time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.process_time() - c0) / calls, (time.perf_counter() - w0) / calls


def compare(m: int, n: int, repeats: int, calls: int) -> dict:
    """Time the three variants at one size; check that they agree."""
    grouped = LeakyRNN(D_IN, D_OUT, n_modules=m, module_size=n, alpha=ALPHA, sigma_rec=0.0,
                       generator=torch.Generator().manual_seed(0))
    plain = LeakyRNN(D_IN, D_OUT, n_modules=m, module_size=n, alpha=ALPHA, sigma_rec=0.0,
                     generator=torch.Generator().manual_seed(0))
    plain.fused = False
    dense = DenseMaskedRNN(grouped)
    gen = torch.Generator().manual_seed(1)
    x, target = torch.randn(BATCH, STEPS, D_IN, generator=gen), torch.randn(BATCH, STEPS, D_OUT, generator=gen)
    runs = {"grouped": lambda: _fwd_bwd(grouped, x, target, True),
            "grouped-autograd": lambda: _fwd_bwd(plain, x, target, True),
            "dense-masked": lambda: _fwd_bwd(dense, x, target, False)}
    results = {name: fn() for name, fn in runs.items()}  # warm-up and agreement
    y_ref, g_ref = results["dense-masked"]
    gaps = {name: max((y - y_ref).abs().max().item(), (g - g_ref).abs().max().item() / g_ref.abs().max().item())
            for name, (y, g) in results.items()}
    if max(gaps.values()) > AGREE_TOL:
        raise SystemExit(f"variants disagree at M={m}, n={n}: {gaps}")
    cpu: dict[str, list[float]] = {name: [] for name in runs}
    wall: dict[str, list[float]] = {name: [] for name in runs}
    names = list(runs)
    for r in range(repeats):
        for name in names[r % 3:] + names[:r % 3]:
            c, w = _timed(runs[name], calls)
            cpu[name].append(c)
            wall[name].append(w)
    times = {name: {"cpu_s": statistics.median(cpu[name]), "wall_s": statistics.median(wall[name])} for name in runs}
    return {"M": m, "n": n, "N": m * n, "times": times, "max_gap": max(gaps.values()),
            "ratio_cpu": times["dense-masked"]["cpu_s"] / times["grouped"]["cpu_s"],
            "ratio_wall": times["dense-masked"]["wall_s"] / times["grouped"]["wall_s"]}


def training_step(shared: bool, m: int, n: int, repeats: int, calls: int) -> float:
    """Median process-CPU seconds of one Adam step of a 4-group model with recurrent noise (batch 64, T = 40)."""
    groups = 4
    net = LeakyRNN(D_IN, D_OUT, n_groups=groups, n_modules=m, module_size=n, shared_recurrence=shared, alpha=ALPHA,
                   sigma_rec=0.05, generator=torch.Generator().manual_seed(0))
    if shared:
        net.freeze_recurrence()
    opt = torch.optim.Adam([p for p in net.parameters() if p.requires_grad], lr=1e-3)
    gen, noise = torch.Generator().manual_seed(2), torch.Generator().manual_seed(3)
    x = torch.randn(groups, BATCH, STEPS, D_IN, generator=gen)
    target, mask = torch.randn(groups, BATCH, STEPS, D_OUT, generator=gen), torch.ones(BATCH, STEPS)

    def step() -> None:
        y, _ = net(x, noise=noise)
        loss = masked_mse(y, target, mask)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()

    step()
    return statistics.median(_timed(step, calls)[0] for _ in range(repeats))


def main() -> int:
    """Time the variants at both sizes, print the table; the exit code for ``--check``."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5, help="timed rounds of each variant (median)")
    parser.add_argument("--calls", type=int, default=10, help="forward+backward calls per round")
    parser.add_argument("--json", default="", help="also write the numbers to this file")
    parser.add_argument("--check", action="store_true", help=f"exit with 1 if a dense / grouped ratio < {GOAL_RATIO}")
    args = parser.parse_args()
    torch.set_num_threads(1)

    print(f"torch {torch.__version__}, 1 thread; one leaky ReLU RNN, batch {BATCH}, T = {STEPS}, {D_IN} inputs, "
          f"{D_OUT} outputs, forward + MSE + backward, all weights trained; median of {args.repeats} rounds of "
          f"{args.calls} calls (process CPU time; wall clock beside it)")
    rows = [compare(m, n, args.repeats, args.calls) for m, n in SIZES]
    print(f"{'size':22} {'variant':17} {'cpu ms/call':>11} {'ms/step':>8} {'wall ms/call':>12}")
    for row in rows:
        size = f"M={row['M']} x n={row['n']} (N={row['N']})"
        for name, t in row["times"].items():
            print(f"{size:22} {name:17} {t['cpu_s'] * 1e3:11.2f} {t['cpu_s'] * 1e3 / STEPS:8.3f} "
                  f"{t['wall_s'] * 1e3:12.2f}")
        print(f"{size:22} grouped is {row['ratio_cpu']:.2f}x the speed of dense (CPU; wall {row['ratio_wall']:.2f}x); "
              f"custom backward {row['times']['grouped-autograd']['cpu_s'] / row['times']['grouped']['cpu_s']:.2f}x "
              f"plain autograd; max gap {row['max_gap']:.1e}; goal >= {GOAL_RATIO}x: "
              f"{'met' if row['ratio_cpu'] >= GOAL_RATIO else 'NOT met'}")
    train = {"MoLaP 4 groups x (4 x 32), shared frozen core": training_step(True, 4, 32, args.repeats, args.calls),
             "Separate 4 groups x (1 x 64), all trained": training_step(False, 1, 64, args.repeats, args.calls)}
    print(f"one training step (forward + backward + Adam, recurrent noise on), batch {BATCH}, T = {STEPS}:")
    for name, seconds in train.items():
        print(f"  {name:48} {seconds * 1e3:7.2f} ms CPU")

    if args.json:
        report = {"machine": f"{platform.machine()}, {platform.python_version()}, torch {torch.__version__}",
                  "batch": BATCH, "steps": STEPS, "repeats": args.repeats, "calls": args.calls, "sizes": rows,
                  "training_step_cpu_s": train, "goal_ratio": GOAL_RATIO}
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n")
    if args.check and any(row["ratio_cpu"] < GOAL_RATIO for row in rows):
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

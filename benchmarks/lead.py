"""Time per step of LEAD against SimGDA and ExtraGradient (arXiv:2010.13846; goal: LEAD <= 2.5x a SimGDA step).

Two workloads, in one run, on one torch thread:

- the small 8-Gaussian GAN of the ``lead_gan`` experiment (one seed; general-sum losses ``(L_G, L_D)``);
- a 1000-dimensional bilinear game ``f = x^T A y``.

LEAD costs one gradient plus the coupling Hessian-vector products (about 2x GDA, docs/papers/lead.md §11);
extragradient costs two gradients. Steps of the three optimizers are interleaved in rounds. On CPU the clock is the
calling thread's CPU time (``time.thread_time``; torch runs on that one thread), which does not count the time other
processes on a shared machine take from us; the median round gives the ratios and the fastest is printed beside it. On
CUDA the clock is wall time after synchronising.

Usage: ``python benchmarks/lead.py [--rounds 30] [--device cpu]``
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Callable

import torch

from neurodyn.core.seeding import resolve_device, torch_generator
from neurodyn.lead import LEAD, ExtraGradient, SimGDA
from neurodyn.lead.experiment import GAN_PRESETS
from neurodyn.lead.games import StackedMLP, gan_losses, sample_eight_gaussians

OPTIMIZERS = {
    "SimGDA": lambda groups: SimGDA(groups, lr=1e-3),
    "ExtraGradient": lambda groups: ExtraGradient(groups, lr=1e-3),
    "LEAD": lambda groups: LEAD(groups, lr=1e-3, beta=0.5, alpha=0.5),
}


def gan_workload(device: torch.device) -> Callable[[str], Callable[[], None]]:
    """Return ``make(name) -> step()`` for the small 8-Gaussian GAN."""
    c = GAN_PRESETS["small"]
    gen = torch_generator(0, device=device)
    real = sample_eight_gaussians((1, c.batch_size), gen, device=device)
    z = torch.randn(1, c.batch_size, c.z_dim, generator=gen, device=device)

    def make(name: str) -> Callable[[], None]:
        g = torch_generator(1)
        G = StackedMLP(1, (c.z_dim,) + (c.hidden,) * c.n_layers + (2,), g).to(device)
        D = StackedMLP(1, (2,) + (c.hidden,) * c.n_layers + (1,), g).to(device)
        opt = OPTIMIZERS[name]([{"params": list(G.parameters()), "role": "min"},
                                {"params": list(D.parameters()), "role": "max"}])
        return lambda: opt.step(lambda: gan_losses(G, D, real, z))

    return make


def bilinear_workload(device: torch.device, dim: int = 1000) -> Callable[[str], Callable[[], None]]:
    """Return ``make(name) -> step()`` for ``f = x^T A y`` with a dim x dim Gaussian A / sqrt(dim)."""
    gen = torch_generator(2, device=device)
    A = torch.randn(dim, dim, generator=gen, device=device) / dim**0.5
    x0 = torch.randn(dim, generator=gen, device=device)
    y0 = torch.randn(dim, generator=gen, device=device)

    def make(name: str) -> Callable[[], None]:
        x, y = x0.clone().requires_grad_(True), y0.clone().requires_grad_(True)
        opt = OPTIMIZERS[name]([{"params": [x], "role": "min"}, {"params": [y], "role": "max"}])
        return lambda: opt.step(lambda: x @ (A @ y))

    return make


def time_interleaved(make: Callable[[str], Callable[[], None]], rounds: int, per_round: int = 5,
                     device: torch.device | None = None) -> dict[str, tuple[float, float]]:
    """(median, fastest) seconds per step of each optimizer, measured in interleaved rounds."""
    steps = {name: make(name) for name in OPTIMIZERS}
    for step in steps.values():  # warm-up
        for _ in range(3):
            step()
    times: dict[str, list[float]] = {name: [] for name in OPTIMIZERS}
    cuda = device is not None and device.type == "cuda"
    clock = time.perf_counter if cuda else time.thread_time
    for _ in range(rounds):
        for name, step in steps.items():
            if cuda:
                torch.cuda.synchronize()
            t0 = clock()
            for _ in range(per_round):
                step()
            if cuda:
                torch.cuda.synchronize()
            times[name].append((clock() - t0) / per_round)
    return {name: (statistics.median(ts), min(ts)) for name, ts in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    print(f"device {device}, {args.threads} torch thread(s), {args.rounds} interleaved rounds, "
          f"{'wall' if device.type == 'cuda' else 'thread CPU'} time (median / fastest)")
    worst = 0.0
    for label, make in (("8-Gaussian GAN (small preset, 1 seed)", gan_workload(device)),
                        ("bilinear game, 1000 + 1000 dims", bilinear_workload(device))):
        t = time_interleaved(make, args.rounds, device=device)
        print(f"\n{label}")
        for name, (med, fast) in t.items():
            print(f"  {name:14s} {1e3 * med:8.3f} ms/step  (fastest {1e3 * fast:.3f})")
        r_gda, r_eg = t["LEAD"][0] / t["SimGDA"][0], t["LEAD"][0] / t["ExtraGradient"][0]
        worst = max(worst, r_gda)
        print(f"  ratio LEAD / SimGDA        = {r_gda:.2f}x  (goal <= 2.5x)")
        print(f"  ratio LEAD / ExtraGradient = {r_eg:.2f}x")
    print(f"\nworst LEAD / SimGDA ratio: {worst:.2f}x -> {'meets' if worst <= 2.5 else 'misses'} the 2.5x goal")


if __name__ == "__main__":
    main()

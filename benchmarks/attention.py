"""Forward + backward time of CompositionalAttention(S=H, R=H) against torch.nn.MultiheadAttention(H); and, with
``--seeds``, the toy experiment's final losses over several seeds (the results file the page and the doc quote).

Compositional attention (arXiv:2110.09419) aggregates R value blocks per search, so at R = S = H its
value step does H times the work of multi-head attention (``docs/papers/attention.md §9``); the goal is <= 1.5x
MHA's time. Both modules have no biases and the same model width D. Beside each measured ratio the script prints
the ratio of the two modules' forward multiply-adds ("madd ratio"). It is what the paper's equations cost, whatever
the implementation: it is 1.30x / 1.38x at H = 2 and above 1.5x from H = 4 on, so the goal is a goal for H = 2,
and from H = 4 on the row is judged against the madd ratio instead (the "verdict" column says which).
Run: ``python benchmarks/attention.py [--devices cpu cuda]``.

Seed sweep (``docs/papers/attention.md §7``): ``python benchmarks/attention.py --seeds 0 1 2 3 --preset small
[--set concat=false]`` trains the ``attention`` experiment once per seed (one torch thread, CPU) and stores, per
seed, the held-out L1 of both models averaged over the run's final evaluations (as the claim check averages them),
the selection accuracy and the seconds taken, under the setting's label in ``neurodyn/attention/seed_runs.json``.
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from neurodyn.attention import SPEC, CompositionalAttention, final_records
from neurodyn.attention.page_support import SEED_RUNS
from neurodyn.core.config import parse_assignments
from neurodyn.core.loop import run

SHAPES = ((32, 128, 256), (8, 512, 256))  # (B, N, D)


def bench(B: int, N: int, D: int, H: int, device: torch.device, repeats: int) -> tuple[float, float]:
    """Median forward+backward seconds of (compositional, torch MHA), measured in interleaved rounds.

    On CPU the clock is the calling thread's CPU time (``time.thread_time``; torch runs on that one thread), so
    other processes on a shared machine do not inflate either side; on CUDA it is wall time after synchronising.
    """
    comp = CompositionalAttention(D, H, H).to(device)
    mha = torch.nn.MultiheadAttention(D, H, bias=False, batch_first=True).to(device)
    g = torch.Generator(device=device).manual_seed(0)
    x = torch.randn(B, N, D, generator=g, device=device, requires_grad=True)
    cuda = device.type == "cuda"
    sync = torch.cuda.synchronize if cuda else (lambda: None)
    clock = time.perf_counter if cuda else time.thread_time

    def run_comp() -> None:
        comp(x).sum().backward()

    def run_mha() -> None:
        mha(x, x, x, need_weights=False)[0].sum().backward()

    times: dict[str, list[float]] = {"comp": [], "mha": []}
    for fn in (run_comp, run_mha):  # warm-up
        fn()
    for _ in range(repeats):
        for name, fn in (("comp", run_comp), ("mha", run_mha)):
            sync()
            t0 = clock()
            fn()
            sync()
            times[name].append(clock() - t0)
    return statistics.median(times["comp"]), statistics.median(times["mha"])


GOAL = 1.5


def mha_madds(B: int, N: int, D: int, H: int) -> int:
    """Forward multiply-adds of multi-head attention with H heads of width D // H: four D x D projections, the
    scores and the values (B N^2 D each)."""
    return 4 * B * N * D * D + 2 * B * N * N * D


def comp_madds(B: int, N: int, D: int, H: int) -> int:
    """Forward multiply-adds of CompositionalAttention(S=R=H) with default widths (D // H).

    Five D x D projections (q, k, v, the retrieval query in value space, out), the scores (B N^2 D), the values for
    all S x R pairings (S B N^2 D), and the retrieval scoring and mixing (B S N R d_v = B N H D each).
    """
    return 5 * B * N * D * D + B * N * N * D + H * B * N * N * D + 2 * B * N * H * D


def madd_ratio(B: int, N: int, D: int, H: int) -> float:
    """``comp_madds / mha_madds``: what the paper's equations cost relative to MHA, whatever the implementation."""
    return comp_madds(B, N, D, H) / mha_madds(B, N, D, H)


def verdict(ratio: float, bound: float) -> str:
    """``meets`` the 1.5x goal, or, where the equations' own cost exceeds it, measured / madd ratio."""
    if ratio <= GOAL:
        return "meets"
    if bound > GOAL:
        return f"madd ratio > {GOAL}; measured/madd {ratio / bound:.2f}"
    return "MISSES"


def seed_run(preset: str, overrides: dict[str, str], seed: int) -> dict[str, Any]:
    """Train the ``attention`` experiment once on CPU and summarise its end.

    Parameters
    ----------
    preset : str
    overrides : dict of str to str
        Config overrides as ``k=v`` text.
    seed : int

    Returns
    -------
    dict
        ``seed``, ``comp`` and ``mha`` (held-out L1 averaged over the final evaluations, as the claim check takes
        it), ``comp_last`` and ``mha_last`` (the last evaluation), ``selection`` and ``sharpness`` (last record),
        ``seconds`` (wall time).
    """
    spec = SPEC.experiment("attention")
    cfg = spec.config(preset, {**overrides, "seed": str(seed), "device": "cpu"})
    t0 = time.perf_counter()
    records = list(run(spec.build(cfg)))
    seconds = time.perf_counter() - t0
    final, last = final_records(records, cfg), records[-1].metrics

    def mean(key: str) -> float:
        return round(statistics.fmean(r.metrics[key] for r in final), 4)

    return {"seed": seed, "comp": mean("comp_eval_l1"), "mha": mean("mha_eval_l1"),
            "comp_last": round(last["comp_eval_l1"], 4), "mha_last": round(last["mha_eval_l1"], 4),
            "selection": round(last["selection_accuracy"], 4), "sharpness": round(last["value_sharpness"], 4),
            "seconds": round(seconds, 1)}


def seed_sweep(args: argparse.Namespace) -> None:
    """Run :func:`seed_run` for every seed and merge the setting into the results file (printing each row)."""
    overrides = parse_assignments(args.set or [])
    label = args.label or " ".join([args.preset, *(f"{k}={v}" for k, v in sorted(overrides.items()))])
    command = " ".join(["python benchmarks/attention.py --seeds", *map(str, args.seeds), "--preset", args.preset,
                        *(f"--set {k}={v}" for k, v in sorted(overrides.items()))])
    rows = []
    for seed in args.seeds:
        rows.append(seed_run(args.preset, overrides, seed))
        print(json.dumps({"setting": label, **rows[-1]}), flush=True)
    out = Path(args.out)
    data = json.loads(out.read_text()) if out.exists() else {"settings": []}
    data["settings"] = [s for s in data["settings"] if s["label"] != label]
    data["settings"].append({
        "label": label, "preset": args.preset, "overrides": overrides, "command": command,
        "measured": f"{datetime.date.today().isoformat()}, torch {torch.__version__}, 1 thread, "
                    f"{os.cpu_count()} shared CPU cores",
        "runs": rows})
    out.write_text(json.dumps(data, indent=1) + "\n")
    print(f"wrote {label!r} to {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--heads", type=int, nargs="+", default=[2, 4, 8])
    parser.add_argument("--repeats", type=int, default=15, help="interleaved rounds; the median is reported")
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (1 on the shared box)")
    parser.add_argument("--devices", nargs="+", default=["cpu", "cuda"], choices=("cpu", "cuda"),
                        help="devices to time (cuda only where available)")
    parser.add_argument("--seeds", type=int, nargs="+", help="instead of timing: train the toy experiment at these "
                        "seeds and store its final losses in the results file")
    parser.add_argument("--preset", default="small", help="preset of the seed sweep")
    parser.add_argument("--set", action="append", metavar="KEY=VALUE", help="config override of the seed sweep")
    parser.add_argument("--label", help="the setting's name in the results file (default: preset and overrides)")
    parser.add_argument("--out", default=str(SEED_RUNS), help="results file of the seed sweep")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.seeds:
        seed_sweep(args)
        return
    devices = [torch.device(d) for d in args.devices if d == "cpu" or torch.cuda.is_available()]
    print(f"torch {torch.__version__}, {args.threads} CPU thread(s); forward+backward, median of {args.repeats} "
          f"interleaved rounds (CPU: thread CPU time)")
    print(f"{'device':6} {'B':>3} {'N':>4} {'D':>4} {'H':>2} {'comp ms':>9} {'mha ms':>9} {'ratio':>6} "
          f"{'madd ratio':>10}  verdict (goal <= {GOAL}x)")
    for device in devices:
        for B, N, D in SHAPES:
            for H in args.heads:
                t_comp, t_mha = bench(B, N, D, H, device, args.repeats)
                ratio, bound = t_comp / t_mha, madd_ratio(B, N, D, H)
                print(f"{device.type:6} {B:>3} {N:>4} {D:>4} {H:>2} {t_comp * 1e3:9.2f} {t_mha * 1e3:9.2f} "
                      f"{ratio:6.2f}x {bound:9.2f}x  {verdict(ratio, bound)}", flush=True)


if __name__ == "__main__":
    main()

"""Benchmark: ``neurodyn.lyapunov.lyapunov_spectrum`` against the straightforward QR method, in one run.

The baseline is what one writes first: at every step build the full Jacobian ``J_t`` (B, D, D) by autograd, one
backward pass per state unit (rows of independent batch elements share a pass, as in the reference's
``calc_Jac``), then ``Z = J_t Q`` and a batched QR. A second baseline forms ``J_t`` with a vectorised
``torch.func.vmap(jacrev)`` instead. Ours takes ``J_t`` from its closed-form gate blocks, never from autograd
(card 09, section 2.3, and the deviations noted in ``neurodyn/lyapunov/spectrum.py``). All run on the same cell,
inputs, dtype and thread count, and the exponents are compared. On CPU each row is printed for one torch thread and
then for every core (the goal is stated for the machine's CPU).

    python benchmarks/lyapunov.py                  # LSTM (h-only) and GRU, H = 256, B = 15, k = H, T = 50, float64
    python benchmarks/lyapunov.py --hidden 512 --device cuda --dtype float32
"""

from __future__ import annotations

import argparse
import os
import time

import torch
from torch import nn

from neurodyn.lyapunov import lyapunov_spectrum


def make_cell(kind: str, n_in: int, hidden: int, scale: float, device: str) -> nn.Module:
    g = torch.Generator().manual_seed(0)
    with torch.random.fork_rng(devices=[]):
        cell = {"lstm": nn.LSTM, "gru": nn.GRU, "rnn": nn.RNN}[kind](n_in, hidden, batch_first=True)
    with torch.no_grad():
        for p in cell.parameters():
            p.copy_((torch.rand(p.shape, generator=g) * 2 - 1) * scale)
    return cell.to(device)


def module_step(cell: nn.Module, params: dict, lstm_state: str):
    """Batched one step of the torch module: (B, I), (B, D_state) -> (B, D_state)."""
    H = cell.hidden_size

    def step(x: torch.Tensor, s: torch.Tensor) -> torch.Tensor:
        if isinstance(cell, nn.LSTM):
            _, (h, c) = torch.func.functional_call(cell, params, (x.unsqueeze(1), (s[None, :, :H].contiguous(),
                                                                                  s[None, :, H:].contiguous())))
            return torch.cat([h[0], c[0]], dim=1)
        return torch.func.functional_call(cell, params, (x.unsqueeze(1), s.unsqueeze(0)))[1][0]

    return step


def baseline_spectrum(cell: nn.Module, x: torch.Tensor, *, k: int, lstm_state: str, dtype: torch.dtype,
                      vectorised: bool) -> torch.Tensor:
    """Full autograd Jacobian every step, then ``J Q`` and QR; exponents (B, k) sorted, nats per step."""
    H = cell.hidden_size
    params = {n: p.detach().to(dtype) for n, p in cell.named_parameters()}
    step = module_step(cell, params, lstm_state)
    B, T, _ = x.shape
    is_lstm = isinstance(cell, nn.LSTM)
    D_state = 2 * H if is_lstm else H
    D = H if (is_lstm and lstm_state == "h") else D_state
    x = x.to(dtype)
    s = torch.zeros(B, D_state, dtype=dtype, device=x.device)
    Q = torch.eye(D, k, dtype=dtype, device=x.device).expand(B, D, k)
    acc = torch.zeros(B, k, dtype=dtype, device=x.device)
    single = lambda xt, st: step(xt.unsqueeze(0), st.unsqueeze(0))[0]  # noqa: E731
    for t in range(T):
        if vectorised:
            with torch.backends.cudnn.flags(enabled=False):  # cuDNN's RNN kernels cannot run under vmap
                J = torch.func.vmap(torch.func.jacrev(single, argnums=1))(x[:, t], s)  # (B, D_state, D_state)
            with torch.no_grad():
                s = step(x[:, t], s)
        else:
            s_in = s.detach().requires_grad_(True)
            s_out = step(x[:, t], s_in)
            rows = [torch.autograd.grad(s_out[:, i].sum(), s_in, retain_graph=i < D - 1)[0] for i in range(D)]
            J = torch.stack(rows, dim=1)  # (B, D, D_state): row i = d s'_i / d s
            s = s_out.detach()
        J = J[:, :D, :D]
        Q, R = torch.linalg.qr(J @ Q, mode="reduced")
        acc += torch.log(torch.diagonal(R, dim1=-2, dim2=-1).abs())
    return torch.sort(acc / T, dim=1, descending=True).values


def timed_interleaved(fns: dict, repeats: int, device: str) -> tuple[dict, dict]:
    """Best-of-``repeats`` wall time of each function, runs interleaved so that load on a shared host hits all."""
    best = {name: float("inf") for name in fns}
    out = {}
    for _ in range(repeats):
        for name, fn in fns.items():
            if device == "cuda":
                torch.cuda.synchronize()
            t0 = time.perf_counter()
            out[name] = fn()
            if device == "cuda":
                torch.cuda.synchronize()
            best[name] = min(best[name], time.perf_counter() - t0)
    return best, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hidden", type=int, default=256)
    ap.add_argument("--batch", type=int, default=15)
    ap.add_argument("--steps", type=int, default=50, help="measured time steps T")
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"))
    ap.add_argument("--dtype", default="float64", choices=("float64", "float32"))
    ap.add_argument("--threads", type=int, nargs="+", default=[1, os.cpu_count() or 1],
                    help="torch CPU thread counts to run (default: 1, then every core)")
    ap.add_argument("--repeats", type=int, default=3, help="best of N, runs interleaved")
    ap.add_argument("--cells", default="lstm,gru", help="comma list of lstm, lstm_hc, gru, rnn")
    ap.add_argument("--skip-vectorised", action="store_true", help="skip the vmap(jacrev) baseline")
    args = ap.parse_args()
    dtype = getattr(torch, args.dtype)
    H, B, T = args.hidden, args.batch, args.steps
    n_in = 64
    x = torch.randn(B, T, n_in, generator=torch.Generator().manual_seed(1)).to(args.device)
    threads = sorted(set(args.threads)) if args.device == "cpu" else [1]
    for n_threads in threads:
        torch.set_num_threads(n_threads)
        dev_name = torch.cuda.get_device_name() if args.device == "cuda" else f"CPU, {n_threads} thread(s)"
        print(f"torch {torch.__version__}, {dev_name}, {args.dtype}, H={H}, B={B}, T={T}, k=H, best of "
              f"{args.repeats}")
        print(f"{'cell':<14}{'ours s/step':>12}{'loop-autograd':>15}{'speed-up':>10}{'vmap-jacrev':>13}"
              f"{'speed-up':>10}{'max |dλ|':>11}")
        for name in args.cells.split(","):
            kind, lstm_state = ("lstm", "hc") if name == "lstm_hc" else (name, "h")
            cell = make_cell(kind, n_in, H, 1.0 / H**0.5, args.device)
            k = 2 * H if name == "lstm_hc" else H
            fns = {
                "ours": lambda: lyapunov_spectrum(cell, x, k=k, lstm_state=lstm_state, dtype=dtype).exponents,
                "loop": lambda: baseline_spectrum(cell, x, k=k, lstm_state=lstm_state, dtype=dtype,
                                                  vectorised=False),
            }
            if not args.skip_vectorised:
                fns["vmap"] = lambda: baseline_spectrum(cell, x, k=k, lstm_state=lstm_state, dtype=dtype,
                                                        vectorised=True)
            t, out = timed_interleaved(fns, args.repeats, args.device)
            diff = max((out["ours"] - out[b]).abs().max().item() for b in fns if b != "ours")
            line = f"{name:<14}{t['ours'] / T:>12.4f}{t['loop'] / T:>15.4f}{t['loop'] / t['ours']:>9.1f}x"
            if "vmap" in t:
                line += f"{t['vmap'] / T:>13.4f}{t['vmap'] / t['ours']:>9.1f}x"
            else:
                line += f"{'-':>13}{'-':>10}"
            print(line + f"{diff:>11.1e}  goal: speed-up >= 5x on the LSTM, |dλ| <= 1e-8 in float64"
                  if name == "lstm" else line + f"{diff:>11.1e}", flush=True)
    print("LSTM rows use the reference's h-only Jacobian (k = H) unless named lstm_hc (k = 2H).")


if __name__ == "__main__":
    main()

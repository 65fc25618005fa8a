"""Benchmark: ``neurodyn.lyapunov.lyapunov_spectrum`` against the straightforward QR method, in one run.

Torch cells. The baseline is what one writes first: at every step build the full Jacobian ``J_t`` (B, D, D) by
autograd, one backward pass per state unit (rows of independent batch elements share a pass, as in the reference's
``calc_Jac``), then ``Z = J_t Q`` and a batched QR. A second baseline forms ``J_t`` with a vectorised
``torch.func.vmap(jacrev)`` instead. Ours takes ``J_t`` from its closed-form gate blocks, never from autograd
(``docs/papers/lyapunov.md §3``). All run on the same cell, inputs, dtype and thread count, and the exponents are
compared. On CPU each row is printed for one torch thread and then for every core.

Small generic systems (``docs/papers/lyapunov.md §3``, generic callables). The logistic map at r = 4 (D = 1) and the
Lorenz system integrated by RK4 (D = 3, dt = 0.01), given to ``lyapunov_spectrum`` as plain ``step(x, s)``
callables (Jacobians by automatic differentiation), against a plain NumPy loop with hand-written Jacobians and
``numpy.linalg.qr``, timed in the same run, best of N, interleaved; also the per-step JVP route (``torch.func``
vmap of jvp, the only route before issue 13) for comparison. Goal: the generic path within 3x of the NumPy loop.

    python benchmarks/lyapunov.py                  # generic systems, then LSTM (h-only) and GRU, H = 256, B = 15
    python benchmarks/lyapunov.py --generic-only   # only the small generic systems (a few seconds)
    python benchmarks/lyapunov.py --hidden 512 --device cuda --dtype float32 --skip-generic
"""

from __future__ import annotations

import argparse
import math
import os
import time
from unittest import mock

import numpy as np
import torch
from torch import nn

from neurodyn.lyapunov import lyapunov_spectrum, spectrum
from neurodyn.lyapunov import systems as systems_mod


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
    def single(xt, st):
        return step(xt.unsqueeze(0), st.unsqueeze(0))[0]

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


def numpy_logistic(T: int, s0: float, r: float = 4.0) -> np.ndarray:
    """Plain NumPy QR loop for the logistic map (hand-written derivative); exponent (1,), nats per step."""
    s, Q, acc = s0, np.eye(1), np.zeros(1)
    for _ in range(T):
        J = np.array([[r * (1.0 - 2.0 * s)]])
        s = r * s * (1.0 - s)
        Q, R = np.linalg.qr(J @ Q)
        acc += np.log(np.abs(np.diag(R)))
    return acc / T


def _lorenz_np(s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    x, y, z = s
    f = np.array([10.0 * (y - x), x * (28.0 - z) - y, x * y - 8.0 / 3.0 * z])
    jac = np.array([[-10.0, 10.0, 0.0], [28.0 - z, -1.0, -x], [y, x, -8.0 / 3.0]])
    return f, jac


def numpy_lorenz(T: int, s0: np.ndarray, dt: float = 0.01) -> np.ndarray:
    """Plain NumPy QR loop for Lorenz RK4 with the step's Jacobian by the chain rule; (3,), nats per step."""
    s, Q, acc, eye = np.array(s0, dtype=float), np.eye(3), np.zeros(3), np.eye(3)
    for _ in range(T):
        k1, j1 = _lorenz_np(s)
        s2 = s + 0.5 * dt * k1
        k2, j2 = _lorenz_np(s2)
        d2 = j2 @ (eye + 0.5 * dt * j1)  # d k2 / d s
        s3 = s + 0.5 * dt * k2
        k3, j3 = _lorenz_np(s3)
        d3 = j3 @ (eye + 0.5 * dt * d2)
        k4, j4 = _lorenz_np(s + dt * k3)
        d4 = j4 @ (eye + dt * d3)
        J = eye + (dt / 6.0) * (j1 + 2.0 * d2 + 2.0 * d3 + d4)
        s = s + (dt / 6.0) * (k1 + 2.0 * k2 + 2.0 * k3 + k4)
        Q, R = np.linalg.qr(J @ Q)
        acc += np.log(np.abs(np.diag(R)))
    return acc / T


def generic_rows(steps: int, repeats: int) -> None:
    """Time the generic-callable path on the logistic map and Lorenz RK4 against a plain NumPy QR loop."""
    torch.set_num_threads(1)
    f64 = torch.float64
    systems = {
        "logistic r=4": (systems_mod.logistic_step(4.0), torch.tensor([[0.3]], dtype=f64),
                         lambda: numpy_logistic(steps, 0.3)),
        "Lorenz RK4": (systems_mod.lorenz_rk4_step(0.01), torch.tensor([[1.0, 1.0, 1.0]], dtype=f64),
                       lambda: numpy_lorenz(steps, np.array([1.0, 1.0, 1.0]))),
    }
    print(f"torch {torch.__version__}, numpy {np.__version__}, CPU, 1 thread, float64, B = 1, T = {steps}, "
          f"k = D, best of {repeats}")
    n_jvp = min(steps, 200)
    print(f"{'system':<14}{'generic ms/step':>16}{'step calls':>12}{'numpy ms/step':>15}{'ratio':>8}{'JVP route':>11}"
          f"{'max |dλ|':>10}  λ (generic path)")
    for name, (step, h0, numpy_fn) in systems.items():
        x = torch.zeros(1, steps, 1, dtype=f64)

        def ours(step=step, h0=h0, x=x) -> np.ndarray:
            return lyapunov_spectrum(step, x, h0=h0).exponents[0].numpy()

        def calls_only(step=step, h0=h0, x=x) -> None:  # what the callable alone costs
            with torch.no_grad():
                s = h0
                for t in range(steps):
                    s = step(x[:, t], s)

        def jvp_route(step=step, h0=h0, x=x[:, :n_jvp]) -> np.ndarray:
            with mock.patch.object(spectrum._GenericCell, "use_blocks", return_value=False):
                return lyapunov_spectrum(step, x, h0=h0).exponents[0].numpy()

        ours()  # the first calls pay one-off costs (autograd's first backward, functorch's first transform)
        jvp_route(x=x[:, :5])
        t, out = timed_interleaved({"ours": ours, "numpy": numpy_fn, "calls": calls_only}, repeats, "cpu")
        t_jvp, _ = timed_interleaved({"jvp": jvp_route}, 1, "cpu")
        diff = float(np.max(np.abs(out["ours"] - np.sort(out["numpy"])[::-1])))
        lam = ", ".join(f"{v:.4f}" for v in out["ours"])
        print(f"{name:<14}{t['ours'] / steps * 1e3:>16.3f}{t['calls'] / steps * 1e3:>12.3f}"
              f"{t['numpy'] / steps * 1e3:>15.3f}{t['ours'] / t['numpy']:>7.1f}x"
              f"{t_jvp['jvp'] / n_jvp * 1e3:>11.2f}{diff:>10.1e}  {lam}", flush=True)
    print(f"goal: ratio <= 3x. 'step calls': T plain calls of the callable under torch.no_grad (the generic path "
          "makes the same calls under torch.inference_mode, a little cheaper). JVP route: the per-step vmap of jvp "
          f"(the only route before issue 13), one run of {n_jvp} steps after a warm-up call. Known values: logistic "
          f"ln 2 = {math.log(2):.4f} per step; Lorenz (0.9056, 0, -14.5723) per unit time, i.e. λ / dt, reached only "
          "for long T.")


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
    ap.add_argument("--generic-steps", type=int, default=2000, help="time steps T of the generic-system rows")
    ap.add_argument("--generic-only", action="store_true", help="only the small generic systems")
    ap.add_argument("--skip-generic", action="store_true", help="skip the small generic systems")
    args = ap.parse_args()
    if not args.skip_generic:
        generic_rows(args.generic_steps, args.repeats)
        if args.generic_only:
            return
        print()
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

"""Training-step time of BRIMs with grouped modules against the reference layout and against a plain LSTM.

``docs/papers/brims.md §8``: the reference code keeps each layer's modules in one dense ``nn.LSTMCell`` and zeroes
its off-block-diagonal weights before every forward pass (a user saw BRIMs about 40x slower than a cuDNN LSTM); the
project's prototype measured about 10x ``nn.LSTM`` on CPU. This script times one Adam step (forward, backward,
clipping, update) on a batch of the small preset (64 digits, 8 rows of 8 pixels) for:

- ``grouped``: :class:`neurodyn.brims.BRIMs` as it is (one batched product over modules);
- ``dense-zeroed``: the same model whose LSTM cells are dense ``n d_in -> n d`` cells whose off-block weights are
  multiplied by a block mask before every forward pass, as the reference does (same function, same blocks);
- ``lstm``: the 2-layer ``nn.LSTM(32, 64)`` baseline of the page.

Run: ``python benchmarks/brims.py [--repeats 30] [--paper]``; it prints milliseconds per step and the ratios, and
with ``--paper`` one step of the ``paper`` preset's models and the time per epoch that implies.
"""

from __future__ import annotations

import argparse
import copy
import statistics
import sys
import time
from pathlib import Path

import torch
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
from neurodyn.brims import BRIMs, GroupLSTMCell
from neurodyn.brims.experiment import LSTMClassifier


class DenseZeroedLSTMCell(nn.Module):
    """The reference layout: one dense LSTM cell over all modules, off-block weights masked to zero on every call.

    Holds the same function as a :class:`GroupLSTMCell` (its blocks are copied in); gate-major rows as
    ``nn.LSTMCell``. Shapes as :class:`GroupLSTMCell`: x (B, n, d_in), h and c (B, n, d).
    """

    def __init__(self, group: GroupLSTMCell) -> None:
        super().__init__()
        n, d_in, d = group.n, group.d_in, group.d_hidden
        self.n, self.d = n, d
        self.cell = nn.LSTMCell(n * d_in, n * d)
        mask_ih = torch.zeros(4 * n * d, n * d_in)
        mask_hh = torch.zeros(4 * n * d, n * d)
        with torch.no_grad():
            self.cell.bias_hh.zero_()
            for m in range(n):
                for gate in range(4):
                    rows = slice(gate * n * d + m * d, gate * n * d + (m + 1) * d)
                    cols = slice(gate * d, (gate + 1) * d)
                    self.cell.weight_ih[rows, m * d_in:(m + 1) * d_in] = group.weight_ih[m][:, cols].T
                    self.cell.weight_hh[rows, m * d:(m + 1) * d] = group.weight_hh[m][:, cols].T
                    self.cell.bias_ih[rows] = group.bias[m][cols]
                    mask_ih[rows, m * d_in:(m + 1) * d_in] = 1
                    mask_hh[rows, m * d:(m + 1) * d] = 1
        self.register_buffer("mask_ih", mask_ih)
        self.register_buffer("mask_hh", mask_hh)

    @torch.no_grad()
    def blockify(self) -> None:
        """Zero the off-block weights (the optimizer writes into them between steps), as ``blockify_params``."""
        self.cell.weight_ih.mul_(self.mask_ih)
        self.cell.weight_hh.mul_(self.mask_hh)

    def forward(self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """One time step of the dense cell over all modules."""
        h, c = state
        B = x.shape[0]
        h1, c1 = self.cell(x.reshape(B, -1), (h.reshape(B, -1), c.reshape(B, -1)))
        return h1.view(B, self.n, self.d), c1.view(B, self.n, self.d)


def dense_zeroed(model: BRIMs) -> BRIMs:
    """``model`` with every layer's grouped LSTM replaced by the reference's dense cell (in place), re-zeroed before
    every forward pass of the model."""
    for layer in model.layers:
        layer.cell = DenseZeroedLSTMCell(layer.cell)
    model.register_forward_pre_hook(lambda module, args: [layer.cell.blockify() for layer in module.layers] and None)
    return model


def time_steps(model: nn.Module, x: torch.Tensor, y: torch.Tensor, repeats: int) -> float:
    """Median seconds of one Adam step (forward, backward, clip at 1, update), after two warm-up steps."""
    opt = torch.optim.Adam(model.parameters(), lr=5e-3)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        nn.functional.cross_entropy(model(x), y).backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    for _ in range(2):
        step()
    times = []
    for _ in range(repeats):
        t0 = time.thread_time()
        step()
        times.append(time.thread_time() - t0)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--paper", action="store_true", help="also time the paper preset's models (slow)")
    args = parser.parse_args()
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(64, 8, 8, generator=g), torch.randint(0, 10, (64,), generator=g)

    torch.manual_seed(0)
    grouped = BRIMs(8, 10)
    reference = dense_zeroed(copy.deepcopy(grouped))  # the same weights in the reference layout
    with torch.no_grad():
        gap = (grouped(x) - reference(x)).abs().max().item()
    lstm = LSTMClassifier(8, 10)

    t = {"grouped": time_steps(grouped, x, y, args.repeats), "dense-zeroed": time_steps(reference, x, y, args.repeats),
         "lstm": time_steps(lstm, x, y, args.repeats)}
    print(f"torch {torch.__version__}, 1 thread; one Adam step on 64 digits x 8 rows, median of {args.repeats} "
          f"(thread CPU time); grouped vs dense-zeroed logits differ by {gap:.1e}")
    for name, sec in t.items():
        print(f"{name:13} {sec * 1e3:8.2f} ms")
    print(f"dense-zeroed / grouped: {t['dense-zeroed'] / t['grouped']:.2f}x;  grouped / lstm: "
          f"{t['grouped'] / t['lstm']:.1f}x (prototype: about 10x)")
    if args.paper:
        paper_epoch_seconds(x, y, max(3, args.repeats // 5))


def paper_epoch_seconds(x: torch.Tensor, y: torch.Tensor, repeats: int) -> None:
    """Print one Adam step of the ``paper`` preset's three models and what an epoch and the whole preset cost.

    The ``paper`` preset has the reference's MNIST widths (6 x 50 units under 3 x 100, encoder 300, input keys of 64;
    an LSTM of 300): this is the estimate behind ``docs/papers/brims.md §6`` (is the paper preset runnable here?).
    """
    from neurodyn.brims.experiment import PRESETS, build_models

    cfg = PRESETS["paper"]
    models = build_models(cfg)
    steps = {name: time_steps(model, x, y, repeats) for name, model in models.items()}
    batches = -(-1400 // cfg.batch_size)
    epoch = batches * sum(steps.values())
    print("paper preset, one Adam step: " + ", ".join(f"{n} {s * 1e3:.0f} ms" for n, s in steps.items())
          + f"; training alone {epoch:.0f} s per epoch, {epoch * cfg.epochs / 3600:.1f} h for {cfg.epochs} epochs "
          "on one thread")


if __name__ == "__main__":
    main()

"""Texts and counters of the adaptive-activation page: pure functions of a run's records and config
(``docs/papers/activations.md §4``)."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np

from neurodyn.activations.experiment import (
    Config,
    GridConfig,
    ShiftConfig,
    evaluations,
    grid_points,
    shift_parameter_counts,
)
from neurodyn.activations.gamma import max_slope, value_at_zero
from neurodyn.core.loop import Record

__all__ = ["MODES_INTRO", "GRID_INTRO", "SHIFT_INTRO", "family_text", "evaluation_count", "lyapunov_count",
           "modes_status", "cloud_text", "grid_text", "shift_text"]

MODES_INTRO = (
    "Three copies of one recurrent network, from the same weights and the same initial (n, s), train on the same "
    "batches: **static** keeps (n, s) fixed, **homogeneous** learns one (n, s) shared by every neuron, "
    "**heterogeneous** learns one (n, s) per neuron. The paper's claim: learning the shape can speed up learning. "
    "On the project's prototype (one seed, 8 epochs) the three modes ended within a few points of each other from "
    "most starts, and saturating starts learned badly in every mode."
)
GRID_INTRO = (
    "Static networks from every point of a grid of fixed shapes, all from the same weights, trained as one batched "
    "model: the landscape of final accuracy over (n, s). With the trajectories on, a homogeneous network starts from "
    "each point too, and its learned (n, s) draws a path. The authors' figure scripts put the best starts at s = 0 "
    "with a moderate-to-high gain; sigmoid-like corners do poorly."
)
SHIFT_INTRO = (
    "A heterogeneous network trains on clean digits; then the input statistics change (each pixel at step t is "
    "multiplied by 1 + A·sin(2π f t / 64)). Two copies adapt on shifted training digits: one may change only its "
    "neurons' shapes (2 parameters per neuron), the other only its readout. The protocol follows the authors' "
    "SinTransform and is not verified as the paper's. On the project's prototype (A = 0.8, f = 1) shape-only "
    "adaptation took shifted accuracy from 0.64 to 0.75 and kept clean accuracy, while readout-only reached 0.78 "
    "on shifted digits but fell from 0.83 to 0.74 on clean ones."
)


def family_text(n: float, s: float) -> str:
    """One line on the sliders' member of the family: its value at 0, its largest slope and its nearest name.

    Parameters
    ----------
    n : float
        Gain, > 0.
    s : float
        Saturation in [0, 1].

    Returns
    -------
    str
    """
    slope = max_slope(n, s)
    where = "at a finite input" if s > 1.0 / (n + 1.0) else "only as x → ∞"
    names = {(1.0, 0.0): "softplus", (1.0, 1.0): "the logistic sigmoid", (2.0, 1.0): "(1 + tanh x)/2"}
    name = names.get((float(n), float(s)))
    kind = ("non-saturating" if s == 0 else "saturating" if s == 1 else
            f"a mix: {1 - s:.0%} softplus-like, {s:.0%} sigmoid-like")
    return (f"At n = {n:g}, s = {s:g}{' (' + name + ')' if name else ''}: {kind}; γ(0) = {value_at_zero(n, s):.3f}; "
            f"largest slope {slope:.3f}, reached {where}. As n grows, s = 0 tends to ReLU (error exactly ln 2 / n "
            f"= {math.log(2) / n:.3f} at x = 0) and s = 1 to a step.")


def evaluation_count(records: Sequence[Record], *, shift: bool = False) -> int:
    """Test evaluations so far (the version of figures that change only then)."""
    if shift:
        return sum(1 for r in records if "clean" in r.artifacts or "shape_clean" in r.artifacts)
    return len(evaluations(records))


def lyapunov_count(records: Sequence[Record]) -> int:
    """Lyapunov exponents measured so far."""
    return sum(1 for r in records if "lyap" in r.artifacts)


def modes_status(records: Sequence[Record], config: Config) -> str:
    """The latest test accuracy of the three modes, mean over seeds, in words."""
    evals = evaluations(records)
    if not evals:
        return "No evaluation yet."
    m = records[-1].metrics
    epoch = int(evals[-1].artifacts["epoch"])
    seeds = f"mean of {config.n_seeds} seeds" if config.n_seeds > 1 else "one seed"
    return (f"Test accuracy after epoch {epoch} of {config.epochs} ({seeds}): static {m['acc_static']:.3f}, "
            f"homogeneous {m['acc_homogeneous']:.3f}, heterogeneous {m['acc_heterogeneous']:.3f}.")


def cloud_text(records: Sequence[Record], config: Config) -> str:
    """Where the learned shapes went: the homogeneous pair and the heterogeneous spread, in words."""
    if not records:
        return ""
    m = records[-1].metrics
    text = (f"Learned shapes (seed 0): homogeneous (n, s) = ({m['hom_n']:.2f}, {m['hom_s']:.2f}) from "
            f"({config.n_init:g}, {config.s_init:g}); heterogeneous neurons n = {m['het_n_mean']:.2f} ± "
            f"{m['het_n_std']:.2f}, s = {m['het_s_mean']:.2f} ± {m['het_s_std']:.2f} (mean ± std).")
    if config.shape_lr_multiplier != 1:
        text += (f" The shapes train {config.shape_lr_multiplier:g}× faster than the weights here (not the paper's "
                 "setting).")
    if m["clamped"] > 0:
        text += f" {int(m['clamped'])} neurons have their gain held at the floor n = 0.01."
    return text


def grid_text(records: Sequence[Record], config: GridConfig) -> str:
    """The landscape's best start and the s = 0 against s = 1 comparison, in words."""
    evals = evaluations(records)
    if not evals:
        return "No evaluation yet."
    acc = np.asarray(evals[-1].artifacts["acc"])
    points = grid_points(config)
    static = [i for i, (_, _, mode) in enumerate(points) if mode == "static"]
    best = max(static, key=lambda i: acc[i])
    m = records[-1].metrics
    text = (f"After epoch {int(evals[-1].artifacts['epoch'])} of {config.epochs}: the best static start is "
            f"(n, s) = ({points[best][0]:g}, {points[best][1]:g}) at {acc[best]:.3f}; starts with s = 0 average "
            f"{m['acc_s0']:.3f}, starts with s = 1 average {m['acc_s1']:.3f}.")
    if config.homogeneous:
        s_now = np.asarray(evals[-1].artifacts["s"])
        hom = [i for i, (_, _, mode) in enumerate(points) if mode == "homogeneous"]
        moved = np.array([s_now[i] - points[i][1] for i in hom])
        text += (f" Homogeneous runs moved their s by {moved.mean():+.2f} on average (from {moved.min():+.2f} to "
                 f"{moved.max():+.2f}).")
    if config.shape_lr_multiplier != 1:
        text += f" Shapes train {config.shape_lr_multiplier:g}× faster than the weights (not the paper's setting)."
    return text


def shift_text(records: Sequence[Record], config: ShiftConfig) -> str:
    """Where the shift run stands and what each adaptation did, in words."""
    if not records:
        return ""
    m = records[-1].metrics
    counts = shift_parameter_counts(config)
    if m["phase"] < 1:
        return (f"Training on clean digits (epoch {m['epoch']:.1f} of {config.epochs}): clean accuracy "
                f"{m['clean_acc']:.3f}, shifted {m['shifted_acc']:.3f}. Adaptation starts after the last epoch.")
    return (f"On shifted digits: {m['shifted_acc']:.3f} without adaptation, {m['shape_shifted_acc']:.3f} after "
            f"adapting the shapes only ({counts['shape']} parameters), {m['readout_shifted_acc']:.3f} after adapting "
            f"the readout only ({counts['readout']} parameters). On clean digits: {m['clean_acc']:.3f}, "
            f"{m['shape_clean_acc']:.3f} and {m['readout_clean_acc']:.3f}.")

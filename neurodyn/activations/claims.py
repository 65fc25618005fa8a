"""Claim rules of the adaptive-activation page: pure functions of a run's records and config
(``docs/papers/activations.md §7``)."""

from __future__ import annotations

from typing import Sequence

import numpy as np

from neurodyn.activations.experiment import Config, GridConfig, ShiftConfig, evaluations, mode_rows
from neurodyn.core.loop import Record
from neurodyn.core.spec import ClaimResult, judge

__all__ = ["SPEED_NOISE", "LANDSCAPE_MARGIN", "SHIFT_MARGIN", "speed_gaps", "speed_rule", "landscape_rule",
           "shift_rule"]

SPEED_NOISE = 0.02  # card §3: single-seed differences of a few points are noise; the project's tolerance
LANDSCAPE_MARGIN = 0.05  # the project's threshold: s = 0 starts beat s = 1 starts by at least 5 points
SHIFT_MARGIN = 0.05  # the project's threshold: shape-only adaptation gains at least 5 points on shifted digits


def speed_gaps(records: Sequence[Record], config: Config) -> dict[str, np.ndarray]:
    """Per seed, how much faster each adaptive mode learns than the static one.

    The speed of a network is the mean of its test accuracy over the evaluations after epochs 1, 2, ... (the area
    under its learning curve divided by the epochs); the gap is that of the adaptive network minus that of the static
    one with the same seed (same weights, same batches).

    Parameters
    ----------
    records : sequence of Record
    config : Config

    Returns
    -------
    dict
        ``"homogeneous"`` and ``"heterogeneous"`` -> ndarray of shape (n_seeds,); empty arrays before epoch 1.
    """
    accs = [r.artifacts["acc"] for r in evaluations(records) if int(r.artifacts["epoch"]) >= 1]
    if not accs:
        return {m: np.zeros(0) for m in ("homogeneous", "heterogeneous")}
    area = np.mean(np.stack(accs), axis=0)  # (G,)
    static = area[mode_rows(config, "static")]
    return {m: area[mode_rows(config, m)] - static for m in ("homogeneous", "heterogeneous")}


def speed_rule(records: Sequence[Record], config: Config) -> ClaimResult:
    """Both adaptive modes learn at least as fast as static: mean gap over seeds >= −``SPEED_NOISE``.

    *Inconclusive* with one seed (a few points between single seeds is noise) or before two epochs.
    """
    gaps = speed_gaps(records, config)
    epochs = sum(1 for r in evaluations(records) if int(r.artifacts["epoch"]) >= 1)
    mean = {m: float(g.mean()) if g.size else float("nan") for m, g in gaps.items()}
    worst = min(mean.values()) if epochs else None
    rule = f"mean over seeds of (adaptive − static) ≥ −{SPEED_NOISE:.2f} for both adaptive modes"
    detail = (f"Mean test accuracy over epochs 1-{epochs}, adaptive minus static: homogeneous "
              f"{mean['homogeneous']:+.3f}, heterogeneous {mean['heterogeneous']:+.3f} ({config.n_seeds} seeds)"
              if epochs else "")
    if config.n_seeds < 2:
        return judge(worst, None, rule, "Needs 2 or more seeds: between single seeds a few points are noise. " + detail)
    if epochs < 2:
        return judge(worst, None, rule, f"Waits for 2 evaluated epochs ({epochs} so far)")
    return judge(worst, worst >= -SPEED_NOISE, rule, detail)


def landscape_rule(records: Sequence[Record], config: GridConfig) -> ClaimResult:
    """Static networks started non-saturating (s = 0) end more accurate than saturating ones (s = 1).

    The value is the mean test accuracy of the s = 0 grid points minus that of the s = 1 points at the latest
    evaluation; *inconclusive* before epoch 1.
    """
    rule = f"mean accuracy of the s = 0 starts − the s = 1 starts ≥ {LANDSCAPE_MARGIN:.2f}"
    if not records or records[-1].metrics["eval_epoch"] < 1:
        return judge(None, None, rule, "Waits for the first epoch")
    m = records[-1].metrics
    gap = m["acc_s0"] - m["acc_s1"]
    return judge(gap, gap >= LANDSCAPE_MARGIN, rule,
                 f"After epoch {int(m['eval_epoch'])} of {config.epochs}: s = 0 starts {m['acc_s0']:.3f}, "
                 f"s = 1 starts {m['acc_s1']:.3f} (static networks, mean over the grid's gains)")


def shift_rule(records: Sequence[Record], config: ShiftConfig) -> ClaimResult:
    """Adapting the shape parameters alone recovers accuracy on shifted inputs.

    The value is the shape-only network's accuracy on shifted test digits minus the unadapted network's, after the
    latest adaptation epoch; *inconclusive* before the first adaptation epoch.
    """
    rule = f"shape-only adaptation − no adaptation, on shifted digits, ≥ {SHIFT_MARGIN:.2f}"
    done = [r for r in records if "adapt_epoch" in r.artifacts]
    if not done:
        return judge(None, None, rule, "Waits for the first adaptation epoch (after the training epochs)")
    m = done[-1].metrics
    gain = m["shape_shifted_acc"] - m["shifted_acc"]
    return judge(gain, gain >= SHIFT_MARGIN, rule,
                 f"After adaptation epoch {int(done[-1].artifacts['adapt_epoch'])}: shifted accuracy "
                 f"{m['shifted_acc']:.3f} unadapted, {m['shape_shifted_acc']:.3f} shape-only "
                 f"({2 * config.hidden} parameters), {m['readout_shifted_acc']:.3f} readout-only; clean accuracy "
                 f"{m['clean_acc']:.3f} → {m['shape_clean_acc']:.3f} shape-only, {m['readout_clean_acc']:.3f} "
                 "readout-only")

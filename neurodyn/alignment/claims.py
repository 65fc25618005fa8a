"""Claim rules of the feature-alignment page: pure functions of a run's records and config
(``docs/papers/alignment.md §7``).

The paper's numbers are for VGG19 on CIFAR-10 and do not transfer to an MLP on digits (PAPER-NUMBERS, card 07 §5);
the rules hold the run to orderings and ratios: the alignment's rise (peak ≥ 2.5 × start, the card's check 9 and
PAPER-NUMBERS' ratio test), its decline while staying above the start, the effective rank's fall (final < 0.75 ×
start), and the clean probe above the corrupted one at every checkpoint after step 0.
"""

from __future__ import annotations

from typing import Sequence

from neurodyn.alignment.experiment import Config
from neurodyn.core.loop import Record
from neurodyn.core.spec import ClaimResult, judge

__all__ = ["RISE_FACTOR", "ERANK_FACTOR", "checkpoint_rows", "probe_rows", "rise_rule", "erank_rule", "noise_rule"]

RISE_FACTOR = 2.5  # peak alignment / alignment at step 0 (card check 9; PAPER-NUMBERS: the paper's figure ≈ 10x)
ERANK_FACTOR = 0.75  # final effective rank / effective rank at step 0 (card check 9)


def checkpoint_rows(records: Sequence[Record]) -> list[dict[str, float]]:
    """The metrics of the records that completed a training-probe kernel, one per checkpoint, in order."""
    return [r.metrics for r in records if "checkpoint" in r.artifacts]


def probe_rows(records: Sequence[Record]) -> list[dict[str, float]]:
    """The metrics of the records that completed the test (and corrupted) probes, one per checkpoint, in order."""
    return [r.metrics for r in records if "probes_at" in r.artifacts]


def _finished(rows: list[dict[str, float]], config: Config) -> bool:
    return bool(rows) and rows[-1]["checkpoint"] >= config.steps


def rise_rule(records: Sequence[Record], config: Config) -> ClaimResult:
    """The training probe's alignment rises to at least 2.5 × its value at step 0, then ends below its peak and above
    its start. The value is peak / start."""
    rule = f"peak ≥ {RISE_FACTOR} × the alignment at step 0, then a final value below the peak and above the start"
    rows = checkpoint_rows(records)
    if len(rows) < 2:
        return judge(None, None, rule, "Waits for the kernel at two checkpoints")
    a = [r["align_train"] for r in rows]
    start, peak = a[0], max(a)
    at = int(rows[a.index(peak)]["checkpoint"])
    ratio = peak / start if start > 0 else None
    detail = (f"Alignment {start:.3f} at step 0, peak {peak:.3f} at step {at} ({ratio or 0:.1f}×), "
              f"{a[-1]:.3f} at step {int(rows[-1]['checkpoint'])}")
    if not _finished(rows, config):
        return judge(ratio, None, rule, detail + f"; waits for the end of training (step {config.steps})")
    ok = ratio is not None and ratio >= RISE_FACTOR and start < a[-1] < peak
    return judge(ratio, ok, rule, detail)


def erank_rule(records: Sequence[Record], config: Config) -> ClaimResult:
    """The training probe's effective rank ends below 0.75 × its value at step 0 (clean labels only: the paper's
    spectra are for clean labels). The value is final / start."""
    rule = f"final effective rank < {ERANK_FACTOR} × its value at step 0"
    rows = checkpoint_rows(records)
    if len(rows) < 2:
        return judge(None, None, rule, "Waits for the kernel at two checkpoints")
    e0, e1 = rows[0]["erank"], rows[-1]["erank"]
    l0, l1 = rows[0]["eig_max"], rows[-1]["eig_max"]
    detail = (f"Effective rank {e0:.0f} at step 0, {e1:.0f} at step {int(rows[-1]['checkpoint'])}; the largest "
              f"eigenvalue grew {l1 / l0 if l0 > 0 else float('nan'):.1f}×")
    ratio = e1 / e0 if e0 > 0 else None
    if config.random_labels > 0:
        return judge(ratio, None, rule, detail + f"; the paper's spectra are for clean labels, and this run "
                     f"randomises {config.random_labels:.0%} of them (set the fraction to 0 to test the claim)")
    if not _finished(rows, config):
        return judge(ratio, None, rule, detail + f"; waits for the end of training (step {config.steps})")
    return judge(ratio, ratio is not None and ratio < ERANK_FACTOR, rule, detail)


def noise_rule(records: Sequence[Record], config: Config) -> ClaimResult:
    """With random training labels, the clean probe's alignment stays above the corrupted probe's at every checkpoint
    after step 0. The value is the smallest ratio clean / corrupted over those checkpoints."""
    rule = "clean probe above the corrupted probe at every checkpoint after step 0"
    if config.random_labels <= 0:
        return judge(None, None, rule, "Needs random labels: set a fraction of random training labels (the paper "
                     "preset uses 0.5)")
    rows = [r for r in probe_rows(records) if r["checkpoint"] > 0]
    if not rows:
        return judge(None, None, rule, "Waits for a checkpoint after step 0")
    ratios = [r["align_train"] / r["align_corrupt"] if r["align_corrupt"] > 0
              else float("inf") if r["align_train"] > 0 else float("nan") for r in rows]
    if any(q != q for q in ratios):  # both alignments 0: an undefined (degenerate) kernel, nothing to compare
        return judge(None, None, rule, "Both probes' alignments are undefined at a checkpoint (a degenerate kernel)")
    worst = min(ratios)
    below = [int(r["checkpoint"]) for r, q in zip(rows, ratios) if q <= 1.0]
    last = rows[-1]
    detail = (f"At step {int(last['checkpoint'])}: clean {last['align_train']:.3f}, corrupted "
              f"{last['align_corrupt']:.3f}; {len(rows)} checkpoints after step 0")
    if below:
        return judge(worst, False, rule, detail + f"; the corrupted probe reached the clean one at steps {below}")
    if not _finished(probe_rows(records), config):
        return judge(worst, None, rule, detail + f"; waits for the end of training (step {config.steps})")
    return judge(worst, True, rule, detail)

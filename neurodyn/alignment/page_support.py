"""Texts of the feature-alignment page: pure functions of a run's records and config
(``docs/papers/alignment.md §4``)."""

from __future__ import annotations

from typing import Sequence

from neurodyn.alignment.claims import checkpoint_rows, probe_rows
from neurodyn.alignment.experiment import Config, ceiling
from neurodyn.core.loop import Record

__all__ = ["INTRO", "status_text", "alignment_text", "spectrum_text", "heat_text", "CEILING_TEXT"]

INTRO = (
    "A multilayer perceptron learns scikit-learn's 8×8 digits. At log-spaced steps the page computes its **tangent "
    "kernel** on fixed probes of images: the Gram matrix of the gradients of every output with respect to every "
    "weight (one row per image and output). The paper's claim: training turns the kernel's leading directions "
    "towards the labels (the **alignment** rises) and concentrates its spectrum (the **effective rank** falls), less "
    "so for images whose labels are random. The paper measured this on VGG19 and CIFAR-10; the numbers quoted here "
    "for digits were measured on the project's prototype, not taken from the paper."
)

CEILING_TEXT = (
    "The dashed line at 0.105 is the most a kernel can align when its ten output blocks are identical (as for the "
    "last layer's block, and roughly at initialisation): 1/√(c(c−1)) with c = 10 balanced classes. Above it the "
    "kernel has built class-specific structure."
)


def status_text(records: Sequence[Record], config: Config) -> str:
    """Where the run is: the step, the latest checkpoint, and what comes next."""
    if not records:
        return "The first kernel (step 0) is on its way."
    m = records[-1].metrics
    return (f"SGD step {int(m['step'])} of {config.steps}; latest kernel at step {int(m['checkpoint'])}; test "
            f"accuracy {m['test_acc']:.2f}.")


def alignment_text(records: Sequence[Record], config: Config) -> str:
    """The alignment curves in words: start, peak and now (and the corrupted probe with random labels)."""
    rows = probe_rows(records)
    if not rows:
        return "The alignment appears once the first kernel is computed."
    a = [r["align_train"] for r in rows]
    peak = max(a)
    at = int(rows[a.index(peak)]["checkpoint"])
    text = (f"Training probe: {a[0]:.3f} at step 0, peak {peak:.3f} at step {at} ({peak / a[0]:.1f}× the start), "
            f"{a[-1]:.3f} now; test probe {rows[-1]['align_test']:.3f} now.")
    if config.random_labels > 0:
        c = [r["align_corrupt"] for r in rows]
        text += (f" Corrupted probe (its random labels): {min(c):.3f} to {max(c):.3f} over the run, against the clean "
                 f"probe's {min(a):.3f} to {peak:.3f}.")
    limit = ceiling(1 if config.binary else 10)
    if limit is not None:
        text += " " + CEILING_TEXT
    return text


def spectrum_text(records: Sequence[Record]) -> str:
    """The spectrum's change in words: largest eigenvalue and effective rank, start against now."""
    rows = checkpoint_rows(records)
    if len(rows) < 2:
        return "The spectrum's change appears after the second kernel."
    s, e = rows[0], rows[-1]
    return (f"Largest eigenvalue {s['eig_max']:.3g} at step 0, {e['eig_max']:.3g} at step {int(e['checkpoint'])} "
            f"({e['eig_max'] / s['eig_max']:.1f}×); effective rank {s['erank']:.0f} → {e['erank']:.0f} (the number of "
            "equally strong directions with the same spread of eigenvalues: it falls as a few directions dominate).")


def heat_text(config: Config) -> str:
    """How to read the kernel heat map."""
    return ("How to read this: each cell compares two probe images through the kernel (summed over the outputs and "
            "normalised: 1 means the two images move the network's outputs in the same way). Images are sorted by "
            "digit; as training proceeds, blocks appear along the diagonal where images of one digit share their "
            "tangent features." + (f" {config.probe_per_class * 10} probe images, at most 50 shown (evenly thinned)."
                                   if config.probe_per_class * 10 > 50 else ""))

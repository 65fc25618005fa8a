"""Claim checks of UDEMD (arXiv:2107.12334), judged on the records of one ``udemd`` run (``docs/papers/udemd.md §7``).

Each rule reads the latest record's metrics, is pure and cheap, and returns *inconclusive* while the metric it
needs is still pending (its stage has not run, or too few exact pairs), when exact EMD was skipped, or when the run
ended before it had enough pairs to judge.
"""

from __future__ import annotations

from typing import Any, Sequence

from neurodyn.core.spec import ClaimResult, judge
from neurodyn.udemd.experiment import (
    EXACT_MAX_NODES,
    EXACT_STAGE,
    METHOD_LABELS,
    METHODS,
    Config,
    acc_metric,
    is_pending,
)

__all__ = ["SPEARMAN_MIN", "SPEEDUP_MIN", "KNN_MARGIN", "MIN_PAIRS", "spearman_rule", "unbalanced_spearman_rule",
           "speed_rule", "knn_rule"]

SPEARMAN_MIN = 0.75  # rank agreement with exact EMD (the [R] anchor is 0.783)
SPEEDUP_MIN = 10.0  # the embedding route against exact EMD over all pairs (the [R] anchor is about 31x)
KNN_MARGIN = 0.05  # UDEMD may trail the best other method by at most this much kNN accuracy
MIN_PAIRS = 20  # exact pairs before a Spearman is judged: the 95% interval of rho = 0.85 on 20 pairs is about ±0.1


def _metrics(records: Sequence[Any]) -> dict[str, float]:
    last = records[-1]
    return dict(last["metrics"] if isinstance(last, dict) else last.metrics)


def _exact_wait(m: dict[str, float], records: Sequence[Any], config: Config) -> str | None:
    """Why the exact-EMD statistics cannot be judged yet (None when they can)."""
    if m.get("n_nodes", 0) > EXACT_MAX_NODES:
        return f"exact EMD is skipped on graphs over {EXACT_MAX_NODES} nodes (this one has {m['n_nodes']:.0f})"
    pairs = int(m.get("exact_pairs", 0))
    if pairs >= MIN_PAIRS:
        return None
    if len(records) >= config.n_steps:
        return (f"the run ended with {pairs} exact pairs, fewer than the {MIN_PAIRS} needed: exact EMD runs from step "
                f"{EXACT_STAGE + 1} on, {config.pairs_per_step} pairs per step; raise the steps or the pairs per step")
    if m.get("stage", 0) < EXACT_STAGE:
        return f"exact EMD starts at step {EXACT_STAGE + 1}, after the embedding pipeline"
    return f"waits for {MIN_PAIRS} exact pairs ({pairs} so far)"


def _spearman(records: Sequence[Any], config: Config, name: str, what: str) -> ClaimResult:
    m = _metrics(records)
    rule = f"≥ {SPEARMAN_MIN:.2f}"
    wait = _exact_wait(m, records, config)
    if wait is not None or is_pending(m, name):
        return judge(None, None, rule, wait or "no exact pairs yet")
    rho = m[name]
    return judge(rho, rho >= SPEARMAN_MIN, rule, f"{what} on {m['exact_pairs']:.0f} random pairs of signals")


def spearman_rule(records: Sequence[Any], config: Config) -> ClaimResult:
    """Balanced DEMD against exact EMD (``ot.emd2``, hop costs): Spearman ≥ ``SPEARMAN_MIN``.

    Parameters
    ----------
    records : sequence of Record
    config : Config
        The run's config.

    Returns
    -------
    ClaimResult
    """
    return _spearman(records, config, "exact_spearman",
                     "Spearman of balanced DEMD against exact EMD (POT network simplex, hop-distance costs)")


def unbalanced_spearman_rule(records: Sequence[Any], config: Config) -> ClaimResult:
    """UDEMD against the exact unbalanced EMD (dummy-node LP, λ = hop diameter): Spearman ≥ ``SPEARMAN_MIN``.

    Parameters
    ----------
    records : sequence of Record
    config : Config

    Returns
    -------
    ClaimResult
    """
    return _spearman(records, config, "exact_spearman_unbalanced",
                     "Spearman of UDEMD against the exact unbalanced EMD (dummy-node LP, λ = hop diameter)")


def speed_rule(records: Sequence[Any], config: Config) -> ClaimResult:
    """All pairs of the run's signals: exact EMD time over the embedding route's time ≥ ``SPEEDUP_MIN``.

    The exact time is the median time per pair of ``ot.emd2`` measured in the run, times m (m − 1) / 2; the
    embedding route is the operator, the embedding and all pairwise L1 distances, end to end.

    Parameters
    ----------
    records : sequence of Record
    config : Config

    Returns
    -------
    ClaimResult
    """
    m = _metrics(records)
    rule = f"≥ {SPEEDUP_MIN:g}× faster"
    if m.get("n_nodes", 0) > EXACT_MAX_NODES:
        return judge(None, None, rule, _exact_wait(m, records, config) or "")
    if is_pending(m, "speedup_vs_exact"):
        return judge(None, None, rule, "waits for the first timed exact pair")
    n = m["n_signals"]
    ours = m["time_operator_s"] + m["time_embed_s"] + m["time_distances_s"]
    per_pair = m["time_exact_per_pair_s"]
    exact_all = per_pair * n * (n - 1) / 2
    return judge(m["speedup_vs_exact"], m["speedup_vs_exact"] >= SPEEDUP_MIN, rule,
                 f"all {n * (n - 1) / 2:,.0f} pairs: exact EMD {exact_all:.3g} s ({per_pair * 1e3:.3g} ms per pair, "
                 f"timed on {m['exact_pairs']:.0f} pairs) against {ours:.3g} s for the operator, the embedding and "
                 "all L1 distances")


def knn_rule(records: Sequence[Any], config: Config) -> ClaimResult:
    """UDEMD's kNN label accuracy ≥ the best other method's minus ``KNN_MARGIN``.

    The other methods are the ones the run compares: balanced DEMD, L1 and cosine on the raw signal vectors.

    Parameters
    ----------
    records : sequence of Record
    config : Config

    Returns
    -------
    ClaimResult
    """
    m = _metrics(records)
    others = [k for k in METHODS if k != "udemd"]
    waiting = [METHOD_LABELS[k] for k in METHODS if is_pending(m, acc_metric(k))]
    if waiting:
        return judge(None, None, f"≥ best other − {KNN_MARGIN:.2f}", f"waits for {', '.join(waiting)}")
    best = max(others, key=lambda k: m[acc_metric(k)])
    floor = m[acc_metric(best)] - KNN_MARGIN
    ours = m[acc_metric("udemd")]
    rest = ", ".join(f"{METHOD_LABELS[k]} {m[acc_metric(k)]:.3f}" for k in others)
    return judge(ours, ours >= floor - 1e-12, f"≥ {floor:.3f} (best other, {METHOD_LABELS[best]}, − {KNN_MARGIN:.2f})",
                 f"{config.knn_k}-NN label accuracy of UDEMD {ours:.3f}; {rest}")

"""The BRIMs paper's checkable claims, judged on the records of one run of ``brims`` (``docs/papers/brims.md §7``).

Every rule reads the run's own evaluations: the per-epoch test accuracies (clean and with ``probe_rows`` distractor
rows) when the claim's K is the run's ``probe_rows``, otherwise the latest probe sweep (whose grid holds K = 0, 2, 4,
8 and sigma = 0, 0.2, 0.4, 0.6). A rule is *inconclusive* until the first evaluation after training has begun (epoch
0 is the untrained models) or, for a sweep-based rule, until the first sweep, and when a model it compares is
switched off.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from neurodyn.brims.experiment import PROBE_ROWS, PROBE_SIGMAS, Config, evaluations, model_metric, model_names
from neurodyn.core.spec import ClaimResult, judge

__all__ = ["K_CLAIM", "SIGMA_CLAIM", "LSTM_MARGIN", "accuracies_at_rows", "accuracies_at_noise", "lstm_margin_rule",
           "gap_grows_rule", "top_down_rule", "noise_rule"]

K_CLAIM = 4  # distractor rows of the margin, gap and top-down claims
SIGMA_CLAIM = 0.4  # pixel noise of the noise claim
LSTM_MARGIN = 0.15  # the project's threshold for BRIMs' lead over the LSTM at K = 4 (docs/papers/brims.md §7)


def _artifacts(rec: Any) -> Any:
    return (rec.get("artifacts") or {}) if isinstance(rec, dict) else rec.artifacts


def _latest_sweep(records: Sequence[Any]) -> tuple[int, Any] | None:
    for rec in reversed(records):
        art = _artifacts(rec)
        if art and "probe_distractors" in art:
            return int(art["probe_epoch"]), art
    return None


def accuracies_at_rows(
    records: Sequence[Any], config: Config, rows: int
) -> tuple[int, str, dict[str, tuple[float, float]]] | None:
    """Each model's clean accuracy and its accuracy with ``rows`` distractor rows at the latest evaluation.

    Parameters
    ----------
    records : sequence of Record (or their JSON dicts)
    config : Config
        The run's config.
    rows : int
        Distractor rows K: the run's ``probe_rows`` (read every epoch) or a value of ``PROBE_ROWS`` (read from the
        latest probe sweep).

    Returns
    -------
    (epoch, where, {model: (clean, with K rows)}) or None
        ``where`` says which evaluation it is; None before the first evaluation after training began.
    """
    names = model_names(config)
    if rows == config.probe_rows:
        trained = [(e, m) for e, m in evaluations(records) if e >= 1]
        if not trained:
            return None
        epoch, m = trained[-1]
        return epoch, "the per-epoch evaluation", {
            n: (float(m[model_metric(n, "test_acc")]), float(m[model_metric(n, "distracted_acc")])) for n in names}
    if rows not in PROBE_ROWS:
        return None
    sweep = _latest_sweep(records)
    if sweep is None:
        return None
    epoch, art = sweep
    acc = np.asarray(art["probe_distractors"], dtype=float)
    j = PROBE_ROWS.index(rows)
    return epoch, "the latest probe sweep", {n: (float(acc[i, 0]), float(acc[i, j])) for i, n in enumerate(names)}


def accuracies_at_noise(records: Sequence[Any], config: Config, sigma: float) -> tuple[int, dict[str, float]] | None:
    """Each model's accuracy under pixel noise ``sigma`` (a value of ``PROBE_SIGMAS``) at the latest probe sweep.

    Returns
    -------
    (epoch, {model: accuracy}) or None before the first sweep.
    """
    sweep = _latest_sweep(records)
    if sweep is None or sigma not in PROBE_SIGMAS:
        return None
    epoch, art = sweep
    acc = np.asarray(art["probe_noise"], dtype=float)
    j = PROBE_SIGMAS.index(sigma)
    return epoch, {n: float(acc[i, j]) for i, n in enumerate(model_names(config))}


def _when(epoch: int, config: Config, where: str) -> str:
    return f"{where} at epoch {epoch} of {config.epochs} (seed {config.seed})"


def _waiting(config: Config) -> str:
    if config.probe_rows == K_CLAIM:
        return "waits for the first evaluation after training began (end of epoch 1)"
    return (f"the run shows {config.probe_rows} distractor rows, so K = {K_CLAIM} is read from the probe sweeps; "
            f"waits for the first sweep (epoch {min(config.artifact_every, config.epochs)})")


def lstm_margin_rule(records: Sequence[Any], config: Config) -> ClaimResult:
    """BRIMs' accuracy minus the LSTM's with K = 4 distractor rows, held to >= ``LSTM_MARGIN``."""
    rule = f">= +{LSTM_MARGIN:.2f} (BRIMs − LSTM at K = {K_CLAIM})"
    if not config.lstm_baseline:
        return judge(None, None, rule, "the LSTM baseline is switched off")
    got = accuracies_at_rows(records, config, K_CLAIM)
    if got is None:
        return judge(None, None, rule, _waiting(config))
    epoch, where, acc = got
    margin = acc["brims"][1] - acc["lstm"][1]
    return judge(margin, margin >= LSTM_MARGIN, rule,
                 f"BRIMs {acc['brims'][1]:.3f}, LSTM {acc['lstm'][1]:.3f} with {K_CLAIM} distractor rows; "
                 + _when(epoch, config, where))


def gap_grows_rule(records: Sequence[Any], config: Config) -> ClaimResult:
    """How much BRIMs' lead over the LSTM grows from clean digits (K = 0) to K = 4 distractor rows; held to > 0."""
    rule = f"> 0 ((BRIMs − LSTM) at K = {K_CLAIM} minus (BRIMs − LSTM) at K = 0)"
    if not config.lstm_baseline:
        return judge(None, None, rule, "the LSTM baseline is switched off")
    got = accuracies_at_rows(records, config, K_CLAIM)
    if got is None:
        return judge(None, None, rule, _waiting(config))
    epoch, where, acc = got
    clean = acc["brims"][0] - acc["lstm"][0]
    shifted = acc["brims"][1] - acc["lstm"][1]
    return judge(shifted - clean, shifted > clean, rule,
                 f"BRIMs − LSTM: {clean:+.3f} on clean digits, {shifted:+.3f} with {K_CLAIM} distractor rows; "
                 + _when(epoch, config, where))


def top_down_rule(records: Sequence[Any], config: Config) -> ClaimResult:
    """BRIMs' accuracy minus the RIMs stack's (the same model without top-down) with K = 4 rows; held to >= 0."""
    rule = f">= 0 (BRIMs − RIMs stack at K = {K_CLAIM})"
    if not config.rims_baseline:
        return judge(None, None, rule, "the RIMs-stack baseline is switched off")
    got = accuracies_at_rows(records, config, K_CLAIM)
    if got is None:
        return judge(None, None, rule, _waiting(config))
    epoch, where, acc = got
    diff = acc["brims"][1] - acc["rims"][1]
    return judge(diff, diff >= 0, rule,
                 f"BRIMs {acc['brims'][1]:.3f}, RIMs stack {acc['rims'][1]:.3f} with {K_CLAIM} distractor rows; "
                 + _when(epoch, config, where))


def noise_rule(records: Sequence[Any], config: Config) -> ClaimResult:
    """BRIMs' accuracy minus the LSTM's under Gaussian pixel noise sigma = 0.4; held to >= 0."""
    rule = f">= 0 (BRIMs − LSTM at pixel noise σ = {SIGMA_CLAIM})"
    if not config.lstm_baseline:
        return judge(None, None, rule, "the LSTM baseline is switched off")
    got = accuracies_at_noise(records, config, SIGMA_CLAIM)
    if got is None:
        return judge(None, None, rule, "waits for the first probe sweep (epoch "
                     f"{min(config.artifact_every, config.epochs)})")
    epoch, acc = got
    diff = acc["brims"] - acc["lstm"]
    return judge(diff, diff >= 0, rule, f"BRIMs {acc['brims']:.3f}, LSTM {acc['lstm']:.3f} at σ = {SIGMA_CLAIM}; "
                 + _when(epoch, config, "the latest probe sweep"))

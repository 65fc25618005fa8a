"""Claim rules of the causal-induction page: pure functions of a run's records and config
(``docs/papers/causal.md §7``).

The paper's percentages could not be read (card 03: the tables were not consulted) and, by a report on the authors'
repository, even full-scale runs fall short of them; so the rules are orderings, judged under the pessimistic rule
with de-duplicated targets (the paper's tie rule lets a collapsed model score 100 %).
"""

from __future__ import annotations

from typing import Sequence

from neurodyn.causal.experiment import MODEL_LABELS, Config, SweepConfig, trained
from neurodyn.core.loop import Record
from neurodyn.core.spec import ClaimResult, judge

__all__ = ["structure_rule", "scaling_rule", "evaluations"]


def evaluations(records: Sequence[Record]) -> list[dict[str, float]]:
    """The metrics of the records that completed an evaluation of all three models, in order."""
    return [r.metrics for r in records if "evaluated" in r.artifacts]


def structure_rule(records: Sequence[Record], config: Config) -> ClaimResult:
    """At the end of training, the modular and the graph-network models (those trained) rank the true 5-step outcome
    first more often than the monolithic model (H@1 at k = 5, pessimistic, de-duplicated). The value is the smallest
    lead."""
    rule = "H@1 at k = 5 (pessimistic rule, de-duplicated): modular > monolithic and graph network > monolithic"
    kinds = trained(config)
    if "monolithic" not in kinds or len(kinds) < 2:
        return judge(None, None, rule, "Needs the monolithic model and at least one structured model: switch them "
                     "on in the sidebar")
    evals = evaluations(records)
    if not evals or evals[-1]["evaluated_at"] <= 0:
        return judge(None, None, rule, "Waits for an evaluation after training has started")
    m = evals[-1]
    h = {k: m[f"h1_k5_{k}"] for k in kinds}
    leads = {k: h[k] - h["monolithic"] for k in kinds if k != "monolithic"}
    detail = (f"At step {int(m['evaluated_at'])}: " + ", ".join(f"{MODEL_LABELS[k]} {h[k]:.2f}" for k in kinds)
              + f" (N = {config.n_objects}, {config.family} graph, one seed)")
    if m["evaluated_at"] < config.steps:
        return judge(min(leads.values()), None, rule, detail + f"; waits for the end of training (step "
                     f"{config.steps})")
    return judge(min(leads.values()), all(v > 0 for v in leads.values()), rule, detail)


def scaling_rule(records: Sequence[Record], config: SweepConfig) -> ClaimResult:
    """The structured models' lead over the monolithic one (H@1 at k = 5) is larger at the largest N than at the
    smallest, for the modular model and for the graph network. The value is the modular model's growth of lead."""
    rule = "lead over the monolithic model at the largest N > lead at the smallest N, for both structured models"
    sizes = config.n_values
    done = [r.artifacts["finished_n"] for r in records if "finished_n" in r.artifacts]
    if len(sizes) < 2:
        return judge(None, None, rule, "Needs at least two numbers of objects")
    if len(done) < len(sizes):
        return judge(None, None, rule, f"Waits for every N ({len(done)} of {len(sizes)} done)")
    m = records[-1].metrics
    lo, hi = sizes[0], sizes[-1]

    def lead(kind: str, n: int) -> float:
        return m[f"h1_k5_{kind}_n{n}"] - m[f"h1_k5_monolithic_n{n}"]

    growth = {k: lead(k, hi) - lead(k, lo) for k in ("modular", "gnn")}
    detail = "; ".join(f"{MODEL_LABELS[k]}: lead {lead(k, lo):+.2f} at N = {lo}, {lead(k, hi):+.2f} at N = {hi}"
                       for k in ("modular", "gnn")) + " (one seed)"
    # scores are multiples of 1/test_paths: equal leads must not count as growth through round-off
    return judge(growth["modular"], all(v > 1e-9 for v in growth.values()), rule, detail[0].upper() + detail[1:])

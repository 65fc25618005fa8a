"""Claim rules of the modular-latent-primitives page: pure functions of a run's records and config
(``docs/papers/multitask.md §7``).

Only the abstract of the paper could be read (card 04, Source status), so the rules are the abstract's three claims as
orderings: fewer parameters (exact closed forms), better than random modules, more robust. The paper prints no
number for any of them.
"""

from __future__ import annotations

import math
from typing import Any, Sequence

from neurodyn.core.loop import Record
from neurodyn.core.spec import ClaimResult, judge
from neurodyn.multitask.experiment import STRATEGIES, STRATEGY_LABELS, Config, magnitudes
from neurodyn.multitask.network import strategy_parameter_counts

__all__ = ["efficiency_rule", "primitives_rule", "robustness_rule", "perturbation_table", "closed_forms"]


def closed_forms(config: Config) -> dict[str, dict[str, int]]:
    """The closed-form parameter counts (card §2.6) of the run's sizes and number of tasks."""
    return strategy_parameter_counts(len(config.task_list), n_modules=config.n_modules,
                                     module_size=config.module_size, separate_units=config.separate_units,
                                     joint_units=config.joint_units)


def efficiency_rule(records: Sequence[Record], config: Config) -> ClaimResult:
    """MoLaP stores fewer parameters in total and updates fewer per new task than Separate and Joint, and the built
    models' counts equal the closed forms. The value is MoLaP's total over the smaller of the other two totals."""
    rule = ("MoLaP total < Separate and Joint totals, MoLaP updated per task < theirs, built counts = closed forms")
    m = records[-1].metrics
    forms = closed_forms(config)
    built = {s: (int(m[f"params_total_{s}"]), int(m[f"params_updated_{s}"])) for s in STRATEGIES}
    mismatch = [STRATEGY_LABELS[s] for s in STRATEGIES
                if built[s] != (forms[STRATEGY_LABELS[s]]["total"], forms[STRATEGY_LABELS[s]]["updated_per_task"])]
    if mismatch:
        return judge(None, None, rule, "The built models' parameter counts differ from the closed forms for "
                     + ", ".join(mismatch))
    tot = {s: built[s][0] for s in STRATEGIES}
    upd = {s: built[s][1] for s in STRATEGIES}
    ok = all(tot["molap"] < tot[o] and upd["molap"] < upd[o] for o in ("separate", "joint"))
    n = len(config.task_list)
    detail = (f"With {n} task{'s' if n > 1 else ''} (built models equal the closed forms): total "
              + ", ".join(f"{STRATEGY_LABELS[s]} {tot[s]:,}" for s in ("separate", "joint", "molap"))
              + "; updated per new task " + ", ".join(f"{STRATEGY_LABELS[s]} {upd[s]:,}"
                                                       for s in ("separate", "joint", "molap")))
    return judge(tot["molap"] / min(tot["separate"], tot["joint"]), ok, rule, detail)


def primitives_rule(records: Sequence[Record], config: Config) -> ClaimResult:
    """After task learning, MoLaP's mean accuracy over the tasks is above Modular-random's. The value is the
    difference."""
    rule = "MoLaP mean accuracy > Modular-random mean accuracy"
    if config.primitives == "random":
        return judge(None, None, rule, "The primitive source is 'random': MoLaP has no pre-trained primitives to "
                     "compare; choose latent bank PCA or teacher PCA")
    m = records[-1].metrics
    if m["evaluated"] < len(STRATEGIES):
        return judge(None, None, rule, "Waits for the accuracies after task learning")
    a, b = m["acc_molap"], m["acc_random"]
    detail = (f"Mean accuracy on {config.eval_trials} trials per task after {config.steps_per_task} steps: MoLaP "
              f"{a:.2f}, Modular-random {b:.2f} ({config.primitives} primitives, one seed)")
    return judge(a - b, a > b, rule, detail)


def perturbation_table(records: Sequence[Record]) -> dict[str, dict[float, dict[str, Any]]]:
    """Per perturbation and magnitude, each strategy's raw and normalised accuracy averaged over its draws done:
    ``{kind: {magnitude: {"raw": {label: value}, "normalised": {...}, "count": {label: n}, "draws": n}}}``, where
    ``draws`` is the fewest draws of any of the four strategies (0 until all four have one)."""
    out: dict[str, dict[float, dict[str, Any]]] = {}
    for r in records:
        p = r.artifacts.get("perturbation")
        if p is None:
            continue
        cell = out.setdefault(p["kind"], {}).setdefault(round(float(p["magnitude"]), 10),
                                                        {"raw": {}, "normalised": {}, "count": {}, "draws": 0})
        label = p["strategy"]
        n = cell["count"].get(label, 0)
        for key in ("raw", "normalised"):
            v = float(p["accuracy"] if key == "raw" else p["normalised"])
            cell[key][label] = (cell[key].get(label, 0.0) * n + v) / (n + 1)
        cell["count"][label] = n + 1
        cell["draws"] = min(cell["count"].values()) if len(cell["count"]) == len(STRATEGIES) else 0
    return out


def robustness_rule(records: Sequence[Record], config: Config) -> ClaimResult:
    """At the largest magnitude of every perturbation swept, MoLaP's accuracy divided by its unperturbed accuracy is
    at least that of each other strategy. The value is the smallest margin of MoLaP over the best other strategy."""
    rule = "MoLaP normalised accuracy at the largest perturbation >= every other strategy's, for each perturbation"
    table = perturbation_table(records)
    margins, parts = [], []
    for kind in config.kinds:
        top = round(magnitudes(config, kind)[-1], 10)
        cell = table.get(kind, {}).get(top)
        if cell is None or cell["draws"] < config.draws:
            return judge(None, None, rule, f"Waits for the {kind} sweep to reach its largest magnitude "
                         f"({magnitudes(config, kind)[-1]:g}, {config.draws} draws)")
        norm = cell["normalised"]
        if any(not math.isfinite(v) for v in norm.values()):
            zero = [k for k, v in norm.items() if not math.isfinite(v)]
            return judge(None, None, rule, f"{', '.join(zero)} scored 0 unperturbed: a normalised accuracy is "
                         "undefined; train longer")
        mol = norm[STRATEGY_LABELS["molap"]]
        others = {k: v for k, v in norm.items() if k != STRATEGY_LABELS["molap"]}
        margins.append(mol - max(others.values()))
        name = "eta" if kind == "weight noise" else "f"
        parts.append(f"{kind} {name} = {magnitudes(config, kind)[-1]:g}: "
                     + ", ".join(f"{k} {v:.2f}" for k, v in norm.items()))
    draws = f"mean of {config.draws} draws" if config.draws > 1 else "one draw"
    detail = (f"Normalised accuracy, {draws}: " + "; ".join(parts)
              + f" ({config.primitives} primitives; weight noise scaled by each network's own weight spread)")
    return judge(min(margins), min(margins) >= 0, rule, detail)

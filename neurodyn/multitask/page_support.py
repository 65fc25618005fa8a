"""Texts of the modular-latent-primitives page: pure functions of a config or a run's records
(``docs/papers/multitask.md §4``)."""

from __future__ import annotations

from typing import Sequence

from neurodyn.core.loop import Record
from neurodyn.multitask.experiment import STAGES, STRATEGIES, STRATEGY_LABELS, Config, jobs
from neurodyn.multitask.tasks import TASK_LABELS

__all__ = ["NOTE", "INTRO", "PROTOTYPE", "stage_states", "progress_markdown", "accuracy_text", "robustness_text"]

NOTE = (
    "Only the paper's abstract could be read: the tasks, the network, the primitives and the baselines are the "
    "project's reconstruction ([recon]) or its own concrete choices ([project]), listed in docs/papers/multitask.md "
    "§9. Numbers quoted as *prototype* were measured on the project's prototype, never printed by the paper. Fairness "
    "convention: equal batch and equal number of Adam steps for every strategy, on the same trials; the sizes are the "
    "card's (Separate 64 units per task, Joint 128 units, MoLaP 4 modules of 32 units), so the modular networks and "
    "Joint have equal hidden units, and Separate has fewer per task. The small preset trains 150 steps per task at "
    "learning rate 3e-3 with batch 32 (card: 600 steps, 1e-3, batch 64) to finish within a minute."
)
INTRO = (
    "Nine cognitive tasks (go, anti, memory and decision tasks after Yang et al. 2019) are learned four ways: "
    "**Separate** (one fully trained network per task), **Joint** (one network with a task-identity input, trained on "
    "all tasks), **Modular-random** (frozen, untrained recurrent modules; only each task's input and read-out weights "
    "learn) and **MoLaP** (the same, but each module was first pre-trained to produce two principal components of "
    "the task corpus: the *latent primitives*). The paper's claim: MoLaP learns every task with far fewer parameters "
    "and updates, and its skills are more robust to perturbations."
)
PROTOTYPE = (
    "Prototype (four tasks, 600 steps per task, not the paper's numbers): mean accuracy Separate 0.94, Joint 0.96, "
    "MoLaP 0.86. Under weight noise eta = 0.5 the prototype's MoLaP kept 0.21 against Separate 0.44 and Joint 0.62: "
    "the robustness claim did not reproduce there with latent-bank primitives and noise scaled by each network's own "
    "weight spread."
)


def stage_states(records: Sequence[Record], config: Config) -> list[tuple[str, str, str]]:
    """Each stage of the run: (name, state "done" / "running" / "waiting" / "skipped", detail in words)."""
    plan = jobs(config)
    counts = {s: sum(1 for j in plan if j[0] == s) for s in (1, 2, 3, 4)}
    done = {s: 0 for s in (1, 2, 3, 4)}
    for i in range(min(len(records), len(plan))):
        done[plan[i][0]] += 1
    m = records[-1].metrics if records else {}
    details = {
        1: f"{config.corpus_batches} batches of {config.batch} trials of all nine tasks; PCA of the "
           f"{'teacher network states' if config.primitives == 'teacher PCA' else 'latent bank'}, "
           f"{2 * config.n_modules} components kept",
        2: f"{config.n_modules} modules, {m.get('pretrain_step', 0):.0f} of {config.pretrain_steps} steps",
        3: f"{m.get('task_step', 0):.0f} of {config.steps_per_task} steps per strategy; "
           f"{m.get('evaluated', 0):.0f} of {len(STRATEGIES)} strategies evaluated",
        4: f"{m.get('perturbations_done', 0):.0f} of {counts[4]} perturbation jobs ({', '.join(config.kinds)})",
    }
    out = []
    for s, name in zip((1, 2, 3, 4), STAGES):
        if counts[s] == 0:
            out.append((name, "skipped", "random primitives: the modules are not pre-trained"))
            continue
        state = "done" if done[s] == counts[s] else "running" if done[s] > 0 else "waiting"
        out.append((name, state, details[s]))
    return out


def progress_markdown(records: Sequence[Record], config: Config) -> str:
    """The stages as a numbered markdown list with a mark per state."""
    marks = {"done": "✅", "running": "⏳", "waiting": "▫️", "skipped": "➖"}
    return "\n".join(f"{i}. {marks[state]} **{name}** ({state}): {detail}"
                     for i, (name, state, detail) in enumerate(stage_states(records, config), 1))


def accuracy_text(records: Sequence[Record], config: Config) -> str:
    """The mean accuracies in words, once every strategy is evaluated."""
    m = records[-1].metrics if records else {}
    if m.get("evaluated", 0) < len(STRATEGIES):
        return "Accuracies follow task learning."
    parts = [f"{STRATEGY_LABELS[s]} {m[f'acc_{s}']:.2f}" for s in STRATEGIES]
    hardest = min(config.task_list, key=lambda t: m[f"acc_molap_{t}"])
    return (f"Mean accuracy over {len(config.task_list)} tasks after {config.steps_per_task} steps: "
            + ", ".join(parts) + f". MoLaP's hardest task: {TASK_LABELS[hardest]} "
            f"({m[f'acc_molap_{hardest}']:.2f}). " + PROTOTYPE)


def robustness_text(config: Config) -> str:
    """Which primitives and which perturbation definitions produced the curves, and the prototype's numbers."""
    return (f"Measured with **{config.primitives}** primitives. Weight noise: N(0, (eta s)^2) added to every stored "
            "recurrent weight, s the standard deviation of that network's own recurrent weights (the exact zeros "
            "between modules stay zero). Silencing: a random fraction f of the units clamped to 0 at every step, one "
            "set for a network shared by all tasks (Joint, Modular-random, MoLaP), one per task for the separate "
            f"networks. Accuracy: mean over the tasks and {config.draws} random draw{'s' if config.draws > 1 else ''}; "
            "normalised: divided by the "
            "strategy's unperturbed accuracy. " + PROTOTYPE)

"""Texts and the world preview of the causal-induction page: pure functions of a config or a run's records
(``docs/papers/causal.md §4``)."""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from neurodyn.causal.claims import evaluations
from neurodyn.causal.experiment import MODEL_LABELS, Config, SweepConfig, make_world, trained
from neurodyn.causal.graphs import descendants
from neurodyn.core.loop import Record
from neurodyn.core.seeding import derive_seed

__all__ = ["INTRO", "RULE_TEXT", "SWEEP_INTRO", "world_example", "example_text", "ranking_text", "sweep_status"]

INTRO = (
    "A **Chemistry world**: N objects on a small grid, each with one of C colours. Each object's colour is a fixed "
    "function of its parents' colours in a causal graph; an action recolours one object (an intervention) and the "
    "change cascades to its descendants. Three **world models** see only the images and the actions: a monolithic "
    "MLP over all objects at once, a modular model with one transition module per object, and a graph network "
    "(C-SWM). Each learns to predict the next state in its latent space (by default with a contrastive loss), and "
    "is scored by ranking: from a held-out image and k actions, is the predicted latent closest to the latent of the "
    "true outcome, among all test outcomes (H@1), and how high does it rank (MRR)? The paper's claim: models with "
    "explicit object structure induce the dynamics better, and more so as the graph grows."
)
RULE_TEXT = (
    "Two rules: under **the paper's tie rule** a prediction tied with the truth counts as a hit, so a model that "
    "maps every image to one point scores 1.0; the **pessimistic rule** counts ties against the model, and "
    "de-duplicates outcomes (another test path that ends in the same true state is not a competitor). The claim "
    "checks use the pessimistic rule."
)
SWEEP_INTRO = (
    "The same three models trained on worlds of each size in the sweep settings (N = 3, 5 and 7 by default; the "
    "chosen graph family), one after the other, with the final H@1 at k = 5 of each. The claim: the structured "
    "models' lead over the monolithic one grows with N. One seed per size: read the gaps, not the decimals."
)


def world_example(config: Config) -> dict[str, Any]:
    """One intervention in the run's world (same graph and mechanisms as the run), without training anything.

    Returns
    -------
    dict
        ``before``, ``after`` (3, H, W) images, ``colors_before``, ``colors_after`` (N,), ``action``,
        ``positions`` (N, 2), ``adjacency`` (N, N).
    """
    world = make_world(config, 1)
    c0 = world.reset(seed=derive_seed(config.seed, "preview") % (2**31 - 1)).copy()
    rng = np.random.default_rng(derive_seed(config.seed, "preview-action") % (2**31 - 1))
    before = world.render(c0, world.positions)[0]
    action = int(rng.integers(0, config.n_objects * config.n_colors))
    c1 = world.step(np.array([action])).copy()
    return {"before": before, "after": world.render(c1, world.positions)[0], "colors_before": c0[0],
            "colors_after": c1[0], "action": action, "positions": world.positions[0].copy(),
            "adjacency": world.adjacency.copy()}


def example_text(example: dict[str, Any], n_colors: int) -> str:
    """What the intervention did, in words."""
    i, colour = divmod(int(example["action"]), n_colors)
    below = descendants(np.asarray(example["adjacency"]), i)
    diff = np.asarray(example["colors_before"]) != np.asarray(example["colors_after"])
    changed = [j + 1 for j in np.nonzero(diff)[0]]
    return (f"The action sets object {i + 1} to colour {colour + 1} (outlined). Its descendants in the graph: "
            f"{', '.join(f'object {j + 1}' for j in sorted(below)) or 'none'}. Objects that changed colour: "
            f"{', '.join(f'object {j}' for j in changed) or 'none (it already had that colour)'}; no other object "
            "can change.")


def ranking_text(records: Sequence[Record], config: Config) -> str:
    """The latest scores in words, both rules."""
    evals = evaluations(records)
    if not evals:
        return "The first ranking (before training) is on its way."
    e = evals[-1]
    parts = [f"{MODEL_LABELS[m]} {e[f'h1_k5_{m}']:.2f} ({e[f'h1_k5_{m}_paper']:.2f} under the paper's rule)"
             for m in trained(config)]
    return (f"H@1 at k = 5 after {int(e['evaluated_at'])} of {config.steps} steps: " + "; ".join(parts) + ". "
            + RULE_TEXT)


def sweep_status(records: Sequence[Record], config: SweepConfig) -> str:
    """Which sizes are done."""
    done = [int(r.artifacts["finished_n"]) for r in records if "finished_n" in r.artifacts]
    todo = [n for n in config.n_values if n not in done]
    return (f"Finished N = {', '.join(map(str, done)) or 'none yet'}"
            + (f"; training N = {todo[0]}." if todo else "."))

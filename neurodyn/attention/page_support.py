"""Page support for the compositional-attention page: tables, previews, reference lines and status texts.

Pure functions of a config or of a run's records (no streamlit), used by ``pages/attention.py`` and by the claim
checks of :mod:`neurodyn.attention`; the science (models, measures, the held-out batch) stays in
:mod:`neurodyn.attention.experiment`. See ``docs/papers/attention.md §4``.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import replace
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from neurodyn.attention.experiment import (
    PRESETS,
    SPECIALISED_SELECTION,
    SPECIALISED_SHARPNESS,
    ZERO_PREDICTOR_L1,
    Config,
    build_models,
    ground_truth_rows,
    head_widths,
    held_out_batch,
)
from neurodyn.attention.tasks import zero_predictor_l1
from neurodyn.core.config import apply_overrides
from neurodyn.core.loop import Record

__all__ = ["parameter_table", "task_preview", "zero_line", "specialisation_status", "seed_runs", "seed_summary",
           "VALUE_MAP_CAPTION", "PREVIEW_CAPTION", "HIGH_SHADE", "SEED_RUNS"]

#: Final losses of the toy experiment over several seeds, written by ``benchmarks/attention.py --seeds``.
SEED_RUNS = Path(__file__).with_name("seed_runs.json")

#: How the grey scale of the maps draws a high value (``figures.GREYS``: 0 white, 1 black).
HIGH_SHADE = "dark"

#: How to read the value-score map; its words must agree with the colour scale (:data:`HIGH_SHADE`).
VALUE_MAP_CAPTION = (
    f"How to read this: each column is a token; the darker a cell, the higher its score (black = 1). In a "
    f"specialised run the {HIGH_SHADE} cell of each search's rows jumps between values exactly when a "
    "ground-truth task row below switches."
)

#: Under the pre-run preview of the ground-truth rows (formatted with the config's s_gt and N).
PREVIEW_CAPTION = (
    "What the maps will be compared with: for each of the {s_gt} ground-truth searches, the task (value) each of "
    "the {n} tokens needs, in the fixed held-out sample that the run's value-score map shows ({shade} = the "
    "token's task). A specialised run puts one {shade} model row on each of these patterns. Press Start to train."
)


def parameter_table(config: Config) -> list[dict[str, object]]:
    """Rows (model, attention formula with numbers, attention parameters, whole toy model parameters).

    Parameters
    ----------
    config : Config

    Returns
    -------
    list of dict
        One row per model: Comp(S, R) then MHA(H); the formula counts weights only, the two counts include
        every bias of the built models.
    """
    D, S, R, H = config.d_model, config.n_searches, config.n_retrievals, config.n_heads
    w = head_widths(config)
    dk, dv, dr, dh = w["d_k"], w["d_v"], w["d_r"], w["d_h"]
    comp, mha = build_models(config, "cpu")

    def count(m: object) -> int:
        return sum(p.numel() for p in m.parameters())

    comp_attn = 2 * S * D * dk + R * D * dv + S * D * dr + dv * dr + S * dv * D
    mha_attn = 2 * H * D * dh + H * D * dh + H * dh * D
    comp_text = (f"2·S·D·d_k + R·D·d_v + S·D·d_r + d_v·d_r + S·d_v·D = 2·{S}·{D}·{dk} + {R}·{D}·{dv} + "
                 f"{S}·{D}·{dr} + {dv}·{dr} + {S}·{dv}·{D} = {comp_attn}")
    mha_text = f"2·H·D·d_k + H·D·d_v + H·d_v·D = 2·{H}·{D}·{dh} + {H}·{D}·{dh} + {H}·{dh}·{D} = {mha_attn}"
    return [
        {"model": f"Comp(S={S}, R={R})", "attention weights (no biases)": comp_text,
         "attention parameters": count(comp.attention), "toy model parameters": count(comp)},
        {"model": f"MHA(H={H})", "attention weights (no biases)": mha_text,
         "attention parameters": count(mha.attention), "toy model parameters": count(mha)},
    ]


def task_preview(config: Config) -> dict[str, np.ndarray]:
    """Sample 0 of the held-out batch, before any training: what the value-score map will be compared with.

    Parameters
    ----------
    config : Config

    Returns
    -------
    dict
        ``tasks`` (s_gt, N): the true task of each token for each GT search; ``ground_truth`` (s_gt * r_gt, N):
        their one-hot rows, exactly the bottom rows of the ``value_scores`` artifact; ``neighbours`` (s_gt, N).
    """
    b = held_out_batch(config)
    tasks = b.tasks[0].T.numpy()  # (N, s_gt) -> (s_gt, N)
    return {"tasks": tasks, "ground_truth": ground_truth_rows(tasks, config.n_retrieval_gt),
            "neighbours": b.neighbours[0].T.numpy()}


def zero_line(config: Config, records: Sequence[Record] | None = None) -> float:
    """The zero-predictor L1 of the run's task: the line drawn on the loss plot and the claims' reference.

    The closed form (0.764 for the defaults, ``docs/papers/attention.md §3``) when it applies (s_gt <= 2, no OOD
    split), else the held-out batch's mean |y| from the latest record (``ZERO_PREDICTOR_L1`` before any record).

    Parameters
    ----------
    config : Config
        The run's config.
    records : sequence of Record, optional

    Returns
    -------
    float
    """
    if config.n_search_gt <= 2 and not config.ood:
        return zero_predictor_l1(config.n_tokens, config.n_search_gt, config.n_retrieval_gt,
                                 coefficients=config.coefficients)
    if records:
        return float(records[-1].metrics["zero_l1"])
    return ZERO_PREDICTOR_L1


def specialisation_status(records: Sequence[Record]) -> tuple[str, str]:
    """Say whether the value scores have specialised, from the latest record.

    Parameters
    ----------
    records : sequence of Record

    Returns
    -------
    (state, message)
        ``state`` in {"waiting", "specialised", "not_yet", "not_specialised"}; the last one (run finished without
        crisp selection) comes with a reseed / D = 64 hint (``docs/papers/attention.md §7``).
    """
    if not records:
        return "waiting", "No records yet."
    last = records[-1].metrics
    sel, sharp = last["selection_accuracy"], last["value_sharpness"]
    text = f"selection accuracy {sel:.3f}, mean max c {sharp:.3f}"
    if sel >= SPECIALISED_SELECTION and sharp >= SPECIALISED_SHARPNESS:
        return "specialised", f"The value scores have specialised: {text}."
    if last.get("done", 0.0) < 1.0:
        return "not_yet", f"Not specialised yet ({text})."
    steps = int(records[-1].step)
    if steps < 500:
        return "not_specialised", (
            f"Not specialised after only {steps} optimizer steps ({text}); the small preset needs about 1,000.")
    return "not_specialised", (
        f"The value scores did not specialise in this seed after {steps} optimizer steps ({text}). The loss can be "
        "just as low: a soft, data-dependent c also solves the task, so the gate is not interpretable here. Crisp "
        "selection is seed-dependent (docs/papers/attention.md §7): try another seed or D = 64."
    )


def _same_setting(a: Config, b: Config) -> bool:
    """Whether two configs differ at most in the seed and the device (which do not change the setting)."""
    return replace(a, seed=0, device="cpu") == replace(b, seed=0, device="cpu")


def seed_runs(config: Config, path: Path | str = SEED_RUNS) -> dict[str, Any] | None:
    """The multi-seed measurement of ``config``'s setting from the results file, if it holds one.

    Parameters
    ----------
    config : Config
    path : Path or str
        The results file (``benchmarks/attention.py --seeds`` writes it).

    Returns
    -------
    dict or None
        The setting's entry: ``label``, ``preset``, ``overrides``, ``command``, ``measured`` and ``runs`` (one dict
        per seed with ``seed``, ``comp``, ``mha``, ``selection``, ...); None when no entry matches the config up to
        its seed and device, or there is no results file.
    """
    path = Path(path)
    if not path.exists():
        return None
    for entry in json.loads(path.read_text())["settings"]:
        if _same_setting(apply_overrides(PRESETS[entry["preset"]], entry["overrides"]), config):
            return entry
    return None


def seed_summary(config: Config, path: Path | str = SEED_RUNS) -> str:
    """One paragraph on how Comp and MHA end over several seeds at ``config``'s setting, from the results file.

    Parameters
    ----------
    config : Config
    path : Path or str

    Returns
    -------
    str
        Counts and medians with the command and date that produced them, or a sentence saying that these settings
        were not measured over seeds.
    """
    entry = seed_runs(config, path)
    if entry is None:
        return ("These settings have not been run over several seeds; docs/papers/attention.md §7 lists the settings "
                "that have, with the command that measures them.")
    runs = entry["runs"]
    n, below = len(runs), sum(r["comp"] < r["mha"] for r in runs)
    crisp = sum(r["selection"] >= SPECIALISED_SELECTION for r in runs)
    seeds = ", ".join(str(r["seed"]) for r in runs)
    comp, mha = statistics.median(r["comp"] for r in runs), statistics.median(r["mha"] for r in runs)
    return (f"Over seeds {seeds} at these settings ({entry['measured']}; `{entry['command']}`): Comp ended below "
            f"MHA in {below} of {n} seeds, median held-out L1 Comp {comp:.3f} against MHA {mha:.3f}; the value scores "
            f"specialised (selection accuracy ≥ {SPECIALISED_SELECTION:g}) in {crisp} of {n}.")

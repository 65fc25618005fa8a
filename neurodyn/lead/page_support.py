"""Page support for the LEAD page: the pre-run record, status texts and the spectral tab's arrays.

Pure functions of a config or of a run's records (no streamlit), used by ``pages/lead.py``; the science (games,
optimizers, closed forms, the experiments) stays in :mod:`neurodyn.lead.experiment` and
:mod:`neurodyn.lead.spectral`. See ``docs/papers/lead.md`` §10.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np

from neurodyn.core.loop import Record
from neurodyn.lead.experiment import (
    METHOD_NAMES,
    PLANE,
    START,
    Config,
    enabled_methods,
    lead_rate,
    make_game,
    method_metric,
    path_key,
)
from neurodyn.lead.spectral import spectral_radius

__all__ = ["start_record", "diverged_methods", "diverged_text", "rate_text", "spectral_maps", "ETA_RANGE",
           "ALPHA_RANGE", "CURVE_METHODS", "gan_study_text", "gan_study_table"]

ETA_RANGE = (0.005, 1.5)  # the step-size slider's range: the maps cover it, so the sidebar's point is on them
ALPHA_RANGE = (0.0, 1.5)  # the coupling slider's range
CURVE_METHODS = ("gda", "eg", "ogda", "momentum", "lead")  # the methods of "ρ against η"


def start_record(config: Config) -> Record:
    """What a run of ``config`` starts from, as a record the path figures read; no step is taken.

    Parameters
    ----------
    config : Config

    Returns
    -------
    Record
        Step 0, no metrics; artifacts :data:`~neurodyn.lead.experiment.PLANE` (f's coefficients on the (x_1, y_1)
        plane) and a one-point path (shape (1, 2)) at the common start for every enabled method.
    """
    start = np.array([[START, START]], dtype=np.float64)  # (x_1, y_1) of w_0
    artifacts: dict[str, Any] = {path_key(m): start.copy() for m in enabled_methods(config)}
    artifacts[PLANE] = np.asarray(make_game(config).plane(), dtype=np.float64)
    return Record(step=0, metrics={}, artifacts=artifacts)


def diverged_methods(records: Sequence[Any], config: Config) -> list[str]:
    """The enabled methods whose ‖w‖ passed 10⁶ by the last record (keys of ``METHOD_NAMES``).

    Parameters
    ----------
    records : sequence of Record
        Records of a ``lead`` run.
    config : Config
        The run's config.

    Returns
    -------
    list of str
    """
    if not records:
        return []
    last = records[-1].metrics
    return [m for m in enabled_methods(config) if last.get(method_metric("diverged", m), 0.0)]


def diverged_text(records: Sequence[Any], config: Config) -> str | None:
    """The page's warning about diverged methods, or None when none diverged.

    Parameters
    ----------
    records : sequence of Record
    config : Config

    Returns
    -------
    str or None
    """
    gone = diverged_methods(records, config)
    if not gone:
        return None
    names = ", ".join(METHOD_NAMES[m] for m in gone)
    return (f"Diverged: {names} (‖w‖ passed 10⁶ and is frozen there; the paths chart leaves their far points out of "
            "its frame). These settings are outside the method's stable region; tab B shows where ρ < 1.")


def rate_text(config: Config) -> str:
    """One sentence on the closed-form rate of LEAD at ``config``, for the trajectories tab.

    Parameters
    ----------
    config : Config

    Returns
    -------
    str
    """
    rho = lead_rate(config)
    verdict = "converges" if rho < 1 else "diverges"
    return (f"Every enabled method starts from the same point of the **{config.game}** game with η = {config.lr:g}. "
            f"Closed-form rate of {config.lead_order} LEAD at these settings: **ρ = {rho:.5f}** ({verdict}).")


def spectral_maps(config: Config, *, n_map: int = 200, n_curve: int = 300) -> dict[str, Any]:
    """The spectral tab's arrays at ``config``'s game and β (closed form per mode: milliseconds).

    Parameters
    ----------
    config : Config
    n_map : int
        Grid points per axis of the (η, α) map.
    n_curve : int
        Points of the ρ-against-η curves.

    Returns
    -------
    dict
        ``eta`` (n_map,), ``alpha`` (n_map,), ``rho`` (n_map, n_map): LEAD's ρ over (η, α); ``etas`` (n_curve,)
        and ``curves``: method -> ρ (n_curve,) for :data:`CURVE_METHODS` (heavy ball and LEAD at the config's β,
        LEAD at its α).
    """
    game = make_game(config)
    eta, alpha = np.linspace(*ETA_RANGE, n_map), np.linspace(*ALPHA_RANGE, n_map)
    rho = spectral_radius("lead", game, lr=eta[:, None], beta=config.beta, alpha=alpha[None, :])
    etas = np.linspace(*ETA_RANGE, n_curve)
    knobs = {"gda": {}, "eg": {}, "ogda": {}, "momentum": {"beta": config.beta},
             "lead": {"beta": config.beta, "alpha": config.alpha}}
    curves = {m: np.asarray(spectral_radius(m, game, lr=etas, **knobs[m]), dtype=float) for m in CURVE_METHODS}
    return {"eta": eta, "alpha": alpha, "rho": np.asarray(rho, dtype=float), "etas": etas, "curves": curves}


SAME_MODES = 0.1  # mean modes covered closer than this count as equal


def _seeds(n: int) -> str:
    return f"{n} seed" if n == 1 else f"{n} seeds"


def gan_study_text(saved: dict[str, Any] | None, preset: str = "small") -> str:
    """What the saved multi-seed study (:mod:`neurodyn.lead.study`) says about ``preset``, in plain words.

    Parameters
    ----------
    saved : dict or None
        :func:`neurodyn.lead.study.load_results`'s output.
    preset : str

    Returns
    -------
    str
        Markdown; says so when there is no study for ``preset``.
    """
    study = (saved or {}).get("studies", {}).get(preset)
    if study is None:
        return (f"No multi-seed study of the {preset} preset is saved; run `python -m neurodyn.lead.study --preset "
                f"{preset}` to make one.")
    s = study["summary"]
    n = s["n_seeds"]
    gap = s["lead_modes"] - s["adam_modes"]
    lead_ahead = gap > SAME_MODES
    if lead_ahead and s["lead_more"] > s["lead_fewer"]:
        verdict = "LEAD-Adam keeps more modes than Adam, as the paper shows, though not in every seed"
    elif lead_ahead:
        why = ", because Adam loses modes for good in more seeds," if s["adam_collapsed"] > s["lead_collapsed"] else ""
        verdict = f"LEAD-Adam keeps more modes than Adam on average{why} but it does not win more seeds than it loses"
    elif gap < -SAME_MODES and s["lead_fewer"] > s["lead_more"]:
        verdict = "Adam keeps more modes than LEAD-Adam: the paper's effect does not appear at this size"
    else:
        verdict = "neither optimizer keeps more modes: the seeds differ more than the optimizers do"
    return (f"**Over {n} seeds of the {preset} preset, {verdict}.** Over the second half of training, mean over "
            f"seeds: modes covered LEAD-Adam {s['lead_modes']:.2f}, Adam {s['adam_modes']:.2f} of 8; all 8 modes held "
            f"for {s['lead_all8']:.0%} against {s['adam_all8']:.0%} of the steps; high-quality fraction "
            f"{s['lead_hq']:.2f} against {s['adam_hq']:.2f}. Fewer than 7 modes on average (a mode lost for good): "
            f"LEAD-Adam in {_seeds(s['lead_collapsed'])}, Adam in {_seeds(s['adam_collapsed'])}. Seed by seed, "
            f"LEAD-Adam kept more modes in {s['lead_more']}, as many in {s['tie']} and fewer in {s['lead_fewer']}: "
            "one run of a few "
            f"seeds can go either way, and its claim check judges only its own seeds. Measured with "
            f"`{study['command']}` on {study['date']}.")


def gan_study_table(saved: dict[str, Any] | None, preset: str = "small") -> list[dict[str, Any]]:
    """The saved study's rows for ``preset`` as a table: one row per network seed (empty when none is saved).

    Parameters
    ----------
    saved : dict or None
    preset : str

    Returns
    -------
    list of dict
        Columns: run seed, stacked seed, modes covered and fraction of steps with all 8, per optimizer.
    """
    study = (saved or {}).get("studies", {}).get(preset)
    if study is None:
        return []
    return [{"run seed": r["seed"], "stacked seed": r["stack"], "modes, Adam": round(r["adam_modes"], 2),
             "modes, LEAD-Adam": round(r["lead_modes"], 2), "all 8 held, Adam": round(r["adam_all8"], 2),
             "all 8 held, LEAD-Adam": round(r["lead_all8"], 2)} for r in study["rows"]]

"""Adam against LEAD-Adam on the 8-Gaussian GAN over many seeds: the study behind ``docs/papers/lead.md`` §11.1.

One run of ``lead_gan`` trains a few stacked seeds; whether LEAD-Adam keeps more modes than Adam varies from seed to
seed at the small sizes a CPU can train, so one run cannot settle it. This module runs the experiment for several
top-level seeds, summarises every network seed with :func:`seed_stats` and writes the table the page shows
(:data:`RESULTS`), with the command that made it::

    python -m neurodyn.lead.study --preset small --seeds 0 1 2 3 4 5

The summary per network seed and optimizer: modes covered averaged over the second half of the run (the quantity the
``gan_modes`` claim judges), the fraction of second-half steps with all 8 modes, the fewest modes in the second half,
and the high-quality fraction averaged over the second half.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime
import json
import time
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from neurodyn.lead.experiment import GAN_PRESETS, OPTIMIZERS, GanConfig, build_gan, gan_metric

__all__ = ["RESULTS", "SECOND_HALF", "COLLAPSED", "second_half", "seed_stats", "summarise", "run_study", "load_results",
           "main"]

RESULTS = Path(__file__).with_name("gan_seeds.json")  # written by main(), read by the page
SECOND_HALF = 0.5  # statistics over the records after this fraction of the run: the paper's "and stays there"
COLLAPSED = 7.0  # a seed whose second-half mean of modes covered is below this lost at least one mode for good


def second_half(records: Sequence[Any]) -> Sequence[Any]:
    """The records of the second half of a run (at least the last one).

    Parameters
    ----------
    records : sequence of Record

    Returns
    -------
    sequence of Record
    """
    return records[int(len(records) * SECOND_HALF):] or records[-1:]


def seed_stats(records: Sequence[Any], config: GanConfig) -> list[dict[str, Any]]:
    """Per network seed and optimizer, the second-half statistics of one ``lead_gan`` run.

    Parameters
    ----------
    records : sequence of Record
        Records of a ``lead_gan`` run.
    config : GanConfig
        The run's config.

    Returns
    -------
    list of dict
        One row per stacked seed ``i``: ``seed`` (the run's seed), ``stack`` (i), and per optimizer ``o``:
        ``<o>_modes`` (mean modes covered), ``<o>_all8`` (fraction of steps with 8 modes), ``<o>_min`` (fewest
        modes), ``<o>_hq`` (mean high-quality fraction), all over the second half.
    """
    half = second_half(records)
    rows = []
    for i in range(config.n_seeds):
        row: dict[str, Any] = {"seed": config.seed, "stack": i}
        for o in OPTIMIZERS:
            modes = np.array([r.metrics[gan_metric(o, "modes", i)] for r in half])
            hq = np.array([r.metrics[gan_metric(o, "hq", i)] for r in half])
            row.update({f"{o}_modes": float(modes.mean()), f"{o}_all8": float(np.mean(modes == 8)),
                        f"{o}_min": float(modes.min()), f"{o}_hq": float(hq.mean())})
        rows.append(row)
    return rows


def summarise(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Means over seeds and the count of seeds where LEAD-Adam keeps more, equal or fewer modes than Adam.

    Parameters
    ----------
    rows : sequence of dict
        Rows of :func:`seed_stats`.

    Returns
    -------
    dict
        ``n_seeds``; per optimizer the means of ``modes``, ``all8``, ``min``, ``hq`` and ``<o>_collapsed``, the
        seeds whose second-half mean of modes is below :data:`COLLAPSED`; ``lead_more``, ``tie``, ``lead_fewer``
        (seeds, by second-half mean modes, ties within 0.05).
    """
    out: dict[str, Any] = {"n_seeds": len(rows)}
    for o in OPTIMIZERS:
        for q in ("modes", "all8", "min", "hq"):
            out[f"{o}_{q}"] = float(np.mean([r[f"{o}_{q}"] for r in rows]))
    d = np.array([r["lead_modes"] - r["adam_modes"] for r in rows])
    out.update({"lead_more": int(np.sum(d > 0.05)), "tie": int(np.sum(np.abs(d) <= 0.05)),
                "lead_fewer": int(np.sum(d < -0.05))})
    for o in OPTIMIZERS:
        out[f"{o}_collapsed"] = int(sum(r[f"{o}_modes"] < COLLAPSED for r in rows))
    return out


def run_study(preset: str, seeds: Sequence[int], device: str = "cpu") -> dict[str, Any]:
    """Run ``lead_gan`` at ``preset`` for each top-level seed and summarise every network seed.

    Parameters
    ----------
    preset : str
        A key of ``GAN_PRESETS``.
    seeds : sequence of int
        Top-level seeds; each run trains the preset's ``n_seeds`` stacked network seeds.
    device : str

    Returns
    -------
    dict
        ``preset``, ``config`` (of the first run), ``rows`` (:func:`seed_stats` of every run), ``summary``
        (:func:`summarise`), ``seconds``.
    """
    import torch

    torch.set_num_threads(1)
    rows: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    base = dataclasses.replace(GAN_PRESETS[preset], device=device)
    for s in seeds:
        cfg = dataclasses.replace(base, seed=int(s))
        exp = build_gan(cfg)
        records = []
        while not exp.done:
            records.append(exp.step())
        rows += seed_stats(records, cfg)
        print(json.dumps(rows[-cfg.n_seeds:]), flush=True)
    return {"preset": preset, "config": dataclasses.asdict(base), "rows": rows, "summary": summarise(rows),
            "seconds": round(time.perf_counter() - t0, 1)}


def load_results(path: Path = RESULTS) -> dict[str, Any] | None:
    """The saved study (see :func:`main`), or None when there is none.

    Parameters
    ----------
    path : Path

    Returns
    -------
    dict or None
        The saved dict: ``command``, ``date``, ``studies`` (preset -> :func:`run_study`'s output).
    """
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError):
        return None


def main(argv: Sequence[str] | None = None) -> None:
    """Run the study and merge it into :data:`RESULTS` (one entry per preset)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="small", choices=tuple(GAN_PRESETS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4, 5])
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    study = run_study(args.preset, args.seeds, args.device)
    study["command"] = (f"python -m neurodyn.lead.study --preset {args.preset} --seeds "
                        f"{' '.join(map(str, args.seeds))}")
    study["date"] = datetime.date.today().isoformat()
    saved = load_results(args.out) or {"studies": {}}
    saved["studies"][args.preset] = study
    args.out.write_text(json.dumps(saved, indent=1) + "\n")
    print(json.dumps(study["summary"]))


if __name__ == "__main__":
    main()

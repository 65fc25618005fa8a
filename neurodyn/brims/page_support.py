"""Pure helpers of the BRIMs page (no streamlit): the model-size table, the raster preview, and the texts that
quote numbers, each computed from the run on screen or read from a results file of :mod:`neurodyn.brims.sweep`
(``docs/papers/brims.md §6``), never typed into the page.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Sequence

import numpy as np

from neurodyn.brims.claims import K_CLAIM, LSTM_MARGIN, SIGMA_CLAIM
from neurodyn.brims.experiment import (
    MODEL_LABELS,
    N_LAYERS,
    Config,
    build_models,
    distracted_test_set,
    evaluations,
    layer_metric,
    model_metric,
    model_names,
)

__all__ = ["RESULTS_DIR", "RESULTS", "parameter_table", "raster_input", "run_status", "switch_rate_text",
           "load_results", "results_rows", "results_caption", "findings_text"]

RESULTS_DIR = Path(__file__).resolve().parent / "results"
#: Results files the page shows, with what each varies: file name -> description in words.
RESULTS = {
    "small.json": "the small preset (20 epochs), as the page trains by default",
    "small-40-epochs.json": "the small preset trained twice as long (40 epochs)",
    "paper-30-epochs.json": "the paper preset's model sizes and learning rate (the reference's MNIST widths), 30 of "
                            "its 100 epochs",
}


def parameter_table(config: Config) -> list[dict[str, object]]:
    """Rows (model, what it is, parameters) of the models a run of ``config`` trains.

    Parameters
    ----------
    config : Config

    Returns
    -------
    list of dict
        Keys ``model``, ``what``, ``parameters``.
    """
    what = {"brims": "layers of modules with top-down attention", "rims": "the same stack, no top-down slot",
            "lstm": f"2-layer LSTM({config.d_embed}, {config.lstm_hidden})"}
    return [{"model": name, "what": what[name], "parameters": sum(p.numel() for p in m.parameters())}
            for name, m in build_models(config).items()]


def raster_input(config: Config) -> tuple[np.ndarray, int]:
    """What the module-activation raster of a run of ``config`` is measured on, before any run.

    Parameters
    ----------
    config : Config

    Returns
    -------
    image : ndarray, shape (8 + probe_rows, 8)
        The first held-out digit, one row per time step, followed by its distractor rows.
    label : int
    """
    x, y = distracted_test_set(config)
    return x[0].numpy(), int(y[0])


def run_status(records: Sequence[Any], config: Config) -> str:
    """One sentence with this run's accuracies at its latest evaluation, clean and with ``probe_rows`` rows.

    Parameters
    ----------
    records : sequence of Record
    config : Config
        The run's config.

    Returns
    -------
    str
    """
    evals = evaluations(records)
    if not evals:
        return "No evaluation yet."
    epoch, m = evals[-1]
    when = "before training (epoch 0)" if epoch == 0 else f"after epoch {epoch} of {config.epochs}"
    parts = [f"{MODEL_LABELS[n]} {m[model_metric(n, 'test_acc')]:.2f} clean, "
             f"{m[model_metric(n, 'distracted_acc')]:.2f} with {config.probe_rows} distractor rows"
             for n in model_names(config)]
    return f"This run (seed {config.seed}) {when}: " + "; ".join(parts) + "."


def switch_rate_text(records: Sequence[Any]) -> str:
    """This run's switch rate per layer at its latest evaluation (fraction of steps whose active set changes).

    Parameters
    ----------
    records : sequence of Record

    Returns
    -------
    str
    """
    evals = evaluations(records)
    if not evals:
        return ""
    epoch, m = evals[-1]
    rates = ", ".join(f"layer {layer} {m[layer_metric('switch_rate', layer)]:.2f}" for layer in range(1, N_LAYERS + 1))
    return f"Switch rate in this run at epoch {epoch}: {rates}."


def load_results(name: str = "small.json", folder: Path | None = None) -> dict[str, Any] | None:
    """A results file written by ``python -m neurodyn.brims.sweep``, or None if it is missing or unreadable.

    Parameters
    ----------
    name : str
        File name in ``folder``.
    folder : Path, optional
        Default :data:`RESULTS_DIR`.

    Returns
    -------
    dict or None
    """
    path = (folder or RESULTS_DIR) / name
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _span(lo: float, hi: float, signed: bool = False) -> str:
    fmt = "{:+.2f}" if signed else "{:.2f}"
    return fmt.format(lo) if abs(hi - lo) < 5e-3 else f"{fmt.format(lo)} to {fmt.format(hi)}"


def results_rows(results: dict[str, Any]) -> list[dict[str, object]]:
    """One row per model of a results file: accuracy over the seeds (lowest to highest), clean and distracted.

    Parameters
    ----------
    results : dict
        As written by :mod:`neurodyn.brims.sweep`.

    Returns
    -------
    list of dict
        Keys ``model``, ``clean``, ``with K distractor rows`` (K the run's ``probe_rows``).
    """
    k = _probe_rows(results)
    acc = results["summary"]["accuracy"]
    return [{"model": MODEL_LABELS.get(n, n), "clean": _span(a["clean"][0], a["clean"][2]),
             f"with {k} distractor rows": _span(a["distracted"][0], a["distracted"][2])} for n, a in acc.items()]


def _probe_rows(results: dict[str, Any]) -> int:
    return int(results.get("overrides", {}).get("probe_rows", Config().probe_rows))


def _seeds(results: dict[str, Any]) -> str:
    seeds = [r["seed"] for r in results["runs"]]
    if seeds == list(range(seeds[0], seeds[0] + len(seeds))) and len(seeds) > 2:
        return f"seeds {seeds[0]}-{seeds[-1]}"
    return "seeds " + ", ".join(map(str, seeds))


def results_caption(results: dict[str, Any]) -> str:
    """Where a results file's numbers come from: seeds, epochs, machine, date, wall time and the command.

    Parameters
    ----------
    results : dict

    Returns
    -------
    str
    """
    runs = results["runs"]
    secs = [r["seconds"] for r in runs]
    cost = f"wall time per run {min(secs):.0f}-{max(secs):.0f} s"
    if all("cpu_seconds" in r for r in runs):
        cpu = [r["cpu_seconds"] for r in runs]
        cost += f", CPU time {min(cpu):.0f}-{max(cpu):.0f} s"
    if all("load" in r for r in runs):
        cost += f", with the machine's load average at {min(r['load'] for r in runs):.1f}-" \
                f"{max(r['load'] for r in runs):.1f} (shared with other jobs)"
    return (f"{_seeds(results)}, {runs[0]['epoch']} epochs; measured on {results['machine']} on {results['date']} "
            f"({cost}); made by `{results['command']}`.")


_FINDINGS = {
    "lstm_margin": f"BRIMs' lead over the LSTM with {K_CLAIM} distractor rows (BRIMs − LSTM; the check asks for "
                   f"at least +{LSTM_MARGIN:.2f})",
    "gap_grows": f"How much that lead grows from clean digits to {K_CLAIM} distractor rows",
    "top_down": f"The top-down benefit with {K_CLAIM} distractor rows (BRIMs − RIMs stack)",
    "noise": f"BRIMs − LSTM under pixel noise σ = {SIGMA_CLAIM}",
}

#: The value each claim's rule holds the measurement to (the mean over seeds is compared with it).
_THRESHOLDS = {"lstm_margin": LSTM_MARGIN, "gap_grows": 0.0, "top_down": 0.0, "noise": 0.0}


def findings_text(results: dict[str, Any]) -> list[str]:
    """One plain sentence per claim of a results file: its measured range over the seeds and how many reproduced.

    Parameters
    ----------
    results : dict

    Returns
    -------
    list of str
    """
    out = []
    n = len(results["runs"])
    for key, summary in results["summary"]["claims"].items():
        what = _FINDINGS.get(key, key)
        measured = summary["measured"]
        if measured is None:
            out.append(f"{what}: no measurement ({_seeds(results)}).")
            continue
        ok = summary["verdicts"].get("reproduced", 0)
        if ok == n:
            verdict = "reproduced on every seed"
        elif ok == 0:
            verdict = "reproduced on no seed: not reproduced here"
        elif key in _THRESHOLDS and measured[1] < _THRESHOLDS[key]:
            verdict = f"reproduced on {ok} of {n} seeds, and the mean misses the threshold: no consistent effect"
        else:
            verdict = f"reproduced on {ok} of {n} seeds"
        out.append(f"{what}: {_span(measured[0], measured[2], signed=True)} (mean {measured[1]:+.2f}), {verdict}.")
    return out

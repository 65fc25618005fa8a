"""Figures of the modular-latent-primitives page (arXiv:2105.14108, ``docs/papers/multitask.md §5``).

Pure altair builders from the records of :mod:`neurodyn.multitask.experiment`; no streamlit. Charts take their
container's width (exported copies get a fixed width from ``fixed_width``).

- :func:`scree_chart`: variance explained by each principal component of the corpus, the kept ones marked.
- :func:`pretrain_loss_chart`, :func:`pretrain_sample_chart`: module pre-training loss; module output vs target.
- :func:`loss_chart`: task-learning loss of each strategy.
- :func:`params_chart`, :func:`params_growth_chart`: stored and updated parameters per strategy; stored parameters
  against the number of tasks (closed forms).
- :func:`accuracy_chart`: accuracy per task per strategy.
- :func:`inputs_chart`, :func:`outputs_chart`: one example trial of a task: the inputs; target and outputs.
- :func:`perturbation_chart`: accuracy against the perturbation magnitude, raw or normalised.
- :func:`activity_chart`: MoLaP's state trajectories on their top two principal components, one per task.
- :func:`matrix_chart`: a recurrent weight matrix as a heat map.
"""

from __future__ import annotations

from typing import Any, Sequence

import altair as alt
import numpy as np
import pandas as pd

from neurodyn.core.loop import Record
from neurodyn.multitask.claims import closed_forms, perturbation_table
from neurodyn.multitask.experiment import STRATEGIES, STRATEGY_LABELS, Config
from neurodyn.multitask.network import strategy_parameter_counts
from neurodyn.multitask.tasks import TASK_LABELS
from neurodyn.viz.theme import PALETTE, fixed_width

__all__ = ["fixed_width", "latest", "scree_chart", "pretrain_loss_chart", "pretrain_sample_chart", "loss_chart",
           "params_chart", "params_growth_chart", "accuracy_chart", "inputs_chart", "outputs_chart",
           "perturbation_chart", "activity_chart", "matrix_chart", "INPUT_NAMES", "OUTPUT_NAMES"]

_DOMAIN = [STRATEGY_LABELS[s] for s in STRATEGIES]
INPUT_NAMES = ("fixation", "modality 1 cos", "modality 1 sin", "modality 2 cos", "modality 2 sin")
OUTPUT_NAMES = ("fixation", "cos of the answer", "sin of the answer")
#: The shared palette without its yellow (too pale for thin lines on white), and nine colours for nine tasks.
_STRONG = [c for c in PALETTE if c != "#F0E442"]
_TASK_RANGE = _STRONG + ["#000000", "#882255"]


def _scale(domain: Sequence[str]) -> alt.Scale:
    return alt.Scale(domain=list(domain), range=_STRONG[:len(domain)])


def _finish(chart: alt.TopLevelMixin, height: int) -> alt.TopLevelMixin:
    return chart.properties(width="container", height=height)


def _strategy_color(domain: Sequence[str] = tuple(_DOMAIN)) -> alt.Color:
    return alt.Color("strategy:N", title=None, scale=_scale(_DOMAIN), sort=list(domain),
                     legend=alt.Legend(orient="bottom"))


def latest(records: Sequence[Record], key: str) -> Any:
    """The latest value of artifact ``key`` in the records, or None."""
    for r in reversed(records):
        if key in r.artifacts:
            return r.artifacts[key]
    return None


def scree_chart(records: Sequence[Record], *, height: int = 260) -> alt.Chart:
    """Variance explained by each principal component of the primitive source, the K = 2M kept ones coloured.

    Returns
    -------
    altair.Chart
        Rows ``component``, ``ratio``, ``kept`` ("kept for the modules" / "not used").
    """
    for r in records:
        if "scree" in r.artifacts:
            ratios, k, source = (np.asarray(r.artifacts["scree"], float), int(r.artifacts["components_kept"]),
                                 r.artifacts["source"])
            break
    else:
        ratios, k, source = np.zeros(0), 0, ""
    ratios = ratios[:max(16, k)]
    df = pd.DataFrame({"component": np.arange(1, len(ratios) + 1), "ratio": ratios,
                       "kept": ["kept for the modules" if i < k else "not used" for i in range(len(ratios))]})
    domain = ["kept for the modules", "not used"]
    return _finish(alt.Chart(df, title=alt.Title("Variance explained per principal component",
                                                 subtitle=f"source: {source}" if source else "")).mark_bar().encode(
        x=alt.X("component:O", title="principal component"),
        y=alt.Y("ratio:Q", title="fraction of variance"),
        color=alt.Color("kept:N", title=None, scale=alt.Scale(domain=domain, range=[PALETTE[4], PALETTE[7]]),
                        legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("component:O"), alt.Tooltip("ratio:Q", format=".3f")]), height)


def pretrain_loss_chart(records: Sequence[Record], config: Config, *, height: int = 260) -> alt.Chart:
    """Each module's pre-training loss against the pre-training step.

    Returns
    -------
    altair.Chart
        Rows ``step``, ``module``, ``loss``.
    """
    rows = [{"step": r.metrics["pretrain_step"], "module": f"module {m + 1}",
             "loss": r.metrics[f"pretrain_loss_m{m + 1}"]}
            for r in records if r.metrics["stage"] == 2 for m in range(config.n_modules)]
    df = pd.DataFrame(rows, columns=["step", "module", "loss"])
    domain = [f"module {m + 1}" for m in range(config.n_modules)]
    return _finish(alt.Chart(df, title="Module pre-training loss").mark_line(strokeWidth=2.5).encode(
        x=alt.X("step:Q", title="pre-training step"),
        y=alt.Y("loss:Q", title="mean squared error", scale=alt.Scale(type="log")),
        color=alt.Color("module:N", title=None, scale=_scale(domain), sort=domain,
                        legend=alt.Legend(orient="bottom"))), height)


def pretrain_sample_chart(sample: dict[str, Any], component: int = 0, *, height: int = 260) -> alt.Chart:
    """Each module's output (solid) against its target principal component (dashed) on one trial.

    Parameters
    ----------
    sample : dict
        The ``pretrain_sample`` artifact: ``output`` and ``target`` (M, T, 2), ``task``.
    component : {0, 1}
        Which of the module's two components: module m's are 2m + 1 and 2m + 2 (counting from 1).

    Returns
    -------
    altair.Chart
        Rows ``time``, ``module``, ``series`` ("module output" / "target"), ``value``.
    """
    out, tgt = np.asarray(sample["output"], float), np.asarray(sample["target"], float)
    M, T, _ = out.shape
    rows = [{"time": t, "module": f"module {m + 1}", "series": name, "value": float(arr[m, t, component])}
            for m in range(M) for t in range(T) for name, arr in (("module output", out), ("target", tgt))]
    df = pd.DataFrame(rows, columns=["time", "module", "series", "value"])
    domain = [f"module {m + 1}" for m in range(M)]
    which = "first" if component == 0 else "second"
    return _finish(alt.Chart(df, title=alt.Title(
        f"Modules against their targets: {which} component of each",
        subtitle=[f"one {TASK_LABELS.get(sample.get('task', ''), '')} trial; solid: module output, dashed: target",
                  "(module m learns components 2m - 1 and 2m)"])).mark_line(strokeWidth=2.5).encode(
        x=alt.X("time:Q", title="time step (50 ms)"),
        y=alt.Y("value:Q", title="principal component value"),
        color=alt.Color("module:N", title=None, scale=_scale(domain), sort=domain,
                        legend=alt.Legend(orient="bottom")),
        strokeDash=alt.StrokeDash("series:N", scale=alt.Scale(domain=["module output", "target"],
                                                              range=[[1, 0], [5, 3]]), legend=None),
        detail="series:N"), height)


def loss_chart(records: Sequence[Record], *, height: int = 280) -> alt.Chart:
    """Each strategy's task-learning loss (mean over the tasks) against the step.

    Returns
    -------
    altair.Chart
        Rows ``step``, ``strategy``, ``loss``.
    """
    by_step = {r.metrics["task_step"]: r.metrics for r in records  # the last record of each step
               if r.metrics["stage"] == 3 and r.metrics["task_step"] > 0 and r.metrics["evaluated"] == 0}
    rows = [{"step": step, "strategy": STRATEGY_LABELS[s], "loss": m[f"loss_{s}"]} for step, m in by_step.items()
            for s in STRATEGIES]
    df = pd.DataFrame(rows, columns=["step", "strategy", "loss"])
    return _finish(alt.Chart(df, title="Task learning: training loss, mean over tasks").mark_line(
        strokeWidth=2.5).encode(
        x=alt.X("step:Q", title="training step"),
        y=alt.Y("loss:Q", title="masked mean squared error", scale=alt.Scale(type="log")),
        color=_strategy_color()), height)


def params_chart(records: Sequence[Record], *, height: int = 280) -> alt.Chart:
    """Parameters stored for all tasks and parameters updated per new task, per strategy (the built models).

    Returns
    -------
    altair.Chart
        Rows ``strategy``, ``count`` ("stored for all tasks" / "updated per new task"), ``parameters``.
    """
    m = records[-1].metrics if records else {}
    rows = [{"strategy": STRATEGY_LABELS[s], "count": label, "parameters": m[f"params_{key}_{s}"]}
            for s in STRATEGIES if f"params_total_{s}" in m
            for key, label in (("total", "stored for all tasks"), ("updated", "updated per new task"))]
    df = pd.DataFrame(rows, columns=["strategy", "count", "parameters"])
    domain = ["stored for all tasks", "updated per new task"]
    return _finish(alt.Chart(df, title="Parameters per strategy").mark_bar().encode(
        x=alt.X("strategy:N", title=None, sort=_DOMAIN, axis=alt.Axis(labelAngle=0)),
        xOffset=alt.XOffset("count:N", sort=domain),
        y=alt.Y("parameters:Q", title="parameters"),
        color=alt.Color("count:N", title=None, scale=alt.Scale(domain=domain, range=[PALETTE[4], PALETTE[0]]),
                        legend=alt.Legend(orient="bottom")),
        tooltip=[alt.Tooltip("strategy:N"), alt.Tooltip("count:N"), alt.Tooltip("parameters:Q", format=",")]),
        height)


def params_growth_chart(config: Config, *, height: int = 280) -> alt.Chart:
    """Parameters stored after learning 1, 2, ..., n tasks, per strategy (closed forms of card §2.6; Joint counted
    with the final one-hot width).

    Returns
    -------
    altair.Chart
        Rows ``tasks``, ``strategy``, ``parameters``.
    """
    n = len(config.task_list)
    final = closed_forms(config)
    rows = []
    for k in range(1, n + 1):
        c = strategy_parameter_counts(k, n_modules=config.n_modules, module_size=config.module_size,
                                      separate_units=config.separate_units, joint_units=config.joint_units)
        for s in STRATEGIES:
            label = STRATEGY_LABELS[s]
            rows.append({"tasks": k, "strategy": label,
                         "parameters": final[label]["total"] if s == "joint" else c[label]["total"]})
    df = pd.DataFrame(rows, columns=["tasks", "strategy", "parameters"])
    return _finish(alt.Chart(df, title=alt.Title(
        "Parameters stored as tasks are added",
        subtitle=["Modular-random and MoLaP coincide;", "Joint is one network sized for all the tasks"])).mark_line(
        point=alt.OverlayMarkDef(size=70), strokeWidth=2.5).encode(
        x=alt.X("tasks:Q", title="tasks learned", axis=alt.Axis(values=list(range(1, n + 1)), format="d"),
                scale=alt.Scale(domain=[1, max(n, 2)])),
        y=alt.Y("parameters:Q", title="parameters stored"),
        color=_strategy_color(),
        tooltip=[alt.Tooltip("tasks:Q"), alt.Tooltip("strategy:N"), alt.Tooltip("parameters:Q", format=",")]),
        height)


def accuracy_chart(records: Sequence[Record], config: Config, *, height: int = 300) -> alt.Chart:
    """Accuracy per task per strategy on the evaluation trials (the strategies evaluated so far).

    Returns
    -------
    altair.Chart
        Rows ``task``, ``strategy``, ``accuracy``.
    """
    m = records[-1].metrics if records else {}
    done = STRATEGIES[:int(m.get("evaluated", 0))]
    tasks = [TASK_LABELS[t] for t in config.task_list]
    rows = [{"task": TASK_LABELS[t], "strategy": STRATEGY_LABELS[s], "accuracy": m[f"acc_{s}_{t}"]}
            for s in done for t in config.task_list]
    df = pd.DataFrame(rows, columns=["task", "strategy", "accuracy"])
    return _finish(alt.Chart(df, title=alt.Title(
        "Accuracy per task", subtitle=f"{config.eval_trials} fixed trials per task, recurrent noise off")).mark_bar(
    ).encode(
        x=alt.X("task:N", title=None, sort=tasks, axis=alt.Axis(labelAngle=-20)),
        xOffset=alt.XOffset("strategy:N", sort=_DOMAIN),
        y=alt.Y("accuracy:Q", title="accuracy", scale=alt.Scale(domain=[0, 1])),
        color=_strategy_color(),
        tooltip=[alt.Tooltip("task:N"), alt.Tooltip("strategy:N"), alt.Tooltip("accuracy:Q", format=".3f")]),
        height)


def inputs_chart(examples: dict[str, Any], index: int, task: str, *, height: int = 220) -> alt.Chart:
    """The five inputs of one example trial of a task.

    Returns
    -------
    altair.Chart
        Rows ``time``, ``input``, ``value``.
    """
    x = np.asarray(examples["inputs"], float)[index]
    rows = [{"time": t, "input": INPUT_NAMES[i], "value": float(x[t, i])} for t in range(x.shape[0])
            for i in range(x.shape[1])]
    df = pd.DataFrame(rows, columns=["time", "input", "value"])
    go = int(examples["go"])
    base = alt.Chart(df).mark_line(strokeWidth=2.5).encode(
        x=alt.X("time:Q", title="time step (50 ms)"), y=alt.Y("value:Q", title="input"),
        color=alt.Color("input:N", title=None, scale=_scale(INPUT_NAMES), sort=list(INPUT_NAMES),
                        legend=alt.Legend(orient="bottom")))
    rule = alt.Chart(pd.DataFrame({"time": [go]})).mark_rule(strokeDash=[4, 3], color="gray").encode(x="time:Q")
    return _finish(alt.layer(base, rule, title=alt.Title(f"{TASK_LABELS[task]}: inputs of one trial",
                                                         subtitle="grey dashed line: go cue")), height)


def outputs_chart(examples: dict[str, Any], index: int, task: str, strategy: str, *, height: int = 220) -> alt.Chart:
    """Target (dashed) and one strategy's output (solid) of one example trial of a task.

    Parameters
    ----------
    strategy : str
        A strategy name in words ("MoLaP").

    Returns
    -------
    altair.Chart
        Rows ``time``, ``output``, ``series`` ("target" / "output"), ``value``.
    """
    tgt = np.asarray(examples["targets"], float)[index]
    out = np.asarray(examples["outputs"][strategy], float)[index]
    rows = [{"time": t, "output": OUTPUT_NAMES[i], "series": name, "value": float(arr[t, i])}
            for t in range(tgt.shape[0]) for i in range(3) for name, arr in (("target", tgt), ("output", out))]
    df = pd.DataFrame(rows, columns=["time", "output", "series", "value"])
    return _finish(alt.Chart(df, title=alt.Title(f"{TASK_LABELS[task]}: {strategy}",
                                                 subtitle="solid: network output; dashed: target")).mark_line(
        strokeWidth=2.5).encode(
        x=alt.X("time:Q", title="time step (50 ms)"),
        y=alt.Y("value:Q", title="output", scale=alt.Scale(domain=[-1.2, 1.2], clamp=True)),
        color=alt.Color("output:N", title=None, scale=_scale(OUTPUT_NAMES), sort=list(OUTPUT_NAMES),
                        legend=alt.Legend(orient="bottom")),
        strokeDash=alt.StrokeDash("series:N", scale=alt.Scale(domain=["output", "target"], range=[[1, 0], [5, 3]]),
                                  legend=None),
        detail="series:N"), height)


def perturbation_chart(records: Sequence[Record], config: Config, kind: str, *, normalised: bool = False,
                       height: int = 280) -> alt.Chart:
    """Accuracy (mean over tasks and draws) against the magnitude of one perturbation, per strategy.

    Returns
    -------
    altair.Chart
        Rows ``magnitude``, ``strategy``, ``accuracy``.
    """
    table = perturbation_table(records).get(kind, {})
    key = "normalised" if normalised else "raw"
    rows = [{"magnitude": mag, "strategy": label, "accuracy": v} for mag, cell in sorted(table.items())
            for label, v in cell[key].items() if np.isfinite(v)]
    df = pd.DataFrame(rows, columns=["magnitude", "strategy", "accuracy"])
    top = config.max_weight_noise if kind == "weight noise" else config.max_silenced
    x_title = ("weight noise eta (times each network's recurrent weight std)" if kind == "weight noise"
               else "fraction of units silenced f")
    y_title = "accuracy / unperturbed accuracy" if normalised else "accuracy"
    title = f"{'Normalised accuracy' if normalised else 'Accuracy'} under {kind}"
    draws = f"{config.draws} draws" if config.draws > 1 else "one draw"
    subtitle = f"mean over tasks and {draws}; {config.primitives} primitives"
    return _finish(alt.Chart(df, title=alt.Title(title, subtitle=subtitle)).mark_line(
        point=alt.OverlayMarkDef(size=70), strokeWidth=2.5).encode(
        x=alt.X("magnitude:Q", title=x_title, scale=alt.Scale(domain=[0, top])),
        y=alt.Y("accuracy:Q", title=y_title,
                scale=alt.Scale(domainMin=0) if normalised else alt.Scale(domain=[0, 1])),
        color=_strategy_color(),
        tooltip=[alt.Tooltip("magnitude:Q", format=".3f"), alt.Tooltip("strategy:N"),
                 alt.Tooltip("accuracy:Q", format=".3f")]), height)


def activity_chart(activity: dict[str, Any], tasks: Sequence[str], *, height: int = 320) -> alt.Chart:
    """MoLaP's state on one trial of each task, on the top two principal components of those states.

    Returns
    -------
    altair.Chart
        Rows ``time``, ``task``, ``pc1``, ``pc2``.
    """
    xy = np.asarray(activity["trajectories"], float)
    ev = np.asarray(activity["explained"], float)
    names = [TASK_LABELS[t] for t in tasks]
    rows = [{"time": t, "task": names[g], "pc1": float(xy[g, t, 0]), "pc2": float(xy[g, t, 1])}
            for g in range(xy.shape[0]) for t in range(xy.shape[1])]
    df = pd.DataFrame(rows, columns=["time", "task", "pc1", "pc2"])
    color = alt.Color("task:N", title=None, scale=alt.Scale(domain=names, range=_TASK_RANGE[:len(names)]),
                      sort=names, legend=alt.Legend(orient="bottom", columns=2))
    line = alt.Chart(df).mark_line(strokeWidth=2.5).encode(
        x=alt.X("pc1:Q", title=f"first principal component ({ev[0]:.0%} of variance)"),
        y=alt.Y("pc2:Q", title=f"second principal component ({ev[1]:.0%} of variance)"),
        order="time:Q", color=color)
    end = alt.Chart(df[df["time"] == df["time"].max()]).mark_point(size=90, filled=True).encode(
        x="pc1:Q", y="pc2:Q", color=color)
    return _finish(alt.layer(line, end, title=alt.Title("MoLaP activity, one trial per task",
                                                        subtitle="dot: last step (the answer)")), height)


def matrix_chart(matrix: np.ndarray, title: str, *, height: int = 340) -> alt.Chart:
    """A recurrent weight matrix as a heat map (entry [i, j]: from unit j to unit i); zeros show the palest colour.

    Returns
    -------
    altair.Chart
        Rows ``to``, ``from``, ``weight``.
    """
    w = np.asarray(matrix, float)
    n = w.shape[0]
    i, j = np.meshgrid(np.arange(n), np.arange(n), indexing="ij")
    df = pd.DataFrame({"to": i.ravel() + 1, "from": j.ravel() + 1, "weight": w.ravel()})
    top = float(np.abs(w).max()) or 1.0
    return _finish(alt.Chart(df, title=alt.Title(title, subtitle=["palest: zero (off the diagonal blocks of a modular",
                                                                "network, exactly zero)"])).mark_rect().encode(
        x=alt.X("from:O", title="from unit", axis=alt.Axis(values=list(range(1, n + 1, max(1, n // 8))))),
        y=alt.Y("to:O", title="to unit", axis=alt.Axis(values=list(range(1, n + 1, max(1, n // 8))))),
        color=alt.Color("weight:Q", title="weight", scale=alt.Scale(scheme="redblue", domain=[-top, top],
                                                                     reverse=True))), height)

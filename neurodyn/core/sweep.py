"""Hyper-parameter sweeps with Optuna: every trial is one run of an experiment, stored in the run registry.

``neurodyn sweep template --preset small --param lr=log:1e-4:1e-1 --param seed=int:0:9 --objective loss:min
--trials 20 --study lr-scan`` asks Optuna (TPE) for ``--trials`` settings of the swept fields, runs the experiment
once per setting and reports the best trial. The study lives in an Optuna RDB storage: by default the same database
as the run registry (:func:`neurodyn.core.store.default_url`), or ``--storage URL``. Any machine that runs the same
command against the same database (e.g. one PostgreSQL server named by ``NEURODYN_DB_URL``) joins the study as one
more worker; together the workers finish exactly ``--trials`` trials (finished = complete or failed).

How the total stays exact: a worker asks for a new trial only while the finished plus the running trials are fewer
than ``trials``; Optuna numbers trials atomically, and a trial numbered ``trials`` or more (two workers that asked at
the same moment) is pruned at once without running (``user_attrs["surplus"]``) when the trials numbered below it
(pruned ones aside) already make ``trials``. Heartbeats (Optuna's
``heartbeat_interval`` / ``grace_period``) turn the running trial of a worker that died (SIGKILL, lost machine) into a
failed one when a live worker next checks, so it counts as finished and nothing waits on it forever.

Each trial stores its run with ``source="sweep"`` and the label ``"<study> trial <n>"``; the run's id is kept in
``trial.user_attrs["run_id"]``. A run that diverges (a non-finite metric) or raises, or whose objective is not
finite, is a failed trial (the message is in ``trial.user_attrs["error"]``).

Parameter forms (``--param``): ``name=log:LOW:HIGH`` (float, log scale), ``name=float:LOW:HIGH``,
``name=int:LOW:HIGH`` and ``name=choice:a,b,c``.
"""

from __future__ import annotations

import argparse
import math
import sys
import threading
import time
import warnings
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

if TYPE_CHECKING:  # pragma: no cover - typing only
    import optuna

    from neurodyn.core.store import RunStore

__all__ = [
    "PARAM_FORMS",
    "parse_param",
    "parse_space",
    "parse_objective",
    "storage_url",
    "create_storage",
    "run_trial",
    "run_sweep",
    "add_sweep_parser",
    "cmd_sweep",
]

#: The accepted ``--param`` forms, quoted in error messages.
PARAM_FORMS = "name=log:LOW:HIGH, name=float:LOW:HIGH, name=int:LOW:HIGH or name=choice:a,b,c"

_DIRECTIONS = {"min": "minimize", "minimize": "minimize", "max": "maximize", "maximize": "maximize"}


def _bad_param(text: str, problem: str) -> ValueError:
    return ValueError(f"bad --param {text!r}: {problem}; expected {PARAM_FORMS}")


def _number(text: str, whole: str, kind: type) -> float:
    try:
        value = kind(text.strip())
    except ValueError:
        what = "an integer" if kind is int else "a number"
        raise _bad_param(whole, f"{text.strip()!r} is not {what}") from None
    if not math.isfinite(value):
        raise _bad_param(whole, f"{text.strip()!r} is not finite")
    return value


def parse_param(text: str) -> tuple[str, Any]:
    """Parse one ``--param`` into a field name and an Optuna distribution.

    Parameters
    ----------
    text : str
        ``name=log:LOW:HIGH`` (float on a log scale, 0 < LOW < HIGH), ``name=float:LOW:HIGH``, ``name=int:LOW:HIGH``
        (inclusive) or ``name=choice:a,b,c`` (text forms of the field's values).

    Returns
    -------
    tuple of (str, optuna.distributions.BaseDistribution)
        ``FloatDistribution``, ``IntDistribution`` or ``CategoricalDistribution`` (of strings).

    Raises
    ------
    ValueError
        Naming the problem and the expected forms.

    Examples
    --------
    >>> name, dist = parse_param("lr=log:1e-4:1e-1")
    >>> name, dist.low, dist.high, dist.log
    ('lr', 0.0001, 0.1, True)
    >>> parse_param("seed=int:0:9")[1].high
    9
    """
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    name, sep, spec = text.partition("=")
    name = name.strip()
    if not sep or not name:
        raise _bad_param(text, "no field name before '='")
    if not name.isidentifier():
        raise _bad_param(text, f"{name!r} is not a field name")
    kind, sep, rest = spec.partition(":")
    kind = kind.strip().lower()
    if not sep:
        raise _bad_param(text, "no kind (log, float, int or choice) and ':' after '='")
    if kind == "choice":
        choices = [c.strip() for c in rest.split(",")]
        if not rest.strip() or any(not c for c in choices):
            raise _bad_param(text, "choice needs non-empty values separated by commas")
        if len(set(choices)) != len(choices):
            raise _bad_param(text, "choice values repeat")
        return name, CategoricalDistribution(choices)
    if kind not in ("log", "float", "int"):
        raise _bad_param(text, f"unknown kind {kind!r}")
    bounds = rest.split(":")
    if len(bounds) != 2:
        raise _bad_param(text, f"{kind} needs exactly LOW:HIGH")
    num = int if kind == "int" else float
    low, high = (_number(b, text, num) for b in bounds)
    if low >= high:
        raise _bad_param(text, f"LOW ({low}) must be below HIGH ({high})")
    if kind == "int":
        return name, IntDistribution(int(low), int(high))
    if kind == "log" and low <= 0:
        raise _bad_param(text, f"log needs LOW > 0, got {low}")
    return name, FloatDistribution(float(low), float(high), log=kind == "log")


def parse_space(params: Sequence[str], config: Any) -> dict[str, Any]:
    """Parse every ``--param`` and check it against the experiment's config fields.

    Parameters
    ----------
    params : sequence of str
        ``--param`` texts (see :func:`parse_param`).
    config : dataclass config
        The experiment's config (class or instance).

    Returns
    -------
    dict of str to distribution
        In the order given.

    Raises
    ------
    ValueError
        A bad form, a field the config does not have (the message lists the valid ones), a field given twice, a float
        range on an integer field, or bounds/choices the field does not accept.
    """
    from optuna.distributions import CategoricalDistribution, FloatDistribution

    from neurodyn.core.config import ConfigError, coerce, fields_of

    if not params:
        raise ValueError(f"give at least one --param ({PARAM_FORMS})")
    fields = {f.name: f for f in fields_of(config)}
    space: dict[str, Any] = {}
    for text in params:
        name, dist = parse_param(text)
        if name not in fields:
            raise ValueError(f"bad --param {text!r}: the config has no field {name!r}; valid fields: "
                             f"{', '.join(fields)}")
        if name in space:
            raise ValueError(f"bad --param {text!r}: {name} is swept twice")
        spec = fields[name]
        if isinstance(dist, FloatDistribution) and spec.type is not float:
            raise ValueError(f"bad --param {text!r}: {name} is a {spec.type.__name__} field; use "
                             f"{'int:LOW:HIGH' if spec.type is int else 'choice:a,b'}")
        if not isinstance(dist, CategoricalDistribution) and spec.type not in (int, float):
            raise ValueError(f"bad --param {text!r}: {name} is a {spec.type.__name__} field; use choice:a,b")
        values = dist.choices if isinstance(dist, CategoricalDistribution) else (dist.low, dist.high)
        for value in values:
            try:
                coerce(spec, value)
            except ConfigError as exc:
                raise ValueError(f"bad --param {text!r}: {exc} ({spec.describe()})") from None
        space[name] = dist
    return space


def parse_objective(text: str) -> tuple[str, str]:
    """Parse ``--objective``: ``METRIC`` (minimised) or ``METRIC:min`` / ``METRIC:max``.

    Parameters
    ----------
    text : str

    Returns
    -------
    tuple of (str, str)
        The metric name and Optuna's direction, ``"minimize"`` or ``"maximize"``.

    Raises
    ------
    ValueError
        No metric name, or a direction other than min/max.

    Examples
    --------
    >>> parse_objective("loss")
    ('loss', 'minimize')
    >>> parse_objective("accuracy:max")
    ('accuracy', 'maximize')
    """
    metric, sep, direction = text.strip().partition(":")
    metric = metric.strip()
    if not metric:
        raise ValueError(f"bad --objective {text!r}: no metric name; expected METRIC, METRIC:min or METRIC:max")
    if not sep:
        return metric, "minimize"
    key = direction.strip().lower()
    if key not in _DIRECTIONS:
        raise ValueError(f"bad --objective {text!r}: direction {direction!r} is not min or max; expected METRIC, "
                         "METRIC:min or METRIC:max")
    return metric, _DIRECTIONS[key]


def storage_url(url: str | None) -> str:
    """The Optuna storage URL of a sweep.

    Parameters
    ----------
    url : str or None
        An SQLAlchemy URL; None means the run registry's database (:func:`neurodyn.core.store.default_url`), so
        studies live beside the runs they made.

    Returns
    -------
    str
    """
    if url is not None and url.strip():
        return url.strip()
    from neurodyn.core.store import default_url

    return default_url()


def create_storage(url: str, *, heartbeat_interval: int = 5, grace_period: int | None = None) -> Any:
    """Open (creating the tables if needed) the Optuna RDB storage at ``url``, with heartbeats on.

    The run registry's database can hold the study too: both use Alembic, each with its own revision table (Optuna's
    ``alembic_version``, the registry's ``neurodyn_alembic_version``).

    Parameters
    ----------
    url : str
        SQLAlchemy URL. SQLite gets a 30 s busy timeout so several worker processes can share one file.
    heartbeat_interval : int, default 5
        Seconds between the heartbeats a running trial writes.
    grace_period : int, optional
        Seconds without a heartbeat after which a running trial is failed; default ``4 * heartbeat_interval``.

    Returns
    -------
    optuna.storages.RDBStorage
    """
    from optuna.exceptions import ExperimentalWarning
    from optuna.storages import RDBStorage

    kwargs: dict[str, Any] = {}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"timeout": 30}
    else:
        kwargs["pool_pre_ping"] = True
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ExperimentalWarning)
        return RDBStorage(url, engine_kwargs=kwargs, heartbeat_interval=int(heartbeat_interval),
                          grace_period=int(grace_period if grace_period is not None else 4 * heartbeat_interval))


def run_trial(
    name: str,
    preset: str,
    overrides: Mapping[str, str],
    objective: str,
    *,
    store: RunStore | None,
    study: str,
    trial_number: int,
    steps: int | None = None,
    on_start: Callable[[int], None] | None = None,
) -> float:
    """Run the experiment once with ``overrides`` and return the objective metric of its last record.

    Parameters
    ----------
    name, preset : str
        Experiment and preset.
    overrides : mapping of str to str
        Config fields as text (the swept values and any fixed ``--set`` ones).
    objective : str
        Metric name.
    store : RunStore or None
        Where to store the run (``source="sweep"``, label ``"<study> trial <n>"``); None stores nothing.
    study : str
        Study name (for the label).
    trial_number : int
        Optuna's trial number (for the label).
    steps : int, optional
        Stop after this many steps.
    on_start : callable, optional
        Called with the stored run's id as soon as it exists.

    Returns
    -------
    float
        The objective from the last record.

    Raises
    ------
    ValueError
        A bad config, a run that diverged or recorded nothing, a missing or non-finite objective. Errors of the
        experiment itself propagate; in every case the stored run is finished as failed/diverged first.
    """
    import torch

    from neurodyn.core import registry
    from neurodyn.core.export import run_summary
    from neurodyn.core.loop import non_finite_metrics, run

    spec = registry.get(name)
    cfg = spec.config(preset, dict(overrides))
    torch.set_num_threads(1)
    exp = spec.build(cfg)
    total = min(exp.total_steps, steps) if steps else exp.total_steps
    writer = None
    if store is not None:
        from neurodyn.core.store import start_experiment_run

        writer = start_experiment_run(store, name, cfg, preset=preset, label=f"{study} trial {trial_number}",
                                      source="sweep")
        if on_start is not None:
            on_start(writer.run_id)
    status, message, records = "done", "", []
    t0 = time.perf_counter()
    try:
        for rec in run(exp, total):
            bad = non_finite_metrics(rec)
            if bad:
                status, message = "diverged", f"diverged at step {rec.step}: {', '.join(bad)} not finite"
                break
            records.append(rec)
            if writer is not None:
                writer.put(rec)  # converted to JSON by the writer's thread
    except KeyboardInterrupt:
        status, message = "stopped", "interrupted"
        raise
    except Exception as exc:
        status, message = "failed", f"{type(exc).__name__}: {exc}"
        raise
    finally:
        if writer is not None:
            summary = run_summary(name, cfg, records, status="failed" if status == "diverged" else status,
                                  message=message, preset=preset, seconds=time.perf_counter() - t0)
            if not writer.close(status, message=message, summary=summary, seconds=summary.get("seconds")):
                print(f"warning: run {writer.run_id} was not fully stored: {writer.error}", file=sys.stderr)
    if status == "diverged":
        raise ValueError(f"trial {trial_number}: the run {message}")
    if not records:
        raise ValueError(f"trial {trial_number}: the run recorded nothing")
    metrics = records[-1].metrics
    if objective not in metrics:
        raise ValueError(f"trial {trial_number}: no metric {objective!r} in the records; metrics: "
                         f"{', '.join(metrics)}")
    value = float(metrics[objective])
    if not math.isfinite(value):
        raise ValueError(f"trial {trial_number}: the objective {objective} is {value}, not finite")
    return value


def _suggest(trial: Any, name: str, dist: Any) -> Any:
    from optuna.distributions import CategoricalDistribution, IntDistribution

    if isinstance(dist, CategoricalDistribution):
        return trial.suggest_categorical(name, dist.choices)
    if isinstance(dist, IntDistribution):
        return trial.suggest_int(name, dist.low, dist.high)
    return trial.suggest_float(name, dist.low, dist.high, log=dist.log)


def _check_definition(study: Any, definition: dict[str, Any]) -> None:
    """Record what the study sweeps the first time; refuse a worker whose command sweeps something else."""
    stored = study.user_attrs.get("sweep")
    if stored is None:
        study.set_user_attr("sweep", definition)
        return
    for key in ("experiment", "preset", "objective", "params"):
        if stored.get(key) != definition[key]:
            raise ValueError(f"study {study.study_name!r} already sweeps {key} {stored.get(key)!r}, not "
                             f"{definition[key]!r}; use another --study name or the same command")


def run_sweep(
    name: str,
    preset: str,
    params: list[str],
    objective: str,
    *,
    trials: int,
    study: str,
    storage: str | None = None,
    n_jobs: int = 1,
    steps: int | None = None,
    store: bool = True,
    seed: int | None = None,
    overrides: Mapping[str, str] | None = None,
    heartbeat_interval: int = 5,
    grace_period: int | None = None,
    callback: Callable[[Any, Any], None] | None = None,
) -> optuna.Study:
    """Run (or join) the study ``study`` until it has ``trials`` finished trials in total.

    Parameters
    ----------
    name, preset : str
        Experiment and preset.
    params : list of str
        ``--param`` texts (see :func:`parse_param`).
    objective : str
        ``METRIC``, ``METRIC:min`` or ``METRIC:max`` (see :func:`parse_objective`).
    trials : int
        Finished (complete or failed) trials the study should reach, counting every worker's.
    study : str
        Study name; an existing study of that name is joined.
    storage : str, optional
        Optuna storage URL; default the run registry's database (:func:`storage_url`).
    n_jobs : int, default 1
        Trials this process runs at once (threads).
    steps : int, optional
        Stop each run after this many steps.
    store : bool, default True
        Store each trial as a run in the run registry.
    seed : int, optional
        Seed of the TPE sampler.
    overrides : mapping of str to str, optional
        Fixed config fields (``--set``) applied to every trial under the swept ones.
    heartbeat_interval : int, default 5
        Seconds between heartbeats of a running trial.
    grace_period : int, optional
        Seconds without a heartbeat before a running trial is failed (default ``4 * heartbeat_interval``).
    callback : callable, optional
        ``callback(study, frozen_trial)`` after each trial this process finishes.

    Returns
    -------
    optuna.Study

    Raises
    ------
    KeyError
        Unknown experiment.
    ValueError
        Bad parameters, objective, preset, overrides or counts, or a study of that name that sweeps something else.
    """
    import optuna
    from optuna.exceptions import ExperimentalWarning, UpdateFinishedTrialError
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    from neurodyn.core import registry

    if trials < 1 or n_jobs < 1:
        raise ValueError(f"--trials and --n-jobs must be at least 1, got {trials} and {n_jobs}")
    spec = registry.get(name)
    fixed = {k: str(v) for k, v in (overrides or {}).items()}
    base = spec.config(preset, fixed)
    space = parse_space(params, base)
    metric, direction = parse_objective(objective)
    declared = [m.name for m in spec.declared_metrics(base)]
    if metric not in declared:
        raise ValueError(f"bad --objective {objective!r}: {name} has no metric {metric!r}; metrics: "
                         f"{', '.join(declared)}")
    url = storage_url(storage)
    rdb = create_storage(url, heartbeat_interval=heartbeat_interval, grace_period=grace_period)
    sampler = optuna.samplers.TPESampler(seed=seed) if seed is not None else optuna.samplers.TPESampler()
    st = optuna.create_study(study_name=study, storage=rdb, direction=direction, sampler=sampler,
                             load_if_exists=True)
    if st.direction.name.lower() != direction:
        raise ValueError(f"study {study!r} already exists to {st.direction.name.lower()} its objective, not to "
                         f"{direction}")
    _check_definition(st, {"experiment": name, "preset": preset, "objective": metric, "params": list(params)})
    run_store = None
    if store:
        from neurodyn.core.store import RunStore

        run_store = RunStore(None)

    PRUNED = TrialState.PRUNED  # only surplus trials are pruned

    def objective_fn(trial: optuna.Trial) -> float:
        earlier = [t for t in st.get_trials(deepcopy=False) if t.number < trial.number and t.state != PRUNED]
        if len(earlier) >= trials:  # another worker asked at the same moment: this one is one too many
            trial.set_user_attr("surplus", True)
            raise optuna.TrialPruned(f"surplus trial {trial.number}: the study already has {trials} trials")
        chosen = {k: _suggest(trial, k, dist) for k, dist in space.items()}
        values = {**fixed, **{k: repr(v) if isinstance(v, float) else str(v) for k, v in chosen.items()}}
        try:
            return run_trial(name, preset, values, metric, store=run_store, study=study, trial_number=trial.number,
                             steps=steps, on_start=lambda run_id: trial.set_user_attr("run_id", run_id))
        except Exception as exc:
            trial.set_user_attr("error", f"{type(exc).__name__}: {exc}" if not isinstance(exc, ValueError)
                                else str(exc))
            raise

    finished = (TrialState.COMPLETE, TrialState.FAIL)
    callbacks: list[Any] = [MaxTrialsCallback(trials, states=finished)]
    if callback is not None:
        callbacks.append(callback)
    poll = min(1.0, float(heartbeat_interval))
    errors: list[BaseException] = []

    def worker() -> None:
        try:
            while True:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", ExperimentalWarning)
                    optuna.storages.fail_stale_trials(st)
                done = len(st.get_trials(deepcopy=False, states=finished))
                if done >= trials:
                    return
                running = len(st.get_trials(deepcopy=False, states=(TrialState.RUNNING,)))
                if done + running >= trials:  # wait for them: each completes, or fails once its heartbeat stops
                    time.sleep(poll)
                    continue
                try:
                    st.optimize(objective_fn, n_trials=1, catch=(Exception,), callbacks=callbacks,
                                gc_after_trial=False)
                except UpdateFinishedTrialError as exc:  # failed as stale while it ran (its heartbeat was late)
                    print(f"warning: {exc}", file=sys.stderr)
        except BaseException as exc:  # handed to the caller's thread below
            errors.append(exc)

    try:
        if n_jobs == 1:
            worker()
        else:
            threads = [threading.Thread(target=worker, name=f"sweep-{i}", daemon=True) for i in range(n_jobs)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
    finally:
        if run_store is not None:
            run_store.close()
    if errors:
        raise errors[0]
    return st


def add_sweep_parser(subparsers: Any) -> argparse.ArgumentParser:
    """Register the ``sweep`` subcommand (its ``func`` is :func:`cmd_sweep`).

    Parameters
    ----------
    subparsers : argparse._SubParsersAction
        What ``ArgumentParser.add_subparsers`` returned.

    Returns
    -------
    argparse.ArgumentParser
        The ``sweep`` parser.
    """
    p = subparsers.add_parser(
        "sweep", help="an Optuna sweep of config fields; every trial is a stored run",
        description="Run or join an Optuna study: any machine running the same command against the same database "
                    "joins it as a worker; the workers finish --trials trials in total.")
    p.add_argument("name", help="experiment name (see `list`)")
    p.add_argument("--preset", default="small", help="preset name (default: small)")
    p.add_argument("--param", action="append", default=[], metavar="NAME=KIND:...",
                   help=f"a swept field, repeatable: {PARAM_FORMS}")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="a fixed config field for every trial; repeatable")
    p.add_argument("--objective", required=True, metavar="METRIC[:min|max]",
                   help="the metric of the last record to optimise (default direction: min)")
    p.add_argument("--trials", type=int, required=True, help="finished trials of the study, all workers together")
    p.add_argument("--study", required=True, help="study name (an existing one is joined)")
    p.add_argument("--storage", default=None, help="Optuna storage URL (default: the run registry's database: "
                   "NEURODYN_DB_URL, else SQLite under NEURODYN_HOME)")
    p.add_argument("--n-jobs", type=int, default=1, help="trials this process runs at once (default 1)")
    p.add_argument("--steps", type=int, default=None, help="stop each run after this many steps")
    p.add_argument("--seed", type=int, default=None, help="seed of the TPE sampler")
    p.add_argument("--heartbeat", type=int, default=5,
                   help="seconds between heartbeats; a trial silent for 4x this is failed (default 5)")
    p.add_argument("--no-store", action="store_true", help="do not store the trials' runs in the run registry")
    p.set_defaults(func=cmd_sweep)
    return p


def _describe(trial: Any) -> str:
    params = " ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}" for k, v in trial.params.items())
    run = trial.user_attrs.get("run_id")
    tail = f" (run {run})" if run is not None else ""
    if trial.state.name == "COMPLETE":
        return f"trial {trial.number}: {trial.value:.6g}  {params}{tail}"
    reason = trial.user_attrs.get("error", "")
    return f"trial {trial.number} {trial.state.name.lower()}: {reason}  {params}{tail}".rstrip()


def cmd_sweep(args: argparse.Namespace) -> int:
    """Run the ``sweep`` subcommand.

    Parameters
    ----------
    args : argparse.Namespace
        As :func:`add_sweep_parser` parses them.

    Returns
    -------
    int
        0 when the study has a completed trial (its summary printed), 1 when every trial failed, 2 on bad input.
    """
    import optuna

    from neurodyn.core.config import parse_assignments

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    lock = threading.Lock()

    def report(study: Any, trial: Any) -> None:
        with lock:
            print(_describe(trial), flush=True)

    try:
        overrides = parse_assignments(args.set or [])
        study = run_sweep(args.name, args.preset, list(args.param), args.objective, trials=args.trials,
                          study=args.study, storage=args.storage, n_jobs=args.n_jobs, steps=args.steps,
                          store=not args.no_store, seed=args.seed, overrides=overrides,
                          heartbeat_interval=args.heartbeat, callback=report)
    except KeyError as exc:
        print(f"error: {exc.args[0]}", file=sys.stderr)
        return 2
    except ValueError as exc:  # ConfigError is a ValueError
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except Exception as exc:
        from neurodyn.core.store import StoreError

        if isinstance(exc, StoreError):
            print(f"error: {exc}", file=sys.stderr)
            return 2
        raise
    states = [t.state.name for t in study.get_trials(deepcopy=False)]
    counts = ", ".join(f"{states.count(s)} {s.lower()}" for s in ("COMPLETE", "FAIL", "PRUNED") if s in states)
    try:
        best = study.best_trial
    except ValueError:
        print(f"study {args.study}: no completed trial ({counts})", file=sys.stderr)
        return 1
    params = ", ".join(f"{k}={v!r}" for k, v in best.params.items())
    print(f"study {args.study}: {counts}; best trial {best.number}: {best.value:.6g} with {params}; "
          f"stored run {best.user_attrs.get('run_id', '(not stored)')}", flush=True)
    return 0

"""``check_experiment``: the contract every registered experiment passes (as gymnasium's ``check_env``)."""

from __future__ import annotations

import random
import time
from typing import Any

import numpy as np
import torch

from neurodyn.core import registry
from neurodyn.core.config import fields_of, from_dict, from_query, to_dict, to_query
from neurodyn.core.loop import Record, non_finite_metrics

__all__ = ["check_experiment", "ContractError"]


class ContractError(AssertionError):
    """An experiment broke the contract; the message says which clause."""


def _same(a: object, b: object) -> bool:
    if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
        return np.array_equal(np.asarray(a), np.asarray(b), equal_nan=True)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, float) and isinstance(b, float) and np.isnan(a) and np.isnan(b):
        return True
    return a == b


def _np_state() -> list:
    """The whole state of numpy's global generator (key array, position, cached Gaussian), copied."""
    kind, key, pos, has_gauss, gauss = np.random.get_state()
    return [kind, key.copy(), pos, has_gauss, gauss]


def check_experiment(name: str, preset: str = "small", *, n_records: int = 3, max_step_seconds: float = 0.5) -> None:
    """Check the experiment contract for ``name`` and raise :class:`ContractError` on the first breach.

    Clauses: the preset's config is valid and survives dict and URL-query round trips; ``build`` leaves the global
    numpy (the whole generator state), ``random`` and torch RNG states untouched; two builds with the same seed give
    identical first ``n_records`` records; every metric is a finite float and every record carries exactly the
    experiment's declared metrics; artifacts are numpy arrays or JSON values; every ``step()`` after the first
    (which may pay one-off costs) takes under ``max_step_seconds`` on CPU with one torch thread, in at least one of
    the two runs (a spike of a shared machine is not a breach); ``total_steps`` is positive and ``done`` is a bool.

    Parameters
    ----------
    name : str
        A registered experiment name.
    preset : str, default "small"
    n_records : int, default 3
    max_step_seconds : float, default 0.5
    """
    spec = registry.get(name)
    has_device = any(s.name == "device" for s in fields_of(spec.config_cls))
    cfg = spec.config(preset, {"device": "cpu"} if has_device else None)  # the contract is a CPU contract
    if from_dict(spec.config_cls, to_dict(cfg)) != cfg:
        raise ContractError(f"{name}: config does not survive the dict round trip")
    back, warnings = from_query(spec.config_cls, to_query(cfg))
    if back != cfg or warnings:
        raise ContractError(f"{name}: config does not survive the query round trip ({warnings})")
    back, _ = from_query(spec.config_cls, to_query(cfg, base=spec.config_cls()), base=spec.config_cls())
    if back != cfg:
        raise ContractError(f"{name}: config does not survive the query round trip against the defaults")

    np_state = _np_state()
    py_state = random.getstate()
    torch_state = torch.get_rng_state().clone()
    runs: list[list[Record]] = []
    step_times: list[float] = []
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # as in a worker process
    try:
        _two_runs(spec.build, cfg, n_records, name, runs, step_times)
    finally:
        torch.set_num_threads(threads)
    # the same step of the two identical runs: the faster of the two, so one spike of a shared machine is not a breach
    step_times = [min(x, y) for x, y in zip(step_times[: len(step_times) // 2], step_times[len(step_times) // 2:])]
    if not _same(np_state, _np_state()) or py_state != random.getstate() or not torch.equal(
            torch_state, torch.get_rng_state()):
        raise ContractError(f"{name}: building or stepping changed the global numpy/random/torch RNG state")
    _check_records(name, spec.declared_metrics(cfg), runs)
    if step_times and max(step_times) > max_step_seconds:
        raise ContractError(
            f"{name}: a step() took {max(step_times):.3f} s in both runs; the {preset} preset must stay under "
            f"{max_step_seconds} s per step (the first step may pay one-off costs)"
        )


def _two_runs(build: Any, cfg: Any, n_records: int, name: str, runs: list, step_times: list) -> None:
    for _ in range(2):
        exp = build(cfg)
        if not isinstance(exp.total_steps, int) or exp.total_steps <= 0:
            raise ContractError(f"{name}: total_steps must be a positive int, got {exp.total_steps!r}")
        if not isinstance(exp.done, bool):
            raise ContractError(f"{name}: done must be a bool, got {exp.done!r}")
        recs = []
        for i in range(n_records):
            if exp.done:
                break
            t0 = time.perf_counter()
            recs.append(exp.step())
            if i > 0:
                step_times.append(time.perf_counter() - t0)
        runs.append(recs)


def _check_records(name: str, declared: Any, runs: list) -> None:
    a, b = runs
    if len(a) != len(b) or not a:
        raise ContractError(f"{name}: produced no records")
    keys = {m.name for m in declared}
    for ra, rb in zip(a, b):
        if not isinstance(ra, Record):
            raise ContractError(f"{name}: step() returned {type(ra).__name__}, expected Record")
        if set(ra.metrics) != keys:
            raise ContractError(
                f"{name}: step {ra.step}'s metric keys differ from the declared metrics: undeclared "
                f"{sorted(set(ra.metrics) - keys)}, missing {sorted(keys - set(ra.metrics))}"
            )
        bad = non_finite_metrics(ra)
        if bad:
            raise ContractError(f"{name}: non-finite metrics at step {ra.step}: {bad}")
        if not all(isinstance(v, float) for v in ra.metrics.values()):
            raise ContractError(f"{name}: metrics must be Python floats")
        for k, v in ra.artifacts.items():
            if hasattr(v, "detach"):
                raise ContractError(f"{name}: artifact {k!r} is a tensor; convert it to numpy")
        if ra.step != rb.step or not _same(dict(ra.metrics), dict(rb.metrics)):
            raise ContractError(f"{name}: same seed gave different metrics at step {ra.step}")
        if not _same(dict(ra.artifacts), dict(rb.artifacts)):
            raise ContractError(f"{name}: same seed gave different artifacts at step {ra.step}")

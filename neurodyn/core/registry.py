"""The registry: discovers each paper package's ``SPEC`` and answers by experiment name.

The only list is :data:`PACKAGES`, the paper packages the dashboard shows, in order. Everything else (experiment
names, configs, presets, pages, claims, warm-ups) is read from the packages' specs on first use, so importing this
module stays cheap. :func:`add_package` registers one more package at run time (the template paper in the tests),
and so does the environment variable ``NEURODYN_EXTRA_PAPERS`` (comma-separated module paths, e.g.
``neurodyn.template``), read once on first use: a new paper's page can be tried in the dashboard before its key joins
:data:`PACKAGES`.
"""

from __future__ import annotations

import importlib
import os
import threading
from typing import Any

from neurodyn.core.spec import ExperimentSpec, PaperSpec, SpecError

__all__ = ["PACKAGES", "ExperimentSpec", "PaperSpec", "papers", "paper", "paper_of", "names", "get", "make_config",
           "build", "add_package", "remove_package"]

#: The paper packages under ``neurodyn/``, in the order the dashboard lists them.
PACKAGES: tuple[str, ...] = ("attention", "lyapunov", "lead", "udemd", "brims", "activations", "starvation",
                             "alignment", "causal", "multitask")

_extra: list[str] = [p.strip() for p in os.environ.get("NEURODYN_EXTRA_PAPERS", "").split(",") if p.strip()]
_loaded: dict[str, PaperSpec] = {}
_lock = threading.RLock()


def _module_path(package: str) -> str:
    return package if "." in package else f"neurodyn.{package}"


def _load(package: str) -> PaperSpec:
    path = _module_path(package)
    with _lock:
        if path not in _loaded:
            mod = importlib.import_module(path)
            spec = getattr(mod, "SPEC", None)
            if not isinstance(spec, PaperSpec):
                raise SpecError(f"package {path} must export SPEC, a PaperSpec; found {type(spec).__name__}")
            if spec.key != path.rsplit(".", 1)[-1]:
                raise SpecError(f"package {path} exports SPEC with key {spec.key!r}; the key must be the package name")
            _loaded[path] = spec
        return _loaded[path]


def papers() -> tuple[PaperSpec, ...]:
    """Every registered paper's spec, in dashboard order (imports the paper packages on first use).

    Returns
    -------
    tuple of PaperSpec
    """
    with _lock:
        return tuple(_load(p) for p in (*PACKAGES, *_extra))


def paper(key: str) -> PaperSpec:
    """The spec of the paper ``key``.

    Raises
    ------
    KeyError
        For an unknown key; the message lists the valid keys.
    """
    for p in papers():
        if p.key == key:
            return p
    raise KeyError(f"unknown paper {key!r}; valid keys: {', '.join(p.key for p in papers())}")


def _experiments() -> dict[str, ExperimentSpec]:
    out: dict[str, ExperimentSpec] = {}
    for p in papers():
        for e in p.experiments:
            if e.name in out:
                raise SpecError(f"experiment {e.name!r} is declared by two papers")
            out[e.name] = e
    return out


def names() -> list[str]:
    """The registered experiment names, in dashboard order.

    Returns
    -------
    list of str
    """
    return list(_experiments())


def get(name: str) -> ExperimentSpec:
    """The spec of experiment ``name``.

    Parameters
    ----------
    name : str

    Returns
    -------
    ExperimentSpec

    Raises
    ------
    KeyError
        For an unknown name; the message lists the valid names.
    """
    table = _experiments()
    if name not in table:
        raise KeyError(f"unknown experiment {name!r}; valid names: {', '.join(table) or '(none)'}")
    return table[name]


def paper_of(name: str) -> PaperSpec:
    """The paper that declares experiment ``name``."""
    return paper(get(name).paper)


def make_config(name: str, preset: str = "small", **overrides: Any) -> Any:
    """The config of experiment ``name`` for ``preset`` with ``overrides`` applied and validated.

    Parameters
    ----------
    name : str
    preset : str, default "small"
    **overrides
        Field values (Python values or text forms).

    Returns
    -------
    The experiment's frozen config.
    """
    return get(name).config(preset, overrides)


def build(name: str, preset: str = "small", **overrides: Any) -> Any:
    """Build experiment ``name`` from a preset and overrides.

    Parameters
    ----------
    name : str
        A name from :func:`names`.
    preset : str, default "small"
    **overrides
        Config field values, e.g. ``seed=1``.

    Returns
    -------
    Experiment
    """
    spec = get(name)
    return spec.build(spec.config(preset, overrides))


def add_package(path: str) -> PaperSpec:
    """Register one more paper package by its module path (e.g. ``"neurodyn.template"``) and return its spec.

    Parameters
    ----------
    path : str

    Returns
    -------
    PaperSpec
    """
    with _lock:
        if _module_path(path) not in map(_module_path, (*PACKAGES, *_extra)):
            _extra.append(path)
        try:
            spec = _load(path)
        except Exception:
            _extra.remove(path)
            _loaded.pop(_module_path(path), None)
            raise
        return spec


def remove_package(path: str) -> None:
    """Undo :func:`add_package` (a no-op for packages that were not added)."""
    with _lock:
        if path in _extra:
            _extra.remove(path)
            _loaded.pop(_module_path(path), None)

"""Frozen dataclass configs whose field metadata drives the UI, the CLI and the URL.

One table serves three readers, like the TensorFlow playground's ``PROPS``: every field of an experiment's
``Config`` is declared with :func:`param`, whose metadata (bounds, log scale, choices, help) is read by

- ``neurodyn.ui.controls`` to draw a bounded sidebar widget,
- the CLI's ``--set key=value`` through :func:`apply_overrides` (type coercion, valid keys listed on error),
- ``st.query_params`` through :func:`to_query` / :func:`from_query` (clamped and validated on the way in).

Field types are limited to ``int``, ``float``, ``bool`` and ``str`` so that every value has one text form.

Examples
--------
>>> from dataclasses import dataclass
>>> @dataclass(frozen=True)
... class Config:
...     lr: float = param(0.1, min=1e-4, max=2.0, log=True, help="step size")
...     n_steps: int = param(100, min=1, max=1000, help="steps")
>>> apply_overrides(Config(), ["lr=0.5"]).lr
0.5
>>> from_query(Config, {"n_steps": "5000"})[0].n_steps   # clamped to the UI bound
1000
"""

from __future__ import annotations

import dataclasses
import math
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, TypeVar

__all__ = [
    "ConfigError",
    "FieldSpec",
    "param",
    "fields_of",
    "coerce",
    "validate",
    "apply_overrides",
    "parse_assignments",
    "to_dict",
    "from_dict",
    "to_query",
    "from_query",
]

C = TypeVar("C")
_TYPES = (bool, int, float, str)
_TRUE = {"1", "true", "yes", "on", "y", "t"}
_FALSE = {"0", "false", "no", "off", "n", "f"}


class ConfigError(ValueError):
    """A config value or key is invalid; the message names it and what was expected."""


def param(
    default: Any,
    *,
    min: float | None = None,
    max: float | None = None,
    step: float | None = None,
    log: bool = False,
    choices: Iterable[str] | None = None,
    help: str = "",
    label: str | None = None,
    applies: Callable[[Mapping[str, Any]], bool] | None = None,
) -> Any:
    """Declare a config field with the metadata the UI, CLI and URL need.

    Parameters
    ----------
    default : int, float, bool or str
        Default value.
    min, max : float, optional
        Inclusive bounds of a numeric field (required for numeric fields shown in the UI).
    step : float, optional
        Widget step for a numeric field.
    log : bool, default False
        Show the numeric field on a log scale.
    choices : iterable of str, optional
        The allowed values of a string field.
    help : str
        One line shown as the widget's tooltip and in CLI errors.
    label : str, optional
        Widget label in words; defaults to the field name with spaces.
    applies : callable, optional
        ``applies(values) -> bool`` over the config's current values (a mapping of field names): where it is false the
        field does not apply (e.g. an LSTM-only option while the cell is a GRU) and the sidebar hides its widget; the
        field keeps its value.

    Returns
    -------
    dataclasses.Field
    """
    meta = {
        "min": min,
        "max": max,
        "step": step,
        "log": log,
        "choices": tuple(choices) if choices is not None else None,
        "help": help,
        "label": label,
        "applies": applies,
    }
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class FieldSpec:
    """The resolved description of one config field."""

    name: str
    type: type
    default: Any
    min: float | None = None
    max: float | None = None
    step: float | None = None
    log: bool = False
    choices: tuple[str, ...] | None = None
    help: str = ""
    label: str | None = None
    applies: Callable[[Mapping[str, Any]], bool] | None = None

    def describe(self) -> str:
        """One line ``name (type, range): help`` for error messages and ``--help`` text."""
        if self.choices:
            rng = "one of " + "|".join(self.choices)
        elif self.min is not None or self.max is not None:
            rng = f"{self.min}..{self.max}"
        else:
            rng = self.type.__name__
        tail = f": {self.help}" if self.help else ""
        return f"{self.name} ({self.type.__name__}, {rng}, default {self.default!r}){tail}"


def fields_of(cls_or_cfg: Any) -> list[FieldSpec]:
    """List the field specs of a config class or instance, in declaration order.

    Parameters
    ----------
    cls_or_cfg : type or dataclass instance

    Returns
    -------
    list of FieldSpec
    """
    cls = cls_or_cfg if isinstance(cls_or_cfg, type) else type(cls_or_cfg)
    if not dataclasses.is_dataclass(cls):
        raise TypeError(f"{cls!r} is not a dataclass config")
    hints = typing.get_type_hints(cls)
    specs = []
    for f in dataclasses.fields(cls):
        tp = hints.get(f.name, type(f.default))
        if tp not in _TYPES:
            raise TypeError(f"config field {cls.__name__}.{f.name} has type {tp!r}; use int, float, bool or str")
        m = dict(f.metadata)
        specs.append(
            FieldSpec(
                name=f.name,
                type=tp,
                default=f.default,
                min=m.get("min"),
                max=m.get("max"),
                step=m.get("step"),
                log=bool(m.get("log", False)),
                choices=m.get("choices"),
                help=m.get("help", ""),
                label=m.get("label"),
                applies=m.get("applies"),
            )
        )
    return specs


def _parse(spec: FieldSpec, value: Any) -> Any:
    """Turn ``value`` (text or a Python value) into the field's type, without range checks."""
    tp = spec.type
    if tp is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, float)) and value in (0, 1):
            return bool(value)
        text = str(value).strip().lower()
        if text in _TRUE:
            return True
        if text in _FALSE:
            return False
        raise ConfigError(f"{spec.name} must be true or false, got {value!r}")
    if tp is int:
        if isinstance(value, bool):
            raise ConfigError(f"{spec.name} must be an integer, got {value!r}")
        if isinstance(value, int):
            return value
        try:
            num = float(str(value).strip())
        except ValueError:
            raise ConfigError(f"{spec.name} must be an integer, got {value!r}") from None
        if not math.isfinite(num) or num != int(num):
            raise ConfigError(f"{spec.name} must be an integer, got {value!r}")
        return int(num)
    if tp is float:
        if isinstance(value, bool):
            raise ConfigError(f"{spec.name} must be a number, got {value!r}")
        try:
            num = float(value if isinstance(value, (int, float)) else str(value).strip())
        except ValueError:
            raise ConfigError(f"{spec.name} must be a number, got {value!r}") from None
        if not math.isfinite(num):
            raise ConfigError(f"{spec.name} must be a finite number, got {value!r}")
        return num
    return str(value)


def coerce(spec: FieldSpec, value: Any, *, clamp: bool = False) -> Any:
    """Convert ``value`` to the field's type and check it against the field's bounds or choices.

    Parameters
    ----------
    spec : FieldSpec
    value : Any
        A Python value or its text form (``"1e-3"``, ``"true"``).
    clamp : bool, default False
        Clamp a numeric value into ``[min, max]`` instead of raising.

    Returns
    -------
    Any
        The value, of type ``spec.type``.

    Raises
    ------
    ConfigError
        If the value cannot be parsed, is out of range (``clamp=False``) or is not one of the choices.
    """
    out = _parse(spec, value)
    if spec.choices is not None and out not in spec.choices:
        raise ConfigError(f"{spec.name} must be one of {', '.join(map(repr, spec.choices))}; got {value!r}")
    if spec.type in (int, float):
        lo, hi = spec.min, spec.max
        if lo is not None and out < lo:
            if not clamp:
                raise ConfigError(f"{spec.name} must be >= {lo}, got {out!r}")
            out = spec.type(math.ceil(lo) if spec.type is int else lo)
        if hi is not None and out > hi:
            if not clamp:
                raise ConfigError(f"{spec.name} must be <= {hi}, got {out!r}")
            out = spec.type(math.floor(hi) if spec.type is int else hi)
    return out


def _replace(cfg: C, changes: Mapping[str, Any]) -> C:
    try:
        return dataclasses.replace(cfg, **changes)
    except ConfigError:
        raise
    except (ValueError, TypeError) as exc:
        raise ConfigError(str(exc)) from exc


def validate(cfg: C) -> C:
    """Check every field of ``cfg`` against its declared type, bounds and choices.

    Parameters
    ----------
    cfg : dataclass config instance

    Returns
    -------
    The same ``cfg``.

    Raises
    ------
    ConfigError
        Naming the first offending field.
    """
    for spec in fields_of(cfg):
        value = getattr(cfg, spec.name)
        if spec.type is float and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if not isinstance(value, spec.type) or (spec.type is int and isinstance(value, bool)):
            raise ConfigError(f"{spec.name} must be of type {spec.type.__name__}, got {value!r}")
        coerce(spec, value)
    return cfg


def parse_assignments(items: Iterable[str]) -> dict[str, str]:
    """Split ``["k=v", ...]`` into a dict; an item without ``=`` is an error.

    Parameters
    ----------
    items : iterable of str

    Returns
    -------
    dict of str to str
    """
    out: dict[str, str] = {}
    for item in items:
        key, sep, value = str(item).partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"expected key=value, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def apply_overrides(cfg: C, overrides: Mapping[str, Any] | Iterable[str]) -> C:
    """Return a copy of ``cfg`` with ``overrides`` applied, each coerced to its field's type and checked.

    Parameters
    ----------
    cfg : dataclass config instance
    overrides : mapping of str to value, or iterable of ``"key=value"`` strings

    Returns
    -------
    A new config instance.

    Raises
    ------
    ConfigError
        For an unknown key (the message lists the valid keys) or a bad value.
    """
    if not isinstance(overrides, Mapping):
        overrides = parse_assignments(overrides)
    specs = {s.name: s for s in fields_of(cfg)}
    changes = {}
    for key, value in overrides.items():
        if key not in specs:
            valid = "\n  ".join(s.describe() for s in specs.values())
            raise ConfigError(f"unknown key {key!r} for {type(cfg).__name__}; valid keys:\n  {valid}")
        changes[key] = coerce(specs[key], value)
    return validate(_replace(cfg, changes))


def to_dict(cfg: Any) -> dict[str, Any]:
    """Return the config's fields as a plain JSON-ready dict."""
    return {s.name: getattr(cfg, s.name) for s in fields_of(cfg)}


def from_dict(cls: type[C], data: Mapping[str, Any], *, base: C | None = None) -> C:
    """Build a config of class ``cls`` from a dict (strict: unknown keys and bad values raise).

    Parameters
    ----------
    cls : type
        The config class.
    data : mapping
        Field values (Python values or their text forms).
    base : instance of cls, optional
        Values for the fields missing from ``data``; defaults to ``cls()``.

    Returns
    -------
    An instance of ``cls``.
    """
    return apply_overrides(base if base is not None else cls(), dict(data))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def to_query(cfg: Any, *, base: Any = None, prefix: str = "") -> dict[str, str]:
    """Encode the config as URL query parameters.

    Parameters
    ----------
    cfg : dataclass config instance
    base : instance of the same class, optional
        If given, only fields that differ from ``base`` are written (shorter links).
    prefix : str
        Prepended to each key, so that two configs can share one URL.

    Returns
    -------
    dict of str to str
    """
    out = {}
    for s in fields_of(cfg):
        value = getattr(cfg, s.name)
        if base is not None and getattr(base, s.name) == value:
            continue
        out[prefix + s.name] = _text(value)
    return out


def from_query(
    cls: type[C], params: Mapping[str, Any], *, base: C | None = None, prefix: str = ""
) -> tuple[C, list[str]]:
    """Decode URL query parameters into a config, clamping numbers and skipping bad values.

    A link must never crash a page, so nothing here raises for user text: numbers out of range are clamped,
    unparseable values and unknown choices are dropped, and each such fix is reported.

    Parameters
    ----------
    cls : type
        The config class.
    params : mapping of str to str (or list of str, as some query parsers give)
    base : instance of cls, optional
        Starting values (the chosen preset); defaults to ``cls()``.
    prefix : str
        Only keys with this prefix are read.

    Returns
    -------
    config : instance of cls
    warnings : list of str
        One line per value that was clamped or ignored.
    """
    cfg = base if base is not None else cls()
    warnings: list[str] = []
    for spec in fields_of(cls):
        key = prefix + spec.name
        if key not in params:
            continue
        raw = params[key]
        if isinstance(raw, (list, tuple)):
            raw = raw[-1] if raw else ""
        try:
            value = coerce(spec, raw, clamp=True)
        except ConfigError as exc:
            warnings.append(f"ignored {key}={raw!r}: {exc}")
            continue
        try:
            if str(value) != str(_parse(spec, raw)):
                warnings.append(f"{key}={raw!r} clamped to {value!r}")
        except ConfigError:
            pass
        try:
            cfg = validate(_replace(cfg, {spec.name: value}))
        except ConfigError as exc:
            warnings.append(f"ignored {key}={raw!r}: {exc}")
    return cfg, warnings

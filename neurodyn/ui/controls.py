"""Sidebar controls generated from an experiment's config, synced with the URL.

One widget per config field, chosen from the field's metadata (see :func:`neurodyn.core.config.param`): a toggle for
a bool, a select box for a string with choices, a slider for a bounded number (a log-spaced select slider when the
field is on a log scale), a number box for seeds and wide integer ranges. The preset picker resets every widget to the
preset. The URL carries the preset and every value that differs from it, so a copied link reproduces the view;
values read from a URL are clamped and validated, never trusted.
"""

from __future__ import annotations

import math
from typing import Any

import streamlit as st

from neurodyn.core import registry
from neurodyn.core.config import ConfigError, FieldSpec, apply_overrides, fields_of, from_query, to_query

__all__ = ["controls", "log_grid"]

_RUN_FIELDS = ("n_steps", "seed", "device")  # drawn last, under "Run"


def log_grid(lo: float, hi: float, *extra: float) -> list[float]:
    """Values 1, 2, 5 x 10^k between ``lo`` and ``hi`` (both included), plus ``extra``, sorted.

    Parameters
    ----------
    lo, hi : float
        Positive bounds.
    *extra : float
        Values that must be on the grid (e.g. the current value).

    Returns
    -------
    list of float
    """
    if lo <= 0 or hi <= lo:
        raise ValueError(f"log_grid needs 0 < lo < hi, got {lo}, {hi}")
    vals = {float(lo), float(hi), *(float(e) for e in extra if lo <= e <= hi)}
    for k in range(math.floor(math.log10(lo)), math.ceil(math.log10(hi)) + 1):
        for m in (1, 2, 5):
            v = float(f"{m}e{k}")
            if lo <= v <= hi:
                vals.add(v)
    return sorted(vals)


def _label(spec: FieldSpec) -> str:
    return spec.label or spec.name.replace("_", " ")


def _widget(box: Any, spec: FieldSpec, key: str) -> Any:
    label, helptext = _label(spec), spec.help or None
    if spec.type is bool:
        return box.toggle(label, key=key, help=helptext)
    if spec.choices:
        return box.selectbox(label, spec.choices, key=key, help=helptext)
    if spec.type is str:
        return box.text_input(label, key=key, help=helptext)
    lo, hi = spec.min, spec.max
    if spec.type is float and spec.log and lo and hi and lo > 0:
        return box.select_slider(label, options=log_grid(lo, hi, st.session_state.get(key, spec.default)), key=key,
                                 help=helptext, format_func=lambda v: f"{v:g}")
    if spec.type is int:
        if spec.name == "seed" or lo is None or hi is None or hi - lo > 100_000:
            return box.number_input(label, min_value=None if lo is None else int(lo),
                                    max_value=None if hi is None else int(hi), step=1, key=key, help=helptext)
        return box.slider(label, int(lo), int(hi), step=int(spec.step or 1), key=key, help=helptext)
    if lo is None or hi is None:
        return box.number_input(label, key=key, help=helptext, format="%g")
    step = float(spec.step) if spec.step else None
    # Streamlit shows two decimals by default: finer steps (e.g. a weight decay of 5e-4) need their own
    fmt = f"%.{-math.floor(math.log10(step))}f" if step and step < 0.01 else None
    return box.slider(label, float(lo), float(hi), step=step, key=key, help=helptext, format=fmt)


def _put(ns: str, cfg: Any, specs: list[FieldSpec]) -> None:
    for s in specs:
        value = getattr(cfg, s.name)
        st.session_state[ns + s.name] = float(value) if s.type is float else value


def _apply_preset(ns: str, name: str) -> None:
    spec = registry.get(name)
    preset = st.session_state[ns + "preset"]
    _put(ns, spec.presets[preset], fields_of(spec.config_cls))


def _sync_url(prefix: str, preset: str, cfg: Any, base: Any, specs: list[FieldSpec]) -> None:
    wanted = {prefix + "preset": preset, **to_query(cfg, base=base, prefix=prefix)}
    params = st.query_params
    for s in specs:
        k = prefix + s.name
        if k in params and k not in wanted:
            del params[k]
    for k, v in wanted.items():
        if params.get(k) != v:
            params[k] = v


def controls(name: str, *, prefix: str = "", container: Any = None, exclude: tuple[str, ...] = ()) -> Any:
    """Draw the experiment's controls and return the config they describe.

    Parameters
    ----------
    name : str
        Registered experiment name.
    prefix : str
        Namespace for widget keys and URL parameters; needed when a page shows two experiments.
    container : streamlit container, optional
        Where to draw; default the sidebar.
    exclude : tuple of str
        Fields not to show (they keep the preset's value).

    Returns
    -------
    The experiment's frozen config.
    """
    spec = registry.get(name)
    box = container if container is not None else st.sidebar
    ns = f"nd.{prefix or name}."
    specs = [s for s in fields_of(spec.config_cls) if s.name not in exclude]
    presets = list(spec.presets)
    default = "small" if "small" in spec.presets else presets[0]
    if ns + "preset" not in st.session_state:  # first draw in this session, or back from another page
        params = st.query_params.to_dict()
        saved = st.session_state.get(ns + "saved")
        url_keys = {prefix + "preset"} | {prefix + s.name for s in specs}
        if url_keys & set(params):
            preset = params.get(prefix + "preset", default)
            if preset not in spec.presets:
                box.warning(f"Unknown preset {preset!r} in the link; using {default!r}.")
                preset = default
            cfg, notes = from_query(spec.config_cls, params, base=spec.presets[preset], prefix=prefix)
            for note in notes:
                box.warning(f"Link: {note}")
        elif saved is not None:
            preset, cfg = saved
        else:
            preset, cfg = default, spec.presets[default]
        st.session_state[ns + "preset"] = preset
        _put(ns, cfg, specs)
    box.selectbox(
        "Preset", presets, key=ns + "preset", on_change=_apply_preset, args=(ns, name),
        help="small: under a minute on 2 CPU cores. paper: the paper's settings (slow on a laptop). "
        "talk: tuned for a live demo, where offered.",
    )
    preset = st.session_state[ns + "preset"]
    values = {}
    ordered = [s for s in specs if s.name not in _RUN_FIELDS] + [s for s in specs if s.name in _RUN_FIELDS]
    for s in ordered:  # a widget that is not drawn loses its state: fill it back in from the preset
        if ns + s.name not in st.session_state:
            _put(ns, spec.presets[preset], [s])
    current = {s.name: st.session_state[ns + s.name] for s in ordered}
    for i, s in enumerate(ordered):
        if s.name in _RUN_FIELDS and (i == 0 or ordered[i - 1].name not in _RUN_FIELDS):
            box.caption("Run")
        if s.applies is not None and not s.applies(current):
            values[s.name] = current[s.name]  # does not apply to these settings: hidden, keeps its value
            continue
        values[s.name] = _widget(box, s, ns + s.name)
    base = spec.presets[preset]
    try:
        cfg = apply_overrides(base, values)
    except ConfigError as exc:
        box.error(f"These settings do not fit together: {exc}. Using the {preset!r} preset's values.")
        cfg = base
    st.session_state[ns + "saved"] = (preset, cfg)
    _sync_url(prefix, preset, cfg, base, specs)
    return cfg

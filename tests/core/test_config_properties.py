"""Property tests: no text a user can type into --set or a URL makes the config parsers raise anything but
ConfigError."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from neurodyn.core.config import ConfigError, apply_overrides, from_query, param, parse_assignments, validate


@dataclass(frozen=True)
class Cfg:
    lr: float = param(0.1, min=1e-4, max=2.0, log=True)
    n_steps: int = param(100, min=1, max=1000)
    game: str = param("xy", choices=("xy", "bilinear"))
    alternating: bool = param(False)


KEYS = st.sampled_from(["lr", "n_steps", "game", "alternating", "nope", "", "LR", "lr "])
TEXT = st.one_of(st.text(max_size=30), st.sampled_from(["nan", "inf", "-inf", "1e309", "1e-400", "0x10", "1_000",
                                                        "  7 ", "true", "2.0000000001", "-0", "", "None"]))


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(KEYS, TEXT), max_size=5))
def test_overrides_raise_only_config_error(pairs):
    try:
        cfg = apply_overrides(Cfg(), {k: v for k, v in pairs})
    except ConfigError:
        return
    validate(cfg)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.text(max_size=40), max_size=5))
def test_assignment_strings_raise_only_config_error(items):
    try:
        apply_overrides(Cfg(), parse_assignments(items))
    except ConfigError:
        pass


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(KEYS, st.one_of(TEXT, st.lists(TEXT, max_size=3)), max_size=6))
def test_url_parameters_never_raise_and_always_give_a_valid_config(params):
    cfg, warnings = from_query(Cfg, params)
    validate(cfg)
    assert isinstance(warnings, list)

from __future__ import annotations

from dataclasses import dataclass

import pytest

from neurodyn.core.config import (
    ConfigError,
    apply_overrides,
    fields_of,
    from_dict,
    from_query,
    param,
    parse_assignments,
    to_dict,
    to_query,
    validate,
)


@dataclass(frozen=True)
class Cfg:
    lr: float = param(0.1, min=1e-4, max=2.0, log=True, help="step size")
    n_steps: int = param(100, min=1, max=1000, help="steps")
    game: str = param("xy", choices=("xy", "bilinear"), help="game")
    alternating: bool = param(False, help="alternate the players")
    seed: int = param(0, min=0, max=2**31 - 1)

    def __post_init__(self):
        if self.game == "bilinear" and self.alternating:
            raise ValueError("alternating updates are not offered on the bilinear game")


def test_fields_carry_ui_metadata_in_declaration_order():
    specs = fields_of(Cfg)
    assert [s.name for s in specs] == ["lr", "n_steps", "game", "alternating", "seed"]
    assert specs[0].log and specs[0].min == 1e-4 and specs[0].max == 2.0 and specs[0].help == "step size"
    assert specs[2].choices == ("xy", "bilinear") and specs[3].type is bool


@pytest.mark.parametrize(
    "item, field, value",
    [("lr=1e-3", "lr", 1e-3), ("n_steps=7", "n_steps", 7), ("n_steps=7.0", "n_steps", 7),
     ("alternating=yes", "alternating", True), ("alternating=0", "alternating", False),
     ("game=bilinear", "game", "bilinear")],
)
def test_overrides_are_coerced_to_the_field_type(item, field, value):
    cfg = apply_overrides(Cfg(), [item])
    assert getattr(cfg, field) == value and type(getattr(cfg, field)) is type(value)


def test_unknown_key_error_lists_every_valid_key():
    with pytest.raises(ConfigError) as err:
        apply_overrides(Cfg(), {"learning_rate": "0.1"})
    msg = str(err.value)
    assert "learning_rate" in msg
    for name in ("lr", "n_steps", "game", "alternating", "seed"):
        assert name in msg


@pytest.mark.parametrize(
    "item, words",
    [("lr=abc", "number"), ("lr=nan", "finite"), ("lr=5", "<= 2.0"), ("n_steps=0", ">= 1"), ("n_steps=1.5", "integer"),
     ("game=rps", "one of"), ("alternating=maybe", "true or false")],
)
def test_bad_values_raise_config_error_naming_the_field(item, words):
    with pytest.raises(ConfigError) as err:
        apply_overrides(Cfg(), [item])
    assert item.split("=")[0] in str(err.value) and words in str(err.value)


def test_cross_field_validation_in_post_init_becomes_config_error():
    with pytest.raises(ConfigError, match="alternating"):
        apply_overrides(Cfg(), {"game": "bilinear", "alternating": "true"})


def test_assignment_without_equals_sign_is_rejected():
    with pytest.raises(ConfigError, match="key=value"):
        parse_assignments(["lr"])


def test_dict_round_trip_is_exact():
    cfg = Cfg(lr=0.123456789012345, n_steps=17, game="bilinear", seed=99)
    assert from_dict(Cfg, to_dict(cfg)) == cfg


def test_query_round_trip_is_exact_for_awkward_floats():
    cfg = Cfg(lr=0.1 + 0.2, alternating=True, seed=2**31 - 1)
    back, warnings = from_query(Cfg, to_query(cfg))
    assert back == cfg and warnings == []


def test_query_against_a_base_writes_only_the_differences():
    base = Cfg()
    q = to_query(Cfg(lr=0.5), base=base)
    assert q == {"lr": "0.5"}
    assert from_query(Cfg, q, base=base)[0] == Cfg(lr=0.5)


def test_query_values_are_clamped_or_ignored_never_raised():
    cfg, warnings = from_query(Cfg, {"lr": "99", "n_steps": "-4", "game": "<script>", "alternating": "x", "zz": "1"})
    assert cfg.lr == 2.0 and cfg.n_steps == 1 and cfg.game == "xy" and cfg.alternating is False
    assert len(warnings) == 4


def test_query_prefix_separates_two_configs():
    q = {**to_query(Cfg(lr=0.2), prefix="a."), **to_query(Cfg(lr=0.3), prefix="b.")}
    assert from_query(Cfg, q, prefix="a.")[0].lr == 0.2 and from_query(Cfg, q, prefix="b.")[0].lr == 0.3


def test_validate_rejects_out_of_range_constructor_values():
    with pytest.raises(ConfigError, match="lr"):
        validate(Cfg(lr=10.0))

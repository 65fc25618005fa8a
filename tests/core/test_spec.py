"""Paper specs: incomplete or inconsistent specs fail at import with the field named; claims; the registry."""

from __future__ import annotations

import dataclasses
import sys
import types

import numpy as np
import pytest

from neurodyn.core import registry
from neurodyn.core.export import run_record, run_summary
from neurodyn.core.loop import Record, run
from neurodyn.core.spec import (
    INCONCLUSIVE,
    NOT_REPRODUCED,
    REPRODUCED,
    Claim,
    ClaimResult,
    ExperimentSpec,
    Metric,
    PaperSpec,
    SpecError,
    judge,
)
from neurodyn.core.testing import ContractError, check_experiment
from neurodyn.template import SPEC as TEMPLATE
from neurodyn.template.experiment import PRESETS, Config, LeastSquares


def _fields(**change):
    base = {f.name: getattr(TEMPLATE, f.name) for f in dataclasses.fields(PaperSpec) if f.init}
    return {**base, **change}


@pytest.mark.parametrize("field", ["key", "arxiv", "title", "claim", "short", "icon", "experiments", "claims"])
def test_a_spec_that_forgets_a_field_fails_naming_it(field):
    kwargs = _fields()
    del kwargs[field]
    with pytest.raises(TypeError, match=field):
        PaperSpec(**kwargs)


@pytest.mark.parametrize("change,field", [
    ({"title": ""}, "'title'"),
    ({"claims": ()}, "'claims'"),
    ({"experiments": ()}, "'experiments'"),
    ({"arxiv": "12345"}, "'arxiv'"),
    ({"key": "Template"}, "'key'"),
])
def test_an_empty_or_malformed_field_fails_naming_it(change, field):
    with pytest.raises(SpecError, match=field):
        PaperSpec(**_fields(**change))


def test_experiment_names_must_carry_the_key_and_claims_must_judge_one_of_them():
    odd = dataclasses.replace(TEMPLATE.experiments[0], name="other")
    with pytest.raises(SpecError, match="start with 'template_'"):
        PaperSpec(**_fields(experiments=(odd,)))
    stray = dataclasses.replace(TEMPLATE.claims[0], experiment="template_gan")
    with pytest.raises(SpecError, match=r"claims\[rate\]\.experiment"):
        PaperSpec(**_fields(claims=(stray,)))
    no_small = dataclasses.replace(TEMPLATE.experiments[0], presets={"paper": PRESETS["paper"]})
    with pytest.raises(SpecError, match="must define 'small'"):
        PaperSpec(**_fields(experiments=(no_small,)))


def test_spec_derives_page_doc_and_paper_key():
    assert (TEMPLATE.page, TEMPLATE.doc) == ("template.py", "docs/papers/template.md")
    assert TEMPLATE.experiments[0].paper == "template" and registry.paper_of("template") is TEMPLATE


def test_judge_and_claim_result_verdicts():
    assert judge(1.0, True, "> 0").verdict == REPRODUCED
    assert judge(1.0, False, "> 2").verdict == NOT_REPRODUCED
    assert judge(float("nan"), True, "> 0").verdict == INCONCLUSIVE
    with pytest.raises(ValueError, match="verdict"):
        ClaimResult("passed", 1.0, "")
    assert ClaimResult(REPRODUCED, float("inf"), "").to_json()["measured"] is None


def test_a_claim_whose_rule_raises_is_inconclusive_and_says_why():
    claim = dataclasses.replace(TEMPLATE.claims[0], rule=lambda records, config: records[99])
    out = claim.evaluate([Record(0, {"loss": 1.0})], Config())
    assert out.verdict == INCONCLUSIVE and "IndexError" in out.detail
    assert claim.evaluate([], Config()).detail == "no records yet"


def _fake_package(key, spec):
    """A module ``nd_fake.<key>`` exporting ``spec``, put straight into ``sys.modules``; returns its path."""
    name = f"nd_fake.{key}"
    mod = types.ModuleType(name)
    mod.SPEC = spec
    sys.modules[name] = mod
    return name


def test_registry_rejects_a_package_without_spec_or_with_a_foreign_key():
    name = _fake_package("nd_test_nospec", None)
    try:
        with pytest.raises(SpecError, match="must export SPEC"):
            registry.add_package(name)
        sys.modules[name].SPEC = TEMPLATE
        with pytest.raises(SpecError, match="key must be the package name"):
            registry.add_package(name)
        assert "nd_test_nospec" not in [p.key for p in registry.papers()]
    finally:
        del sys.modules[name]


class _Noisy(LeastSquares):
    """Draws once from numpy's global generator: the contract must notice (a draw moves only the position)."""

    def __init__(self, config):
        super().__init__(config)
        np.random.random()


def _paper_with(key, **experiment):
    exp = ExperimentSpec(**{**TEMPLATE.experiments[0].__dict__, "name": key, "paper": "", **experiment})
    claim = dataclasses.replace(TEMPLATE.claims[0], experiment=key)
    return PaperSpec(**_fields(key=key, experiments=(exp,), claims=(claim,)))


@pytest.mark.parametrize("key,change,match", [
    ("nd_test_undeclared", {"metrics": (Metric("loss_"),)}, r"undeclared \['loss'\], missing \['loss_'\]"),
    ("nd_test_noisy", {"build": _Noisy}, "global numpy/random/torch RNG state"),
])
def test_contract_catches_undeclared_metrics_and_one_global_numpy_draw(key, change, match):
    name = _fake_package(key, _paper_with(key, **change))
    try:
        registry.add_package(name)
        with pytest.raises(ContractError, match=match):
            check_experiment(key)
    finally:
        registry.remove_package(name)
        del sys.modules[name]


def test_run_record_is_the_cli_summary_plus_records_and_carries_the_claims():
    exp = registry.build("template")
    records = list(run(exp))
    summary = run_summary("template", exp.config, records, status="done", preset="small", seconds=1.0)
    record = run_record("template", exp.config, records, status="done", preset="small", seconds=1.0)
    assert set(record) - set(summary) == {"records"} and len(record["records"]) == 60 == summary["steps"]
    (claim,) = summary["claims"]
    assert claim["key"] == "rate" and claim["verdict"] == REPRODUCED and claim["paper_value"] is None
    assert summary["rerun"].startswith("python -m neurodyn run template --preset small --set lr=0.1")


def test_claim_objects_are_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        TEMPLATE.claims[0].text = "x"
    assert isinstance(TEMPLATE.claims[0], Claim)

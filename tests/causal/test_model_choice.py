"""Training a subset of the three world models (card §4 "models to train"): the declared metrics, the records, the
claim and the figures follow the choice; switching every model off is refused."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from chart_specs import layer_rows

from neurodyn.causal import figures as figs
from neurodyn.causal import page_support as support
from neurodyn.causal.claims import structure_rule
from neurodyn.causal.experiment import MODEL_LABELS, Config, build, metrics, total_steps, trained
from neurodyn.core.loop import run
from neurodyn.core.spec import INCONCLUSIVE

torch.set_num_threads(1)

TINY = Config(steps=16, eval_every=8, steps_per_record=4, episodes=20, episode_steps=5, test_paths=100, batch=16,
              device="cpu")


@pytest.fixture(scope="module")
def two_models():
    cfg = replace(TINY, use_modular=False)
    return cfg, list(run(build(cfg)))


def test_every_model_off_is_refused():
    with pytest.raises(ValueError, match="no world model"):
        replace(TINY, use_monolithic=False, use_modular=False, use_gnn=False)


def test_records_carry_only_the_trained_models(two_models):
    cfg, records = two_models
    assert trained(cfg) == ("monolithic", "gnn")
    names = [m.name for m in metrics(cfg)]
    assert not any("modular" in n for n in names) and "h1_k5_gnn" in names and "loss_monolithic" in names
    assert len(records) == total_steps(cfg) < total_steps(TINY)
    for r in records:
        assert list(r.metrics) == names
    latents = figs.latest_latents(records)
    assert set(latents) == {"monolithic", "gnn", "first_colors"}


def test_figures_and_texts_show_the_trained_models(two_models):
    cfg, records = two_models
    for chart in (figs.ranking_chart(records), figs.ranking_chart(records, score="mrr", rule="paper"),
                  figs.loss_chart(records)):
        models = {row["model"] for row in layer_rows(chart.to_dict())[0]}
        assert models == {MODEL_LABELS["monolithic"], MODEL_LABELS["gnn"]}
    text = support.ranking_text(records, cfg)
    assert MODEL_LABELS["gnn"] in text and MODEL_LABELS["modular"] not in text


def test_structure_claim_judges_the_trained_structured_models(two_models):
    cfg, records = two_models
    res = structure_rule(records, cfg)
    assert res.verdict != INCONCLUSIVE and MODEL_LABELS["modular"] not in res.detail
    lone = replace(TINY, use_modular=False, use_gnn=False)
    res = structure_rule(list(run(build(lone))), lone)
    assert res.verdict == INCONCLUSIVE and res.detail.startswith("Needs the monolithic model")


def test_reconstruction_loss_trains_a_decoder_and_halves_the_record():
    from neurodyn.causal.experiment import record_steps

    cfg = replace(TINY, loss="reconstruction", use_gnn=False)
    exp = build(cfg)
    assert all(m.image_decoder is not None for m in exp.models.values())
    assert record_steps(cfg) == TINY.steps_per_record // 2
    records = list(run(exp))
    assert len(records) == total_steps(cfg) and records[-1].metrics["step"] == cfg.steps
    assert all(r.metrics["loss_monolithic"] > 0 for r in records if r.metrics["step"] > 0)
    assert build(TINY).models["modular"].image_decoder is None  # the contrastive default builds none

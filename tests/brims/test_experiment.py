"""The ``brims`` experiment: schedule, declared metrics and artifacts, the claims on a real run, and the learning
check (docs/papers/brims.md §5 check 10, slow)."""

from __future__ import annotations

import statistics

import numpy as np
import pytest
import torch

from neurodyn.brims import SPEC
from neurodyn.brims.claims import accuracies_at_noise, accuracies_at_rows
from neurodyn.brims.experiment import PROBE_ROWS, Config, build, declared_metrics, model_metric, model_names
from neurodyn.core import registry
from neurodyn.core.loop import run
from neurodyn.core.spec import INCONCLUSIVE

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def short_run():
    cfg = registry.make_config("brims", "small", device="cpu", epochs=2, artifact_every=1)
    exp = build(cfg)
    return cfg, exp, list(run(exp))


def test_schedule_length_and_epoch_bookkeeping(short_run):
    cfg, exp, records = short_run
    per_epoch = 11 + 3 + 1  # 22 batches two at a time, one evaluation per model, one raster
    assert exp.total_steps == len(records) == 2 * per_epoch + 2 * 3 * 3  # a probe sweep per epoch: 3 models x 3
    assert [r.step for r in records] == list(range(1, len(records) + 1))
    assert records[-1].metrics["epoch"] == 2.0 and records[-1].metrics["eval_epoch"] == 2.0
    assert records[0].metrics["eval_epoch"] == 0.0  # the untrained models' evaluation
    assert all(r.metrics.keys() == {m.name for m in declared_metrics(cfg)} for r in records)
    assert exp.done and records[-1].metrics["done"] == 1.0


def test_raster_has_k_active_modules_per_column_and_active_fractions_are_k_over_n(short_run):
    cfg, _, records = short_run
    rasters = [r.artifacts for r in records if "raster" in r.artifacts]
    assert [int(a["raster_epoch"]) for a in rasters] == [1, 2]
    art = rasters[-1]
    assert art["raster"].shape == (8 + cfg.probe_rows, cfg.n_modules_1 + cfg.n_modules_2)
    assert np.array_equal(art["raster"][:, :cfg.n_modules_1].sum(1), np.full(12, cfg.k_active_1))
    assert np.array_equal(art["raster"][:, cfg.n_modules_1:].sum(1), np.full(12, cfg.k_active_2))
    assert art["raster_alpha_1"].shape == (12, cfg.n_modules_1, 3) and art["raster_alpha_2"].shape == (12, 4, 2)
    np.testing.assert_allclose(art["active_fraction_1"].mean(), cfg.k_active_1 / cfg.n_modules_1, atol=1e-6)
    np.testing.assert_allclose(art["active_fraction_2"].mean(), cfg.k_active_2 / cfg.n_modules_2, atol=1e-6)
    mass = art["slot_mass"]  # (layer, segment, slot): attention sums to one over a layer's slots
    np.testing.assert_allclose(mass[0].sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(mass[1, :, :2].sum(-1), 1.0, atol=1e-5)
    assert np.all(mass[1, :, 2] == 0)
    last = records[-1].metrics
    assert last["active_mean_1"] == pytest.approx(cfg.k_active_1 / cfg.n_modules_1)
    assert last["top_down_mass_2"] == 0.0 and last["top_down_mass_1"] > 0


def test_probe_curves_start_at_the_clean_accuracy_and_match_the_per_epoch_metric(short_run):
    cfg, _, records = short_run
    names = model_names(cfg)
    idx = max(i for i, r in enumerate(records) if "probe_distractors" in r.artifacts)
    art, metrics = records[idx].artifacts, records[idx].metrics
    for key in ("probe_distractors", "probe_noise", "probe_stretch"):
        assert art[key].shape == (len(names), 4)
        assert np.all((art[key] >= 0) & (art[key] <= 1))
    k = PROBE_ROWS.index(cfg.probe_rows)
    for i, name in enumerate(names):
        for key in ("probe_distractors", "probe_noise", "probe_stretch"):
            assert art[key][i, 0] == pytest.approx(metrics[f"{name}_test_acc"])
        # the per-epoch distracted metric uses the same generator seed, so it is the K = probe_rows point
        assert art["probe_distractors"][i, k] == pytest.approx(metrics[f"{name}_distracted_acc"])


def test_baselines_can_be_switched_off_and_the_declared_metrics_follow():
    cfg = Config(rims_baseline=False, lstm_baseline=False, epochs=1, device="cpu")
    exp = build(cfg)
    rec = exp.step()
    assert set(exp.models) == {"brims"} and model_metric("lstm", "test_acc") not in rec.metrics
    assert set(rec.metrics) == {m.name for m in declared_metrics(cfg)}
    assert registry.get("brims").metric(cfg, model_metric("brims", "train_loss")).unit == "nats"


def test_claims_on_a_real_run_wait_for_training_then_measure_the_records(short_run):
    cfg, _, records = short_run
    for claim in SPEC.claims_for("brims"):
        first = claim.evaluate(records[:1], cfg)  # only the untrained models' evaluation so far
        assert first.verdict == INCONCLUSIVE and first.measured is None, claim.key
    epoch, _, acc = accuracies_at_rows(records, cfg, 4)
    last = records[-1].metrics
    assert epoch == 2 and acc["brims"] == (last["brims_test_acc"], last["brims_distracted_acc"])
    results = {c.key: c.evaluate(records, cfg) for c in SPEC.claims_for("brims")}
    assert results["lstm_margin"].measured == pytest.approx(last["brims_distracted_acc"] - last["lstm_distracted_acc"])
    assert results["top_down"].measured == pytest.approx(last["brims_distracted_acc"] - last["rims_distracted_acc"])
    gap = (acc["brims"][1] - acc["lstm"][1]) - (acc["brims"][0] - acc["lstm"][0])
    assert results["gap_grows"].measured == pytest.approx(gap)
    sweep_epoch, noise = accuracies_at_noise(records, cfg, 0.4)
    assert sweep_epoch == 2 and results["noise"].measured == pytest.approx(noise["brims"] - noise["lstm"])
    assert all(r.verdict != INCONCLUSIVE for r in results.values())


@pytest.mark.parametrize("kwargs,match", [
    (dict(k_active_1=7), "k_active_1=7 exceeds n_modules_1=6"),
    (dict(input_heads=3), "input_heads=3 must divide the read widths"),
])
def test_bad_config_raises_value_error_naming_the_field(kwargs, match):
    with pytest.raises(ValueError, match=match):
        Config(**kwargs)


@pytest.mark.slow
def test_check_10_learning_small_preset_three_seeds():
    # docs/papers/brims.md §5 check 10: medians over seeds 0-2 of the small preset (20 epochs)
    finals = []
    for seed in range(3):
        cfg = registry.make_config("brims", "small", device="cpu", seed=seed, artifact_every=20)
        records = list(run(build(cfg)))
        finals.append(records[-1].metrics)
    def med(key: str) -> float:
        return statistics.median(m[key] for m in finals)

    assert med("brims_test_acc") >= 0.80
    assert med("brims_distracted_acc") - med("lstm_distracted_acc") >= 0.15
    assert med("brims_distracted_acc") >= med("rims_distracted_acc") - 0.05


def test_raster_is_measured_on_the_pages_preview_input(short_run):
    from neurodyn.brims.page_support import raster_input

    cfg, exp, records = short_run
    image, label = raster_input(cfg)
    assert np.array_equal(image, exp.x_distracted[0].numpy())
    art = next(r.artifacts for r in records if "raster" in r.artifacts)
    assert label == art["raster_label"] and np.array_equal(image[:8], art["raster_digit"])

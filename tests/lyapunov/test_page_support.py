"""Page-support texts of the Lyapunov page: computed from the run shown (issue 13), knobs labelled in words."""

from __future__ import annotations

import numpy as np
import pytest

from neurodyn.core.config import fields_of
from neurodyn.core.loop import Record, run
from neurodyn.lyapunov.experiment import Config, SweepConfig, build
from neurodyn.lyapunov.page_support import READING, checkpoint_spectra, latest_summary, spectrum_caption


def spectra_records(spectra: dict[int, list[float]]) -> list[Record]:
    metrics = {"le_checkpoint": -1.0, "lambda_max": 0.0, "lambda_mean": 0.0, "n_positive": 0.0,
               "kaplan_yorke_dim": 0.0, "ks_entropy": 0.0, "le_seconds": 0.0}
    recs = []
    for step in sorted(spectra):
        lam = np.array(spectra[step])
        metrics = {**metrics, "le_checkpoint": float(step), "lambda_max": float(lam[0]),
                   "lambda_mean": float(lam.mean()), "le_seconds": 0.25}
        recs.append(Record(step, dict(metrics), {"le_step": float(step), "spectrum": lam}))
    return recs


def test_caption_of_the_default_gru_run_says_lambda_max_ended_further_from_zero():
    # issue 13: the page said "the leading exponents rise towards 0" while, in this run, step 0 was the closest to 0
    # the default run (seed 0): step 0 is the closest to 0, the dip at step 100, a partial recovery
    recs = spectra_records({0: [-0.538, -0.98], 100: [-1.969, -6.63], 200: [-0.717, -8.73], 400: [-0.787, -8.78]})
    text = spectrum_caption(recs, Config())
    assert text.startswith(READING)
    assert "−0.54 nats/step at training step 0 and −0.79 at step 400" in text
    assert "lowest −1.97 at step 100" in text and "further from 0 than at the start" in text
    assert "rise towards 0" not in text and "closer to 0" not in text
    assert "spread (width 0.44 → 7.99 nats/step)" in text


def test_caption_of_a_rising_run_says_closer_to_zero_in_bits():
    recs = spectra_records({0: [-3.3, -6.0], 300: [-1.5, -7.0], 600: [-1.0, -8.0]})
    text = spectrum_caption(recs, Config(units="bits"))
    assert "−3.30 bits/step at training step 0 and −1.00 at step 600" in text and "closer to 0" in text
    assert "lowest" not in text and "highest" not in text


def test_caption_before_and_after_the_first_spectrum_and_with_minus_infinity():
    assert spectrum_caption([], Config()) == READING
    one = spectrum_caption(spectra_records({0: [-0.7, -0.9]}), Config())
    assert "one spectrum (training step 0): λ_max = −0.70, smallest exponent −0.90 nats/step" in one
    floor = spectrum_caption(spectra_records({0: [-0.7, -100.0], 10: [-0.6, -100.0]}), Config())
    assert "from −∞ to −∞" in floor and "width" not in floor


def test_checkpoint_spectra_are_in_training_step_order():
    recs = spectra_records({100: [-1.0], 0: [-0.5]})[::-1]
    assert [s for s, _ in checkpoint_spectra(recs)] == [0, 100]


def test_latest_summary_waits_for_a_spectrum_then_reports_it():
    assert latest_summary([], Config()) is None
    pending = [Record(0, {"le_checkpoint": -1.0})]
    assert latest_summary(pending, Config()) is None
    text = latest_summary(spectra_records({0: [-0.5, -1.5]}), Config(units="bits"))
    assert "training step 0" in text and "λ_max = -0.500" in text and "bits/step" in text


def test_texts_from_a_real_run():
    cfg = Config(hidden=12, n_steps=20, le_every=10, le_steps=30, le_warmup=5, device="cpu")
    recs = list(run(build(cfg)))
    text = spectrum_caption(recs, cfg)
    first = checkpoint_spectra(recs)[0][1][0]
    assert f"{first:.2f}".replace("-", "−") + " nats/step at training step 0" in text and "at step 20" in text
    assert "Latest spectrum** (training step 20)" in latest_summary(recs, cfg)


@pytest.mark.parametrize("cls", [Config, SweepConfig])
def test_every_knob_has_a_label_in_words(cls):
    for spec in fields_of(cls):
        assert spec.label, f"{cls.__name__}.{spec.name} has no label"
        assert spec.label not in {"t ons", "q0", "n exponents", "le every", "le steps", "le batch", "le warmup",
                                  "le chunk", "lstm state", "init scale", "p min", "p max"}


@pytest.mark.parametrize("cls", [Config, SweepConfig])
def test_lstm_state_knob_applies_only_to_an_lstm(cls):
    specs = {s.name: s for s in fields_of(cls)}
    applies = specs["lstm_state"].applies
    assert applies is not None
    assert applies({**cls().__dict__, "cell": "lstm"})
    assert not applies({**cls().__dict__, "cell": "gru"}) and not applies({**cls().__dict__, "cell": "rnn"})
    assert all(s.applies is None for name, s in specs.items() if name != "lstm_state")

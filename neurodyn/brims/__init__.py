"""BRIMs (Mittal et al., ICML 2020, arXiv:2006.16981): layers of recurrent independent mechanisms that attend over
null, bottom-up and top-down inputs and compete to update. The project's account: ``docs/papers/brims.md``."""

from __future__ import annotations

from neurodyn.brims.claims import (
    K_CLAIM,
    LSTM_MARGIN,
    SIGMA_CLAIM,
    gap_grows_rule,
    lstm_margin_rule,
    noise_rule,
    top_down_rule,
)
from neurodyn.brims.experiment import METRICS, PRESETS, Config, build
from neurodyn.brims.layers import BRIMs, BRIMsLayer, GroupLinear, GroupLSTMCell, LayerTrace
from neurodyn.brims.tasks import digit_rows
from neurodyn.core.spec import Claim, ExperimentSpec, PaperSpec

__all__ = ["SPEC", "BRIMs", "BRIMsLayer", "GroupLinear", "GroupLSTMCell", "LayerTrace"]

_ANCHOR = ("[3P] anchor, not BRIMs' and not the paper's number: in a RIMs re-implementation "
           "(dido1998/Recurrent-Independent-Mechanisms README, h = 600, trained at 14 px) the lead of RIMs over the "
           "LSTM grows from +7 points at 16 px to +30 at 19 px and +26 at 24 px")

SPEC = PaperSpec(
    key="brims",
    arxiv="2006.16981",
    title="Learning to Combine Top-Down and Bottom-Up Signals in Recurrent Neural Networks with Attention over "
    "Modules (BRIMs)",
    claim="Recurrent modules that attend both to the input and to higher layers are more robust to distribution "
    "shift.",
    short="BRIMs",
    icon="🧩",
    experiments=(
        ExperimentSpec(name="brims", title="BRIMs: robustness to distraction", config_cls=Config, presets=PRESETS,
                       build=build, metrics=METRICS),
    ),
    claims=(
        Claim(key="lstm_margin",
              text=f"With {K_CLAIM} distractor rows after the digit, BRIMs is at least {LSTM_MARGIN:.2f} more "
              "accurate than the LSTM.",
              source=f"[A] abstract (robust to distractions, beats strong baselines); the margin of {LSTM_MARGIN:.2f} "
              "is the project's threshold, not a number of the paper (docs/papers/brims.md §7)",
              paper_value=None, experiment="brims", rule=lstm_margin_rule),
        Claim(key="gap_grows",
              text=f"The modular model's lead over the LSTM grows with the size of the shift: BRIMs − LSTM is larger "
              f"with {K_CLAIM} distractor rows than on clean digits.",
              source=_ANCHOR, paper_value=None, experiment="brims", rule=gap_grows_rule),
        Claim(key="top_down",
              text=f"Top-down signals help: with {K_CLAIM} distractor rows BRIMs is at least as accurate as the RIMs "
              "stack, the same model without the top-down slot.",
              source="[A] abstract (attention over top-down and bottom-up signals beats RIMs and other baselines); "
              "the paper's sequential-MNIST tables could not be read, so no number", paper_value=None,
              experiment="brims", rule=top_down_rule),
        Claim(key="noise",
              text=f"Under Gaussian pixel noise (σ = {SIGMA_CLAIM}) BRIMs is at least as accurate as the LSTM.",
              source="[A] abstract (robust to noise); the paper's noisy-CIFAR numbers could not be read, so no "
              "number", paper_value=None, experiment="brims", rule=noise_rule),
    ),
    warmup=digit_rows,  # scikit-learn's digits: imported and read once per process
)

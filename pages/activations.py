"""Adaptive activations (arXiv:2006.12253): the (n, s) family, three shape modes side by side, the static landscape
with adaptation trajectories, and a change of input statistics."""

import streamlit as st

from neurodyn import ui
from neurodyn.activations import figures as figs
from neurodyn.activations import page_support as support

ui.header(
    "activations",
    note="Digits are scikit-learn's 8×8 images read one pixel per step in a fixed permuted order (64 steps), standing "
    "in for permuted sequential MNIST (784 steps, not available offline); N = 64 neurons instead of 400. "
    "Heterogeneous means one (n, s) per neuron for real (the authors' code shares one pair by accident). The gain is "
    "floored at n = 0.01 in the forward pass and the page counts any neuron held there; s is never clipped. "
    "The shape learning-rate multiplier is not in the paper (it uses one rate); its default, 1, is the paper's. "
    "Expected numbers quoted below were measured on the project's prototypes, not taken from the paper.",
)
cfg = ui.controls("activations")
# The three run tabs always run (their live views send the heartbeats that keep a run alive); the family tab has no run
# and is drawn only while open.
tab_modes, tab_grid, tab_shift, tab_family = st.tabs(
    ["A · Three modes", "B · Landscape and trajectories", "C · Input shift", "D · The family γ(x; n, s)"],
    key="activations.tab", on_change="rerun")


def draw_modes(records, config):
    """Tab A: learning curves of the three modes, the per-neuron shapes, and the largest Lyapunov exponent."""
    evals = support.evaluation_count(records)
    if not evals:
        st.info("The first test evaluation (before any training) is on its way.")
        return
    left, right = st.columns(2)
    ui.chart(lambda: figs.accuracy_chart(records, config), key="activations.accuracy", version=evals, container=left)
    ui.chart(lambda: figs.loss_chart(records), key="activations.loss", version=len(records) // 8, container=right)
    st.caption(f"{support.modes_status(records, config)} How to read this: the three networks of a seed start from "
               "the same weights and the same (n, s) and see the same batches; thin lines are single seeds, thick "
               "lines their mean.")
    left, right = st.columns(2)
    ui.chart(lambda: figs.cloud_chart(records, config), key="activations.cloud", version=evals, container=left)
    exponents = support.lyapunov_count(records)
    if exponents:
        ui.chart(lambda: figs.lyapunov_chart(records), key="activations.lyapunov", version=exponents, container=right)
    else:
        right.info("The largest Lyapunov exponent appears after the first evaluation." if config.lyapunov else
                   "The Lyapunov exponent is off in the sidebar.")
    st.caption(f"{support.cloud_text(records, config)} Right: the largest Lyapunov exponent of the recurrence "
               "without input, h ← γ(V h; n, s), in bits per step (seed 0); below 0 it forgets, above 0 it is "
               "chaotic.")


with tab_modes:
    st.markdown(support.MODES_INTRO)
    ui.live("activations", cfg, draw_modes, charts=lambda r, c: {"accuracy": figs.accuracy_chart(r, c),
                                                                  "cloud": figs.cloud_chart(r, c)})

with tab_grid:
    st.markdown(support.GRID_INTRO)
    with st.expander("Grid settings", expanded=False):
        grid_cfg = ui.controls("activations_grid", prefix="grid.", container=st.container())

    def draw_grid(records, config):
        evals = support.evaluation_count(records)
        if not evals:
            st.info("The first test evaluation (before any training) is on its way.")
            return
        left, right = st.columns(2)
        ui.chart(lambda: figs.landscape_chart(records, config), key="grid.landscape", version=evals, container=left)
        if config.homogeneous:
            ui.chart(lambda: figs.trajectories_chart(records, config), key="grid.paths", version=evals,
                     container=right)
        else:
            right.info("Homogeneous trajectories are off in the grid settings.")
        st.caption(support.grid_text(records, config))

    ui.live("activations_grid", grid_cfg, draw_grid, key="grid", start_label="Start grid",
            charts=lambda r, c: {"landscape": figs.landscape_chart(r, c)})

with tab_shift:
    st.markdown(support.SHIFT_INTRO)
    with st.expander("Shift settings", expanded=False):
        shift_cfg = ui.controls("activations_shift", prefix="shift.", container=st.container())

    def draw_shift(records, config):
        left, right = st.columns(2)
        ui.chart(lambda: figs.shift_chart(records, config), key="shift.bars", version=len(records) // 4,
                 container=left)
        ui.chart(lambda: figs.shift_curve_chart(records), key="shift.curves",
                 version=support.evaluation_count(records, shift=True), container=right)
        st.caption(support.shift_text(records, config))

    ui.live("activations_shift", shift_cfg, draw_shift, key="shift", start_label="Start shift",
            charts=lambda r, c: {"shift": figs.shift_chart(r, c)})

if tab_family.open:
    with tab_family:
        st.markdown("γ(x; n, s) = (1 − s)·softplus(n x)/n + s·σ(n x): the gain n sharpens the curve, the saturation s "
                    "moves it from non-saturating (s = 0, softplus and ReLU as n grows) to saturating (s = 1, sigmoid "
                    "and step). Move the sliders; grey curves are the family's named members.")
        c_n, c_s = st.columns(2)
        n = c_n.slider("gain n", 0.5, 20.0, float(cfg.n_init), 0.5, key="activations.family_n")
        s = c_s.slider("saturation s", 0.0, 1.0, float(cfg.s_init), 0.05, key="activations.family_s")
        left, right = st.columns(2)
        ui.chart(lambda: figs.family_chart(n, s), key="activations.family", version=(n, s), container=left)
        ui.chart(lambda: figs.slope_chart(n, s), key="activations.slope", version=(n, s), container=right)
        st.markdown(support.family_text(n, s))

"""Gradient starvation (arXiv:2011.09468): decision boundaries on two moons, feature responses, the linear toy."""

import streamlit as st

from neurodyn import ui
from neurodyn.starvation import figures as figs
from neurodyn.starvation import page_support as support
from neurodyn.starvation.claims import TOY_SD_Z, TOY_WD_Z2
from neurodyn.starvation.experiment import REGULARISERS, data_points

ui.header(
    "starvation",
    note="Spectral decoupling is used in its mean form, c · mean(logit²) (the paper's theory: (λ/2)·Σ logit², so "
    "λ = 2c); no weight decay is combined with it. The boundary metrics (distances to the zero contour on a 201 × 201 "
    "grid) are the project's, not the paper's; the paper shows pictures. The Colored-MNIST experiment is not here: it "
    "needs MNIST, and an offline digits version did not reproduce on the project's prototype.",
)
cfg = ui.controls("starvation")
tab_moons, tab_toy = st.tabs(["A · Two moons", "B · Linear toy"], key="starvation.tab")


def draw(records, config):
    """The boundaries of the three networks, then margins, feature responses and losses in lazy tabs."""
    X, y = data_points(config)
    cols = st.columns(3)
    for reg, col in zip(REGULARISERS, cols):
        snap = figs.latest_snapshot(records, reg)
        if snap is not None:
            ui.chart(lambda s=snap: figs.boundary_chart(s, X, y), key=f"starvation.boundary.{reg}", version=snap.step,
                     container=col)
    st.caption(f"{support.boundary_text(records, config)} How to read this: colour is the network's output (mean of "
               "the seeds; red for class +1, blue for class −1), black dots trace the boundary (output 0).")
    # only the open tab is built and sent: the hidden ones would redraw at every snapshot for nobody
    t_margin, t_features, t_loss = st.tabs(["Margins and boundary metrics", "Feature responses", "Training loss"],
                                           key="starvation.figures_tab", on_change="rerun")
    snaps = sum(1 for r in records if "reg" in r.artifacts)
    if t_margin.open:
        with t_margin:
            left, right = st.columns(2)
            if snaps:  # the first snapshot (epoch 0) comes with the first records
                ui.chart(lambda: figs.margin_chart(records, config), key="starvation.margins", version=snaps,
                         container=left)
                ui.chart(lambda: figs.boundary_metric_chart(records, "min_dist"), key="starvation.min_dist",
                         version=snaps, container=right)
            st.caption(support.margin_text(records, config))
    if t_features.open:
        with t_features:
            comps = figs.chosen_components(records)
            ui.chart(lambda: figs.responses_chart(records, comps), key="starvation.responses",
                     version=len(records) // 10)
            st.caption("How to read this: the tangent kernel of seed 0 at initialisation K = J Jᵀ has eigenvectors U "
                       "over the training points; each curve is the network's output ŷ projected on one of them, "
                       f"directions {', '.join(str(c + 1) for c in comps)} of the top eight (the two the labels load "
                       "on most under cross-entropy). Starvation shows as a response that stops growing under "
                       "cross-entropy while SD keeps it.")
    if t_loss.open:
        with t_loss:
            ui.chart(lambda: figs.loss_chart(records), key="starvation.loss", version=len(records) // 10)


with tab_moons:
    st.markdown(support.MOONS_INTRO)
    ui.live("starvation", cfg, draw, charts=lambda r, c: {
        f"boundary_{reg}": figs.fixed_width(figs.boundary_chart(snap, *data_points(c)))
        for reg in REGULARISERS if (snap := figs.latest_snapshot(r, reg)) is not None})

with tab_toy:
    st.markdown(support.TOY_INTRO)
    with st.expander("Toy settings", expanded=False):
        toy_cfg = ui.controls("starvation_toy", prefix="toy.", container=st.container())

    def draw_toy(records, config):
        left, right = st.columns(2)
        for which, col in (("z1", left), ("z2", right)):
            ui.chart(lambda w=which: figs.toy_chart(records, TOY_WD_Z2, TOY_SD_Z, which=w), key=f"toy.{which}",
                     version=len(records), container=col)
        st.caption(support.toy_text(records, config))

    ui.live("starvation_toy", toy_cfg, draw_toy, key="toy", start_label="Start toy",
            charts=lambda r, c: {"toy": figs.fixed_width(figs.toy_chart(r, TOY_WD_Z2, TOY_SD_Z))})

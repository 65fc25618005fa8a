"""Neural feature alignment (arXiv:2008.00938): the tangent kernel of a digits MLP during training, its alignment
with the labels, its spectrum and its layers."""

import streamlit as st

from neurodyn import ui
from neurodyn.alignment import figures as figs
from neurodyn.alignment import page_support as support

ui.header(
    "alignment",
    note="Digits stand in for CIFAR-10 and an MLP (64-128-128-10) for VGG19: the paper's own values do not transfer, "
    "so the checks compare the run with itself (ratios and orderings). The digits split is the project's shared "
    "1,400 / 397; probes are class-balanced (the authors took the first 100 examples); kernels are computed at steps "
    "0, 1, 2, 5, 10, 20, 50, ... and at the end. The path complexity is the card's trace form, not the paper's "
    "bound. Expected numbers were measured on the project's prototype.",
)
cfg = ui.controls("alignment")


def draw(records, config):
    """Alignment and accuracy, then the layers, the spectrum and the kernel itself in lazy tabs."""
    st.caption(support.status_text(records, config))
    cps = sum(1 for r in records if "checkpoint" in r.artifacts)
    probes = sum(1 for r in records if "probes_at" in r.artifacts)
    if not probes:
        st.info("The first kernel (step 0) is on its way.")
        return
    left, right = st.columns(2)
    ui.chart(lambda: figs.alignment_chart(records, config), key="alignment.align", version=probes, container=left)
    ui.chart(lambda: figs.accuracy_chart(records), key="alignment.accuracy", version=len(records) // 5,
             container=right)
    st.caption(support.alignment_text(records, config))
    # only the open tab is built and sent: the hidden ones would redraw at every checkpoint for nobody
    t_layers, t_spectrum, t_heat = st.tabs(["Layers", "Spectrum", "Kernel between images"],
                                           key="alignment.figures_tab", on_change="rerun")
    if t_layers.open:
        with t_layers:
            ui.chart(lambda: figs.layer_chart(records, config), key="alignment.layers", version=cps)
            st.caption("How to read this: the kernel is a sum of one block per layer (the gradients with respect to "
                       "that layer's weights). Light lines are layers near the input, dark lines near the output; the "
                       "output layer's block has identical output blocks and stays under 0.105.")
    if t_spectrum.open:
        with t_spectrum:
            left, right = st.columns(2)
            ui.chart(lambda: figs.eigen_chart(records), key="alignment.eigen", version=cps, container=left)
            ui.chart(lambda: figs.rank_chart(records), key="alignment.erank", version=cps, container=right)
            left, right = st.columns(2)
            ui.chart(lambda: figs.mass_chart(records), key="alignment.mass", version=cps, container=left)
            ui.chart(lambda: figs.spectrum_chart(records), key="alignment.spectrum", version=cps, container=right)
            st.caption(support.spectrum_text(records))
    if t_heat.open:
        with t_heat:
            first, last = figs.first_checkpoint(records), figs.latest_checkpoint(records)
            left, right = st.columns(2)
            ui.chart(lambda: figs.heat_chart(first), key="alignment.heat0", version=0, container=left)
            ui.chart(lambda: figs.heat_chart(last), key="alignment.heat", version=cps, container=right)
            st.caption(support.heat_text(config))


st.markdown(support.INTRO)
ui.live("alignment", cfg, draw, charts=lambda r, c: {"alignment": figs.alignment_chart(r, c),
                                                     "layers": figs.layer_chart(r, c),
                                                     "spectrum": figs.spectrum_chart(r)})

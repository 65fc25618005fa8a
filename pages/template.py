"""Template page (``docs/adding-a-paper.md``): gradient descent on least squares against its closed-form rate."""

import streamlit as st

from neurodyn import ui
from neurodyn.template import figures as figs
from neurodyn.template.experiment import contraction_rate

ui.header("template", note="This page is the template for new papers; the dashboard lists it only when "
          "NEURODYN_EXTRA_PAPERS names neurodyn.template.")
cfg = ui.controls("template")


def draw(records, config):
    rho = contraction_rate(config)  # the run's settings, never the sidebar's: they may have changed since Start
    st.markdown(f"Closed-form rate of this run (η = {config.lr:g}): **ρ = {rho:.4f}** per step.")
    ui.chart(lambda: figs.loss_chart(records, rho), key="template-loss", version=len(records))
    st.caption("How to read this: on a log scale a linear rate is a straight line. The measured loss bends onto the "
               "dashed line once the slowest direction dominates.")


ui.live("template", cfg, draw, charts=lambda records, config: {"loss": figs.loss_chart(records,
                                                                                        contraction_rate(config))})

"""Lyapunov spectra during training (arXiv:2006.14123): spectra by training step, λ_max and loss, convergence, sweep."""

import streamlit as st

from neurodyn import ui
from neurodyn.lyapunov import figures as figs
from neurodyn.lyapunov.page_support import latest_summary, spectrum_caption

ui.header("lyapunov", note="Deviations from the reference code, each a sidebar switch: the tangent map uses J (the "
          "reference multiplies by Jᵀ), exponents are in nats (the reference: bits) and the LSTM state is (h, c) "
          "(the reference: h only, c held fixed). The text is Python's own help pages (pydoc_data), not War and "
          "Peace. Speed: J's gate blocks are assembled in closed form (no autograd) where that is cheaper than "
          "multiplying by them, and Q is kept as Householder reflectors on CPU; the exponents are the same to "
          "rounding (tested against the plain product route and an autograd oracle). The project's account of "
          "the paper: docs/papers/lyapunov.md.")
cfg = ui.controls("lyapunov")
tab_run, tab_sweep = st.tabs(["A · Spectra during training", "B · Init-scale sweep"])


def draw(records, config):
    unit = config.units
    # spectrum figures change only when a new spectrum arrives: build them once per spectrum, not per redraw
    snap = sum(1 for r in records if "spectrum" in r.artifacts)
    ui.chart(lambda: figs.spectrum_chart(records, unit=unit), key="lyapunov.spectra", version=snap)
    st.caption(spectrum_caption(records, config))
    left, right = st.columns(2)
    with left:
        ui.chart(lambda: figs.lambda_max_chart(records, unit=unit), key="lyapunov.lambda_max", version=snap)
    ui.chart(lambda: figs.loss_chart(records), key="lyapunov.loss", version=len(records), container=right)
    summary = latest_summary(records, config)
    if summary is not None:
        st.markdown(summary)
    ui.chart(lambda: figs.convergence_chart(records, unit=unit), key="lyapunov.convergence", version=snap)
    st.caption("How to read this: the running estimates (1/t) Σ log|R_ii| of the top five exponents of the latest "
               "spectrum. Flat curves mean the measuring length T is long enough; finite-T values still depend on "
               "the starting basis and on the driving text.")


def charts(records, config):
    unit = config.units
    return {"spectra": figs.spectrum_chart(records, unit=unit), "lambda_max": figs.lambda_max_chart(records, unit=unit),
            "loss": figs.loss_chart(records), "convergence": figs.convergence_chart(records, unit=unit)}


with tab_run:
    ui.live("lyapunov", cfg, draw, charts=charts)

with tab_sweep:
    st.markdown("Several small networks, each with its own init scale p (all weights drawn from U(−p, p)), train "
                "for the same number of steps on the same batches; then each one's spectrum and validation loss "
                "are measured. The paper's claim: features of the spectrum predict the loss a network reaches.")
    with st.expander("Sweep settings", expanded=False):
        sweep_cfg = ui.controls("lyapunov_sweep", prefix="sweep.", container=st.container())

    def draw_sweep(records, config):
        unit = config.units
        left, right = st.columns(2)
        nets = sum(1 for r in records if "spectrum" in r.artifacts)  # the figures change when a network is measured
        ui.chart(lambda: figs.sweep_chart(records, unit=unit), key="sweep.lambda_max", version=nets, container=left)
        ui.chart(lambda: figs.sweep_spectra_chart(records, unit=unit), key="sweep.spectra", version=nets,
                 container=right)
        ui.chart(lambda: figs.sweep_chart(records, unit=unit, x="lambda_mean"), key="sweep.lambda_mean", version=nets)
        st.caption("How to read this: one point per trained network. A negative Spearman ρ means networks whose "
                   "largest exponent sits closer to 0 reached a lower validation loss. With a short training "
                   "budget, p also sets how fast a network learns, so ρ mixes both effects.")

    def sweep_charts(records, config):
        return {"sweep": figs.sweep_chart(records, unit=config.units),
                "sweep_spectra": figs.sweep_spectra_chart(records, unit=config.units)}

    ui.live("lyapunov_sweep", sweep_cfg, draw_sweep, key="sweep", start_label="Start sweep", charts=sweep_charts)

"""Lyapunov spectra during training (arXiv:2006.14123): spectra by training step, λ_max and loss, convergence, sweep."""

import streamlit as st

from neurodyn import ui
from neurodyn.viz import lyapunov as figs

ui.header("lyapunov", note="Deviations from the reference code, each a sidebar switch: the tangent map uses J (the "
          "reference multiplies by Jᵀ), exponents are in nats (the reference: bits) and the LSTM state is (h, c) "
          "(the reference: h only, c held fixed). The text is Python's own help pages (pydoc_data), not War and "
          "Peace. Speed: the card says never to form J; we assemble J's gate blocks in closed form (no autograd) "
          "where that is cheaper and keep Q as Householder reflectors on CPU; the exponents are the same to "
          "rounding (tested against the card's product route and an autograd oracle).")
cfg = ui.controls("lyapunov")
tab_run, tab_sweep = st.tabs(["A · Spectra during training", "B · Init-scale sweep"])


def _unit(key: str, default: str) -> str:
    job = ui.current_job(key)
    return job.config.units if job is not None else default


def draw(records):
    unit = _unit("lyapunov", cfg.units)
    # spectrum figures change only when a new spectrum arrives: build them once per spectrum, not per redraw
    snap = sum(1 for r in records if "spectrum" in r.artifacts)
    ui.chart(lambda: figs.spectrum_chart(records, unit=unit), key="lyapunov.spectra", version=snap)
    st.caption("How to read this: every curve is the Lyapunov spectrum of the network at one training step, the "
               "batch mean over a fixed bank of held-out windows, sorted from the largest exponent λ₁ (left). "
               "λ < 0 means perturbations along that direction shrink by e^λ per character. At a small initial "
               "scale every exponent is clearly negative; during training the leading exponents rise towards 0 "
               "while the tail falls, so the spectrum spreads.")
    left, right = st.columns(2)
    with left:
        ui.chart(lambda: figs.lambda_max_chart(records, unit=unit), key="lyapunov.lambda_max", version=snap)
    right.altair_chart(figs.loss_chart(records), width="stretch")
    m = records[-1].metrics
    if m["le_checkpoint"] >= 0:
        st.markdown(f"**Latest spectrum** (training step {int(m['le_checkpoint'])}): λ_max = {m['lambda_max']:.3f}, "
                    f"mean λ = {m['lambda_mean']:.3f} {unit}/step, {int(m['n_positive'])} positive, Kaplan–Yorke "
                    f"dimension {m['kaplan_yorke_dim']:.2f}, KS-entropy bound {m['ks_entropy']:.3f} {unit}/step; "
                    f"computed in {m['le_seconds']:.2f} s, spread over the training steps that followed it.")
    ui.chart(lambda: figs.convergence_chart(records, unit=unit), key="lyapunov.convergence", version=snap)
    st.caption("How to read this: the running estimates (1/t) Σ log|R_ii| of the top five exponents of the latest "
               "spectrum. Flat curves mean the measuring length T is long enough; finite-T values still depend on "
               "the starting basis and on the driving text.")


with tab_run:
    ui.live("lyapunov", cfg, draw, charts=lambda r: {
        "spectra": figs.spectrum_chart(r, unit=cfg.units), "lambda_max": figs.lambda_max_chart(r, unit=cfg.units),
        "loss": figs.loss_chart(r), "convergence": figs.convergence_chart(r, unit=cfg.units)})

with tab_sweep:
    st.markdown("Several small networks, each with its own init scale p (all weights drawn from U(−p, p)), train "
                "for the same number of steps on the same batches; then each one's spectrum and validation loss "
                "are measured. The paper's claim: features of the spectrum predict the loss a network reaches.")
    with st.expander("Sweep settings", expanded=False):
        sweep_cfg = ui.controls("lyapunov_sweep", prefix="sweep.", container=st.container())

    def draw_sweep(records):
        unit = _unit("sweep", sweep_cfg.units)
        left, right = st.columns(2)
        left.altair_chart(figs.sweep_chart(records, unit=unit), width="stretch")
        right.altair_chart(figs.sweep_spectra_chart(records, unit=unit), width="stretch")
        st.altair_chart(figs.sweep_chart(records, unit=unit, x="lambda_mean"), width="stretch")
        st.caption("How to read this: one point per trained network. A negative Spearman ρ means networks whose "
                   "largest exponent sits closer to 0 reached a lower validation loss. The paper reports this trend "
                   "for trained LSTMs and GRUs of one size (not verified here against its text); with a short "
                   "training budget, p also sets how fast a network learns, so ρ mixes both effects.")

    ui.live("lyapunov_sweep", sweep_cfg, draw_sweep, key="sweep", start_label="Start sweep",
            charts=lambda r: {"sweep": figs.sweep_chart(r, unit=sweep_cfg.units),
                              "sweep_spectra": figs.sweep_spectra_chart(r, unit=sweep_cfg.units)})

"""LEAD against gradient-descent trajectories (arXiv:2010.13846): paths, spectral-radius maps, the 8-Gaussian GAN."""

import numpy as np
import streamlit as st

from neurodyn import ui
from neurodyn.games.experiment import make_game, start_record
from neurodyn.games.rates import measured_rate, rate_agrees
from neurodyn.games.spectral import best_rho_vs_adversarialness, spectral_radius
from neurodyn.viz import games as figs

ui.header("lead", note="LEAD runs the paper's simultaneous update (2.2) unless the sidebar picks alternating; "
          "the GAN uses alternating LEAD-Adam, as the reference code does.")
cfg = ui.controls("lead")
game = make_game(cfg)
rho_lead = float(spectral_radius("lead", game, lr=cfg.lr, beta=cfg.beta, alpha=cfg.alpha))
# Tab B is drawn only while it is open (its maps and the grid search cost the page's first second otherwise);
# tabs A and C always run, since their live views send the heartbeats that keep a run alive.
tab_a, tab_b, tab_c = st.tabs(["A · Trajectories", "B · Spectral radius", "C · 8-Gaussian GAN"], key="lead.tab",
                              on_change="rerun")


def draw_paths(records):
    gone = [figs.METHOD_LABELS.get(k[9:], k[9:]) for k, v in records[-1].metrics.items()
            if k.startswith("diverged_") and v]
    if gone:
        st.warning(f"Diverged: {', '.join(gone)} (‖w‖ passed 10⁶ and is frozen there). These settings are outside "
                   "the method's stable region; tab B shows where ρ < 1.")
    left, right = st.columns([3, 2])
    left.altair_chart(figs.paths_chart(records), width="stretch")
    right.altair_chart(figs.norm_chart(records, against="step", height=200), width="stretch")
    right.altair_chart(figs.norm_chart(records, against="grad_evals", height=200), width="stretch")
    rate = measured_rate(records, "lead") if cfg.use_lead and cfg.lead_order == "simultaneous" else None
    ok = rate_agrees(rate, rho_lead, rtol=0.01)
    if ok is not None:
        chip = "✅ matches" if ok else "⚠️ differs from"
        st.markdown(f"**Live check:** LEAD's measured rate per step {rate:.5f} {chip} the closed-form spectral "
                    f"radius ρ = {rho_lead:.5f} (tolerance 1%).")
    st.caption("How to read this: each line is one method from the same start. Paths that spiral inwards converge "
               "to the equilibrium at the origin; ‖w‖ on a log scale turns a linear rate into a straight line, whose "
               "slope per gradient-equivalent is the fair comparison (extragradient and LEAD cost about two).")
    if cfg.game == "xy":
        st.altair_chart(figs.lyapunov_chart(records), width="stretch")
        st.caption("LEAD's Lyapunov function V = 2‖w_k − w_{k−1}‖² + 7.7‖w_k‖² (constants of the paper's bilinear "
                   "demo) decreases monotonically on xy.")


with tab_a:
    st.markdown(f"Every enabled method starts from the same point of the **{cfg.game}** game with η = {cfg.lr:g}. "
                f"Closed-form LEAD rate at these settings: **ρ = {rho_lead:.5f}** "
                f"({'converges' if rho_lead < 1 else 'diverges'}).")
    def preview_paths():
        left, _ = st.columns([3, 2])
        left.altair_chart(figs.paths_chart([start_record(cfg)]), width="stretch")
        st.caption("The game before the run: f on the (x₁, y₁) plane, the common start of every method (dots) and "
                   "the equilibrium (cross). Press Start to draw each method's path from there.")

    ui.live("lead", cfg, draw_paths, preview=preview_paths,
            charts=lambda r: {"paths": figs.paths_chart(r), "norms": figs.norm_chart(r)})


@st.cache_data(show_spinner=False)
def best_rows():
    return best_rho_vs_adversarialness(np.linspace(0.0, 1.0, 11))


def draw_spectral_tab():
    eta, alpha = np.linspace(0.005, 1.5, 200), np.linspace(0.0, 1.5, 200)  # 200 x 200 closed form: milliseconds
    rho = spectral_radius("lead", game, lr=eta[:, None], beta=cfg.beta, alpha=alpha[None, :])
    st.altair_chart(figs.rho_heatmap(eta, alpha, rho, point=(cfg.lr, cfg.alpha),
                                     title=f"LEAD's spectral radius at β = {cfg.beta:g}"), width="stretch")
    st.caption("How to read this: each cell is the spectral radius ρ of LEAD's linear update at (η, α), from the "
               "per-mode closed form (card 2.6). Inside the ρ = 1 contour the iterates converge, at rate ρ per step; "
               "the dot is the sidebar's point, and tab A measures the same rate from the simulation.")
    etas = np.linspace(0.005, 1.5, 300)
    knobs = {"gda": {}, "eg": {}, "ogda": {}, "momentum": {"beta": cfg.beta},
             "lead": {"beta": cfg.beta, "alpha": cfg.alpha}}
    curves = {m: spectral_radius(m, game, lr=etas, **kw) for m, kw in knobs.items()}
    st.altair_chart(figs.rho_lines(etas, curves), width="stretch")
    st.caption("ρ against η for each method at the sidebar's β and α (heavy ball uses β). Below 1: converges.")
    with st.spinner("Grid search over every method's hyperparameters (about 5 s, once per server)..."):
        rows = best_rows()
    st.altair_chart(figs.best_rho_chart(rows), width="stretch")
    st.caption("Best ρ over a hyperparameter grid against the maximal adversarialness γ_max of a 7-mode quadratic "
               "game (the paper's quadratic-game figure, recomputed here with one game for all methods). GDA and "
               "heavy ball reach ρ ≥ 1 as γ_max → 1; LEAD stays lowest at high adversarialness. Extragradient is "
               "shown per gradient evaluation.")


if tab_b.open:
    with tab_b:
        draw_spectral_tab()

with tab_c:
    with st.expander("GAN settings", expanded=False):
        gan_cfg = ui.controls("lead_gan", prefix="gan.", container=st.container())

    def draw_gan(records):
        st.altair_chart(figs.gan_samples_chart(records), width="content")
        c1, c2 = st.columns(2)
        c1.altair_chart(figs.gan_metric_chart(records, "modes"), width="stretch")
        c2.altair_chart(figs.gan_metric_chart(records, "hq"), width="stretch")
        st.caption("How to read this: Adam (left) and LEAD-Adam (right) train the same generator and discriminator "
                   "from the same weights on the same batches. A mode is covered when it holds at least 1% of the "
                   "samples; 'high quality' counts samples within 2 standard deviations x the width setting of a "
                   "centre (our definition; the paper shows KDE plots only). Results vary by seed: several seeds "
                   "train side by side.")

    ui.live("lead_gan", gan_cfg, draw_gan, key="gan", start_label="Start GAN")

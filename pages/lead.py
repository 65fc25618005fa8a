"""LEAD against gradient-descent trajectories (arXiv:2010.13846): paths, spectral-radius maps, the 8-Gaussian GAN."""

import numpy as np
import streamlit as st

from neurodyn import ui
from neurodyn.lead import figures as figs
from neurodyn.lead.page_support import (
    diverged_text,
    gan_study_table,
    gan_study_text,
    rate_text,
    spectral_maps,
    start_record,
)
from neurodyn.lead.spectral import best_rho_vs_adversarialness
from neurodyn.lead.study import load_results

ui.header("lead", note="LEAD runs the paper's simultaneous update unless the sidebar picks alternating; "
          "the GAN uses alternating LEAD-Adam, as the reference code does.")
cfg = ui.controls("lead")
# Tab B is drawn only while it is open (its maps and the grid search cost the page's first second otherwise);
# tabs A and C always run, since their live views send the heartbeats that keep a run alive.
tab_a, tab_b, tab_c = st.tabs(["A · Trajectories", "B · Spectral radius", "C · 8-Gaussian GAN"], key="lead.tab",
                              on_change="rerun")


def draw_paths(records, config):
    """The run's paths, norms and Lyapunov function, drawn from its records and the config it started with."""
    warning = diverged_text(records, config)
    if warning:
        st.warning(warning)
    _, clipped = figs.path_view(figs.path_frame(records, config))
    left, right = st.columns([3, 2])
    n = len(records)
    ui.chart(lambda: figs.paths_chart(records, config), key="lead.paths", version=n, container=left)
    ui.chart(lambda: figs.norm_chart(records, config, against="step", height=230), key="lead.norm_step", version=n,
             container=right)
    ui.chart(lambda: figs.norm_chart(records, config, against="grad_evals", height=230), key="lead.norm_evals",
             version=n, container=right)
    st.caption("How to read this: each line is one method from the same start. Paths that spiral inwards converge "
               "to the equilibrium at the origin; ‖w‖ on a log scale turns a linear rate into a straight line, whose "
               "slope per gradient-equivalent is the fair comparison (extragradient and LEAD cost about two)."
               + (f" Outside the frame: {', '.join(clipped)}." if clipped else ""))
    if config.game == "xy" and config.use_lead:
        ui.chart(lambda: figs.lyapunov_chart(records), key="lead.lyapunov", version=n)
        st.caption("LEAD's Lyapunov function V = 2‖w_k − w_{k−1}‖² + 7.7‖w_k‖² (constants of the authors' bilinear "
                   "demo, Lyapunov.py); the claim check above judges it at the demo's settings.")


def preview_paths():
    left, _ = st.columns([3, 2])
    ui.chart(lambda: figs.paths_chart([start_record(cfg)], cfg), key="lead-preview", container=left)
    st.caption("The game before the run: f on the (x₁, y₁) plane, the common start of every method (dots) and "
               "the equilibrium (cross). Press Start to draw each method's path from there.")


with tab_a:
    st.markdown(rate_text(cfg))
    ui.live("lead", cfg, draw_paths, preview=preview_paths,
            charts=lambda r, c: {"paths": figs.paths_chart(r, c), "norms": figs.norm_chart(r, c)})


@st.cache_data(show_spinner=False)
def best_rows():
    return best_rho_vs_adversarialness(np.linspace(0.0, 1.0, 11))


def draw_spectral_tab():
    maps = spectral_maps(cfg)
    title = f"LEAD's spectral radius ρ at β = {cfg.beta:g} on the {cfg.game} game"
    ui.chart(lambda: figs.rho_heatmap(maps["eta"], maps["alpha"], maps["rho"], point=(cfg.lr, cfg.alpha), title=title),
             key="lead-rho-map")
    st.caption("How to read this: each cell is the spectral radius ρ of LEAD's linear update at (η, α), from the "
               "closed form per mode (docs/papers/lead.md §6). Blue cells converge (ρ < 1), orange ones diverge; "
               "the colours span the whole map, and black dots trace ρ = 1. The diamond is the sidebar's point; "
               "tab A measures the same rate from the simulation.")
    ui.chart(lambda: figs.rho_lines(maps["etas"], maps["curves"]), key="lead-rho-lines")
    st.caption("ρ against η for each method at the sidebar's β and α (heavy ball uses β), on a log axis that shows "
               "every curve in full. Below the dashed line (ρ = 1) the method converges.")
    with st.spinner("Grid search over every method's hyperparameters (about 5 s, once per server)..."):
        rows = best_rows()
    ui.chart(lambda: figs.best_rho_chart(rows), key="lead-best-rho")
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
    saved = load_results()
    st.markdown("The paper shows LEAD-Adam finding all 8 modes and keeping them while Adam drops some (a figure, no "
                "numbers). What our runs show at sizes a CPU trains in minutes:")
    for preset in sorted((saved or {}).get("studies", {"small": None}), key=lambda p: p != "small"):
        st.markdown(gan_study_text(saved, preset))
        table = gan_study_table(saved, preset)
        if table:
            with st.expander(f"The {len(table)} seeds of the {preset} study", expanded=False):
                st.dataframe(table, hide_index=True, width="stretch")

    def draw_gan(records, config):
        """Samples and per-seed curves of the GAN run, from its records and the config it started with."""
        left, right = st.columns(2)
        n, snaps = len(records), sum(1 for r in records if r.artifacts)  # samples change at each snapshot only
        ui.chart(lambda: figs.gan_samples_chart(records, "adam"), key="gan.adam", version=snaps, container=left)
        ui.chart(lambda: figs.gan_samples_chart(records, "lead"), key="gan.lead", version=snaps, container=right)
        c1, c2 = st.columns(2)
        ui.chart(lambda: figs.gan_metric_chart(records, config, "modes"), key="gan.modes", version=n, container=c1)
        ui.chart(lambda: figs.gan_metric_chart(records, config, "hq"), key="gan.hq", version=n, container=c2)
        st.caption("How to read this: Adam (blue) and LEAD-Adam (orange) train the same generator and discriminator "
                   "from the same weights on the same batches; the scatters show seed 0. A mode is covered when at "
                   f"least 1% of the samples lie within {3 * config.hq_width:g} standard deviations of its centre, and "
                   "those samples are the high-quality ones (our definition; the paper shows density plots only). "
                   f"{config.n_seeds} seed(s) train side by side; results vary by seed.")

    ui.live("lead_gan", gan_cfg, draw_gan, key="gan", start_label="Start GAN",
            charts=lambda r, c: {"modes": figs.gan_metric_chart(r, c, "modes"),
                                 "samples_lead": figs.gan_samples_chart(r, "lead")})

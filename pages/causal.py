"""Causal induction from pixels (arXiv:2107.00848): a Chemistry world with a known causal graph, three world models
trained side by side, their multi-step ranking scores, and a sweep over the size of the graph."""

import streamlit as st

from neurodyn import ui
from neurodyn.causal import figures as figs
from neurodyn.causal import page_support as support
from neurodyn.causal.experiment import MODEL_LABELS, trained
from neurodyn.viz.graph import graph_html

ui.header(
    "causal",
    note="Chemistry world only, on a small grid of 5-pixel cells, with the card's small encoder (no BatchNorm) and "
    "4 latent numbers per object; mechanisms take their most likely colour unless 'stochastic' is on. Training uses "
    "the contrastive loss by default; the reconstruction loss trains encoder, decoder and transition together "
    "instead of in the paper's three stages. The effect negatives and action-aware graph edges are project options, "
    "labelled as such. The paper's planning test is not here. The Physics world is in the library "
    "(neurodyn/Physics-v0) but not on this page. Expected numbers quoted below were measured on the project's "
    "prototype (one seed); the paper's tables could not be read.",
)
cfg = ui.controls("causal")
tab_models, tab_sweep = st.tabs(["A · Three world models", "B · Sweep over N"], key="causal.tab")


@st.cache_data(show_spinner=False, max_entries=16)
def world_view(c):
    example = support.world_example(c)
    i = example["action"] // c.n_colors
    graph, colors, titles = figs.graph_view(example["adjacency"], i)
    html, _ = graph_html(graph, height=300, node_color=colors, node_title=titles, physics=False)
    return example, html


def show_world(c):
    """The world the run trains on: an intervention before and after, and the causal graph."""
    example, html = world_view(c)
    before, after = figs.intervention_images(example, c.n_colors)
    left, mid, right = st.columns([1, 1, 2])
    left.image(before, caption="before the intervention", width="stretch")
    mid.image(after, caption="after (intervened object outlined)", width="stretch")
    with right:
        st.iframe(html, height=320)
    st.caption(support.example_text(example, c.n_colors) + " Graph: red is the intervened object, orange its "
               "descendants, blue the rest; arrows go from cause to effect.")


def draw(records, config):
    """Ranking scores over training (both rules), loss and latents in lazy tabs."""
    evals = sum(1 for r in records if "evaluated" in r.artifacts)
    if not evals:
        st.info("The first ranking (before training) is on its way.")
        return
    left, right = st.columns(2)
    ui.chart(lambda: figs.ranking_chart(records, rule="pessimistic"), key="causal.h1", version=evals,
             container=left)
    ui.chart(lambda: figs.ranking_chart(records, rule="paper"), key="causal.h1_paper", version=evals,
             container=right)
    st.caption(support.ranking_text(records, config))
    t_mrr, t_loss, t_latent = st.tabs(["MRR", "Loss", "Latent space"], key="causal.figures_tab",
                                      on_change="rerun")
    if t_mrr.open:
        with t_mrr:
            left, right = st.columns(2)
            ui.chart(lambda: figs.ranking_chart(records, score="mrr", rule="pessimistic"), key="causal.mrr",
                     version=evals, container=left)
            ui.chart(lambda: figs.ranking_chart(records, score="mrr", rule="paper"), key="causal.mrr_paper",
                     version=evals, container=right)
    if t_loss.open:
        with t_loss:
            ui.chart(lambda: figs.loss_chart(records), key="causal.loss", version=len(records) // 10)
    if t_latent.open:
        with t_latent:
            latents = figs.latest_latents(records)
            kinds = trained(config)
            cols = st.columns(len(kinds))
            for m, col in zip(kinds, cols):
                ui.chart(lambda m=m: figs.latent_chart(latents, m), key=f"causal.latent.{m}", version=evals,
                         container=col)
            st.caption("How to read this: each point is a test image, placed by the model's latent state (all "
                       "objects) on its top two principal components and coloured by the first object's colour. "
                       "Separate clusters mean the model tells those states apart. "
                       + ", ".join(MODEL_LABELS[m] for m in kinds) + ".")


with tab_models:
    st.markdown(support.INTRO)
    show_world(cfg)
    ui.live("causal", cfg, draw, charts=lambda r, c: {"h1": figs.ranking_chart(r, rule="pessimistic"),
                                                      "h1_paper": figs.ranking_chart(r, rule="paper")})

with tab_sweep:
    st.markdown(support.SWEEP_INTRO)
    with st.expander("Sweep settings", expanded=False):
        sweep_cfg = ui.controls("causal_sweep", prefix="sweep.", container=st.container())

    def draw_sweep(records, config):
        st.caption(support.sweep_status(records, config))
        if any("finished_n" in r.artifacts for r in records):
            ui.chart(lambda: figs.sweep_chart(records, config), key="causal.sweep",
                     version=sum(1 for r in records if "finished_n" in r.artifacts))

    ui.live("causal_sweep", sweep_cfg, draw_sweep, key="sweep", start_label="Start sweep",
            charts=lambda r, c: {"sweep": figs.sweep_chart(r, c)})

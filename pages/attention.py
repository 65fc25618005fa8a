"""Compositional attention (arXiv:2110.09419): head-specialisation maps, live."""

import streamlit as st

from neurodyn import ui
from neurodyn.attention import figures as figs
from neurodyn.attention.page_support import (
    HIGH_SHADE,
    PREVIEW_CAPTION,
    VALUE_MAP_CAPTION,
    parameter_table,
    seed_runs,
    seed_summary,
    specialisation_status,
    task_preview,
    zero_line,
)

ui.header(
    "attention",
    note="The toy task is the paper's contextual retrieval (the paper prints no toy-task losses); the claim checks "
    "say which numbers are the paper's. Held-out losses are measured on one fixed batch of sequences.",
)
cfg = ui.controls("attention")


ui.config_table(
    "Parameters of the two models (formula updates with S, R, H and D)", parameter_table, cfg,
    "Comp(S, R) − MHA(H = S) = (R − S)·D·d_v + S·D·d_r + d_v·d_r. With S = R = H and identity pairing Comp "
    "computes exactly what MHA computes (its retrieval query/key are then unused).",
    "Differences from the reference toy code, all exact: '--concat' is written as attention(h) + "
    "W_c·Linear(D, d_v)(h) (same functions, same count); the retrieval logits are computed as ⟨q̄_i Wk̄ᵀ, Z_ij⟩ "
    "instead of ⟨q̄_i, Z_ij Wk̄ + b⟩ (the term ⟨q̄_i, b⟩ is the same for every retrieval j and cancels in the "
    "softmax over j); initialisation is PyTorch's default distribution drawn from the run's seed.",
)


def _reseed():
    st.session_state["nd.attention.seed"] = st.session_state.get("nd.attention.seed", cfg.seed) + 1


def draw(records, config):
    """The run's maps, losses and specialisation, drawn from its records and the config it started with."""
    state, message = specialisation_status(records)
    {"specialised": st.success, "not_specialised": st.warning}.get(state, st.info)(message)
    if state == "not_specialised":
        st.button("🎲 Reseed (seed + 1), then press Start", on_click=_reseed, key="attention.reseed")
    # Only the open tab is built and sent: a hidden tab's charts would cost the server and the browser on every redraw
    # (about half of a redraw here) while nobody looks at them. Switching tabs reruns this view.
    t_maps, t_mha, t_loss = st.tabs(["Value scores and search maps", "MHA heads", "Loss and specialisation"],
                                    key="attention.figures_tab", on_change="rerun")
    latest = figs.latest_artifacts(records)
    if latest is not None and t_maps.open:
        with t_maps:
            _draw_maps(*latest, config)
    if latest is not None and t_mha.open:
        with t_mha:
            step, art = latest
            ui.chart(lambda: figs.mha_maps_chart(art["mha_search_maps"], art["neighbours"]),
                     key="attention.mha", version=step, width="content")
            st.caption("MHA has no value scores: head h always retrieves with value matrix h.")
    if t_loss.open:
        with t_loss:
            _draw_losses(records, config)


def _draw_maps(step, art, config):
    """Tab "Value scores and search maps": the latest snapshot's value scores, confusion and search maps."""
    st.caption(f"Snapshot at optimizer step {step}, sample 0 of the held-out batch.")
    ui.chart(lambda: figs.value_score_chart(art["value_scores"], config.n_searches, config.n_retrievals,
                                            config.n_search_gt, config.n_retrieval_gt),
             key="attention.values", version=step)
    st.caption(VALUE_MAP_CAPTION)
    ui.chart(lambda: figs.confusion_chart(art["confusion"]), key="attention.confusion", version=step)
    st.caption("Over the whole held-out batch: of the tokens whose true task for GT search g is t (a column), "
               f"the share on which search i picked value j. A specialised search has one {HIGH_SHADE} cell "
               "per column, a different one for each task.")
    ui.chart(lambda: figs.search_maps_chart(art["search_maps"], art["neighbours"]),
             key="attention.search", version=step, width="content")
    st.caption("Search maps A_i: row n is where token n reads from; boxes mark the true neighbours j_{n,g}.")


def _draw_losses(records, config):
    """Tab "Loss and specialisation": both models' L1 curves, the seed study and the specialisation measures."""
    n = len(records)
    entry = seed_runs(config)
    left, right = st.columns([3, 2]) if entry else (st.container(), None)
    with left:
        ui.chart(lambda: figs.loss_chart(records, zero_line(config, records)), key="attention.loss", version=n)
    if right is not None:
        with right:
            ui.chart(lambda: figs.seed_chart(entry["runs"], seed=config.seed), key="attention.seeds", version=0)
    st.caption("Dashed grey: the L1 of always predicting 0. " + seed_summary(config))
    ui.chart(lambda: figs.specialisation_chart(records), key="attention.specialisation", version=n)


def charts(records, config):
    """The figures offered as downloads once the run has ended."""
    out = {"loss": figs.loss_chart(records, zero_line(config, records)),
           "specialisation": figs.specialisation_chart(records)}
    latest = figs.latest_artifacts(records)
    if latest is not None:
        art = latest[1]
        out["value_scores"] = figs.value_score_chart(art["value_scores"], config.n_searches, config.n_retrievals,
                                                     config.n_search_gt, config.n_retrieval_gt)
        out["confusion"] = figs.confusion_chart(art["confusion"])
    return out


@st.cache_data
def _preview(config):
    return task_preview(config)


def preview():
    p = _preview(cfg)
    ui.chart(lambda: figs.task_chart(p["ground_truth"], cfg.n_search_gt, cfg.n_retrieval_gt), key="attention.task")
    st.caption(PREVIEW_CAPTION.format(s_gt=cfg.n_search_gt, n=cfg.n_tokens, shade=HIGH_SHADE))


ui.live("attention", cfg, draw, preview=preview, charts=charts)

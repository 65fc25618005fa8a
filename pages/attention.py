"""Compositional attention (arXiv:2110.09419): head-specialisation maps, live."""

import streamlit as st

from neurodyn import ui
from neurodyn.attention.experiment import parameter_table, specialisation_status, task_preview, zero_line
from neurodyn.viz import attention as figs

ui.header(
    "attention",
    note="The toy task is the paper's contextual retrieval; the expected numbers below are prototype "
    "measurements (card 01), not the paper's. Eval is on one fixed held-out batch of sequences.",
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


def draw(records):
    state, message = specialisation_status(records)
    {"specialised": st.success, "not_specialised": st.warning}.get(state, st.info)(message)
    if state == "not_specialised":
        st.button("🎲 Reseed (seed + 1), then press Start", on_click=_reseed, key="attention.reseed")
    job = ui.current_job("attention")
    run = job.config if job is not None else cfg  # figures follow the settings the run was started with
    t_maps, t_mha, t_loss = st.tabs(["Value scores and search maps", "MHA heads", "Loss and specialisation"])
    latest = figs.latest_artifacts(records)
    if latest is not None:
        step, art = latest
        snap = step  # the snapshot figures change only when a new snapshot arrives
        with t_maps:
            st.caption(f"Snapshot at optimizer step {step}, sample 0 of the held-out batch.")
            ui.chart(lambda: figs.value_score_chart(art["value_scores"], run.n_searches, run.n_retrievals,
                                                    run.n_search_gt, run.n_retrieval_gt),
                     key="attention.values", version=snap, width="content")
            st.caption("How to read this: each column is a token. In a specialised run the bright cell of "
                       "'Search i' jumps between values exactly when the GT task row below it switches.")
            ui.chart(lambda: figs.confusion_chart(art["confusion"]), key="attention.confusion", version=snap,
                     width="content")
            st.caption("Counts over the held-out batch: a specialised search puts each GT task on its own value.")
            ui.chart(lambda: figs.search_maps_chart(art["search_maps"], art["neighbours"]),
                     key="attention.search", version=snap, width="content")
            st.caption("Search maps A_i: row n is where token n reads from; boxes mark the true neighbours j_{n,g}.")
        with t_mha:
            ui.chart(lambda: figs.mha_maps_chart(art["mha_search_maps"], art["neighbours"]),
                     key="attention.mha", version=snap, width="content")
            st.caption("MHA has no value scores: head h always retrieves with value matrix h.")
    with t_loss:
        n = len(records)
        ui.chart(lambda: figs.loss_chart(records, zero_line(run, records)), key="attention.loss", version=n)
        st.caption("Dashed grey: the L1 of always predicting 0. Expectation from the card's prototypes (not the "
                   "paper's numbers; D = 32, 1,000 steps): Comp ≈ 0.24–0.28, MHA(2) 0.33–0.59; crisp selection in "
                   "about half of the seeds.")
        ui.chart(lambda: figs.specialisation_chart(records), key="attention.specialisation", version=n)


@st.cache_data
def _preview(config):
    return task_preview(config)


def preview():
    p = _preview(cfg)
    st.altair_chart(figs.task_chart(p["ground_truth"], cfg.n_search_gt, cfg.n_retrieval_gt), width="content")
    st.caption(f"What the maps will be compared with: for each of the {cfg.n_search_gt} ground-truth searches, "
               f"the task (value) each of the {cfg.n_tokens} tokens needs, in the fixed held-out sample that the "
               "run's value-score map shows. A specialised run puts one bright model row on each of these "
               "patterns. Press Start to train.")


ui.live("attention", cfg, draw, preview=preview)

"""Modular latent primitives (arXiv:2105.14108): corpus primitives, pre-trained frozen modules, four multi-task
strategies side by side, their parameters, accuracy and robustness."""

import streamlit as st

from neurodyn import ui
from neurodyn.multitask import figures as figs
from neurodyn.multitask import page_support as support
from neurodyn.multitask.claims import perturbation_table
from neurodyn.multitask.experiment import PRIMITIVES, STRATEGIES, STRATEGY_LABELS
from neurodyn.multitask.tasks import TASK_LABELS

ui.header("multitask", note=support.NOTE)
cfg = ui.controls("multitask")
st.markdown(support.INTRO)


def draw(records, config):
    """The stages, then the figures of the open tab only."""
    m = records[-1].metrics
    st.markdown(support.progress_markdown(records, config))
    names = ["Primitives", "Task learning", "Example trials", "Parameters", "Robustness", "Activity and weights"]
    tabs = st.tabs(names, key="multitask.tab", on_change="rerun")
    if tabs[0].open:
        with tabs[0]:
            left, right = st.columns(2)
            if figs.latest(records, "scree") is None:
                left.info("The PCA of the corpus follows its statistics.")
            else:
                ui.chart(lambda: figs.scree_chart(records), key="multitask.scree", version=0, container=left)
            if config.primitives != PRIMITIVES[-1] and m["pretrain_step"] > 0:
                ui.chart(lambda: figs.pretrain_loss_chart(records, config), key="multitask.pre_loss",
                         version=int(m["pretrain_step"]) // 15, container=right)
                sample = figs.latest(records, "pretrain_sample")
                if sample is not None:
                    cols = st.columns(2)
                    for c, col in enumerate(cols):
                        ui.chart(lambda c=c: figs.pretrain_sample_chart(sample, c), key=f"multitask.sample{c}",
                                 version=int(m["pretrain_step"]), container=col)
    if tabs[1].open:
        with tabs[1]:
            if m["task_step"] > 0:
                ui.chart(lambda: figs.loss_chart(records), key="multitask.loss", version=int(m["task_step"]) // 10)
            if m["evaluated"] > 0:
                ui.chart(lambda: figs.accuracy_chart(records, config), key="multitask.acc", version=m["evaluated"])
            st.caption(support.accuracy_text(records, config))
    examples = figs.latest(records, "examples")
    if tabs[2].open:
        with tabs[2]:
            if examples is None:
                st.info("Example trials follow the evaluation after task learning.")
            else:
                task = st.selectbox("Task", config.task_list, format_func=TASK_LABELS.get, key="multitask.task")
                i = config.task_list.index(task)
                ui.chart(lambda: figs.inputs_chart(examples, i, task), key=f"multitask.in.{task}", version=0)
                cols = st.columns(2)
                for j, s in enumerate(STRATEGIES):
                    ui.chart(lambda s=s: figs.outputs_chart(examples, i, task, STRATEGY_LABELS[s]),
                             key=f"multitask.out.{task}.{s}", version=0, container=cols[j % 2])
    if tabs[3].open:
        with tabs[3]:
            left, right = st.columns(2)
            ui.chart(lambda: figs.params_chart(records), key="multitask.params", version=0, container=left)
            ui.chart(lambda: figs.params_growth_chart(config), key="multitask.growth", version=0, container=right)
    if tabs[4].open:
        with tabs[4]:
            if m["perturbations_done"] == 0:
                st.info("The perturbation sweep follows the evaluation after task learning.")
            table = perturbation_table(records)
            for kind in (k for k in config.kinds if k in table):
                cols = st.columns(2)
                for norm, col in zip((False, True), cols):
                    ui.chart(lambda kind=kind, norm=norm: figs.perturbation_chart(records, config, kind,
                                                                                  normalised=norm),
                             key=f"multitask.pert.{kind}.{norm}", version=m["perturbations_done"], container=col)
            st.caption(support.robustness_text(config))
    if tabs[5].open:
        with tabs[5]:
            if examples is None:
                st.info("Activity and weights follow the evaluation after task learning.")
            else:
                ui.chart(lambda: figs.activity_chart(figs.latest(records, "activity"), config.task_list),
                         key="multitask.activity", version=0)
                left, right = st.columns(2)
                ui.chart(lambda: figs.matrix_chart(figs.latest(records, "w_rec_molap"), "MoLaP recurrent weights"),
                         key="multitask.w_molap", version=0, container=left)
                ui.chart(lambda: figs.matrix_chart(figs.latest(records, "w_rec_joint"), "Joint recurrent weights"),
                         key="multitask.w_joint", version=0, container=right)


ui.live("multitask", cfg, draw, charts=lambda r, c: {"parameters": figs.params_chart(r),
                                                     "accuracy": figs.accuracy_chart(r, c)},
        preview=lambda: st.markdown(support.progress_markdown([], cfg)))

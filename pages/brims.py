"""BRIMs (arXiv:2006.16981): robustness to distraction, module-activation rasters and slot attention, live."""

import streamlit as st

from neurodyn import ui
from neurodyn.brims import figures as figs
from neurodyn.brims import page_support as support
from neurodyn.brims.experiment import PROBES, model_names

ui.header(
    "brims",
    note="Digits are scikit-learn's 8×8 images read one row per step (MNIST is not available offline). Top-down "
    "wiring follows the paper (each layer reads the layer above at t − 1); modules are one grouped LSTM; ties in the "
    "competition go to the lower module index (a stable sort), which decides the first active set from the zero "
    "state. Numbers below are computed from the run on screen or read from the results files named under them.",
)
cfg = ui.controls("brims")

ui.config_table(
    "The three models and their sizes", support.parameter_table, cfg,
    "Each BRIMs module attends over [null, the layer below at t, the layer above at t − 1]; the k modules that "
    "attend least to null update, the others keep their state exactly. The RIMs stack is the same model without "
    "the top-down slot.",
)


def draw(records, config):
    names = model_names(config)
    evals = int(records[-1].metrics["eval_epoch"])
    ui.chart(lambda: figs.accuracy_chart(records, names, config.probe_rows), key="brims.accuracy", version=evals)
    st.caption(f"{support.run_status(records, config)} How to read this: solid lines are the clean test digits, "
               f"dashed lines the same digits followed by {config.probe_rows} rows of random pixels before the "
               "readout; one colour per model.")
    # twice per epoch is enough for the loss curve; every record (four a second) would keep the browser busy
    ui.chart(lambda: figs.train_loss_chart(records, names), key="brims.loss",
             version=int(2 * records[-1].metrics["epoch"]))
    latest = figs.latest_artifacts(records, "raster")
    if latest is None:
        return
    step, art = latest
    # Only the open tab is built and sent (switching tabs reruns this view): the hidden tabs' seven to ten charts would
    # otherwise be rebuilt by the server and re-rendered by the browser at every snapshot while nobody looks at them.
    t_raster, t_probe, t_slots = st.tabs(["Module activations", "Robustness curves", "Attention over slots"],
                                         key="brims.figures_tab", on_change="rerun")
    for tab, view in ((t_raster, _draw_raster), (t_probe, _draw_probes), (t_slots, _draw_slots)):
        if tab.open:
            with tab:
                view(records, config, names, step, art)


def _draw_raster(records, config, names, step, art):
    """Tab "Module activations": which modules update at each step of one test digit, and their input attention."""
    st.caption(f"Epoch {int(art['raster_epoch'])}: the first test digit (label {int(art['raster_label'])}, "
               f"BRIMs predicts {int(art['raster_prediction'])}) followed by {int(art['probe_rows_shown'])} "
               "distractor rows.")
    ui.chart(lambda: figs.raster_chart(art["raster"], (config.n_modules_1, config.n_modules_2)),
             key="brims.raster", version=step)
    st.caption(f"How to read this: black cells are the modules that update at that step, exactly "
               f"{config.k_active_1} of layer 1 and {config.k_active_2} of layer 2 in every column; orange "
               "columns are distractor rows. A working model switches which modules are active between phases "
               "of the sequence rather than keeping one fixed set.")
    for layer, alpha in ((1, art["raster_alpha_1"]), (2, art["raster_alpha_2"])):
        cols = st.columns(3)
        for slot, col in zip(range(alpha.shape[-1]), cols):
            with col:
                ui.chart(lambda a=alpha, lay=layer, s=slot: figs.slot_attention_chart(a, lay, s),
                         key=f"brims.alpha.{layer}.{slot}", version=step)


def _draw_probes(records, config, names, step, art):
    """Tab "Robustness curves": accuracy under distractor rows, pixel noise and time stretch, per model."""
    probes = figs.latest_artifacts(records, PROBES[0])
    if probes is None:
        st.info("The probe curves appear after the first sweep (every "
                f"{config.artifact_every} epochs and at the end).")
    else:
        p_step, p_art = probes
        for probe, col in zip(PROBES, st.columns(3)):
            with col:
                ui.chart(lambda p=probe: figs.probe_chart(p_art, names, p), key=f"brims.{probe}",
                         version=p_step)
        st.caption(f"Epoch {int(p_art['probe_epoch'])}, this run (seed {config.seed}). Every probe changes the "
                   "397 test digits only (no retraining), with the same random draws for every model: "
                   "distractor rows after the digit, Gaussian pixel noise clipped to [0, 1], rows repeated to "
                   "stretch time.")


def _draw_slots(records, config, names, step, art):
    """Tab "Attention over slots": input attention per slot and layer, and the switching dynamics per epoch."""
    evals = int(records[-1].metrics["eval_epoch"])
    for layer, col in zip((1, 2), st.columns(2)):
        with col:
            ui.chart(lambda lay=layer: figs.slot_mass_chart(art["slot_mass"], lay), key=f"brims.mass.{layer}",
                     version=step)
    st.caption("How to read this: how much input attention the modules of each layer give each slot, over the "
               "digit's rows and over the distractor rows (test set).")
    for layer, col in zip((1, 2), st.columns(2)):
        with col:
            ui.chart(lambda lay=layer: figs.dynamics_chart(records, lay), key=f"brims.dynamics.{layer}",
                     version=evals)
    st.caption("Per epoch on clean digits: the switch rate is the fraction of steps at which a layer's active "
               f"set changes. {support.switch_rate_text(records)}")


@st.cache_data(show_spinner=False)
def _raster_input(config):
    return support.raster_input(config)


def preview():
    image, label = _raster_input(cfg)
    left, right = st.columns([1, 2])
    with left:
        ui.chart(lambda: figs.sequence_chart(image), key="brims.sequence")
    right.caption(f"What the module-activation raster will be measured on: the first held-out digit (a {label}), "
                  f"one row per time step, followed by {cfg.probe_rows} rows of random pixels (orange). Every model "
                  "is tested on the same distractor draws. Press Start to train.")


ui.live("brims", cfg, draw, preview=preview, charts=lambda r, c: {
    "accuracy": figs.fixed_width(figs.accuracy_chart(r, model_names(c), c.probe_rows))})

st.subheader("Across seeds: what reproduces here")
st.caption("One run decides little. These tables are read from results files that `neurodyn.brims.sweep` wrote; "
           "each names the command that made it. The claims are the same checks as above, on every seed.")
for name, what in support.RESULTS.items():
    results = support.load_results(name)
    st.markdown(f"**{what[0].upper() + what[1:]}**")
    if results is None:
        st.info(f"No results file `neurodyn/brims/results/{name}` yet.")
        continue
    st.dataframe(support.results_rows(results), hide_index=True)
    st.markdown("\n".join(f"- {line}" for line in support.findings_text(results)))
    st.caption(support.results_caption(results))

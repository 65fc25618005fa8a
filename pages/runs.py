"""Stored runs: every run of every page and of the CLI, filtered, compared (one metric overlaid, the settings that
differ, claim verdicts), downloaded or deleted. Reads the run registry only; nothing trains here."""

import hashlib
import json

import streamlit as st

from neurodyn import ui
from neurodyn.core.bundle import make_bundle
from neurodyn.core.store import STATUSES, RunStore, StoreError, default_url
from neurodyn.ui import runs as view

MAX_OVERLAY = 10  # runs drawn in one chart: more lines than colours stop being told apart
HELP = ("Check that NEURODYN_DB_URL (a database URL) or, when it is unset, NEURODYN_HOME (the folder that holds "
        "runs.sqlite) points where this server can read and write, and that a database server in the URL is running.")


def trouble(what: str, exc: Exception) -> None:
    """Show why the registry failed and what to check (the store's own message usually says it), never a traceback."""
    text = str(exc)
    st.error(f"{what}: {text}" + ("" if "NEURODYN_DB_URL" in text else f"\n\n{HELP}"), icon="🚫")


@st.cache_resource(show_spinner=False, max_entries=4)
def open_store(url: str) -> RunStore:
    """The registry at ``url``, opened (and migrated) once per server process."""
    return RunStore(url)


@st.cache_data(show_spinner=False, max_entries=64)
def stored_records(_store: RunStore, url: str, run_id: int, n_records: int) -> list[dict]:
    """A run's records without artifacts; ``url`` and ``n_records`` key the cache (a running run keeps growing)."""
    return _store.records(run_id, artifacts=False)


st.title("🗂️ Stored runs")
try:
    store = open_store(default_url())
    every_run = store.runs()
except (StoreError, OSError) as exc:
    trouble("The run registry could not be opened", exc)
    st.stop()

st.markdown(f"Every run started from a paper page or with the command line is stored here as it goes, record by "
            f"record, in `{store.url}`. Pick runs in the table to compare them.")

with st.sidebar:
    st.header("Filter the runs")
    experiments = sorted({r.experiment for r in every_run})
    experiment = st.selectbox("Experiment", [None, *experiments], key="runs.experiment",
                              format_func=lambda e: "every experiment" if e is None else e)
    status = st.selectbox("Status", [None, *STATUSES], key="runs.status",
                          format_func=lambda s: "every status" if s is None else s)
    label = st.text_input("Label contains", key="runs.label", placeholder="part of a run's label")

if not every_run:
    st.info("No runs are stored yet. Start a run on any paper page (its Start button), or from a shell: "
            "`python -m neurodyn run template --preset small`. It appears here as soon as it starts.", icon="ℹ️")
    st.stop()

shown = view.filter_runs(every_run, experiment=experiment, status=status, label=label)
table = view.runs_table(shown)
ids = table["id"].tolist()
by_id = {r.id: r for r in shown}
wanted = [i for i in view.parse_ids(st.query_params.get_all("run")) if i in by_id]
st.subheader(f"Runs ({len(shown)} of {len(every_run)} shown, newest first)")
# The table's key follows its rows: when a run is added, deleted or filtered out, the positions of the rows change,
# and a fresh table selects the same runs again by id from the URL.
event = st.dataframe(
    table, key="runs.table." + hashlib.sha1(",".join(map(str, ids)).encode()).hexdigest()[:12],
    on_select="rerun", selection_mode="multi-row", hide_index=True, width="stretch",
    selection_default={"selection": {"rows": [ids.index(i) for i in wanted]}},
    column_config={
        "id": st.column_config.NumberColumn("Run", format="#%d", width="small"),
        "experiment": st.column_config.TextColumn("Experiment"),
        "preset": st.column_config.TextColumn("Preset", width="small"),
        "seed": st.column_config.NumberColumn("Seed", format="%d", width="small"),
        "status": st.column_config.TextColumn("Status", width="small"),
        "records": st.column_config.NumberColumn("Records", width="small"),
        "started": st.column_config.TextColumn("Started (UTC)"),
        "seconds": st.column_config.NumberColumn("Seconds", format="%.1f", width="small"),
        "label": st.column_config.TextColumn("Label"),
    },
)
selected = [by_id[ids[i]] for i in event.selection.rows if 0 <= i < len(ids)]
if selected:
    st.query_params["run"] = ",".join(str(r.id) for r in selected)  # a link to the page shows the same runs
else:
    st.query_params.pop("run", None)
    st.caption("Select runs with the boxes at the left of the table: one to download or delete it, several to "
               "compare them.")
    st.stop()

names = {r.id: view.run_name(r) for r in selected}
st.subheader("Compare: " + ", ".join(names.values()))
if len(selected) > MAX_OVERLAY:
    st.warning(f"{len(selected)} runs are selected; the chart draws the newest {MAX_OVERLAY}.")
try:
    records = {names[r.id]: stored_records(store, store.url, r.id, r.n_records) for r in selected[:MAX_OVERLAY]}
except (StoreError, KeyError) as exc:
    trouble("The records could not be read", exc)
    st.stop()
metrics = view.common_metrics(records)
if metrics:
    left, right = st.columns([3, 1], vertical_alignment="bottom")
    metric = left.selectbox("Metric", metrics, key="runs.metric", format_func=view.metric_words)
    log_y = right.toggle("Log scale", key="runs.log")
    ui.chart(lambda: view.overlay_chart(records, metric, log_y=log_y), key="runs.overlay")
    st.caption("How to read this: one line per selected run, the metric's value at each stored step. Runs of "
               "different experiments share an axis only when they record a metric of the same name.")
else:
    st.info("The selected runs have no metric in common (or no records yet), so there is nothing to overlay.")

if len(selected) > 1:
    diff = view.config_diff(selected)
    st.markdown("**Settings that differ**")
    if len(diff):
        st.dataframe(diff, hide_index=True, width="stretch")
    else:
        st.caption("The selected runs were started with the same settings.")

st.markdown("**Claim verdicts**")
for run in selected:
    claims = view.claims_table(run)
    st.markdown(f"{names[run.id]} · {run.status}" + (f": {run.message}" if run.message else ""))
    if len(claims):
        st.dataframe(claims, hide_index=True, width="stretch", column_config={
            "claim": st.column_config.TextColumn("Claim"), "verdict": st.column_config.TextColumn("Verdict"),
            "measured": st.column_config.NumberColumn("Measured", format="%.4g")})
    else:
        st.caption("No verdicts stored: the run is still going, ended before its summary, or its experiment has "
                   "no claims.")

if len(selected) == 1:
    run = selected[0]

    def delete() -> None:
        """Delete the selected run (the button is enabled only once the box is ticked)."""
        try:
            store.delete_run(run.id)
        except (StoreError, KeyError) as exc:
            st.toast(f"Run {names[run.id]} was not deleted: {exc}", icon="🚫")
            return
        st.query_params.pop("run", None)
        st.toast(f"Deleted run {names[run.id]}.", icon="🗑️")

    st.markdown(f"**Run {names[run.id]}**")
    row = st.container(horizontal=True, vertical_alignment="center")
    row.download_button(
        "Run record (JSON)", data=lambda: json.dumps(store.run_record(run.id), default=str).encode(),
        file_name=view.record_file_name(run), mime="application/json", key="runs.download", on_click="ignore",
        icon="🧾", width="content")
    row.download_button(
        "Bundle (zip)", data=lambda: make_bundle(store.run_record(run.id)),
        file_name=f"neurodyn-run-{run.id}-{run.experiment}.zip", mime="application/zip", key="runs.bundle",
        on_click="ignore", icon="📦", width="content",
        help="settings, records, claim verdicts, the metric curves as SVG and the command that repeats the run")
    sure = row.checkbox(f"Yes, delete run #{run.id} and its records", key=f"runs.sure.{run.id}")
    row.button(f"Delete run #{run.id}", key="runs.delete", icon="🗑️", disabled=not sure, on_click=delete,
               type="primary", width="content")

"""The Runs page: its helpers on RunInfo objects of a real registry, and the page itself in AppTest on a registry in a
temporary folder (filled, empty, unreachable; runs picked through the URL, one run deleted)."""

from __future__ import annotations

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from neurodyn.core.store import RunStore
from neurodyn.ui import runs as view

PAGE = str(Path(__file__).resolve().parents[2] / "pages" / "runs.py")
CLAIMS = [{"key": "rate", "claim": "converges", "verdict": "reproduced", "measured": 0.25},
          {"key": "gap", "claim": "a gap", "verdict": "not reproduced", "measured": None}]


@pytest.fixture
def home(tmp_path, monkeypatch):
    """An empty registry in ``tmp_path`` that ``RunStore()`` (and so the page) opens."""
    monkeypatch.setenv("NEURODYN_HOME", str(tmp_path))
    monkeypatch.delenv("NEURODYN_DB_URL", raising=False)
    return tmp_path


@pytest.fixture
def filled(home):
    """Three runs: two finished template runs with different settings, one lead run still going."""
    store = RunStore()
    a = store.start_run("template", {"lr": 0.1, "seed": 0, "model": {"width": 8}}, preset="small", seed=0,
                        label="baseline", source="test")
    store.add_records(a, [{"step": k, "metrics": {"loss": 1.0 / (k + 1), "acc": k / 10}} for k in range(4)])
    store.finish_run(a, "done", summary={"experiment": "template", "claims": CLAIMS}, seconds=2.5)
    b = store.start_run("template", {"lr": 0.3, "seed": 0, "model": {"width": 16}}, preset="small", seed=0,
                        source="test")
    store.add_records(b, [{"step": 2 * k, "metrics": {"loss": 3.0 - k}} for k in range(3)])
    store.finish_run(b, "stopped", message="stopped by user", seconds=1.0)
    c = store.start_run("lead", {"lr": 0.1}, preset="paper", seed=None, label="long one", source="test")
    store.add_records(c, [{"step": 0, "metrics": {"gap": 1.0}}])
    yield store, (a, b, c)
    store.close()


def test_table_has_the_columns_in_order_newest_first(filled):
    store, (a, b, c) = filled
    df = view.runs_table(reversed(store.runs()))  # order given oldest first: the table still starts with the newest
    assert list(df.columns) == list(view.TABLE_COLUMNS)
    assert df["id"].tolist() == [c, b, a]
    top = df.iloc[0]
    assert (top["experiment"], top["preset"], top["status"], top["records"], top["label"]) == (
        "lead", "paper", "running", 1, "long one")
    assert df["seed"].isna().tolist() == [True, False, False] and df["seconds"].iloc[2] == 2.5
    assert df["started"].iloc[0].count(":") == 2 and len(df["started"].iloc[0]) == 19


def test_filters_by_experiment_status_and_label_text(filled):
    store, (a, b, c) = filled
    runs = store.runs()
    assert [r.id for r in view.filter_runs(runs, experiment="template")] == [b, a]
    assert [r.id for r in view.filter_runs(runs, status="running")] == [c]
    assert [r.id for r in view.filter_runs(runs, label="BASE")] == [a]
    assert view.parse_ids(["3,#5", "x,3"]) == [3, 5] and view.parse_ids(None) == []


def test_overlay_has_one_series_per_run_with_its_values(filled):
    store, (a, b, _) = filled
    runs = [store.run(a), store.run(b)]
    records = {view.run_name(r): store.records(r.id) for r in runs}
    assert list(records) == [f"#{a} template (baseline)", f"#{b} template"]
    df = view.overlay_data(records, "loss")
    series = {name: list(zip(g["step"], g["value"])) for name, g in df.groupby("run")}
    assert series == {f"#{a} template (baseline)": [(k, 1.0 / (k + 1)) for k in range(4)],
                      f"#{b} template": [(0, 3.0), (2, 2.0), (4, 1.0)]}
    spec = view.overlay_chart(records, "loss").to_dict()
    enc = spec["encoding"]
    assert enc["color"]["field"] == "run" and enc["x"]["field"] == "step" and enc["y"]["field"] == "value"
    assert enc["y"]["title"] == "loss" and enc["x"]["title"] == "training step"
    assert enc["color"]["scale"]["domain"] == list(records)
    assert view.overlay_chart(records, "grad_norm").to_dict()["encoding"]["y"]["title"] == "grad norm"


def test_common_metrics_are_those_every_run_recorded(filled):
    store, (a, b, c) = filled
    recs = {i: store.records(i) for i in (a, b, c)}
    assert view.common_metrics({a: recs[a]}) == ["loss", "acc"]
    assert view.common_metrics({a: recs[a], b: recs[b]}) == ["loss"]
    assert view.common_metrics(recs) == [] and view.common_metrics({}) == []
    assert view.common_metrics({1: [{"step": 0, "metrics": {"x": 1.0, "note": "text", "bad": None}}]}) == ["x"]


def test_config_diff_keeps_only_the_settings_that_differ(filled):
    store, (a, b, c) = filled
    diff = view.config_diff([store.run(a), store.run(b)])
    assert list(diff.columns) == ["setting", f"#{a} template (baseline)", f"#{b} template"]
    assert diff["setting"].tolist() == ["lr", "model.width"]  # seed is the same in both
    assert diff.iloc[0, 1:].tolist() == ["0.1", "0.3"] and diff.iloc[1, 1:].tolist() == ["8", "16"]
    three = view.config_diff([store.run(a), store.run(c)])
    assert three["setting"].tolist() == ["model.width", "seed"]  # lr equal; the lead run lacks the others
    assert three.iloc[0, 2] == "—"
    assert view.config_diff([store.run(a)]).empty


def test_claims_table_and_record_file_name(filled):
    store, (a, b, _) = filled
    df = view.claims_table(store.run(a))
    assert df["claim"].tolist() == ["rate", "gap"]
    assert df["verdict"].tolist() == ["✅ reproduced", "❌ not reproduced"]
    assert df["measured"].iloc[0] == 0.25 and df["measured"].isna().iloc[1]
    assert view.claims_table(store.run(b)).empty
    assert view.record_file_name(store.run(b)) == f"neurodyn-run-{b}-template.json"


def _page(query: str | None = None) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=30)
    if query is not None:
        at.query_params["run"] = query
    return at.run()


def test_page_lists_the_stored_runs(filled):
    _, (a, b, c) = filled
    at = _page()
    assert not at.exception, at.exception
    assert at.title[0].value.endswith("Stored runs") and not at.error and not at.info
    assert "runs.sqlite" in at.markdown[0].value
    assert at.dataframe[0].value["id"].tolist() == [c, b, a]
    assert "(3 of 3 shown" in at.subheader[0].value
    at.selectbox(key="runs.experiment").set_value("lead").run()
    assert at.dataframe[0].value["id"].tolist() == [c]


def test_page_with_an_empty_registry_says_how_to_make_a_run(home):
    at = _page()
    assert not at.exception, at.exception
    assert len(at.info) == 1 and "python -m neurodyn run template --preset small" in at.info[0].value
    assert not at.dataframe


def test_page_shows_the_error_when_the_registry_cannot_be_opened(home, monkeypatch):
    monkeypatch.setenv("NEURODYN_DB_URL", "sqlite:////nonexistent/dir/x.sqlite")
    at = _page()
    assert not at.exception, at.exception
    assert len(at.error) == 1 and "NEURODYN_DB_URL" in at.error[0].value
    assert "could not be opened" in at.error[0].value and not at.dataframe


def test_page_compares_the_runs_picked_in_the_url(filled):
    _, (a, b, _) = filled
    at = _page(f"{a},{b}")
    assert not at.exception, at.exception
    assert at.selectbox(key="runs.metric").options == ["loss"]
    charts = at.get("vega_lite_chart")
    assert len(charts) == 1 and f"#{a} template (baseline)" in charts[0].proto.spec and f"#{b} template" in \
        charts[0].proto.spec
    tables = [d.value for d in at.dataframe]
    assert tables[1]["setting"].tolist() == ["lr", "model.width"]  # settings that differ
    assert tables[2]["verdict"].tolist() == ["✅ reproduced", "❌ not reproduced"]  # claims of the first run
    assert not at.get("download_button")  # downloads and deletion need exactly one run


def test_page_downloads_and_deletes_one_run_after_confirmation(filled):
    store, (a, b, c) = filled
    at = _page(str(b))
    assert not at.exception, at.exception
    assert [d.key for d in at.get("download_button")] == ["runs.download", "runs.bundle"]
    assert at.button(key="runs.delete").disabled
    at.checkbox(key=f"runs.sure.{b}").check().run()
    at.button(key="runs.delete").click().run()
    assert not at.exception, at.exception
    assert [r.id for r in store.runs()] == [c, a]
    assert at.dataframe[0].value["id"].tolist() == [c, a] and "run" not in at.query_params

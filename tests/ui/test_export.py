from __future__ import annotations

import io
import json

import pandas as pd

from neurodyn.core.export import chart_bytes, records_csv, run_json, save_run, versions
from neurodyn.core.loop import Record
from neurodyn.ui.controls import log_grid
from neurodyn.viz.graph import graph_html, strip_cdn
from neurodyn.viz.theme import metric_chart


def _records():
    return [Record(k, {"loss": 1.0 / (k + 1), "acc": k / 10}, {"x": [k, k]} if k % 2 == 0 else {}) for k in range(5)]


def test_csv_has_one_row_per_record_and_a_column_per_metric():
    df = pd.read_csv(io.BytesIO(records_csv(_records())))
    assert list(df.columns) == ["step", "loss", "acc"] and len(df) == 5
    assert df["loss"].iloc[3] == 0.25


def test_run_json_carries_config_seed_versions_and_records(toy_config):
    cfg = toy_config(seed=7)
    out = json.loads(run_json("toy", cfg, _records(), status="stopped", message="stopped by user"))
    assert out["config"]["seed"] == 7 == out["seed"] and out["status"] == "stopped"
    assert out["versions"]["torch"].startswith("2.13") and out["versions"]["python"].startswith("3.11")
    assert len(out["records"]) == 5 and out["records"][0]["artifacts"]["x"] == [0, 0]
    assert out["rerun"].startswith("python -m neurodyn run toy --set lr=")


def test_charts_export_to_svg_and_png_offline():
    chart = metric_chart(_records(), ["loss", "acc"], title="t")
    svg = chart_bytes(chart, "svg")
    png = chart_bytes(chart, "png")
    assert svg.lstrip().startswith(b"<svg") and png[:8] == b"\x89PNG\r\n\x1a\n"


def test_versions_lists_the_stack():
    v = versions()
    assert {"torch", "streamlit", "numpy", "altair"} <= set(v)


def test_log_grid_is_a_125_sequence_with_the_current_value():
    assert log_grid(0.01, 1.0, 0.3) == [0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0]


def test_pyvis_graph_html_has_no_cdn_reference_and_subsamples_large_graphs():
    import networkx as nx

    html, n = graph_html(nx.grid_2d_graph(30, 30), max_nodes=100)
    assert n == 100
    for host in ("cdn.jsdelivr.net", "cdnjs.cloudflare.com", "unpkg.com"):
        assert host not in html
    assert "vis-network" in html or "vis.Network" in html
    assert strip_cdn('<link href="https://cdn.jsdelivr.net/x.css" rel="stylesheet"><b>') == "<b>"


def test_save_run_writes_the_record_under_the_data_dir_and_nothing_when_unset(tmp_path, toy_config, monkeypatch):
    from neurodyn.core.export import run_record

    path = save_run(run_record("toy", toy_config(), _records(), status="done"), tmp_path)
    assert path.parent == tmp_path / "runs" / "toy" and json.loads(path.read_text())["status"] == "done"
    monkeypatch.delenv("NEURODYN_DATA_DIR", raising=False)
    assert save_run({"experiment": "toy"}) is None


def test_job_manager_keeps_finished_runs_in_the_data_dir(tmp_path, toy_config, toy_build, monkeypatch):
    from neurodyn.core.jobs import JobManager

    monkeypatch.setenv("NEURODYN_DATA_DIR", str(tmp_path))
    m = JobManager(max_running=1, heartbeat_timeout=0, mode="thread")
    job = m.submit("toy", toy_config(n_steps=5, seed=4), "s", toy_build)
    assert job.wait(5)
    files = list((tmp_path / "runs" / "toy").glob("*.json"))
    assert len(files) == 1 and len(json.loads(files[0].read_text())["records"]) == 5
    m.shutdown()

"""Bad input through the real browser: each file gets a clear message on the page and the app keeps working."""

from __future__ import annotations

import re
import time
from pathlib import Path

import numpy as np
import pytest

from neurodyn.ui.live import page_status_text

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
EDGES = ROOT / "assets" / "udemd" / "example_edges.csv"
SIGNALS = ROOT / "assets" / "udemd" / "example_signals.csv"


def _your_data_tab(page, server):
    page.goto(f"{server}/udemd")
    page.get_by_role("tab", name=re.compile("Your data")).click()
    page.get_by_text("Upload a graph and signals").wait_for(timeout=60_000)


def _upload(page, nth: int, path: Path) -> None:
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').nth(nth).set_input_files(str(path))


def _still_works(page) -> None:
    """The app answers: another tab renders and a fresh upload of the good files is accepted."""
    assert page.locator('[data-testid="stException"]').count() == 0, "a stack trace reached the page"


def test_malformed_signals_csv_then_a_good_one(page, server, tmp_path):
    _your_data_tab(page, server)
    _upload(page, 0, EDGES)
    page.get_by_text(re.compile("Signals CSV")).first.wait_for(timeout=30_000)
    bad = tmp_path / "signals.csv"
    bad.write_text("id,label,C0,C1\npatient0,a,1,oops\npatient1,b,-2,1\n")
    _upload(page, 1, bad)
    msg = page.get_by_text(re.compile("signals.csv was not accepted")).first
    msg.wait_for(timeout=30_000)
    assert re.search(r"row|column|C\d|oops|number", msg.inner_text()), msg.inner_text()
    _still_works(page)
    _upload(page, 1, SIGNALS)
    page.get_by_text(re.compile(r"^Accepted: \d+ nodes, \d+ signals")).first.wait_for(timeout=30_000)
    # the accepted pair embeds in a worker and offers the embedding and the neighbour table
    page.get_by_role("button", name=re.compile("Embed my data")).click()
    page.get_by_role("button", name=re.compile(r"Embedding \(CSV\)")).wait_for(timeout=90_000)
    with page.expect_download() as dl:
        page.get_by_role("button", name=re.compile(r"Embedding \(CSV\)")).click()
    head = open(dl.value.path()).readline()
    assert head.startswith("id,")
    assert page.watch.console_errors == [] and page.watch.foreign == []


def test_disconnected_graph_is_named_as_such(page, server, tmp_path):
    _your_data_tab(page, server)
    edges = tmp_path / "edges.csv"
    edges.write_text("src,dst\na,b\nb,c\nx,y\n")
    _upload(page, 0, edges)
    sig = tmp_path / "sig.csv"
    sig.write_text("id,a,b,c,x,y\ns1,1,0,0,0,1\ns2,0,1,0,1,0\n")
    page.get_by_text(re.compile("Signals CSV")).first.wait_for(timeout=30_000)
    _upload(page, 1, sig)
    msg = page.get_by_text(re.compile("disconnected|connected component", re.I)).first
    msg.wait_for(timeout=30_000)
    _still_works(page)


def test_h5ad_with_negative_values_is_rejected(page, server, tmp_path):
    import anndata

    _your_data_tab(page, server)
    page.get_by_text("AnnData .h5ad").click()
    page.get_by_text("AnnData (cells × genes)").wait_for(timeout=30_000)  # the uploader of this choice is drawn
    x = np.abs(np.random.default_rng(0).normal(size=(30, 12))).astype(np.float32)
    x[3, 4] = -1.5
    path = tmp_path / "negative.h5ad"
    anndata.AnnData(X=x).write_h5ad(path)
    _upload(page, 0, path)
    msg = page.get_by_text(re.compile("negative.h5ad was not accepted")).first
    msg.wait_for(timeout=30_000)
    assert "negative" in msg.inner_text().lower()
    _still_works(page)


def test_oversized_file_is_refused_before_upload(page, server, tmp_path):
    _your_data_tab(page, server)
    big = tmp_path / "huge.csv"
    with open(big, "wb") as fh:  # sparse file: 201 MiB on paper, no disk used
        fh.truncate(201 * 2**20)
    _upload(page, 0, big)
    page.get_by_text(re.compile(r"200(\.0)? ?MB or smaller|limit here is 200", re.I)).first.wait_for(timeout=30_000)
    _still_works(page)


def test_a_diverging_run_shows_a_message_not_a_stack_trace(page, server):
    page.goto(f"{server}/lead?preset=small&lr=1.5&game=xy")
    page.get_by_role("button", name=re.compile("^▶ Start")).first.click()
    page.get_by_text(re.compile(r"^Diverged: .*GDA")).first.wait_for(timeout=60_000)
    page.get_by_text("Done:").first.wait_for(timeout=60_000)
    _still_works(page)
    assert page.watch.console_errors == [] and page.watch.foreign == []


def test_a_good_h5ad_embeds_its_genes(page, server, tmp_path):
    import anndata

    _your_data_tab(page, server)
    page.get_by_text("AnnData .h5ad").click()
    page.get_by_text("AnnData (cells × genes)").wait_for(timeout=30_000)
    rng = np.random.default_rng(1)
    x = rng.poisson(1.0, size=(60, 25)).astype(np.float32)
    x[:30, :12] += 3.0  # two cell groups with their own marker genes
    path = tmp_path / "cells.h5ad"
    anndata.AnnData(X=np.log1p(x)).write_h5ad(path)
    _upload(page, 0, path)
    page.get_by_text(re.compile(r"^Accepted: 60 nodes, 25 signals")).first.wait_for(timeout=30_000)
    page.get_by_role("button", name=re.compile("Embed my data")).click()
    page.get_by_role("button", name=re.compile(r"Neighbour table \(CSV\)")).wait_for(timeout=90_000)
    _still_works(page)
    assert page.watch.console_errors == [] and page.watch.foreign == []


def test_after_a_run_on_uploaded_data_another_tab_can_start_at_once(page, server):
    """The upload run (tab D) ends: tab A's Start must come back by itself, not wait for a click elsewhere."""
    _your_data_tab(page, server)
    _upload(page, 0, EDGES)
    page.get_by_text(re.compile("Signals CSV")).first.wait_for(timeout=30_000)
    _upload(page, 1, SIGNALS)
    page.get_by_text(re.compile(r"^Accepted: \d+ nodes, \d+ signals")).first.wait_for(timeout=30_000)
    page.get_by_role("button", name=re.compile("Embed my data")).click()
    page.get_by_role("tab").first.click()  # switch to tab A while the upload run goes on
    start = page.get_by_role("button", name=re.compile("^▶ Start")).first
    # no click, no widget change from here on: the end of the upload run alone must bring tab A's Start back
    page.wait_for_function("b => !b.disabled", arg=start.element_handle(), timeout=90_000)
    page.wait_for_timeout(1000)
    assert page.get_by_text(re.compile("is still going; one run per session")).count() == 0
    start.click()
    deadline = time.monotonic() + 60
    while not re.match(r"Done:|Training|Building", page_status_text(page)):
        assert time.monotonic() < deadline, f"the run did not start: {page_status_text(page)!r}"
        page.wait_for_timeout(200)
    assert page.watch.console_errors == []

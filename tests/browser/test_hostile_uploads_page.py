"""Hostile uploads through the UDEMD page while another user trains: refused fast with the limit named, and the
other session's run keeps going and redrawing."""

from __future__ import annotations

import importlib.util
import re
import time
from pathlib import Path

import pytest

from neurodyn.ui.live import LIVE_CHART_CSS, page_status_text

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("hostile_builders", ROOT / "tests" / "udemd" / "test_hostile_uploads.py")
builders = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(builders)  # the crafted files (zip and gzip bombs built without inflating anything)

STEP = re.compile(r"record (\d+)")


def _steps(page) -> int:
    m = STEP.search(page_status_text(page))
    return int(m.group(1)) if m else 0


def _upload_tab(page, server, kind: str, uploader_label: str):
    page.goto(f"{server}/udemd")
    page.get_by_role("tab", name=re.compile("Your data")).click()
    page.get_by_text("Upload a graph and signals").wait_for(timeout=60_000)
    page.get_by_text(kind).click()
    page.get_by_text(uploader_label).first.wait_for(timeout=30_000)  # the route's uploaders are drawn


@pytest.mark.parametrize("kind,label,make,limit", [
    ("adjacency .npz + signals CSV", "Adjacency (.npz)", lambda tmp: builders.zeros_npz((30_000, 30_000)),
     r"declares 3\.4 GiB uncompressed; the limit is 400 MiB"),
    ("AnnData .h5ad", "AnnData (cells", lambda tmp: builders.zeros_h5ad(tmp / "zeros.h5ad"),
     r"the limit is 25,000,000"),
], ids=["npz-zero-bomb", "h5ad-gzip-zeros"])
def test_bomb_is_refused_on_the_page_while_another_session_keeps_training(browser, server, tmp_path, kind, label,
                                                                          make, limit):
    trainer_ctx = browser.new_context(viewport={"width": 1300, "height": 900})
    trainer = trainer_ctx.new_page()
    uploader_ctx = browser.new_context(viewport={"width": 1300, "height": 900})
    uploader = uploader_ctx.new_page()
    try:
        trainer.goto(f"{server}/attention?preset=small")
        trainer.get_by_role("button", name="▶ Start").first.click(timeout=60_000)
        trainer.locator(LIVE_CHART_CSS).first.wait_for(timeout=60_000)
        path = tmp_path / ("bomb.npz" if "npz" in kind else "bomb.h5ad")
        path.write_bytes(make(tmp_path))
        _upload_tab(uploader, server, kind, label)
        before = _steps(trainer)
        t0 = time.monotonic()
        # the .npz route has an optional nodes.csv uploader first; the file goes to the uploader with the label
        box = uploader.locator('[data-testid="stFileUploader"]').filter(has_text=label)
        box.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(path))
        msg = uploader.get_by_text(re.compile(limit)).first
        try:
            msg.wait_for(timeout=30_000)
        except Exception:  # keep what the page showed, for the failure report
            (ROOT / "test-output" / "failures").mkdir(parents=True, exist_ok=True)
            uploader.screenshot(path=str(ROOT / "test-output" / "failures" / "hostile-upload.png"), full_page=True)
            raise
        refused_s = time.monotonic() - t0
        trainer.wait_for_timeout(1500)
        assert _steps(trainer) > before, "the other session's run stopped moving during the upload"
        assert re.match("Done:|Training", page_status_text(trainer)), page_status_text(trainer)
        assert refused_s < 15, f"refused only after {refused_s:.1f} s"  # a cold checker process starts in ~5 s
        assert uploader.locator('[data-testid="stException"]').count() == 0
    finally:  # a closed tab's run is cancelled by the heartbeat watchdog
        trainer_ctx.close()
        uploader_ctx.close()

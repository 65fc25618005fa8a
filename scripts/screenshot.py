"""Screenshot one page after a run of its ``small`` preset (or the settings given), as the README shows it.

The page scrolls inside Streamlit's own container, so a Playwright ``full_page`` shot shows only the first screen;
this opens the page in a tall window instead, runs the panel to "Done" and saves the whole window.

    .venv/bin/python scripts/screenshot.py brims assets/screenshots/brims.png
    .venv/bin/python scripts/screenshot.py attention out.png --settings "preset=small&seed=1" --height 2200

Needs Debian's chromium (``/usr/bin/chromium``) and the dev requirements (Playwright), as the browser tests do.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from dashboard import FLAGS, start_server, wait_for_warmup  # noqa: E402 - benchmarks/ is not a package


def main() -> int:
    """Parse the arguments, run the panel in a tall browser window and save the screenshot."""
    from PIL import Image
    from playwright.sync_api import sync_playwright

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", help="paper key, e.g. brims")
    parser.add_argument("out", help="PNG file to write")
    parser.add_argument("--settings", default="preset=small", help="URL settings of the run (default: small)")
    parser.add_argument("--start", default="▶ Start", help="label of the Start button to press")
    parser.add_argument("--width", type=int, default=1400)
    parser.add_argument("--height", type=int, default=2600, help="window height: how much of the page is shown")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds to wait for Done")
    args = parser.parse_args()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=FLAGS)
        proc, url, _ = start_server(ROOT / "app.py", max_jobs=None)
        try:
            wait_for_warmup(browser, url, timeout_s=300)
            page = browser.new_page(viewport={"width": args.width, "height": args.height})
            page.goto(f"{url}/{args.page}?{args.settings}")
            start = page.get_by_role("button", name=args.start, exact=True).first
            start.wait_for(timeout=90_000)
            t0 = time.perf_counter()
            start.click()
            page.locator('[data-testid="stProgress"]:visible', has_text="Done:").first.wait_for(
                timeout=args.timeout * 1000)
            print(f"{args.page}: Start to Done in {time.perf_counter() - t0:.1f} s", flush=True)
            page.wait_for_timeout(4000)  # the last redraw of the figures
            page.screenshot(path=args.out)
        finally:
            proc.terminate()
            proc.wait(10)
        browser.close()
    # 128 colours keep a page of charts legible at about a third of the size
    Image.open(args.out).convert("RGB").quantize(colors=128).save(args.out, optimize=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""What one page load costs the server: the app's CPU seconds per fresh page in Chromium.

    python benchmarks/pageload.py [--loads 8] [--query "?tab=reverse"]

Starts `python app.py` on a free port, opens the page once to warm it, then `--loads`
fresh pages one after another: each waits for the share bar (the page is drawn) and then
`--settle` seconds, during which the page's load events run (the deep link, the first
views of the tabs). Then the app is left idle for as long and its CPU measured again:
what the page loads cost is the difference. A class opening the link at once costs the
server `loads × this`, before anyone presses a button.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import load  # noqa: E402  (benchmarks/load.py: start_app, cpu_split)

CHROMIUM = "/usr/bin/chromium"


def server_cpu(pid: int) -> float:
    split = load.cpu_split(pid)
    return split["app"] + split["worker"]


def main(loads: int = 8, query: str = "", settle: float = 4.0, checkpoint: str | None = None) -> dict:
    from playwright.sync_api import sync_playwright  # deferred: only the run needs it

    proc, url = load.start_app(checkpoint, None)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, headless=True)
            context = browser.new_context(viewport={"width": 1280, "height": 720})

            def open_once() -> float:
                start = time.perf_counter()
                page = context.new_page()
                page.goto(url + query)
                page.wait_for_selector("#share-bar", state="attached", timeout=180_000)
                drawn = time.perf_counter() - start
                time.sleep(settle)
                page.close()
                return drawn

            open_once()  # warm-up: the first page builds caches every later one shares
            time.sleep(settle)
            before, walls = server_cpu(proc.pid), []
            for _ in range(loads):
                walls.append(open_once())
            busy = server_cpu(proc.pid) - before
            time.sleep(loads * settle)  # the same time idle: what the app spends anyway
            idle = server_cpu(proc.pid) - before - busy
            browser.close()
    finally:
        load.stop_app(proc)
    result = {
        "query": query,
        "loads": loads,
        "page_drawn_s_median": round(statistics.median(walls), 2),
        "server_cpu_s_per_load": round((busy - idle) / loads, 3),
        "idle_cpu_s_per_load_window": round(idle / loads, 3),
    }
    print(
        f"{loads} page loads of {url}{query}: drawn in {result['page_drawn_s_median']} s (median), "
        f"server CPU {result['server_cpu_s_per_load']} s per load "
        f"(idle baseline {result['idle_cpu_s_per_load_window']} s per {settle:g} s subtracted)"
    )
    print(json.dumps(result))
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--loads", type=int, default=8, help="fresh pages to open (default 8)")
    parser.add_argument("--query", default="", help='the deep link, e.g. "?tab=reverse" (default: none)')
    parser.add_argument("--settle", type=float, default=4.0, help="seconds each page stays open (4)")
    parser.add_argument("--checkpoint", default=None, help="DIFFUSION_DEMO_CHECKPOINT (default: shipped)")
    args = parser.parse_args()
    main(args.loads, args.query, args.settle, args.checkpoint)

"""Make docs/screenshot.png (README's picture): the demo mid-run — scans under way, findings,
charts and a toast — in Chromium, 1400 px wide and tall enough for the charts (or `--size`).

    python docs/screenshot.py [--seconds 60] [--zone America/New_York] [--chromium /usr/bin/chromium]

Starts `streamlit run app.py` in demo mode on a free loopback port, waits `--seconds` on the
Dashboard, waits for a toast, and saves the page."""
from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def main() -> None:
    args = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    args.add_argument("--seconds", type=float, default=60, help="how long the demo runs before the shot")
    args.add_argument("--chromium", default="/usr/bin/chromium")
    args.add_argument("--zone", default="America/New_York", help="the browser's time zone (times show in it, named)")
    args.add_argument("--out", default=str(ROOT / "docs" / "screenshot.png"))
    args.add_argument("--size", default="1400x1600",
                      help="viewport WIDTHxHEIGHT (a phone: 390x844); Streamlit scrolls inside the page, so the "
                           "height decides what the picture shows (the default: down to the charts)")
    opts = args.parse_args()
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("BUGHUNT_")}
    app = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)],
                           cwd=ROOT, env={**env, "BUGHUNT_JOURNAL": ":memory:"}, stdout=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not healthy(url):
            if time.monotonic() > deadline:
                sys.exit("the dashboard did not start")
            time.sleep(0.2)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=opts.chromium, args=CHROMIUM_ARGS)
            width, height = map(int, opts.size.split("x"))
            page = browser.new_page(viewport={"width": width, "height": height}, timezone_id=opts.zone)
            page.goto(url)
            page.wait_for_timeout(opts.seconds * 1000)  # the demo runs: scans, findings, charts fill in
            page.locator('[data-testid="stToast"]').first.wait_for(timeout=60_000)
            page.screenshot(path=opts.out)
            browser.close()
        print(f"wrote {opts.out}")
    finally:
        app.terminate()
        app.wait(10)


if __name__ == "__main__":
    main()

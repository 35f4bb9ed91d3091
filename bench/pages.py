"""Page run time: every page under Streamlit's AppTest (app.py and the page, a full run) with the
large store of bench/bigstore.py: 1,000 scans, 100,000 findings, 5,000 notifications.

Each page runs --runs times; half of the runs follow a new event (a new store version, so
derived data is rebuilt), half do not. Prints the median per page.

Run: python -m bench.pages [--runs 10] [--json FILE]
"""
from __future__ import annotations

import argparse
import os
import statistics
import time

from bench import bigstore
from bench.procs import ROOT, free_port
from bench.report import report

PAGES = ["dashboard", "scans", "scan", "vulnerabilities", "notifications", "events"]


def main() -> dict:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--json", help="also write the figures to this file")
    args = ap.parse_args()
    os.environ.update({"BUGHUNT_WS_URL": f"http://127.0.0.1:{free_port()}", "BUGHUNT_JOURNAL": ":memory:",
                       **bigstore.ENV})
    from streamlit.testing.v1 import AppTest

    from realtime import bridge

    rt = bridge.runtime()
    for event, data, at in bigstore.events():
        rt.store.apply(event, data, at=at)
    figures: dict = {}
    goals: dict = {}
    for name in PAGES:
        at = AppTest.from_file(os.path.join(ROOT, "app.py"), default_timeout=60)
        at.query_params["id"] = "s999"  # the scan page shows a running scan
        at.run()
        if name != "dashboard":
            at.switch_page(f"pages/{name}.py")
            at.run()
        assert not at.exception, [e.message for e in at.exception]
        times = []
        for i in range(args.runs):
            if i % 2:
                rt.store.apply("scan_progress", {"scan_id": "s999", "progress": 50 + i})
            start = time.perf_counter()
            at.run()
            times.append(time.perf_counter() - start)
        key = f"page_run_ms_{name}"
        figures[key] = round(statistics.median(times) * 1000, 1)
        goals[key] = (figures[key] <= 50, "≤ 50")
    rt.close()
    return report(figures, goals, args.json)


if __name__ == "__main__":
    main()

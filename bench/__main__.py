"""python -m bench: every benchmark, each in a process of its own, then one table of every
figure with its goal (PASS/MISS) and one JSON file. See bench/README.md for what each means.

    python -m bench [--only viewers,pages] [--json bench-results.json]
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time

import psutil

from bench.procs import ROOT
from bench.report import table

# (module, arguments): ordered so the heavy browser benchmark comes last
BENCHMARKS = [
    ("ingest", []),
    ("gateway", []),
    ("attack", []),
    ("stalled", []),
    ("statedb", []),
    ("registry", []),
    ("journal", []),
    ("pages", []),
    ("alerts", []),
    ("viewers", []),
    ("push", []),
]


def machine() -> dict:
    return {"cpus": psutil.cpu_count(), "memory_gb": round(psutil.virtual_memory().total / 2**30),
            "python": platform.python_version(), "platform": platform.platform()}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--only", help="comma-separated benchmarks: " + ", ".join(n for n, _ in BENCHMARKS))
    ap.add_argument("--json", default="bench-results.json", help="where to write every figure (%(default)s)")
    args = ap.parse_args()
    chosen = [(n, a) for n, a in BENCHMARKS if not args.only or n in args.only.split(",")]
    results: dict = {"machine": machine(), "benchmarks": {}}
    figures, goals = {}, {}
    started = time.monotonic()
    failed = []
    for name, extra in chosen:
        print(f"== {name}", flush=True)
        t0 = time.monotonic()
        with tempfile.NamedTemporaryFile(suffix=".json") as out:
            done = subprocess.run([sys.executable, "-m", f"bench.{name}", "--json", out.name, *extra],
                                  cwd=ROOT, timeout=600)
            if done.returncode != 0:
                failed.append(name)
                continue
            result = json.load(open(out.name))
        result["seconds"] = round(time.monotonic() - t0, 1)
        results["benchmarks"][name] = result
        figures.update({f"{name}.{k}": v for k, v in result["figures"].items()})
        goals.update({f"{name}.{k}": tuple(v) for k, v in result["goals"].items()})
    results["seconds"] = round(time.monotonic() - started, 1)
    print(f"\n== every figure ({results['seconds']} s; {machine()})")
    print(table(figures, goals))
    met = sum(ok for ok, _ in goals.values())
    print(f"\ngoals met: {met} of {len(goals)}" + (f"; failed to run: {', '.join(failed)}" if failed else ""))
    with open(os.path.join(ROOT, args.json) if not os.path.isabs(args.json) else args.json, "w") as f:
        json.dump(results, f, indent=2)
    print(f"figures written to {args.json}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())

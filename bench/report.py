"""Printing and saving benchmark figures, the same way for every benchmark."""
from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

Goals = dict[str, tuple[bool, str]]  # figure → (met, the goal as text)


def percentile(values: Sequence[float], pct: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(pct / 100 * len(ordered)) - 1)]


def table(figures: dict[str, Any], goals: Goals | None = None) -> str:
    """One row per figure, with its goal and PASS/MISS where it has one."""
    goals = goals or {}
    rows = [f"{'figure':44} {'value':>12}  goal"]
    for key, value in figures.items():
        ok, goal = goals.get(key, (None, ""))
        verdict = "" if ok is None else ("PASS" if ok else "MISS")
        rows.append(f"{key:44} {value!s:>12}  {goal} {verdict}".rstrip())
    return "\n".join(rows)


def report(figures: dict[str, Any], goals: Goals | None = None, json_path: str | None = None) -> dict[str, Any]:
    """Print the table; optionally save figures and goals as JSON (what `python -m bench` reads)."""
    print(table(figures, goals), flush=True)
    if json_path:
        with open(json_path, "w") as f:
            json.dump({"figures": figures, "goals": {k: list(v) for k, v in (goals or {}).items()}}, f, indent=2)
    return figures

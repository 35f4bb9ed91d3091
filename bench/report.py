"""Printing and saving benchmark figures, the same way for every benchmark."""
from __future__ import annotations

import json
from typing import Any


def report(figures: dict[str, Any], goals: dict[str, tuple[bool, str]] | None = None,
           json_path: str | None = None) -> dict[str, Any]:
    """Print one row per figure (with its goal and PASS/MISS where it has one); optionally save
    the figures as JSON."""
    goals = goals or {}
    print(f"{'figure':34} {'value':>12}  goal")
    for key, value in figures.items():
        ok, goal = goals.get(key, (None, ""))
        verdict = "" if ok is None else ("PASS" if ok else "MISS")
        print(f"{key:34} {value!s:>12}  {goal} {verdict}".rstrip())
    if json_path:
        with open(json_path, "w") as f:
            json.dump(figures, f, indent=2)
    return figures

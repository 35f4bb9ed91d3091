"""The alert worker as a real process (`python -m realtime.alerts`), for the benchmarks and the tests."""
from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
from pathlib import Path

from bench.procs import ROOT
from bench.procs import stop as stop_process

FAST = {"BUGHUNT_ALERT_TICK": "0.2", "BUGHUNT_ALERT_BACKOFF": "0.2", "BUGHUNT_ALERT_RETRIES": "30",
        "BUGHUNT_ALERT_LEASE_SECONDS": "3", "BUGHUNT_DASHBOARD_URL": "http://dash.example"}


class WorkerProcess:
    def __init__(self, gateway_url: str, rules: str, workdir: Path, env: dict | None = None, args: tuple = ()):
        workdir.mkdir(parents=True, exist_ok=True)
        (workdir / "alerts.toml").write_text(rules)
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("BUGHUNT_ALERT")}
        full_env.update({**FAST, "BUGHUNT_ALERT_DB": str(workdir / "alerts.sqlite"), **(env or {})})
        self.db = full_env["BUGHUNT_ALERT_DB"]
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "realtime.alerts", *args, "--rules", str(workdir / "alerts.toml"),
             "--url", gateway_url], cwd=ROOT, env=full_env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.log: list[str] = []
        threading.Thread(target=lambda: self.log.extend(self.proc.stdout), daemon=True).start()

    def text(self) -> str:
        return "".join(self.log)

    def wait_connected(self, timeout: float = 20) -> None:
        self.wait_log(r"bughunt\.client connected", timeout)

    def wait_log(self, pattern: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if re.search(pattern, self.text()):
                return
            if self.proc.poll() is not None:
                time.sleep(0.2)
                raise RuntimeError(f"alert worker exited {self.proc.returncode}: {self.text()}")
            time.sleep(0.05)
        raise TimeoutError(f"no {pattern!r} in the worker's output: {self.text()}")

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait(10)

    def stop(self) -> None:
        stop_process(self.proc)


def rules_toml(destinations: dict[str, str], rules: list[dict]) -> str:
    """alerts.toml from {name: apprise url} and rule tables."""
    out = []
    for name, url in destinations.items():
        out += [f"[destinations.{name}]", f'url = "{url}"', ""]
    for rule in rules:
        out.append("[[rules]]")
        for key, value in rule.items():
            out.append(f"{key} = {_toml(value)}")
        out.append("")
    return "\n".join(out)


def _toml(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return str(value)

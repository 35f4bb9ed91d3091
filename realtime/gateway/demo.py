"""Demo scan engine: simulated scans so a fresh install has something alive to show.

Runs `demo_scans` scans at once and starts a new one whenever one ends. Each scan walks the
five phases with uneven progress steps, reports findings of every severity, and about one in six
fails. A scan started through `start_scan` may ask for a profile: "quick" skips exploitation
and reporting, "full" (the default) runs every phase; `cancel` stops a running scan.
Every scan draws from its own random generator seeded from `--seed` and its number, so a
seeded run produces the same scans however their timing interleaves. It publishes through
`gateway.publish`, the path HTTP events take.
"""
from __future__ import annotations

import asyncio
import logging
import random
import uuid
from urllib.parse import urlsplit

from realtime import protocol

log = logging.getLogger("bughunt.demo")

TARGETS = ["shop.example.com", "api.example.org", "portal.example.net", "staging.example.com",
           "admin.example.io", "cdn.example.com", "auth.example.org", "blog.example.net",
           "pay.example.com", "legacy.example.org"]
STEPS = {
    "passive_recon": ["Enumerating subdomains", "Querying certificate transparency logs",
                      "Collecting archived URLs", "Fingerprinting technologies"],
    "active_recon": ["Port scanning top 1000 ports", "Crawling the site", "Brute-forcing directories",
                     "Probing virtual hosts"],
    "vulnerability_testing": ["Testing for XSS", "Testing for SQL injection", "Checking CORS policy",
                              "Testing for SSRF", "Checking security headers"],
    "exploitation": ["Confirming injection points", "Verifying authentication bypass",
                     "Building proof of concept"],
    "reporting": ["Deduplicating findings", "Scoring with CVSS", "Writing the report"],
}
PHASE_SHARE = dict(zip(protocol.PHASES, (15, 20, 40, 15, 10)))  # % of a scan each phase takes
PROFILES = {"quick": dict(zip(protocol.PHASES[:3], (20, 25, 55))), "full": PHASE_SHARE}
FINDINGS = [  # (title, type, severity, cvss, path)
    ("SQL injection in login form", "sqli", "critical", 9.8, "/login"),
    ("Remote code execution via file upload", "rce", "critical", 9.9, "/upload"),
    ("Stored XSS in comments", "xss", "high", 8.2, "/blog/comments"),
    ("IDOR on invoice download", "idor", "high", 7.5, "/api/invoices/1042"),
    ("SSRF in image proxy", "ssrf", "high", 8.6, "/proxy?url="),
    ("Reflected XSS in search", "xss", "medium", 6.1, "/search?q="),
    ("CORS allows any origin with credentials", "cors", "medium", 5.4, "/api/me"),
    ("Open redirect after logout", "open_redirect", "medium", 4.7, "/logout?next="),
    ("Missing rate limit on password reset", "rate_limit", "low", 3.7, "/reset"),
    ("Verbose error messages", "info_disclosure", "low", 3.1, "/api/debug"),
    ("Server version disclosed in headers", "info_disclosure", "info", 0.0, "/"),
    ("Directory listing enabled", "misconfiguration", "low", 2.6, "/static/"),
]
ERRORS = ["Target stopped responding (connection timed out)", "WAF blocked the scanner (HTTP 403)",
          "Scope check failed: target resolves to a private address", "Scanner worker crashed (OOM)"]


class DemoEngine:
    profiles = tuple(PROFILES)  # what start_scan's options.profile may be (the gateway checks)

    def __init__(self, gateway):
        self.gateway = gateway
        self.options = gateway.options
        self.token = uuid.uuid4().hex[:6]  # scan ids stay unique across gateway restarts
        self._count = 0
        self._tasks: dict[str, asyncio.Task] = {}  # running scans by id
        self._runner: asyncio.Task | None = None

    async def start(self) -> None:
        self._runner = asyncio.create_task(self._keep_running(), name="bughunt-demo")

    async def stop(self) -> None:
        """Stop starting scans and end the running ones."""
        tasks = [t for t in (self._runner, *self._tasks.values()) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._runner = None

    def _rng(self, number: int) -> random.Random:
        seed = self.options.seed
        return random.Random(f"{seed}:{number}") if seed else random.Random()

    async def _sleep(self, rng: random.Random, low: float, high: float) -> None:
        await asyncio.sleep(rng.uniform(low, high) / max(self.options.speed, 0.01))

    async def _keep_running(self) -> None:
        """Keep `demo_scans` scans running until stopped, from the moment the first viewer
        connects (so that viewer sees the demo's first scans start)."""
        while not self.gateway.clients:
            await asyncio.sleep(0.1)
        while True:
            while sum(not t.done() for t in self._tasks.values()) < self.options.demo_scans:
                self._launch(None, None)
                await asyncio.sleep(0.3 / max(self.options.speed, 0.01))
            await asyncio.sleep(0.5 / max(self.options.speed, 0.01))

    async def start_scan(self, request: protocol.StartScan) -> str:
        return self._launch(request.target, request.scan_name, (request.options or {}).get("profile"))

    async def cancel(self, scan_id: str) -> bool:
        """Stop a running scan: it publishes nothing more (the gateway announces the cancellation)."""
        task = self._tasks.get(scan_id)
        if task is None or task.done():
            return False
        task.cancel()
        await asyncio.wait([task])
        return True

    def _launch(self, target: str | None, name: str | None, profile: str | None = None) -> str:
        self._count += 1
        number = self._count
        scan_id = f"{number:04d}-{self.token}"
        task = asyncio.create_task(self._scan(scan_id, number, target, name, profile))
        self._tasks[scan_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(scan_id, None))
        return scan_id

    async def _scan(self, scan_id: str, number: int, target: str | None, name: str | None,
                    profile: str | None) -> None:
        rng = self._rng(number)
        host = target or rng.choice(TARGETS)
        flavour = rng.choice(["full", "quick", "API", "weekly"])
        name = name or f"{_short(host)} {profile or flavour} scan"
        phases = PROFILES[profile or "full"]
        url = host if "://" in host else f"https://{host}"
        publish = self.gateway.publish
        fails_in = rng.choice(list(PHASE_SHARE)) if rng.random() < 1 / 6 else None
        try:
            await publish("scan_started", {"scan_id": scan_id, "scan_name": name, "target": url})
            await publish("notification", {"type": "info", "title": "Scan started",
                                           "message": f"{name} started on {url}", "scan_id": scan_id})
            progress, found, start = 0.0, set(), asyncio.get_running_loop().time()  # found: distinct titles
            for phase, share in phases.items():
                end = progress + share
                while progress < end - 0.01:
                    progress = min(end, progress + rng.uniform(0.3, 1.0) * share / 4)
                    await publish("scan_progress", {
                        "scan_id": scan_id, "progress": round(progress, 1), "phase": phase,
                        "current_step": rng.choice(STEPS[phase]), "vulnerabilities_found": len(found)})
                    if phase in ("vulnerability_testing", "exploitation") and rng.random() < 0.35:
                        found.add(await self._finding(rng, scan_id, name, url))  # one reported again counts once
                    if phase == fails_in and rng.random() < 0.5:
                        error = rng.choice(ERRORS)
                        await publish("scan_failed", {"scan_id": scan_id, "scan_name": name, "error": error})
                        await publish("notification", {"type": "error", "title": "Scan failed",
                                                       "message": f"{name}: {error}", "scan_id": scan_id})
                        return
                    await self._sleep(rng, 1.0, 4.0)
            duration, count = asyncio.get_running_loop().time() - start, len(found)
            await publish("scan_completed", {"scan_id": scan_id, "scan_name": name,
                                             "total_vulnerabilities": count, "duration": round(duration, 1)})
            await publish("notification", {"type": "success", "title": "Scan completed",
                                           "message": f"{name} finished with {count} finding" + "s" * (count != 1),
                                           "scan_id": scan_id})
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001 - a demo scan's bug must not stop the others
            log.exception("demo scan %s crashed", scan_id)

    async def _finding(self, rng: random.Random, scan_id: str, name: str, url: str) -> str:
        """Report one of the demo's findings (the same one may come again, as scanners do); its title."""
        title, kind, severity, cvss, path = rng.choice(FINDINGS)
        await self.gateway.publish("vulnerability_found", {
            "scan_id": scan_id, "title": title, "severity": severity, "cvss_score": cvss,
            "url": url + path, "vulnerability_type": kind,
            "description": f"{title} found at {url + path} during {name}."})
        if severity == "critical":
            await self.gateway.publish("notification", {
                "type": "warning", "title": "Critical finding", "scan_id": scan_id,
                "message": f"{title} on {url}"})
        return title


def _short(host: str) -> str:
    """A scan's name from its target: "https://shop.example.com/x" and "shop.example.com" give "Shop"."""
    return ((urlsplit(host).hostname or host) if "://" in host else host).split(".")[0].title()

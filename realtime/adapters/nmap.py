"""nmap's XML output → scan_started, scan_progress, vulnerability_found, and scan_completed or
scan_failed.

    nmap -sV --stats-every 5s -oX - 10.0.0.0/24 2>&1 | python -m realtime.adapters.nmap

`<nmaprun>` starts the scan (its targets: the words of nmap's command line that are not
options; its start: nmap's own time). Findings: see `nmap_hosts` (open ports, and NSE results
that are findings: vulners, ftp-anon, *-vuln-* scripts).

Progress. nmap runs several tasks one after another, each from 0 to 100 % (`<taskbegin>`,
`<taskprogress>` every `--stats-every`, `<taskend>`). They map onto one overall scale that
only moves forward, the task staying visible as the phase:

| nmap task | overall % |
|---|---|
| host discovery (Ping Scan, ARP/ND Ping Scan, DNS resolution) and NSE before any port scan | 0–10 |
| port scan (SYN Stealth, Connect, UDP … Scan) | 10–50 |
| Service scan | 50–75 |
| OS detection | 75–80 |
| Traceroute | 80–82 |
| NSE (script scanning) | 82–99 |
| `<finished>` | 100 |

A task nmap repeats (a further group of hosts, a second NSE pass) cannot move the overall
figure back; an unknown task keeps it and only names the phase.

End. `<finished exit="success">` with a host up completes the scan. It fails, saying why, when
nmap reports an error, when no host was up (each down host and its reason, or the names nmap
could not resolve — with `2>&1`, nmap's own message), when the output ends before
`<finished>`, or when there is no XML at all (nmap's message, e.g. a bad option). The output is
read as it comes, element by element: a broken element is reported with its line number and
skipped without losing the rest.
"""
from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator

from realtime import protocol
from realtime.adapters import Scan, main, to_number, tool_time
from realtime.adapters.nmap_hosts import findings, is_down
from realtime.publisher import Item

HOST_START = re.compile(r"<host[\s>]")
ELEMENT = re.compile(r"<(nmaprun|taskbegin|taskend|taskprogress|finished|hosts)\b[^<>]*>?")
UNRESOLVED = re.compile(r'Failed to resolve "([^"]*)"')
BANDS = {"discovery": (0, 10), "ports": (10, 50), "Service scan": (50, 75), "OS detection": (75, 80),
         "Traceroute": (80, 82), "NSE": (82, 99)}
# nmap options that take the next word as their value (the rest of the words are targets).
VALUED = set("-p -e -S -D -g -b -iL -iR -oN -oX -oS -oG -oA -oM -sI --script --script-args --script-args-file "
             "--stats-every --exclude --excludefile --exclude-ports --top-ports --port-ratio --version-intensity "
             "--max-retries --host-timeout --scan-delay --max-scan-delay --min-rate --max-rate --min-hostgroup "
             "--max-hostgroup --min-parallelism --max-parallelism --min-rtt-timeout --max-rtt-timeout "
             "--initial-rtt-timeout --data --data-string --data-length --ttl --spoof-mac --proxies --dns-servers "
             "--source-port --mtu --datadir --servicedb --versiondb --stylesheet --resume --script-timeout "
             "--max-os-tries".split())


def band(task: str, ported: bool) -> tuple[float, float] | None:
    if task in BANDS:
        return BANDS["discovery"] if task == "NSE" and not ported else BANDS[task]
    if task.endswith(" Scan") and "Ping" not in task:
        return BANDS["ports"]
    if "Ping" in task or "resolution" in task:
        return BANDS["discovery"]
    return None


def targets(args: str) -> list[str]:
    words = args.split()[1:]
    found, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word in VALUED
        else:
            found.append(word)
    return found


def _element(text: str) -> ET.Element:
    """One start tag as an element (closed if it is not): `<nmaprun …>` opens the whole document."""
    if not text.endswith(">"):
        raise ValueError("not well-formed XML: the tag is cut off")
    if not text.endswith("/>"):
        text = text[:-1] + "/>"
    try:
        return ET.fromstring(text)
    except ET.ParseError as exc:
        raise ValueError(f"not well-formed XML: {exc}") from None


class Run:
    """What nmap's output said so far."""

    def __init__(self, scan: Scan):
        self.scan = scan
        self.found = 0
        self.overall = 0.0
        self.ported = False  # a port scan has begun: NSE from now on is script scanning
        self.started = False
        self.xml = False  # saw <nmaprun>
        self.finished: ET.Element | None = None
        self.hosts: ET.Element | None = None
        self.down: list[str] = []
        self.unresolved: list[str] = []
        self.said: list[str] = []  # nmap's text before its XML (errors such as a bad option)

    def start(self, run: ET.Element | None) -> dict:
        self.started, self.xml = True, run is not None
        args = run.get("args", "nmap") if run is not None else "nmap"
        target = self.scan.target or " ".join(targets(args)) or None
        self.scan.scan_name = self.scan.scan_name or args[:200]
        self.scan.target = target[:2048] if target else None
        data = {"scan_id": self.scan.scan_id, "scan_name": self.scan.scan_name, "target": self.scan.target,
                "timestamp": tool_time(run.get("start")) if run is not None else None}
        return {k: v for k, v in data.items() if v is not None}

    def progress(self, kind: str, task: ET.Element) -> dict:
        name = task.get("task") or "nmap"
        span = band(name, self.ported)
        self.ported = self.ported or span == BANDS["ports"]
        if kind == "taskprogress":
            percent = min(100.0, max(0.0, to_number(task.get("percent"), "percent")))
            step = f"{name}: {percent:g} %"
            if task.get("remaining"):
                step += f", about {int(to_number(task.get('remaining'), 'remaining'))} s left"
        else:
            percent = 0.0 if kind == "taskbegin" else 100.0
            step = f"{name}: {'started' if kind == 'taskbegin' else 'done'}" + (
                f" ({task.get('extrainfo')})" if task.get("extrainfo") else "")
        if span is not None:
            self.overall = max(self.overall, round(span[0] + (span[1] - span[0]) * percent / 100, 2))
        return {"scan_id": self.scan.scan_id, "progress": self.overall, "phase": name[:100],
                "current_step": step[:500], "vulnerabilities_found": self.found}

    def host(self, text: str) -> list[dict]:
        element = ET.fromstring(text)
        why = is_down(element)
        if why is not None:
            address = next((a.get("addr") for a in element.iter("address")), "?")
            self.down.append(f"{address} ({why})")
            return []
        return findings(element, self.scan)

    def end(self) -> tuple[str, dict]:
        failed = {"scan_id": self.scan.scan_id, "scan_name": self.scan.scan_name}
        if self.finished is None:
            return "scan_failed", failed | {"error": self._cut_short()}
        if self.finished.get("exit", "success") != "success":
            why = self.finished.get("errormsg") or self.finished.get("summary") or "nmap exited with an error"
            return "scan_failed", failed | {"error": protocol.preview(f"nmap: {why}", 2000)}
        if self.hosts is not None and self.hosts.get("up") == "0":
            return "scan_failed", failed | {"error": protocol.preview(self._no_host_up(), 2000)}
        data = {"scan_id": self.scan.scan_id, "scan_name": self.scan.scan_name, "total_vulnerabilities": self.found}
        if self.finished.get("elapsed"):
            data["duration"] = max(0.0, to_number(self.finished.get("elapsed"), "elapsed"))
        return "scan_completed", data

    def _cut_short(self) -> str:
        if self.xml:
            return "nmap's output ended before the scan finished (interrupted?)"
        said = " / ".join(self.said) or "nothing"
        return protocol.preview(f"nmap wrote no XML (run it with -oX -, and 2>&1 to see its errors); it said: {said}",
                                2000)

    def _no_host_up(self) -> str:
        if self.unresolved:
            return f"no host scanned: nmap could not resolve {', '.join(map(repr, self.unresolved))}"
        if self.down:
            return f"no host up: {', '.join(self.down[:20])} — down, or not answering nmap's ping probes (try -Pn)"
        hosts = self.hosts if self.hosts is not None else ET.Element("hosts")
        if hosts.get("total") == "0":
            return "no host scanned: nmap found no target (unresolvable names or an empty list?)"
        return f"no host up: {hosts.get('down', '?')} of {hosts.get('total', '?')} down, or not answering nmap's " \
               "ping probes (try -Pn)"


def convert(lines: Iterable[str], scan: Scan) -> Iterator[Item]:
    run = Run(scan)
    host: list[str] | None = None  # lines of the <host> being read
    host_line = number = 0
    for number, line in enumerate(lines, 1):
        if host is None and HOST_START.search(line):
            host, host_line = [line[HOST_START.search(line).start():]], number
        elif host is not None:
            host.append(line)
        if host is not None:
            if "</host>" not in line:
                continue
            text, host = "".join(host), None
            yield from _host(run, host_line, text[:text.index("</host>") + len("</host>")])
            continue
        yield from _line(run, number, line)
    if host is not None:
        yield host_line, None, "host: the output ended inside it"
    if not run.started:
        yield number, "scan_started", run.start(None)
    event, data = run.end()
    yield number, event, {k: v for k, v in data.items() if v is not None}


def _host(run: Run, number: int, text: str) -> Iterator[Item]:
    try:
        found = run.host(text)
    except (ET.ParseError, ValueError) as exc:
        yield number, None, f"host: {exc}"
        return
    for data in found:
        run.found += 1
        yield number, "vulnerability_found", data


def _line(run: Run, number: int, line: str) -> Iterator[Item]:
    unresolved = UNRESOLVED.search(line)
    if unresolved:
        run.unresolved.append(unresolved.group(1)[:200])
    elif not run.started and line.strip() and not line.lstrip().startswith("<") and len(run.said) < 5:
        run.said.append(line.strip()[:300])
    for match in ELEMENT.finditer(line):
        kind = match.group(1)
        try:
            element = _element(match.group(0))
            if kind == "nmaprun":
                yield number, "scan_started", run.start(element)
            elif kind.startswith("task"):
                yield number, "scan_progress", run.progress(kind, element)
            elif kind == "finished":
                run.finished = element
            else:
                run.hosts = element
        except ValueError as exc:
            yield number, None, f"{kind}: {exc}"


if __name__ == "__main__":
    sys.exit(main("nmap", convert, __doc__))

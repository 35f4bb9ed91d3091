"""nmap's XML output → scan_started, scan_progress, vulnerability_found (open ports), and
scan_completed or scan_failed.

    nmap -sV --stats-every 5s -oX - 10.0.0.0/24 | python -m realtime.adapters.nmap

`<nmaprun>` starts the scan (the target defaults to the last argument of nmap's command line).
`<taskprogress>` (written every `--stats-every`) is progress: nmap runs several tasks, each from
0 to 100 %, so the phase names the task. Each open port of a `<host>` is an `info` finding.
`<finished exit="success">` completes the scan; `exit="error"`, or output that ends before it,
fails it. The output is read as it comes, element by element, so a broken element is reported
with its line number and skipped without losing the rest.
"""
from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Iterator

from realtime import protocol
from realtime.adapters import Scan, main, to_number
from realtime.publisher import Item

HOST_START = re.compile(r"<host[\s>]")
ELEMENT = re.compile(r"<(nmaprun|taskprogress|finished)\b[^<>]*>?")


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


def started(run: ET.Element, scan: Scan) -> dict:
    args = run.get("args", "nmap")
    words = [w for w in args.split() if not w.startswith("-") and w != "nmap"]
    target = scan.target or (words[-1] if words else None)
    data = {"scan_id": scan.scan_id, "scan_name": (scan.scan_name or args)[:200],
            "target": target[:2048] if target else None}
    return {k: v for k, v in data.items() if v is not None}


def progress(task: ET.Element, scan: Scan, found: int) -> dict:
    name = task.get("task") or "nmap"
    percent = min(100.0, max(0.0, to_number(task.get("percent"), "percent")))
    step = f"{name}: {percent:g} %"
    if task.get("remaining"):
        step += f", about {int(to_number(task.get('remaining'), 'remaining'))} s left"
    return {"scan_id": scan.scan_id, "progress": percent, "phase": name[:100], "current_step": step,
            "vulnerabilities_found": found}


def open_ports(host: ET.Element, scan: Scan) -> list[dict]:
    address = next((a.get("addr") for a in host.iter("address") if a.get("addrtype") in ("ipv4", "ipv6")),
                   None) or next((a.get("addr") for a in host.iter("address")), None)
    if not address:
        raise ValueError("host without an address")
    name = next((h.get("name") for h in host.iter("hostname") if h.get("name")), None)
    findings = []
    for port in host.iter("port"):
        state = port.find("state")
        if state is None or state.get("state") != "open":
            continue
        number, proto = port.get("portid"), port.get("protocol", "tcp")
        if not number or not number.isdigit():
            raise ValueError(f"port without a number on {address}")
        service = port.find("service")
        what = " ".join(filter(None, [service.get(k) for k in ("name", "product", "version")])) \
            if service is not None else ""
        details = [f"{proto}/{number} open ({state.get('reason', 'no reason given')}) on {address}"]
        if service is not None and service.get("extrainfo"):
            details.append(service.get("extrainfo"))
        findings.append({
            "scan_id": scan.scan_id,
            "id": f"nmap-{scan.scan_id}-{address}-{proto}-{number}"[:128],
            "title": (f"Open port {number}/{proto}" + (f" ({what})" if what else ""))[:500],
            "severity": "info",
            "url": f"{name or address}:{number}"[:2048],
            "vulnerability_type": "open_port",
            "description": "; ".join(details)[:protocol.DESCRIPTION_LIMIT],
        })
    return findings


def convert(lines: Iterable[str], scan: Scan) -> Iterator[Item]:
    found = 0
    finished = False
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
            text = "".join(host)
            host = None
            try:
                ports = open_ports(ET.fromstring(text[:text.index("</host>") + len("</host>")]), scan)
            except (ET.ParseError, ValueError) as exc:
                yield host_line, None, f"host: {exc}"
                continue
            for data in ports:
                found += 1
                yield host_line, "vulnerability_found", data
            continue
        for match in ELEMENT.finditer(line):
            kind = match.group(1)
            try:
                element = _element(match.group(0))
                if kind == "nmaprun":
                    yield number, "scan_started", started(element, scan)
                elif kind == "taskprogress":
                    yield number, "scan_progress", progress(element, scan, found)
                else:
                    finished = True
                    yield number, *_finished(element, scan, found)
            except ValueError as exc:
                yield number, None, f"{kind}: {exc}"
    if host is not None:
        yield host_line, None, "host: the output ended inside it"
    if not finished:
        yield number, "scan_failed", {"scan_id": scan.scan_id,
                                      "error": "nmap's output ended before the scan finished (interrupted?)"}


def _finished(element: ET.Element, scan: Scan, found: int) -> tuple[str, dict]:
    if element.get("exit", "success") != "success":
        why = element.get("errormsg") or element.get("summary") or "nmap exited with an error"
        return "scan_failed", {"scan_id": scan.scan_id, "error": protocol.preview(why, 2000)}
    data = {"scan_id": scan.scan_id, "total_vulnerabilities": found}
    if element.get("elapsed"):
        data["duration"] = max(0.0, to_number(element.get("elapsed"), "elapsed"))
    return "scan_completed", data


if __name__ == "__main__":
    sys.exit(main("nmap", convert, __doc__))

"""One nmap `<host>` element → findings: each open port (`info`, with its service, CPEs and the
output of scripts that are not findings themselves), and the NSE results that are findings:

- `vulners`: one finding per listed vulnerability, its severity from its CVSS score the way
  DefectDojo's nmap importer maps it (≥ 9 critical, ≥ 7 high, ≥ 4 medium, > 0 low, else info);
- `ftp-anon` when it says "Anonymous FTP login allowed" (medium);
- `*-vuln-*` scripts (nmap's vulns library) whose state is VULNERABLE or LIKELY VULNERABLE
  (high, or from their CVSS score).

Port and host scripts alike; host scripts (`<hostscript>`) point at the host.
"""
from __future__ import annotations

import hashlib
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from realtime import fingerprint, protocol
from realtime.adapters import Scan, severity_of, tool_time

VULNERS_LINE = re.compile(r"^\s*(\S+)\s+(\d+(?:\.\d+)?)\s+(https?://\S+)", re.M)
VULNERABLE = ("VULNERABLE", "LIKELY VULNERABLE")


def _number(text: str | None) -> float | None:
    try:
        value = float(text or "")
    except ValueError:
        return None
    return value if 0 <= value <= 10 else None


@dataclass
class Host:
    """What a finding on this host carries: where, its names, OS guess and nmap's time."""

    address: str
    label: str  # the hostname, else the address ([…] for IPv6)
    details: dict[str, str] = field(default_factory=dict)
    found_at: str | None = None

    def url(self, port: str | None) -> str:
        return f"{self.label}:{port}" if port else self.label


def read_host(element: ET.Element) -> Host:
    addresses = {a.get("addrtype"): a.get("addr") for a in element.iter("address") if a.get("addr")}
    address = addresses.get("ipv4") or addresses.get("ipv6") or next(iter(addresses.values()), None)
    if not address:
        raise ValueError("host without an address")
    names = [h.get("name") for h in element.iter("hostname") if h.get("name")]
    bracketed = f"[{address}]" if ":" in address else address
    host = Host(address, names[0] if names else bracketed,
                found_at=tool_time(element.get("endtime") or element.get("starttime")))
    host.details["address"] = address
    if names:
        host.details["hostnames"] = ", ".join(dict.fromkeys(names))
    match = element.find("os/osmatch")
    if match is not None:
        host.details["os"] = f"{match.get('name')} ({match.get('accuracy', '?')} %)"
    return host


def is_down(element: ET.Element) -> str | None:
    """Why nmap says the host is down (None: it is up)."""
    status = element.find("status")
    if status is not None and status.get("state") == "down":
        return status.get("reason") or "down"
    return None


def findings(element: ET.Element, scan: Scan) -> list[dict]:
    host = read_host(element)
    found = []
    for port in element.iter("port"):
        state = port.find("state")
        if state is None or state.get("state") != "open":
            continue
        number, proto = port.get("portid"), port.get("protocol", "tcp")
        if not number or not number.isdigit():
            raise ValueError(f"port without a number on {host.address}")
        scripts = port.findall("script")
        found.append(_open_port(port, state, host, scan, [s for s in scripts if not _is_finding(s)]))
        for script in filter(_is_finding, scripts):
            found += _script_findings(script, host, scan, f"{proto}/{number}", number)
    for script in element.findall("hostscript/script"):
        found += _script_findings(script, host, scan, "host", None) if _is_finding(script) else []
    return found


def _is_finding(script: ET.Element) -> bool:
    sid = script.get("id", "")
    return sid in ("vulners", "ftp-anon") or "-vuln-" in sid


def _finding(scan: Scan, host: Host, key: tuple, **data: object) -> dict:
    digest = hashlib.sha1("\x1f".join(map(str, (scan.scan_id, host.address, *key))).encode()).hexdigest()[:20]
    base = {"scan_id": scan.scan_id, "id": f"nmap-{digest}", "found_at": host.found_at,
            "fingerprint": fingerprint.of("nmap", host.address, *key)}
    return {k: v for k, v in (base | data).items() if v not in (None, "", [], {})}


def _open_port(port: ET.Element, state: ET.Element, host: Host, scan: Scan, scripts: list[ET.Element]) -> dict:
    number, proto = port.get("portid"), port.get("protocol", "tcp")
    service = port.find("service")
    service = service if service is not None else ET.Element("service")
    what = " ".join(filter(None, [service.get(k) for k in ("name", "product", "version")]))
    details = dict(host.details)
    details |= {k: service.get(k) for k in ("product", "version", "extrainfo") if service.get(k)}
    cpes = [c.text for c in service.iter("cpe") if c.text]
    if cpes:
        details["cpe"] = ", ".join(cpes)
    for script in scripts:  # not findings themselves: what they said belongs to the port
        details[f"script {script.get('id')}"[:64]] = (script.get("output") or "").strip()[:4000]
    return _finding(scan, host, (proto, number),
                    title=(f"Open port {number}/{proto}" + (f" ({what})" if what else ""))[:500],
                    severity="info", url=host.url(number)[:2048], vulnerability_type="open_port",
                    description=f"{proto}/{number} open ({state.get('reason', 'no reason given')}) on {host.address}"
                                + (f"; {service.get('extrainfo')}" if service.get("extrainfo") else ""),
                    details={k[:64]: str(v)[:4000] for k, v in list(details.items())[:30]})


def _script_findings(script: ET.Element, host: Host, scan: Scan, where: str, port: str | None) -> list[dict]:
    sid = script.get("id", "")
    output = (script.get("output") or "").strip()
    common = {"url": host.url(port)[:2048], "details": {**host.details, "script": sid, "where": where}}
    if sid == "vulners":
        return [_finding(scan, host, (where, sid, vid), **common, **data) for vid, data in _vulners(script, output)]
    if sid == "ftp-anon":
        if "Anonymous FTP login allowed" not in output:
            return []
        return [_finding(scan, host, (where, sid), **common, title="Anonymous FTP login allowed", severity="medium",
                         vulnerability_type="ftp-anon", evidence=output[:protocol.EVIDENCE_LIMIT],
                         description=f"Anonymous FTP login allowed on {where} of {host.address}")]
    return [_finding(scan, host, (where, sid, title), **common, **data) for title, data in _vulns(script, output)]


def _vulners(script: ET.Element, output: str) -> list[tuple[str, dict]]:
    """(id, finding fields) per vulnerability: from the script's tables (nmap ≥ 7.70), else its
    text (`\\tCVE-2018-15919\\t5.0\\thttps://vulners.com/cve/CVE-2018-15919`)."""
    rows = []
    for table in script.iter("table"):
        elems = {e.get("key"): (e.text or "") for e in table.findall("elem")}
        if elems.get("id"):
            kind = elems.get("type") or "cve"
            rows.append((elems["id"], _number(elems.get("cvss")), f"https://vulners.com/{kind}/{elems['id']}",
                         elems.get("is_exploit") == "true"))
    if not rows:
        rows = [(vid, _number(score), link, False) for vid, score, link in VULNERS_LINE.findall(output)]
    seen: dict[str, dict] = {}
    for vid, cvss, link, exploit in rows:
        seen.setdefault(vid, {
            "title": (vid + (" (exploit available)" if exploit else ""))[:500], "severity": severity_of(cvss),
            "cvss_score": cvss, "vulnerability_type": "vulners", "references": [link[:2048]],
            "cve": [vid[:32]] if vid.upper().startswith("CVE-") else None,
            "description": f"vulners lists {vid}" + (f" (CVSS {cvss:g})" if cvss is not None else "")})
    return list(seen.items())


def _vulns(script: ET.Element, output: str) -> list[tuple[str, dict]]:
    """(title, finding fields) per VULNERABLE entry of an nmap vulns-library script."""
    found = []
    for table in script.findall("table"):
        elems = {e.get("key"): (e.text or "") for e in table.findall("elem")}
        if elems.get("state", "").upper() not in VULNERABLE:
            continue
        subtables = {t.get("key"): [e.text or "" for e in t.iter("elem")] for t in table.findall("table")}
        cvss = next((_number(s) for s in subtables.get("scores", []) if _number(s) is not None), None)
        ids = [i.split(":", 1)[-1] for i in subtables.get("ids", [])]
        title = elems.get("title") or table.get("key") or script.get("id", "")
        description = " ".join(subtables.get("description", []))[:protocol.DESCRIPTION_LIMIT]
        found.append((title, {"title": title[:500], "severity": severity_of(cvss, "high"), "cvss_score": cvss,
                              "vulnerability_type": script.get("id", "")[:100],
                              "evidence": output[:protocol.EVIDENCE_LIMIT], "description": description or None,
                              "cve": [i[:32] for i in ids if i.upper().startswith("CVE-")][:50] or None,
                              "references": [r[:2048] for r in subtables.get("refs", [])][:50] or None}))
    if not found and not script.findall("table") and re.search(r"State: (LIKELY )?VULNERABLE", output):
        found.append((script.get("id", ""), {"title": script.get("id", "")[:500], "severity": "high",
                                             "vulnerability_type": script.get("id", "")[:100],
                                             "evidence": output[:protocol.EVIDENCE_LIMIT]}))
    return found

"""Adapters: sample output in each tool's documented format (nuclei's JSONL fields, nmap's XML
DTD), piped through the adapter's command into a real gateway, checked in a dashboard's store."""
import subprocess
import sys

from tests.conftest import ROOT, wait_for

SAMPLES = ROOT / "tests/samples"


def pipe(tool, url, *args, stdin):
    return subprocess.run([sys.executable, "-m", f"realtime.adapters.{tool}", "--url", url, *args],
                          input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=60)


def finished(store, scan_id, status):
    return lambda: (scan := store.snapshot().scans.get(scan_id)) is not None and scan.status == status and scan


def test_nuclei_results_and_statistics(gateway, dashboard):
    done = pipe("nuclei", gateway.url, "--scan-id", "n1", "--target", "https://shop.example.com",
                stdin=(SAMPLES / "nuclei.jsonl").read_text())
    assert done.returncode == 0, done.stderr
    assert "line 8: skipped: Unterminated string" in done.stderr  # a cut-off line
    assert "line 9: skipped: unknown severity catastrophic" in done.stderr
    assert "scan n1: published 9 events, skipped 2 lines" in done.stderr
    scan = wait_for(finished(dashboard, "n1", "completed"))
    assert (scan.target, scan.name, scan.progress) == \
        ("https://shop.example.com", "nuclei https://shop.example.com", 100)
    assert [p.progress for p in scan.history][:3] == [10, 55, 100]  # from -stats -sj lines
    assert scan.duration == 15  # nuclei's own "0:00:15"
    findings = {(v.title, v.url): v for v in dashboard.snapshot().vulnerabilities if v.scan_id == "n1"}
    assert len(findings) == 3  # two tech-detect matchers on one URL stay two findings
    assert sum(1 for v in dashboard.snapshot().vulnerabilities if v.scan_id == "n1") == 4
    log4j = findings[("Apache Log4j2 Remote Code Injection", "https://shop.example.com/api/login")]
    assert (log4j.severity, log4j.cvss_score) == ("critical", 10)
    assert (log4j.extras["cve"], log4j.extras["cwe"]) == (["CVE-2021-44228"], ["CWE-502"])
    assert findings[("Git Configuration - Detect", "https://shop.example.com/.git/config")].severity == "medium"


def test_nmap_xml_progress_ports_and_completion(gateway, dashboard):
    done = pipe("nmap", gateway.url, "--scan-id", "m1", stdin=(SAMPLES / "nmap.xml").read_text())
    assert done.returncode == 0, done.stderr
    assert "line 16: skipped: taskprogress: percent is not a number: half" in done.stderr
    assert "line 20: skipped: taskprogress: not well-formed XML" in done.stderr
    assert "line 38: skipped: host: mismatched tag" in done.stderr
    scan = wait_for(finished(dashboard, "m1", "completed"))
    assert scan.target == "192.0.2.10" and scan.duration == 27.12
    # one overall scale: SYN Stealth Scan 35.5 % is 24.2 % overall, Service scan 66.67 % is 66.67 %
    assert [(p.progress, p.phase) for p in scan.history][:6] == [
        (10, "SYN Stealth Scan"), (24.2, "SYN Stealth Scan"), (50, "SYN Stealth Scan"), (50, "Service scan"),
        (66.67, "Service scan"), (75, "Service scan")]
    ports = sorted(v.url for v in dashboard.snapshot().vulnerabilities if v.scan_id == "m1")
    assert ports == ["office.example.com:22", "office.example.com:443", "office.example.com:80"]  # not filtered 8080
    assert all(v.severity == "info" for v in dashboard.snapshot().vulnerabilities if v.scan_id == "m1")


def test_nmap_output_that_stops_early_fails_the_scan(gateway, dashboard):
    cut = (SAMPLES / "nmap.xml").read_text().split("<host ")[0]  # nmap killed mid-scan
    done = pipe("nmap", gateway.url, "--scan-id", "m2", stdin=cut)
    assert done.returncode == 0, done.stderr
    scan = wait_for(finished(dashboard, "m2", "failed"))
    assert "ended before the scan finished" in scan.error


def test_jsonl_fills_in_the_scan_and_skips_bad_lines(gateway, dashboard):
    lines = "\n".join([
        '{"event": "scan_started", "data": {"scan_name": "Custom tool", "target": "10.0.0.0/24"}}',
        '{"event": "scan_progress", "data": {"progress": 50}}',
        '{"event": "vulnerability_found", "data": {"title": "Default credentials", "severity": "HIGH"}}',
        '{"event": "scan_progress", "data": {"progress": "lots"}}',
        '{"oops": 1}',
        '{"event": "scan_completed", "data": {}}',
    ])
    done = pipe("jsonl", gateway.url, "--scan-id", "j1", stdin=lines)
    assert done.returncode == 0, done.stderr
    assert "line 4: skipped: progress: Input should be a valid number" in done.stderr
    assert 'line 5: skipped: expected {"event": "<name>", "data": {...}}' in done.stderr
    scan = wait_for(finished(dashboard, "j1", "completed"))
    assert scan.name == "Custom tool" and scan.target == "10.0.0.0/24"
    assert [v.severity for v in dashboard.snapshot().vulnerabilities if v.scan_id == "j1"] == ["high"]


def test_adapter_reports_a_refusing_or_missing_gateway(tmp_path):
    done = pipe("jsonl", "http://127.0.0.1:9", "--scan-id", "x", "--retries", "1",
                stdin='{"event": "scan_started", "data": {}}')
    assert done.returncode == 2 and "cannot publish" in done.stderr
    done = subprocess.run([sys.executable, "-m", "realtime.adapters.nmap", str(tmp_path / "missing.xml")],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 2 and "cannot read" in done.stderr

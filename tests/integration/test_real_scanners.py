"""Scanners as they really write: public projects' nuclei, nmap and SARIF fixtures (see
tests/samples/real/SOURCES) and nmap runs made here against loopback listeners, piped through
the adapters' commands into a real gateway and checked in a dashboard's store."""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT, wait_for
from tests.integration.scanners import Listeners, adapter, ended, nmap

SAMPLES = ROOT / "tests/samples"
REAL = SAMPLES / "real"
needs_nmap = pytest.mark.skipif(shutil.which("nmap") is None, reason="nmap is not installed (tests/run.sh installs it)")

# Every fixture: (adapter, findings, end states). Findings = distinct results that matched.
FIXTURES = {
    "real/nuclei/defectdojo-many_findings.jsonl": ("nuclei", 20, ["completed"]),  # 20 distinct lines
    "real/nuclei/defectdojo-multiple_v3.json": ("nuclei", 6, ["completed"]),  # -je array of 6
    "real/nuclei/defectdojo-issue_9201.jsonl": ("nuclei", 1, ["completed"]),
    "real/nmap/defectdojo-nmap_script_vulners.xml": ("nmap", 3, ["completed"]),  # 1 open port + 2 CVEs
    "real/sarif/defectdojo-dockle_0_3_15.sarif": ("sarif", 4, ["completed"]),
    "real/sarif/defectdojo-no_runs.sarif": ("sarif", 0, ["completed"]),
    "real/sarif/gitleaks-sarif_simple.sarif": ("sarif", 1, ["completed"]),
    "handwritten/nuclei-ftl-no-templates.log": ("nuclei", 0, ["failed"]),
    "handwritten/nuclei-killed-at-9.log": ("nuclei", 1, ["failed"]),
    "handwritten/nuclei-final-stats-without-percent.log": ("nuclei", 0, ["completed"]),
    "handwritten/nuclei-matcher-status.jsonl": ("nuclei", 1, ["completed"]),  # 1 match, 2 non-matches
    "handwritten/sarif-codeql-two-runs.sarif": ("sarif", 2, ["completed", "failed"]),  # suppressed, pass left out
    "handwritten/nmap-smb-vuln-hostscript.xml": ("nmap", 3, ["completed"]),  # 2 open ports + 1 VULNERABLE
}


def dry_run(tool, path):
    done = subprocess.run([sys.executable, "-m", f"realtime.adapters.{tool}", "--dry-run", "--scan-id", "fx",
                           str(path)], capture_output=True, text=True, cwd=ROOT, timeout=60)
    return done, [json.loads(line) for line in done.stdout.splitlines()]


def test_every_fixture_is_listed():
    on_disk = {str(p.relative_to(SAMPLES)) for p in SAMPLES.glob("*/*/*") if p.name != "SOURCES"}
    on_disk |= {str(p.relative_to(SAMPLES)) for p in (SAMPLES / "handwritten").iterdir()}
    assert on_disk == set(FIXTURES)
    sources = (REAL / "SOURCES").read_text()
    assert all(Path(name).name in sources for name in FIXTURES)


@pytest.mark.parametrize("name", FIXTURES)
def test_fixture_parses_to_its_distinct_results_and_end_state(name):
    tool, count, ends = FIXTURES[name]
    done, events = dry_run(tool, SAMPLES / name)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    assert "skipped" not in done.stderr, done.stderr
    findings = [e["data"] for e in events if e["event"] == "vulnerability_found"]
    assert len(findings) == len({f["id"] for f in findings}) == count
    assert [e["event"].removeprefix("scan_") for e in events if e["event"] in ("scan_completed", "scan_failed")] == ends


@pytest.mark.parametrize("name", [n for n in FIXTURES if n.startswith("real/nuclei")])
def test_nuclei_fixture_findings_are_its_distinct_matching_results(name):
    text = (SAMPLES / name).read_text()
    results = json.loads(text) if text.lstrip().startswith("[") else [json.loads(line) for line in text.splitlines()]
    distinct = {json.dumps(r, sort_keys=True) for r in results if r.get("matcher-status") is not False}
    assert FIXTURES[name][1] == len(distinct)


def findings(store, scan_id):
    return [v for v in store.snapshot().vulnerabilities if v.scan_id == scan_id]


def publish(gateway, tool, scan_id, stdin, *args):
    done = adapter(tool, gateway.url, "--scan-id", scan_id, *args, stdin=stdin)
    assert done.returncode == 0 and "Traceback" not in done.stderr, done.stderr
    return done


# ---- nuclei ----------------------------------------------------------------------------------

def test_nuclei_2x_field_names_keep_every_finding(gateway, dashboard):
    """Before: templateID/matched/matcher_name were not read, 20 results became 3 findings."""
    publish(gateway, "nuclei", "dd1", (REAL / "nuclei/defectdojo-many_findings.jsonl").read_text())
    wait_for(ended(dashboard, "dd1", "completed"))
    found = {(v.vulnerability_type, v.url, (v.extras or {}).get("details", {}).get("matcher")): v
             for v in findings(dashboard, "dd1")}
    assert len(found) == 20
    assert ("openssh5.3-detect", "nuclei-example.com:22", None) in found  # `matched`, not the host
    assert ("tech-detect", "http://127.0.0.1:9090/WebWolf", "font-awesome") in found
    nginx = found[("nginx-version", "https://nuclei-example.com", None)]
    assert nginx.extras["extracted"] == ["nginx/1.14.2"]
    # No statistics line: the receiver's clock times the scan, findings included; nuclei's own time is a detail.
    assert nginx.extras["details"]["nuclei time"] == "2021-05-20T11:11:02.287655+03:00"
    assert nginx.found_at >= dashboard.snapshot().scans["dd1"].started_at


def test_nuclei_keeps_what_a_triager_needs(gateway, dashboard):
    publish(gateway, "nuclei", "dd2", (REAL / "nuclei/defectdojo-many_findings.jsonl").read_text())
    publish(gateway, "nuclei", "dd3", (REAL / "nuclei/defectdojo-issue_9201.jsonl").read_text())
    wait_for(ended(dashboard, "dd3", "completed"))
    by_type = {v.vulnerability_type: v for v in findings(dashboard, "dd2") + findings(dashboard, "dd3")}
    cve = by_type["CVE-2018-15473"]
    assert cve.cvss_score == 5.3
    assert cve.extras["cve"] == ["CVE-2018-15473"] and cve.extras["cwe"] == ["CWE-362"]
    assert cve.extras["cvss_vector"] == "CVSS:3.0/AV:N/AC:L/PR:N/UI:N/S:U/C:L/I:N/A:N"
    assert cve.extras["references"] == ["https://nvd.nist.gov/vuln/detail/cve-2018-15473"]
    assert cve.extras["tags"] == ["network", "openssh", "cve", "cve2018"]
    assert cve.extras["extracted"] == ["SSH-2.0-OpenSSH_7.4p1 Debian-10+deb9u7"]
    assert by_type["prometheus-metrics"].extras["evidence"].startswith("curl -X 'GET'")
    assert by_type["openssh5.3-detect"].extras["references"][0] == "http://seclists.org/fulldisclosure/2016/Jul/51"
    favicon = by_type["favicon-detect"]
    assert favicon.extras["details"]["matcher"] == "asp.net-favicon"
    assert favicon.extras["evidence"].endswith("'https://example.com/favicon.ico'")


def test_nuclei_je_array_and_extracted_values(gateway, dashboard):
    """Before: a -je file's objects were all skipped and tls12/tls13 collapsed into one finding."""
    publish(gateway, "nuclei", "je1", (REAL / "nuclei/defectdojo-multiple_v3.json").read_text())
    scan = wait_for(ended(dashboard, "je1", "completed"))
    assert scan.vulnerability_count == 6
    tls = sorted(v.extras["extracted"][0] for v in findings(dashboard, "je1") if v.vulnerability_type == "tls-version")
    assert tls == ["tls12", "tls13"]


@pytest.mark.parametrize(("sample", "error", "progress"), [
    ("nuclei-ftl-no-templates.log", "nuclei: Could not run nuclei: no templates provided for scan", 0),
    ("nuclei-killed-at-9.log", "nuclei's output ended at 9 % of its requests (killed or interrupted?)", 9),
])
def test_a_failed_nuclei_run_fails(gateway, dashboard, sample, error, progress):
    """Before: both became "completed, 100 %"."""
    publish(gateway, "nuclei", "nf", (SAMPLES / "handwritten" / sample).read_text())
    scan = wait_for(ended(dashboard, "nf", "failed"))
    assert (scan.error, scan.progress) == (error, progress)


def test_a_final_statistics_line_without_percent_ends_the_run(gateway, dashboard):
    sample = SAMPLES / "handwritten/nuclei-final-stats-without-percent.log"
    done = publish(gateway, "nuclei", "ns", sample.read_text())
    assert "skipped 0 lines" in done.stderr  # before: "line 3: skipped"
    scan = wait_for(ended(dashboard, "ns", "completed"))
    assert [p.progress for p in scan.history] == [40, 100, 100] and scan.duration == 9


def test_nuclei_non_matches_are_not_findings(gateway, dashboard):
    publish(gateway, "nuclei", "ms", (SAMPLES / "handwritten/nuclei-matcher-status.jsonl").read_text())
    wait_for(ended(dashboard, "ms", "completed"))
    assert [v.title for v in findings(dashboard, "ms")] == ["Git Configuration - Detect"]


# ---- nmap: files ----------------------------------------------------------------------------

def test_nmap_vulners_one_finding_per_cve_with_nmaps_own_times(gateway, dashboard):
    publish(gateway, "nmap", "nv", (REAL / "nmap/defectdojo-nmap_script_vulners.xml").read_text())
    scan = wait_for(ended(dashboard, "nv", "completed"))
    assert scan.started_at == 1581930445 and scan.duration == 12.18  # nmap's start, not "now"
    assert scan.finished_at == 1581930455  # nmap's end too (before: "now", and the page showed 59404 h)
    by_title = {v.title: v for v in findings(dashboard, "nv")}
    assert set(by_title) == {"Open port 5022/tcp (ssh OpenSSH 7.4)", "CVE-2018-15919", "CVE-2017-15906"}
    cve = by_title["CVE-2018-15919"]
    assert (cve.severity, cve.cvss_score, cve.url, cve.found_at) == ("medium", 5.0, "192.168.0.1:5022", 1581930455)
    assert cve.extras["references"] == ["https://vulners.com/cve/CVE-2018-15919"]
    port = by_title["Open port 5022/tcp (ssh OpenSSH 7.4)"]
    assert port.extras["details"]["cpe"] == "cpe:/a:openbsd:openssh:7.4"


def test_nmap_vulns_library_scripts_host_names_and_os(gateway, dashboard):
    publish(gateway, "nmap", "sv", (SAMPLES / "handwritten/nmap-smb-vuln-hostscript.xml").read_text())
    wait_for(ended(dashboard, "sv", "completed"))
    by_type = {v.vulnerability_type: v for v in findings(dashboard, "sv")}
    smb = by_type["smb-vuln-ms17-010"]  # a host script: the finding points at the host
    assert (smb.severity, smb.url, smb.extras["cve"]) == ("high", "fileserver.example.com", ["CVE-2017-0143"])
    assert smb.extras["references"][0] == "https://technet.microsoft.com/en-us/library/security/ms17-010.aspx"
    assert "http-vuln-cve2017-5638" not in by_type  # NOT VULNERABLE
    port = by_type["open_port"]
    assert port.extras["details"]["os"] == "Microsoft Windows 7 SP1 (98 %)"
    assert port.extras["details"]["hostnames"] == "fileserver.example.com"


# ---- nmap: real runs ------------------------------------------------------------------------

@pytest.fixture
def listeners():
    made = []

    def make(host="127.0.0.1"):
        made.append(Listeners(host))
        return made[-1]
    yield make
    for listener in made:
        listener.stop()


@needs_nmap
def test_nmap_progress_is_one_forward_moving_scale_across_tasks(gateway, dashboard, listeners):
    """Before: after "Connect Scan 91.83 %" the store ignored "Service scan 50 %"."""
    up = listeners()
    ports = [up.http(delay) for delay in (0, 1, 2, 3)]
    xml = nmap("-sV", "--stats-every", "1s", "-p", ",".join(map(str, ports)), "-oX", "-", "127.0.0.1")
    publish(gateway, "nmap", "mp", xml)
    scan = wait_for(ended(dashboard, "mp", "completed"))
    points = [(p.progress, p.phase) for p in scan.history]
    assert [p for p, _ in points] == sorted(p for p, _ in points)
    assert any(phase == "Service scan" and 50 < progress < 75 for progress, phase in points), points
    assert scan.current_step is None  # before: "NSE: 99.82 %" stayed after completion
    assert {v.title.split(" (")[1] for v in findings(dashboard, "mp")} == {"http Apache httpd 2.4.41)"}
    assert {v.url for v in findings(dashboard, "mp")} == {f"localhost:{p}" for p in ports}
    assert all(v.extras["details"]["hostnames"] == "localhost" for v in findings(dashboard, "mp"))


@needs_nmap
def test_nmap_ftp_anon_is_a_finding(gateway, dashboard, listeners):
    port = listeners().ftp()
    publish(gateway, "nmap", "fa", nmap("-sV", "--script", "ftp-anon", "-p", str(port), "-oX", "-", "127.0.0.1"))
    wait_for(ended(dashboard, "fa", "completed"))
    anon = next(v for v in findings(dashboard, "fa") if v.vulnerability_type == "ftp-anon")
    assert (anon.title, anon.severity, anon.url) == ("Anonymous FTP login allowed", "medium", f"localhost:{port}")
    assert anon.extras["evidence"].startswith("Anonymous FTP login allowed (FTP code 230)")


@needs_nmap
def test_nmap_ipv6_url_and_several_targets(gateway, dashboard, listeners):
    port6 = listeners("::1").http()
    publish(gateway, "nmap", "v6", nmap("-6", "-n", "-p", str(port6), "-oX", "-", "::1"))
    wait_for(ended(dashboard, "v6", "completed"))
    assert [v.url for v in findings(dashboard, "v6")] == [f"[::1]:{port6}"]  # before: ::1:port

    port = listeners().http()
    publish(gateway, "nmap", "two", nmap("-n", "-p", str(port), "-oX", "-", "127.0.0.1", "127.0.0.2"))
    scan = wait_for(ended(dashboard, "two", "completed"))
    assert scan.target == "127.0.0.1 127.0.0.2"  # before: only the last


@needs_nmap
@pytest.mark.parametrize(("args", "error"), [
    (("-v", "-sn", "-PE", "--disable-arp-ping", "-n", "10.255.255.1"),
     "no host up: 10.255.255.1 (no-response) — down, or not answering nmap's ping probes (try -Pn)"),
    (("-n", "-sn", "-PE", "--disable-arp-ping", "10.255.255.1"),
     "no host up: 1 of 1 down, or not answering nmap's ping probes (try -Pn)"),
    (("nonexistent.invalid",), "no host scanned: nmap could not resolve 'nonexistent.invalid'"),
])
def test_nmap_with_no_host_up_fails_saying_why(gateway, dashboard, args, error):
    """Before: "completed, 0 findings"."""
    publish(gateway, "nmap", "hd", nmap("-oX", "-", *args))
    assert wait_for(ended(dashboard, "hd", "failed"), timeout=30).error == error


@needs_nmap
def test_nmap_that_fails_at_once_names_the_scan_and_says_why(gateway, dashboard):
    publish(gateway, "nmap", "bad", nmap("--bogus", "-oX", "-", "127.0.0.1"), "--target", "127.0.0.1")
    scan = wait_for(ended(dashboard, "bad", "failed"))
    assert (scan.name, scan.target) == ("nmap", "127.0.0.1")
    assert "nmap: unrecognized option '--bogus'" in scan.error

    publish(gateway, "nmap", "nox", nmap("-n", "-p", "1", "127.0.0.1"))  # normal output, no -oX -
    assert "nmap wrote no XML (run it with -oX -" in wait_for(ended(dashboard, "nox", "failed")).error


# ---- SARIF ----------------------------------------------------------------------------------

def test_sarif_runs_rules_levels_and_locations(gateway, dashboard):
    publish(gateway, "sarif", "sa", (SAMPLES / "handwritten/sarif-codeql-two-runs.sarif").read_text())
    codeql = wait_for(ended(dashboard, "sa-1", "completed"))
    assert (codeql.name, codeql.target) == ("CodeQL 2.15.3", "https://github.com/example/shop")
    assert wait_for(ended(dashboard, "sa-2", "failed")).error == "checkov 3.1.0: exit code 2; could not parse main.tf"
    sql = next(v for v in findings(dashboard, "sa-1") if v.vulnerability_type == "js/sql-injection")
    assert (sql.title, sql.severity, sql.cvss_score, sql.url) == (
        "Database query built from user-controlled sources", "high", 8.8, "server/routes/search.js:42")
    assert sql.extras["cwe"] == ["CWE-89"] and sql.extras["remediation"] == "Use a parameterized query."

    publish(gateway, "sarif", "gl", (REAL / "sarif/gitleaks-sarif_simple.sarif").read_text())
    wait_for(ended(dashboard, "gl", "completed"))
    [leak] = findings(dashboard, "gl")
    assert (leak.url, leak.extras["evidence"], leak.severity) == ("auth.py:1", "a secret", "medium")

    publish(gateway, "sarif", "dk", (REAL / "sarif/defectdojo-dockle_0_3_15.sarif").read_text())
    wait_for(ended(dashboard, "dk", "completed"))
    levels = {v.vulnerability_type: v.severity for v in findings(dashboard, "dk")}
    assert levels == {"CIS-DI-0010": "high", "CIS-DI-0005": "low", "CIS-DI-0006": "low", "CIS-DI-0008": "low"}


def test_not_sarif_fails_the_scan_with_a_reason(gateway, dashboard):
    done = adapter("sarif", gateway.url, "--scan-id", "ns1", stdin='{"version": "2.1.0"}')
    assert "not SARIF" in done.stderr and "Traceback" not in done.stderr
    assert "not a SARIF file" in wait_for(ended(dashboard, "ns1", "failed")).error


# ---- default scan ids -----------------------------------------------------------------------

def published_at_once(url, files):
    """The scan ids of adapter runs started together without --scan-id."""
    runs = [subprocess.Popen([sys.executable, "-m", "realtime.adapters.sarif", "--url", url, str(f)],
                             cwd=ROOT, stderr=subprocess.PIPE, text=True) for f in files]
    said = [run.communicate(timeout=60)[1] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], said
    return [line.split()[1].rstrip(":") for line in said]  # "scan <id>: published …"


def test_runs_without_a_scan_id_in_the_same_second_are_separate_scans(gateway, dashboard):
    """Before: `<tool>-<date-time>` to the second merged them: gitleaks' finding landed in the
    empty file's scan, and gitleaks' name was lost."""
    files = [REAL / "sarif/defectdojo-no_runs.sarif", REAL / "sarif/gitleaks-sarif_simple.sarif"]
    for _ in range(5):  # until both runs fall in the same second (nearly always the first time)
        ids = published_at_once(gateway.url, files)
        if len({re.match(r"sarif-(\d{8}-\d{6})", i).group(1) for i in ids}) == 1:
            break
    assert len(set(ids)) == 2, ids
    empty, leaks = (wait_for(ended(dashboard, i, "completed")) for i in ids)
    assert (empty.name, empty.vulnerability_count) == ("SARIF tool", 0)
    assert leaks.name.startswith("gitleaks") and leaks.vulnerability_count == 1


# ---- nmap: hosts that timed out -------------------------------------------------------------
# A listener that stays silent until asked keeps nmap's service scan (-sV) waiting ~6 s: a
# --host-timeout of 2 s gives up on it every time.

@needs_nmap
def test_nmap_whose_every_host_timed_out_fails_saying_so(gateway, dashboard, listeners):
    """Before: "completed, 0 findings"."""
    port = listeners().http()
    publish(gateway, "nmap", "to", nmap("-sV", "-n", "--host-timeout", "2s", "-p", str(port), "-oX", "-", "127.0.0.1"))
    assert wait_for(ended(dashboard, "to", "failed")).error == "host 127.0.0.1 timed out (--host-timeout)"


@needs_nmap
def test_nmap_with_some_hosts_timed_out_completes_naming_them(gateway, dashboard, listeners):
    slow, quick = listeners().http(), listeners("127.0.0.2").ftp()
    xml = nmap("-sV", "-n", "--host-timeout", "3s", "-p", f"{slow},{quick}", "-oX", "-", "127.0.0.1", "127.0.0.2")
    publish(gateway, "nmap", "pt", xml)
    wait_for(ended(dashboard, "pt", "completed"))
    assert [v.url for v in findings(dashboard, "pt")] == [f"127.0.0.2:{quick}"]
    [note] = wait_for(lambda: [n for n in dashboard.snapshot().notifications if n.scan_id == "pt"])
    assert (note.type, note.title) == ("warning", "Hosts not fully scanned")
    assert note.message == "host 127.0.0.1 timed out (--host-timeout): not fully scanned, so findings may be missing"

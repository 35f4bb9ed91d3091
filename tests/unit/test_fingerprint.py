"""Finding identity (realtime/fingerprint.py) and the one-gateway registry's stamping, diffs,
bounds and --state-db round trip (realtime/gateway/registry.py), in process."""
import hashlib

from realtime import fingerprint, protocol
from realtime.gateway.registry import FP, MEMBER, SCAN, TRIAGE, FindingRegistry
from realtime.options import GatewayOptions

T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z


def test_the_recipe_is_the_documented_one():
    assert fingerprint.of("nuclei", "tech-detect", "https://a.example", None) == \
        "fp-" + hashlib.sha256(b"nuclei\x1ftech-detect\x1fhttps://a.example\x1f").hexdigest()[:32]
    assert fingerprint.host("HTTPS://Shop.Example.com:443/x") == "shop.example.com"
    assert fingerprint.host("http://shop.example.com:8443/") == "shop.example.com:8443"
    assert fingerprint.host("Shop.example.com:22") == "shop.example.com:22"
    assert fingerprint.host("http://[::1]:80/") == "::1"
    assert fingerprint.host("http://bad:port/") == ""
    assert fingerprint.location("https://a/q?sid=1&b=2&a=&sid=3") == "/q?a&b&sid"
    assert fingerprint.location("https://a") == "/"


def test_derived_fingerprints_ignore_volatile_query_values_and_host_spelling():
    one = fingerprint.derive("https://shop.example.com", "XSS", "https://Shop.example.com:443/s?q=1&t=1700000000")
    two = fingerprint.derive(None, "XSS", "https://shop.example.com/s?t=1800000000&q=2")
    assert one == two
    assert one != fingerprint.derive(None, "XSS", "https://shop.example.com/s?q=1&page=2")  # another parameter
    assert one != fingerprint.derive(None, "SQLi", "https://shop.example.com/s?q=1&t=1")
    # Without a URL, the scan's target says where.
    assert fingerprint.derive("https://a.example", "Weak TLS", None) != fingerprint.derive("https://b.example",
                                                                                           "Weak TLS", None)
    assert fingerprint.same_target("HTTPS://Shop.example.com:443/") == fingerprint.same_target("https://shop.example.com")


def registry(**options) -> FindingRegistry:
    return FindingRegistry(GatewayOptions(**options), persist=True)


def finding(scan, title, url="https://shop.example.com/a", **extra):
    return protocol.wire("vulnerability_found", {"scan_id": scan, "title": title, "severity": "high", "url": url,
                                                 **extra})


def run(reg, scan, titles, now, target="https://shop.example.com"):
    reg.stamp("scan_started", protocol.wire("scan_started", {"scan_id": scan, "target": target}))
    stamped = [reg.stamp("vulnerability_found", finding(scan, t), now=now) for t in titles]
    completed = reg.stamp("scan_completed", protocol.wire("scan_completed", {"scan_id": scan}))
    return stamped, completed


def test_a_rescan_stamps_new_and_known_and_its_diff_counts_the_fixed():
    reg = registry()
    first, done = run(reg, "s1", ["a", "b", "c"], now=T0)
    assert [f["known"] for f in first] == [False] * 3 and "diff" not in done
    second, done = run(reg, "s2", ["b", "c", "d"], now=T0 + 1)
    assert [f["known"] for f in second] == [True, True, False]
    b = second[0]
    assert (b["first_seen_scan_id"], b["previous_scan_id"], b["times_seen"]) == ("s1", "s1", 2)
    assert b["first_seen_at"] == "2027-01-15T08:00:00.000+00:00"
    assert {k: done["diff"][k] for k in ("previous_scan_id", "new", "still_open", "fixed")} == \
        {"previous_scan_id": "s1", "new": 1, "still_open": 2, "fixed": 1}
    diff = reg.diff("s2")
    assert [f["title"] for f in diff["fixed"]] == ["a"] and [f["title"] for f in diff["new"]] == ["d"]
    assert reg.diff("nope") is None
    assert reg.diff("s1")["previous_scan_id"] is None and len(reg.diff("s1")["new"]) == 3
    # The same finding sent again in the same scan (a retry) keeps its stamp.
    again = reg.stamp("vulnerability_found", finding("s2", "d"), now=T0 + 2)
    assert (again["known"], again["times_seen"], again["previous_scan_id"] if "previous_scan_id" in again
            else None) == (False, 1, None)
    protocol.parse("vulnerability_found", again)  # what leaves the gateway is valid
    # A producer cannot pass off a finding as known or triaged: the gateway's stamp replaces its.
    forged = reg.stamp("vulnerability_found", finding("s3", "e", known=True, previous_scan_id="s0",
                                                      triage={"state": "fixed"}), now=T0 + 3)
    assert forged["known"] is False and "triage" not in forged and "previous_scan_id" not in forged


def test_least_recently_seen_fingerprints_go_first_with_their_triage():
    reg = registry(registry_max_fingerprints=3)
    stamped, _ = run(reg, "s1", ["a", "b", "c"], now=T0)
    fps = [f["fingerprint"] for f in stamped]
    reg.stamp("finding_triaged", {"fingerprint": fps[1], "scan_id": "s1", "state": "fixed", "by": "7"})
    reg.stamp("vulnerability_found", finding("s2", "a"), now=T0 + 1)  # a is recent again
    reg.stamp("vulnerability_found", finding("s2", "d"), now=T0 + 2)  # one over: b (least recent) goes
    assert len(reg) == 3 and reg.seen(fps[1]) is None and fps[1] not in reg.triage
    assert reg.seen(fps[0]).times == 2


def test_scan_sets_are_bounded_oldest_scans_first():
    reg = registry(registry_max_scans=2, registry_scan_findings=4)
    for n in range(3):
        run(reg, f"s{n}", ["a", "b"], now=T0 + n)
    assert list(reg.scans) == ["s1", "s2"] and reg.diff("s0") is None
    run(reg, "s3", ["a", "b", "c"], now=T0 + 4)
    assert sum(len(r.findings) for r in reg.scans.values()) <= 4


def test_the_registry_comes_back_from_its_rows():
    reg = registry()
    run(reg, "s1", ["a", "b"], now=T0)
    first = reg.stamp("vulnerability_found", finding("s2", "a"), now=T0 + 10)
    reg.stamp("finding_triaged", {"fingerprint": first["fingerprint"], "scan_id": "s2", "state": "accepted_risk",
                                  "note": "ok", "by": "7", "at": "2026-01-01T00:00:00Z"})
    rows, dropped = reg.changes()
    assert not dropped and reg.changes() == ({}, [])
    back = registry()
    back.load({p: [(k, v) for k, v in rows.items() if k.startswith(p)] for p in (FP, TRIAGE, SCAN, MEMBER)})
    again = back.stamp("vulnerability_found", finding("s3", "a"), now=T0 + 20)
    assert (again["known"], again["first_seen_scan_id"], again["previous_scan_id"], again["times_seen"]) == \
        (True, "s1", "s2", 3)
    assert again["first_seen_at"] == first["first_seen_at"]
    assert again["triage"]["state"] == "accepted_risk" and again["triage"]["note"] == "ok"
    assert [f["title"] for f in back.diff("s1")["new"]] == ["a", "b"]

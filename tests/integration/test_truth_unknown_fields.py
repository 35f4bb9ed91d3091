"""The monitor never lies: a field the catalogue does not know (a misspelling, or a newer
producer's) is accepted but never dropped silently — the 202 names it, a socket request's ack
names it, and every dashboard gets a warning notification. Real gateway process, real clients."""
from tests.conftest import wait_for


def test_unknown_fields_are_named_over_http_and_socketio_and_shown_to_dashboards(gateway, make_client):
    client = make_client()
    client.connect(gateway.url)
    assert client.wait_connected(10)
    finding = {"scan_id": "s1", "title": "Log4Shell", "severity": "critical", "cve_id": ["CVE-2021-44228"]}
    status, body = gateway.post([{"event": "scan_started", "data": {"scan_id": "s1"}},
                                 {"event": "vulnerability_found", "data": finding}])
    assert status == 202, body
    assert body["accepted"] == 2
    assert body["ignored"] == [{"index": 1, "event": "vulnerability_found", "fields": ["cve_id (did you mean cve?)"]}]

    def warned():
        return [n for n in client.store.snapshot().notifications if n.title == "Unknown fields ignored"]

    wait_for(warned, timeout=10)
    assert "vulnerability_found: cve_id (did you mean cve?)" in warned()[0].message
    assert client.store.snapshot().vulnerabilities[0].title == "Log4Shell"  # the rest was accepted

    ack = client.call("join_room", {"room": "scan_s1", "rooom": "scan_s2"})
    assert ack == {"ok": True, "ignored_fields": ["rooom (did you mean room?)"]}, ack
    assert client.call("join_room", {"room": "scan_s1"}) == {"ok": True}

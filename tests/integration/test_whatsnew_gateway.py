"""What's new, at the gateway (issue 19): finding identity, new vs known, the diff of a rescan,
shared triage — with real gateway processes, the nuclei adapter on real nuclei output, kill -9
and a real redis-server."""
import json
import os
import subprocess
import sys
import threading

from realtime.auth import Authenticator
from tests.conftest import ROOT, GatewayProcess, free_port, http, wait_for

NUCLEI = ROOT / "tests/samples/real/nuclei/defectdojo-many_findings.jsonl"  # 20 results (DefectDojo)
NUCLEI_V3 = ROOT / "tests/samples/real/nuclei/defectdojo-multiple_v3.json"  # nuclei 3 `-je` array
TARGET = "https://nuclei-example.com"
SECRET = "what's-new-test-secret-0123456789abcdef"


def adapter(gateway, path, scan_id):
    subprocess.run([sys.executable, "-m", "realtime.adapters.nuclei", str(path), "--url", gateway.url,
                    "--scan-id", scan_id, "--target", TARGET, "--retry-for", "20"],
                   check=True, cwd=ROOT, timeout=60, capture_output=True)


def of_scan(viewer, event, scan_id):
    return [d for d in viewer.of(event) if d["scan_id"] == scan_id]


def test_a_rescan_through_the_nuclei_adapter_says_new_known_and_fixed(gateway, viewers, tmp_path):
    viewer = viewers(gateway.url)
    lines = NUCLEI.read_text().splitlines()
    added = [json.dumps(r) for r in json.loads(NUCLEI_V3.read_text())[:2]]  # two results of another target
    rescan = tmp_path / "rescan.jsonl"
    rescan.write_text("\n".join([*lines[:2], *lines[3:9], *lines[10:16], *lines[17:], *added]) + "\n")  # 3 gone
    adapter(gateway, NUCLEI, "first")
    adapter(gateway, rescan, "second")
    wait_for(lambda: of_scan(viewer, "scan_completed", "second"))

    first = of_scan(viewer, "vulnerability_found", "first")
    second = of_scan(viewer, "vulnerability_found", "second")
    assert len(first) == 20 and not any(f["known"] for f in first)
    assert len({f["fingerprint"] for f in first}) == 20
    new = [f for f in second if not f["known"]]
    assert len(second) == 19 and len(new) == 2
    assert {f["url"] for f in new} == {"www.asdf.de"}  # the added lines
    for f in second:
        if f["known"]:
            assert (f["first_seen_scan_id"], f["previous_scan_id"], f["times_seen"]) == ("first", "first", 2)
    diff = of_scan(viewer, "scan_completed", "second")[0]["diff"]
    assert {k: diff[k] for k in ("previous_scan_id", "new", "still_open", "fixed")} == \
        {"previous_scan_id": "first", "new": 2, "still_open": 17, "fixed": 3}
    assert "diff" not in of_scan(viewer, "scan_completed", "first")[0]

    listed = gateway.get("/api/scans/second/diff")
    assert (listed["previous_scan_id"], len(listed["new"]), len(listed["still_open"])) == ("first", 2, 17)
    removed = {json.loads(lines[i]).get("matched") for i in (2, 9, 16)}
    assert {f["url"] for f in listed["fixed"]} == removed and len(listed["fixed"]) == 3
    alone = gateway.get("/api/scans/first/diff")
    assert alone["previous_scan_id"] is None and len(alone["new"]) == 20 and alone["fixed"] == []
    assert http("GET", gateway.url + "/api/scans/nope/diff") == (404, {"error": "unknown scan"})


def test_triage_and_the_registry_survive_kill_9_and_only_the_right_tokens_triage(tmp_path, viewers):
    auth = Authenticator(SECRET)
    producer, admin = auth.mint("scanner", "producer"), auth.mint("root", "admin")
    alice, link, other_link = (auth.mint("alice", "viewer"), auth.mint("guest", "viewer", ["s1"]),
                               auth.mint("guest", "viewer", ["s9"]))
    state, port = str(tmp_path / "state.sqlite"), free_port()
    env = {"BUGHUNT_SECRET": SECRET}
    gateway = GatewayProcess("--port", str(port), "--state-db", state, env=env)
    try:
        watcher, scoped, elsewhere = (viewers(gateway.url, auth={"token": t}) for t in (alice, link, other_link))
        finding = {"scan_id": "s1", "title": "Reflected XSS", "severity": "high",
                   "url": "https://shop.example.com/search?q=1&ts=1700000000"}
        gateway.publish("scan_started", {"scan_id": "s1", "target": "https://shop.example.com"}, token=producer)
        gateway.publish("vulnerability_found", finding, token=producer)
        first = wait_for(lambda: watcher.of("vulnerability_found"))[0]
        assert first["known"] is False and first["fingerprint"].startswith("fp-")
        fp = first["fingerprint"]

        ack = watcher.call("triage_finding", {"fingerprint": fp, "state": "false_positive", "note": "test rig"})
        assert ack["ok"] and ack["triage"]["by"] == "alice" and ack["triage"]["state"] == "false_positive"
        for viewer in (watcher, scoped):
            event = wait_for(lambda v=viewer: v.of("finding_triaged"))[0]
            assert (event["fingerprint"], event["scan_id"], event["title"], event["severity"]) == \
                (fp, "s1", "Reflected XSS", "high")
        gateway.publish("vulnerability_found", {**finding, "scan_id": "s9", "title": "Other"}, token=producer)
        wait_for(lambda: elsewhere.of("vulnerability_found"))
        assert elsewhere.of("finding_triaged") == []  # a link to another scan gets its scan's only

        refused = scoped.call("triage_finding", {"fingerprint": fp, "state": "fixed"})
        assert refused == {"ok": False, "error": "a read-only scan link cannot triage findings"}
        assert triage(gateway, link, fp, "fixed")[0] == 403
        assert http("GET", gateway.url + "/api/scans/s9/diff", headers=bearer(link))[0] == 403
        assert http("GET", gateway.url + "/api/scans/s1/diff", headers=bearer(link))[0] == 200
        status, body = gateway.post({"event": "finding_triaged", "data": {"fingerprint": fp, "scan_id": "s1",
                                                                           "state": "open"}}, token=producer)
        assert status == 400 and "gateway's own event" in body["details"][0]["error"]
        assert watcher.call("triage_finding", {"fingerprint": "fp-unknown", "state": "open"}) == \
            {"ok": False, "error": "unknown finding"}

        gateway.proc.kill()  # kill -9: no shutdown, no flush
        gateway.proc.wait(10)
        gateway = GatewayProcess("--port", str(port), "--state-db", state,
                                 env={**env, "BUGHUNT_VIEWERS_TRIAGE": "false"})
        watcher = viewers(gateway.url, auth={"token": alice})
        gateway.publish("scan_started", {"scan_id": "s2", "target": "https://shop.example.com"}, token=producer)
        gateway.publish("vulnerability_found", {**finding, "scan_id": "s2",
                                                "url": "https://shop.example.com/search?q=2&ts=1800000000"},
                        token=producer)
        again = wait_for(lambda: of_scan(watcher, "vulnerability_found", "s2"))[0]
        assert (again["fingerprint"], again["known"], again["first_seen_at"], again["first_seen_scan_id"],
                again["previous_scan_id"], again["times_seen"]) == \
            (fp, True, first["first_seen_at"], "s1", "s1", 2)
        assert again["triage"]["state"] == "false_positive" and again["triage"]["note"] == "test rig"

        assert triage(gateway, alice, fp, "fixed") == \
            (403, {"error": "this token may not triage findings (BUGHUNT_VIEWERS_TRIAGE)"})
        status, body = triage(gateway, admin, fp, "accepted_risk", "until the fix ships")
        assert status == 200 and body["triage"]["by"] == "root" and body["triage"]["state"] == "accepted_risk"
        assert wait_for(lambda: watcher.of("finding_triaged"))[0]["scan_id"] == "s2"
        assert triage(gateway, admin, "fp-unknown", "open") == (404, {"error": "unknown finding"})
        assert triage(gateway, admin, fp, "wontfix")[0] == 400
    finally:
        gateway.stop()


def bearer(token):
    return {"Authorization": f"Bearer {token}"}


def triage(gateway, token, fp, state, note=None):
    body = {"fingerprint": fp, "state": state, **({"note": note} if note else {})}
    return http("POST", gateway.url + "/api/findings/triage", body, headers=bearer(token))


def test_two_gateways_on_one_redis_stamp_each_new_finding_once(redis_url, gateway_factory, viewers):
    env = {"BUGHUNT_PUBLISH_RATE": "1000000", "BUGHUNT_PUBLISH_BURST": "1000000"}
    one, two = (gateway_factory("--redis-url", redis_url, env=env) for _ in range(2))
    viewer = viewers(one.url)
    # The overlap first, from both ends: the two gateways race for every shared finding until they meet.
    indexes = {one: [*range(250, 750), *range(0, 250)], two: [*range(749, 249, -1), *range(750, 1000)]}
    errors, ready = [], threading.Barrier(2)

    def publish(gateway, scan_id):
        items = [{"event": "vulnerability_found", "data": {
            "scan_id": scan_id, "title": f"Finding {i}", "severity": "low",
            "url": f"https://shop.example.com/item/{i}?session={os.urandom(4).hex()}"}} for i in indexes[gateway]]
        ready.wait(10)
        for start in range(0, len(items), 25):
            status, body = gateway.post(items[start:start + 25])
            if status != 202:
                errors.append(body)

    for gateway, scan_id in ((one, "ra"), (two, "rb")):
        gateway.publish("scan_started", {"scan_id": scan_id, "target": "https://shop.example.com"})
    threads = [threading.Thread(target=publish, args=(g, s)) for g, s in ((one, "ra"), (two, "rb"))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    found = wait_for(lambda: len(viewer.of("vulnerability_found")) >= 1500 and viewer.of("vulnerability_found"),
                     timeout=30)
    assert len(found) == 1500
    new = {}
    for f in found:
        new.setdefault(f["title"], []).append(not f["known"])
    assert len(new) == 1000
    assert all(flags.count(True) == 1 for flags in new.values()), [t for t, f in new.items() if f.count(True) != 1]
    overlap = [f for f in found if 250 <= int(f["title"].split()[1]) < 750]
    assert len({f["fingerprint"] for f in overlap}) == 500  # the volatile query value changed nothing
    assert {f["first_seen_scan_id"] for f in overlap} == {"ra", "rb"}  # both gateways won some

    # The diff and triage live in Redis too: any gateway answers for any scan.
    one.publish("scan_completed", {"scan_id": "ra"})
    two.publish("scan_completed", {"scan_id": "rb"})
    done = wait_for(lambda: [d for d in viewer.of("scan_completed") if d["scan_id"] == "rb"])[0]
    assert {k: done["diff"][k] for k in ("previous_scan_id", "new", "still_open", "fixed")} == \
        {"previous_scan_id": "ra", "new": 250, "still_open": 500, "fixed": 250}
    listed = one.get("/api/scans/rb/diff")
    assert {f["title"] for f in listed["fixed"]} == {f"Finding {i}" for i in range(250)}
    fp = next(f["fingerprint"] for f in found if f["title"] == "Finding 999")
    ack = viewers(two.url).call("triage_finding", {"fingerprint": fp, "state": "fixed"})
    assert ack["ok"] and ack["triage"]["by"] == "open mode"
    event = wait_for(lambda: viewer.of("finding_triaged"))[0]
    assert (event["scan_id"], event["title"]) == ("rb", "Finding 999")
    assert next(f for f in one.get("/api/scans/rb/diff")["new"] if f["fingerprint"] == fp)["triage"]["state"] == "fixed"

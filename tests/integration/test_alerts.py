"""The alert worker end to end: a gateway, a producer (HTTP publishes), the worker as a process,
and real receivers on loopback (JSON webhook, SMTP)."""
import re
import sqlite3
import time

import pytest

from bench.alerting import WorkerProcess, rules_toml
from bench.receivers import MailReceiver, WebhookReceiver
from tests.conftest import tracked, wait_for

SEVERITIES = ["critical", "high", "medium", "low", "info"]


@pytest.fixture
def hook():
    receiver = WebhookReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def mail():
    receiver = MailReceiver().start()
    yield receiver
    receiver.stop()


@pytest.fixture
def workers(tmp_path):
    def make(gateway, destinations, rules, name="w", **kwargs):
        return WorkerProcess(gateway.url, rules_toml(destinations, rules), tmp_path / name, **kwargs)

    yield from tracked(make, WorkerProcess.stop)


def start_scan(gateway, scan_id="s1", target="https://shop.example.com"):
    gateway.publish("scan_started", {"scan_id": scan_id, "scan_name": "Shop nightly", "target": target})


def finding(scan_id, n, severity):
    return {"event": "vulnerability_found",
            "data": {"scan_id": scan_id, "title": f"Finding {n}", "severity": severity, "url": f"https://x/{n}"}}


def leading_count(title):
    return int(re.match(r"(\d+) ", title).group(1))


def test_300_findings_in_5s_make_one_digest_per_route_with_the_right_counts(gateway, workers, hook, mail):
    worker = workers(gateway, {"hook": hook.url, "mail": mail.url},
                     [{"name": "burst", "on": "finding", "to": ["hook", "mail"], "digest": 8}])
    worker.wait_connected()
    start_scan(gateway)
    first = time.time()
    for batch in range(10):  # 300 findings over ~5 s
        status, body = gateway.post([finding("s1", batch * 30 + i, SEVERITIES[i % 5]) for i in range(30)])
        assert status == 202, body
        time.sleep(0.5)
    wait_for(lambda: hook.messages() and mail.messages, timeout=20)
    time.sleep(2)  # nothing else comes
    assert len(hook.messages()) == 1 and len(mail.messages) == 1
    arrived, digest = hook.received[0]
    assert arrived - first >= 7.5  # one message at the end of the window, not one per finding
    assert digest["title"] == "300 new findings on shop.example.com: 60 critical, 60 high, 60 medium, 60 low, 60 info"
    assert digest["message"].count("• [critical]") == 5 and "… and 295 more" in digest["message"]
    assert "http://dash.example/scan?id=s1" in digest["message"]
    assert str(mail.messages[0]["Subject"]) == digest["title"]


def test_a_critical_on_an_immediate_route_arrives_alone(gateway, workers, hook):
    worker = workers(gateway, {"hook": hook.url},
                     [{"name": "critical now", "on": "finding", "severity": "critical", "to": ["hook"]},
                      {"name": "the rest", "on": "finding", "to": ["hook"], "digest": 60}])
    worker.wait_connected()
    start_scan(gateway)
    gateway.post([finding("s1", n, "high") for n in range(20)])
    sent = time.time()
    gateway.publish("vulnerability_found", {"scan_id": "s1", "title": "RCE in upload", "severity": "critical"})
    wait_for(hook.messages, timeout=10)
    time.sleep(1)
    assert len(hook.messages()) == 1
    arrived, alert = hook.received[0]
    assert arrived - sent < 5
    assert alert["title"] == "Critical finding on shop.example.com"
    assert "RCE in upload" in alert["message"] and "Finding" not in alert["message"]
    assert "scan Shop nightly (s1) on shop.example.com" in alert["message"]


def test_a_stuck_scan_alerts_once_and_recovered_once(gateway, workers, hook):
    worker = workers(gateway, {"hook": hook.url}, [{"name": "stuck", "on": "scan_stuck", "after": 2, "to": ["hook"]}])
    worker.wait_connected()
    start_scan(gateway)
    gateway.publish("scan_progress", {"scan_id": "s1", "progress": 10})
    wait_for(hook.messages, timeout=10)
    time.sleep(3)  # silent for longer still: no second "stuck"
    assert [m["title"] for m in hook.messages()] == ["Scan stuck on shop.example.com"]
    gateway.publish("scan_progress", {"scan_id": "s1", "progress": 20})
    gateway.publish("scan_completed", {"scan_id": "s1", "total_vulnerabilities": 0})
    wait_for(lambda: len(hook.messages()) >= 2, timeout=10)
    time.sleep(3)
    titles = [m["title"] for m in hook.messages()]
    assert titles == ["Scan stuck on shop.example.com", "Scan recovered on shop.example.com"]
    assert "No event for" in hook.messages()[0]["message"]


def pending_items(db):
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM pending").fetchone()[0]


def sent_alerts(db):
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT COUNT(*) FROM outbox WHERE status = 'sent'").fetchone()[0]


def test_kill_9_mid_digest_then_restart_delivers_every_alert_exactly_once(gateway, workers, hook, tmp_path):
    rules = [{"name": "digest", "on": "finding", "to": ["hook"], "digest": 6},
             {"name": "critical", "on": "finding", "severity": "critical", "to": ["hook"], "max_per_hour": 0}]
    worker = workers(gateway, {"hook": hook.url}, rules)
    worker.wait_connected()
    start_scan(gateway)
    gateway.post([finding("s1", n, "medium") for n in range(40)] + [finding("s1", 40, "critical")])
    # A kill between the receiver's answer and the worker recording it would resend that one
    # alert (at-least-once, README): kill once the critical is recorded as sent.
    wait_for(lambda: pending_items(worker.db) == 41 and sent_alerts(worker.db) == 1, timeout=10)
    worker.kill()  # mid-digest: 41 items wait in an open window
    gateway.post([finding("s1", 100 + n, "low") for n in range(40)] + [finding("s1", 140, "critical")])
    restarted = workers(gateway, {"hook": hook.url}, rules)  # same rules, same state file
    restarted.wait_connected()
    wait_for(lambda: len(hook.messages()) >= 3, timeout=20)
    time.sleep(7)  # a second window would have closed by now
    titles = [m["title"] for m in hook.messages()]
    assert titles.count("Critical finding on shop.example.com") == 2
    digests = [t for t in titles if "new findings" in t]
    assert digests == ["82 new findings on shop.example.com: 2 critical, 40 medium, 40 low"]
    assert sorted(m["message"].split("\n")[0] for m in hook.messages() if m["title"].startswith("Critical")) \
        == ["Critical: Finding 140", "Critical: Finding 40"]


def test_receiver_down_alerts_delivered_after_and_dashboards_told(gateway, workers, hook, make_client):
    dashboard = make_client()
    dashboard.connect(gateway.url)
    assert dashboard.wait_connected(10)
    worker = workers(gateway, {"hook": hook.url},
                     [{"name": "critical", "on": "finding", "severity": "critical", "to": ["hook"]}])
    worker.wait_connected()
    hook.stop()  # the receiver goes down (its port stays ours)
    started = time.time()
    start_scan(gateway)
    gateway.publish("vulnerability_found", {"scan_id": "s1", "title": "RCE", "severity": "critical"})

    def failing():
        return [n for n in dashboard.store.snapshot().notifications if "failing since" in n.message]

    told = wait_for(failing, timeout=15)
    assert told[0].type == "warning" and told[0].title == "Alerts to hook failing"
    assert re.search(r"alerts to hook failing since \d\d:\d\d", told[0].message)
    time.sleep(max(0.0, 30 - (time.time() - started)))  # the receiver is down for 30 s
    hook.start()
    wait_for(hook.messages, timeout=45)  # the next retry (backoff doubles: 0.2 s … 25.6 s)
    assert [m["title"] for m in hook.messages()] == ["Critical finding on shop.example.com"]
    wait_for(lambda: [n for n in dashboard.store.snapshot().notifications if "delivered again" in n.message],
             timeout=10)
    time.sleep(1)
    assert len(hook.messages()) == 1  # the worker's own notifications raise no alert


def test_test_command_reports_each_destination_and_never_prints_secrets(gateway, hook, tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT, free_port

    closed = free_port()
    (tmp_path / "alerts.toml").write_text(rules_toml(
        {"up": hook.url, "down": f"json://alice:hunter2-secret@127.0.0.1:{closed}/x"},
        [{"name": "r", "on": "scan_failed", "to": ["up", "down"]}]))
    done = subprocess.run([sys.executable, "-m", "realtime.alerts", "test", "--rules", str(tmp_path / "alerts.toml")],
                          cwd=ROOT, capture_output=True, text=True, timeout=60,
                          env={"PATH": "/usr/bin:/bin", "BUGHUNT_ALERT_DB": str(tmp_path / "db.sqlite")})
    assert done.returncode == 1
    assert "up: ok" in done.stdout and "down: FAILED" in done.stdout
    assert "hunter2" not in done.stdout + done.stderr
    assert [m["title"] for m in hook.messages()] == ["Bug Hunt Monitor: test alert"]


def test_dry_run_prints_what_it_would_send_and_leaves_no_state_behind(gateway, workers, hook, tmp_path):
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    worker = workers(gateway, {"hook": hook.url},
                     [{"name": "failed", "on": "scan_failed", "to": ["hook"]}], args=("--dry-run",),
                     env={"TMPDIR": str(scratch)})
    worker.wait_connected()
    start_scan(gateway)
    gateway.publish("scan_failed", {"scan_id": "s1", "error": "target unreachable"})
    worker.wait_log(r"Error: target unreachable")
    assert "--- to hook (json, text, failure)" in worker.text()
    assert "Scan failed on shop.example.com" in worker.text()
    assert hook.messages() == []
    def state():
        return [p.name for p in scratch.iterdir() if p.name.startswith("alerts-dry-")]

    assert len(state()) == 1  # its scratch state, while it runs
    worker.stop()
    assert state() == []


def test_rules_errors_are_clear_and_the_worker_does_not_start(tmp_path):
    import subprocess
    import sys

    from tests.conftest import ROOT

    (tmp_path / "alerts.toml").write_text('[destinations.slack]\nurl_env = "NOPE_UNSET"\n'
                                          '[[rules]]\nname = "x"\non = "finding"\nto = ["slack"]\n')
    done = subprocess.run([sys.executable, "-m", "realtime.alerts", "--rules", str(tmp_path / "alerts.toml")],
                          cwd=ROOT, capture_output=True, text=True, timeout=30, env={"PATH": "/usr/bin:/bin"})
    assert done.returncode == 2
    assert "[destinations.slack]: environment variable NOPE_UNSET is not set" in done.stderr
    assert "Traceback" not in done.stderr


def test_two_workers_on_one_host_do_not_both_send(gateway, workers, hook, tmp_path):
    rules = [{"name": "critical", "on": "finding", "severity": "critical", "to": ["hook"], "max_per_hour": 0}]
    first = workers(gateway, {"hook": hook.url}, rules, name="shared")
    first.wait_connected()
    second = workers(gateway, {"hook": hook.url}, rules, name="shared")  # same state file: same lease
    second.wait_log("standby")
    start_scan(gateway)
    gateway.post([finding("s1", n, "critical") for n in range(5)])
    wait_for(lambda: len(hook.messages()) >= 5, timeout=10)
    # Killed between the receiver's answer and the worker's record of it, a message goes out again
    # (README: at-least-once, that window only): kill once the five are recorded as sent.
    wait_for(lambda: first.text().count("alert sent") >= 5, timeout=10)
    first.kill()  # the standby takes over once the lease runs out, from the shared cursor
    gateway.post([finding("s1", 10 + n, "critical") for n in range(5)])
    second.wait_connected(timeout=20)
    wait_for(lambda: len(hook.messages()) >= 10, timeout=20)
    time.sleep(2)
    bodies = [m["message"].split("\n")[0] for m in hook.messages()]
    assert sorted(bodies) == sorted(f"Critical: Finding {n}" for n in [*range(5), *range(10, 15)])


def test_two_workers_on_two_hosts_share_a_redis_lease(gateway, workers, hook, redis_url):
    rules = [{"name": "critical", "on": "finding", "severity": "critical", "to": ["hook"], "max_per_hour": 0}]
    env = {"BUGHUNT_ALERT_REDIS_URL": redis_url}
    first = workers(gateway, {"hook": hook.url}, rules, name="host-a", env=env)
    first.wait_connected()
    second = workers(gateway, {"hook": hook.url}, rules, name="host-b", env=env)  # its own state file
    second.wait_log("standby")
    start_scan(gateway)
    gateway.post([finding("s1", n, "critical") for n in range(5)])
    wait_for(lambda: len(hook.messages()) >= 5, timeout=10)
    time.sleep(2)
    assert len(hook.messages()) == 5


def test_with_the_secret_messages_carry_a_read_only_scan_link(gateway_factory, workers, hook):
    from urllib.parse import parse_qs, urlsplit

    from realtime.auth import Authenticator

    secret = "s" * 40
    auth = Authenticator(secret)
    gateway = gateway_factory(env={"BUGHUNT_SECRET": secret})
    worker = workers(gateway, {"hook": hook.url}, [{"name": "failed", "on": "scan_failed", "to": ["hook"]}],
                     env={"BUGHUNT_SECRET": secret, "BUGHUNT_WS_TOKEN": auth.mint("alerts", "viewer"),
                          "BUGHUNT_PRODUCER_TOKEN": auth.mint("alerts", "producer")})
    worker.wait_connected()
    producer = auth.mint("scanner", "producer")
    gateway.publish("scan_started", {"scan_id": "s1", "target": "https://shop.example.com"}, token=producer)
    gateway.publish("scan_failed", {"scan_id": "s1", "error": "timeout"}, token=producer)
    wait_for(hook.messages, timeout=10)
    link = re.search(r"Read-only link: (\S+)", hook.messages()[0]["message"]).group(1)
    assert link.startswith("http://dash.example/scan?id=s1&token=")
    identity = auth.identify(parse_qs(urlsplit(link).query)["token"][0], None)
    assert identity.role == "viewer" and identity.scans == ("s1",)


def test_a_scan_started_before_the_worker_is_alerted_with_its_name_and_target(gateway, workers, hook):
    """The scan comes to the worker only in the gateway's state (a fresh start); after a restart
    from its own state it still knows it."""
    gateway.publish("scan_started", {"scan_id": "al-1", "scan_name": "Alert test", "target": "https://shop.example.com"})
    rules = [{"name": "prod", "on": "finding", "severity": "critical", "targets": ["*shop.example.com*"],
              "to": ["hook"]}]
    worker = workers(gateway, {"hook": hook.url}, rules)
    worker.wait_connected()
    gateway.publish("vulnerability_found", {"scan_id": "al-1", "title": "Log4Shell", "severity": "critical",
                                            "cve": ["CVE-2021-44228"], "cvss_score": 10.0})
    wait_for(hook.messages, timeout=10)
    alert = hook.messages()[0]
    assert alert["title"] == "Critical finding on shop.example.com"
    assert "scan Alert test (al-1) on shop.example.com" in alert["message"]
    assert "CVE-2021-44228 · CVSS 10.0" in alert["message"]
    worker.stop()
    again = workers(gateway, {"hook": hook.url}, rules)  # same state file
    again.wait_connected()
    gateway.publish("vulnerability_found", {"scan_id": "al-1", "title": "Second", "severity": "critical"})
    wait_for(lambda: len(hook.messages()) == 2, timeout=10)
    assert "scan Alert test (al-1) on shop.example.com" in hook.messages()[1]["message"]
    time.sleep(1)
    assert len(hook.messages()) == 2


def test_dry_run_of_the_example_rules_needs_no_secrets_and_says_nothing_was_sent(gateway, tmp_path):
    from tests.conftest import ROOT

    env = {"BUGHUNT_ALERT_DB": str(tmp_path / "unused.sqlite")}
    worker = WorkerProcess(gateway.url, (ROOT / "alerts.example.toml").read_text(), tmp_path / "w", env=env,
                           args=("--dry-run",))
    try:
        worker.wait_connected()
        assert "warning: " in worker.text() and "environment variable SLACK_ALERTS_URL is not set" in worker.text()
        assert "cannot read url_file /run/secrets/alerts_mail_url" in worker.text()
        start_scan(gateway, "nightly-1")
        gateway.publish("scan_failed", {"scan_id": "nightly-1", "error": "target unreachable"})
        worker.wait_log(r"alert not sent \(dry run\) destination=email")
        worker.wait_log(r"alert not sent \(dry run\) destination=slack")
        assert "--- to slack (text, text, failure) — URL not resolved" in worker.text()
        assert "Scan failed on shop.example.com" in worker.text()
        assert "alert sent" not in worker.text() and worker.proc.poll() is None
    finally:
        worker.stop()


def cursor_seq(db):
    with sqlite3.connect(db) as conn:
        row = conn.execute("SELECT value FROM meta WHERE key = 'seq'").fetchone()
    return int(row[0]) if row and row[0] else None


def test_a_scan_started_in_a_gap_the_worker_resynced_over_is_alerted(gateway_factory, workers, hook):
    """The worker was down longer than the gateway's replay buffer: it resyncs from the state."""
    gateway = gateway_factory(env={"BUGHUNT_REPLAY_EVENTS": "5"})
    rules = [{"name": "prod", "on": "finding", "severity": "critical", "targets": ["*shop.example.com*"],
              "to": ["hook"]}]
    first = workers(gateway, {"hook": hook.url}, rules)
    first.wait_connected()
    gateway.publish("scan_started", {"scan_id": "before", "target": "https://blog.example.com"})
    published = gateway.get("/healthz")["last_seq"]
    wait_for(lambda: (cursor_seq(first.db) or 0) >= published, timeout=20)  # handled: the cursor is past it
    first.stop()
    gateway.publish("scan_started", {"scan_id": "al-2", "scan_name": "In the gap", "target": "https://shop.example.com"})
    gateway.post([{"event": "scan_progress", "data": {"scan_id": "al-2", "progress": p}} for p in range(1, 20)])
    again = workers(gateway, {"hook": hook.url}, rules)  # same state file, cursor behind the buffer
    again.wait_log(r"catch_up='Resynced from snapshot")
    gateway.publish("vulnerability_found", {"scan_id": "al-2", "title": "SQLi", "severity": "critical"})
    wait_for(hook.messages, timeout=10)
    assert "scan In the gap (al-2) on shop.example.com" in hook.messages()[0]["message"]

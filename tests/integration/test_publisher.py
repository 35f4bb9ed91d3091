import subprocess
import sys
import time

import pytest

from realtime.publisher import Publisher, PublishError
from tests.conftest import ROOT, free_port, wait_for


def test_publish_and_refusals(gateway):
    pub = Publisher(gateway.url)
    assert pub.publish("scan_started", {"scan_id": 1, "scan_name": "A"}) == 1
    assert pub.publish_many([("scan_progress", {"scan_id": 1, "progress": 5})] * 3) == 3
    with pytest.raises(PublishError) as info:
        pub.publish("scan_progress", {"scan_id": 1, "progress": 500})
    assert info.value.status == 400 and "progress" in info.value.body["details"][0]["error"]


def test_publisher_retries_until_the_gateway_is_up():
    pub = Publisher(f"http://127.0.0.1:{free_port()}", retry_for=0.5, backoff=0.05)
    started = time.monotonic()
    with pytest.raises(ConnectionError):
        pub.publish("scan_started", {"scan_id": 1})
    assert 0.05 <= time.monotonic() - started <= 2


def run_cli(*args, stdin=None, url):
    return subprocess.run([sys.executable, "-m", "realtime.publisher", "--url", url, *args],
                          input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=30)


def test_cli_single_event_and_json_lines(gateway):
    done = run_cli("scan_started", '{"scan_id": "7", "scan_name": "CLI"}', url=gateway.url)
    assert done.returncode == 0, done.stderr
    lines = "\n".join([
        '{"event": "scan_progress", "data": {"scan_id": "7", "progress": 30}}',
        "not json",
        '{"event": "scan_progress", "data": {"scan_id": "7", "progress": 300}}',
        "",
        '{"event": "scan_completed", "data": {"scan_id": "7"}}',
    ])
    done = run_cli(stdin=lines, url=gateway.url)
    assert done.returncode == 0, done.stderr
    assert "line 2: skipped: not JSON" in done.stderr
    assert "line 3: skipped: progress: Input should be less than or equal to 100" in done.stderr
    assert "published 2 events, skipped 2 lines" in done.stderr
    scan = wait_for(lambda: (s := gateway.get("/api/state")["scans"]) and s[0]["status"] == "completed" and s[0])
    assert scan["name"] == "CLI" and scan["progress"] == 100


def test_cli_reports_bad_arguments_and_unreachable_gateway(gateway):
    done = run_cli("scan_progress", '{"scan_id": 1}', url=gateway.url)
    assert done.returncode == 2 and "progress: Field required" in done.stderr
    done = run_cli("scan_progress", "{oops", url=gateway.url)
    assert done.returncode == 2 and "not JSON" in done.stderr

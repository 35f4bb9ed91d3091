"""The docs cannot drift from the code: generated parts are current, and every example in
docs/protocol.md runs against a real gateway (with a secret, so tokens are exercised too)."""
import json
import os
import re
import subprocess
import sys

import pytest

from realtime import protocol, reference
from realtime.auth import Authenticator
from tests.conftest import ROOT, wait_for

PROTOCOL = (ROOT / "docs/protocol.md").read_text()
SECRET = "docs-secret-" + "x" * 40
BLOCK = re.compile(r"```(bash|python|json)\n(.*?)```", re.S)


def blocks(kind):
    return [body for lang, body in BLOCK.findall(PROTOCOL) if lang == kind]


def test_generated_reference_matches_the_code():
    assert reference.stale() == [], "run: python -m realtime.reference --write"


def test_every_catalogue_entry_is_in_the_protocol_doc():
    for name in [*protocol.SERVER_EVENTS, *protocol.CLIENT_EVENTS]:
        assert f"### `{name}`" in PROTOCOL
    for model in (*protocol.SERVER_EVENTS.values(), *protocol.CLIENT_EVENTS.values()):
        for field in model.model_fields:
            assert f"| `{field}` |" in PROTOCOL, f"{model.__name__}.{field} is not documented"


def test_ci_runs_the_readme_test_command():
    readme = (ROOT / "README.md").read_text()
    assert "bash tests/run.sh" in readme
    assert "tests/run.sh" in (ROOT / ".ci/run").read_text()


@pytest.fixture
def secured(gateway_factory, make_client, monkeypatch):
    monkeypatch.setenv("BUGHUNT_SECRET", SECRET)
    gateway = gateway_factory()
    auth = Authenticator(SECRET)
    env = {**os.environ, "BUGHUNT_PRODUCER_TOKEN": auth.mint("scanner1", "producer"),
           "BUGHUNT_WS_TOKEN": auth.mint("7", "viewer")}
    dashboard = make_client()
    dashboard.connect(gateway.url, auth={"token": env["BUGHUNT_WS_TOKEN"]})
    assert dashboard.wait_connected(10)
    return gateway, env, dashboard


def run_example(kind, body, url, env, redis_url="redis://127.0.0.1:6379/0"):
    """Run one example with the doc's addresses pointed at the test's servers; returns its output
    and checks each `# → expected` line appears in it."""
    code = body.replace("http://127.0.0.1:8000", url).replace("redis://127.0.0.1:6379/0", redis_url)
    command = ["bash", "-euo", "pipefail", "-c", code] if kind == "bash" else [sys.executable, "-c", code]
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT, env=env, timeout=60)
    output = done.stdout + done.stderr
    assert done.returncode == 0, f"example failed:\n{body}\n{output}"
    for expected in re.findall(r"^# → (.*)$", body, re.M):
        assert expected.strip() in output, f"expected {expected!r} from:\n{body}\ngot:\n{output}"
    return output


# What the gateway adds to a finding (docs/protocol.md, "Finding identity, what's new and triage").
STAMPED = ("fingerprint", "known", "first_seen_at", "first_seen_scan_id", "times_seen")


def test_every_json_event_example_is_accepted_and_delivered(secured):
    gateway, env, dashboard = secured
    examples = [json.loads(body) for body in blocks("json")]
    assert [e["event"] for e in examples] == list(protocol.SERVER_EVENTS)
    examples = [e for e in examples if e["event"] not in protocol.GATEWAY_EVENTS]  # never from producers
    received = []
    dashboard.on("*", lambda event, data: received.append((event, data)))
    status, answer = gateway.post(examples, token=env["BUGHUNT_PRODUCER_TOKEN"])
    assert (status, answer) == (202, {"accepted": len(examples)})
    for example in examples:
        expected = protocol.parse(example["event"], example["data"]).model_dump(exclude_none=True)
        wait_for(lambda name=example["event"], expected=expected: any(
            event == name and data["seq"] >= 1 and data["timestamp"]
            and {k: v for k, v in data.items() if k not in ("seq", "timestamp", *STAMPED)} == expected
            for event, data in received))


def test_every_shell_and_python_example_runs(secured, gateway_factory, redis_url):
    gateway, env, dashboard = secured
    examples = [("bash", b) for b in blocks("bash")] + [("python", b) for b in blocks("python")]
    assert len(examples) >= 6
    redis_gateway = None
    for kind, body in examples:
        url = gateway.url
        if "redis://" in body:
            redis_gateway = redis_gateway or gateway_factory("--redis-url", redis_url)
            url = redis_gateway.url
        run_example(kind, body, url, env, redis_url)
    scans = dashboard.store.snapshot().scans
    assert scans["42"].status == "completed" and scans["42"].name == "Shop"  # the HTTP and CLI examples landed
    assert {v.title for v in dashboard.store.snapshot().vulnerabilities} >= {"Reflected XSS", "Open redirect"}
    assert redis_gateway is not None
    assert redis_gateway.get("/api/state", env["BUGHUNT_WS_TOKEN"])["scans"][0]["progress"] == 95

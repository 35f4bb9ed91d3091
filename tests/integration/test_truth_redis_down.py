"""The monitor never lies: a dashboard connected to a gateway whose Redis is down says that nothing
can arrive (producers get 503), and stops saying it once Redis is back. Real redis-server killed
with SIGKILL and started again, real gateway process, real client."""
import pytest

from bench.procs import RedisServer
from realtime import stream_health
from tests.conftest import wait_for

FAST = {"reconnect_delay": 0.2, "reconnect_delay_max": 0.5, "slow_retry": 1.0}


@pytest.fixture
def redis_server(tmp_path):
    server = RedisServer(str(tmp_path)).start()
    yield server
    server.stop()


def down(client):
    stream = client.status.stream
    return client.status.connected and stream is not None and stream["ok"] is False


def up(client):
    stream = client.status.stream
    return client.status.connected and stream is not None and stream["ok"] is True


def test_a_dashboard_says_its_gateways_redis_is_down_and_clears_it_when_back(redis_server, gateway_factory,
                                                                             make_client):
    gateway = gateway_factory("--redis-url", redis_server.url)
    watching = make_client(**FAST)
    watching.connect(gateway.url)
    wait_for(lambda: up(watching), timeout=10)
    assert stream_health.down_text(watching.status.stream) is None

    redis_server.kill()
    wait_for(lambda: down(watching), timeout=10)  # told by the gateway's stream_status event
    text = stream_health.down_text(watching.status.stream)
    assert text.startswith("Connected to the gateway — it cannot receive events: its Redis stream is down since ")
    assert "redis is unreachable" in text
    status, body = gateway.post({"event": "scan_started", "data": {"scan_id": "s1"}})
    assert status == 503, body  # what the panel says is what producers get
    assert gateway.get("/healthz")["stream"]["ok"] is False

    late = make_client(**FAST)  # connects during the outage: told in resume's answer
    late.connect(gateway.url)
    wait_for(lambda: down(late), timeout=10)

    redis_server.start()  # empty (no persistence): a new epoch, clients resync
    wait_for(lambda: up(watching) and up(late), timeout=30)
    gateway.publish("scan_started", {"scan_id": "s2"})
    wait_for(lambda: "s2" in watching.store.snapshot().scans and "s2" in late.store.snapshot().scans, timeout=10)
    assert stream_health.down_text(watching.status.stream) is None
    assert not [line for line in gateway.log if "Traceback" in line], "".join(gateway.log)[-3000:]

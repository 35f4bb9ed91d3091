"""The gateway's lifecycle and its handling of a client's own connect/disconnect events."""
import threading
import urllib.error
import urllib.request

import pytest

from realtime.gateway import start_in_thread
from realtime.options import GatewayOptions
from tests.conftest import wait_for
from tests.viewer import Viewer


def test_an_in_thread_gateway_stops_every_thread_it_started(tmp_path):
    before = threading.active_count()
    running = start_in_thread(GatewayOptions(host="127.0.0.1", port=0, demo=True, speed=50, metrics_interval=0.1,
                                             state_db=str(tmp_path / "state.sqlite")))
    viewer = Viewer(running.url)
    wait_for(lambda: viewer.of("scan_progress") and viewer.of("metrics_update"))  # demo, metrics, state db at work
    viewer.close()
    running.stop()
    wait_for(lambda: threading.active_count() == before, timeout=5)
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(running.url + "/healthz", timeout=2)


LIFECYCLE_ARGS = [None, {"token": "x"}, ({"asgi.scope": {"client": ["127.0.0.1", 1]}}, {"token": "x"}), ("a", 1, [2])]


def test_a_clients_own_connect_and_disconnect_events_are_ignored_and_logged_once(gateway, viewers):
    viewer, other = viewers(gateway.url), viewers(gateway.url)
    wait_for(lambda: gateway.get("/healthz")["clients"] == 2)
    for name in ("connect", "disconnect"):
        for args in LIFECYCLE_ARGS:  # 0, 1, 2 and 3 arguments
            viewer._run(viewer.sio.emit(name, args))
            other._run(other.sio.emit(name, args))
    assert viewer.call("join_room", {"room": "scan_1"}) == {"ok": True}  # still a known, connected socket
    assert other.call("join_room", {"room": "scan_1"}) == {"ok": True}
    assert gateway.get("/healthz")["clients"] == 2
    forged = [line for line in gateway.log if "ignored a forged" in line]
    assert len(forged) == 2, forged  # once per socket
    assert not [line for line in gateway.log if "Traceback" in line or "Error" in line]

import time

import pytest

from realtime.client import RealtimeClient
from realtime.options import ClientOptions
from realtime.store import EventStore
from tests.sioserver import SioServer


def wait_for(predicate, timeout=10.0, interval=0.02):
    """Poll until predicate() is truthy; returns its value or fails the test."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"timed out after {timeout}s waiting for {getattr(predicate, '__name__', predicate)}")


@pytest.fixture
def server():
    srv = SioServer().start()
    yield srv
    srv.stop()


@pytest.fixture
def make_client():
    clients = []

    def make(**options):
        client = RealtimeClient(EventStore(), ClientOptions(**options))
        clients.append(client)
        return client

    yield make
    for client in clients:
        client.close()

"""The fast inner loop: no processes, no network. Both are refused here, so a unit test that
starts to need either fails at once instead of slowing the loop down."""
import socket
import subprocess

import pytest


class LayerViolation(AssertionError):
    pass


def refuse(what):
    def refused(*args, **kwargs):
        raise LayerViolation(f"unit tests may not {what}: move the test to tests/integration")

    return refused


@pytest.fixture(autouse=True)
def no_network_no_processes(monkeypatch):
    monkeypatch.setattr(socket.socket, "connect", refuse("connect a socket"))
    monkeypatch.setattr(socket.socket, "connect_ex", refuse("connect a socket"))
    monkeypatch.setattr(socket.socket, "bind", refuse("bind a socket"))
    monkeypatch.setattr(subprocess.Popen, "__init__", refuse("start a process"))

"""Debug mode records the Socket.IO libraries' own lines, even after a client or server was made."""
import logging

import socketio

from realtime import debug
from realtime.options import DebugOptions


def test_library_lines_are_recorded_after_a_client_and_a_server_were_made():
    # python-socketio and python-engineio set their `.client`/`.server` loggers to ERROR when first
    # made with the default logger: debug mode switched on later must still hear them.
    socketio.Client(), socketio.AsyncServer()
    debug.enable(True)
    try:
        for name in ("socketio.client", "socketio.server", "engineio.client", "engineio.server"):
            logging.getLogger(name).info("hello from %s", name)
            assert [line for line in debug.lines() if line.message == f"hello from {name}"], name
    finally:
        debug.configure(DebugOptions())

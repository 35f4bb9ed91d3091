"""Helpers for scanner tests: loopback services for real nmap runs (they answer like real
servers, so nmap's service detection and NSE scripts name them as they would real ones), and the
adapters' commands."""
from __future__ import annotations

import socket
import socketserver
import subprocess
import sys
import threading
import time

from tests.conftest import ROOT

HTTP_REPLY = (b"HTTP/1.1 200 OK\r\nServer: Apache/2.4.41 (Ubuntu)\r\nContent-Type: text/html\r\n"
              b"Content-Length: 2\r\n\r\nok")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def _http(delay: float):
    class Handler(socketserver.BaseRequestHandler):
        def handle(self):
            # Silent until asked (nmap waits out its NULL probe), then an Apache answer after
            # `delay` seconds: the listeners finish nmap's Service scan one after another.
            self.request.settimeout(15)
            try:
                if self.request.recv(4096):
                    time.sleep(delay)
                    self.request.sendall(HTTP_REPLY)
            except OSError:
                pass
    return Handler


class _Ftp(socketserver.StreamRequestHandler):
    """Enough of an FTP server for nmap's ftp-anon script: anonymous login succeeds."""

    def handle(self):
        self.request.settimeout(15)
        try:
            self.wfile.write(b"220 (vsFTPd 3.0.3)\r\n")
            for line in self.rfile:
                command = line.split(b" ", 1)[0].strip().upper()
                reply = {b"USER": b"331 Please specify the password.", b"PASS": b"230 Login successful.",
                         b"SYST": b"215 UNIX Type: L8", b"QUIT": b"221 Goodbye."}.get(command,
                                                                                  b"502 Command not implemented.")
                self.wfile.write(reply + b"\r\n")
                if command == b"QUIT":
                    return
        except OSError:
            pass


class Listeners:
    """Started by `start`, stopped by `stop`."""

    def __init__(self, host: str = "127.0.0.1"):
        self.host = host
        self.servers: list[_Server] = []

    def start(self, handler) -> int:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        server = type("S", (_Server,), {"address_family": family})((self.host, 0), handler)
        self.servers.append(server)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        return server.server_address[1]

    def http(self, delay: float = 0.0) -> int:
        return self.start(_http(delay))

    def ftp(self) -> int:
        return self.start(_Ftp)

    def stop(self) -> None:
        for server in self.servers:
            server.shutdown()
            server.server_close()


def adapter(tool: str, url: str, *args: str, stdin: str) -> subprocess.CompletedProcess:
    """`python -m realtime.adapters.<tool>` publishing to `url`, fed `stdin`."""
    return subprocess.run([sys.executable, "-m", f"realtime.adapters.{tool}", "--url", url, *args],
                          input=stdin, capture_output=True, text=True, cwd=ROOT, timeout=120)


def nmap(*args: str) -> str:
    """A real nmap run's XML (stderr too, as `2>&1` would give it)."""
    done = subprocess.run(["nmap", *args], capture_output=True, text=True, timeout=120)
    return done.stdout + done.stderr


def ended(store, scan_id: str, status: str):
    """A wait_for predicate: the scan once it has `status`."""
    return lambda: (scan := store.snapshot().scans.get(scan_id)) is not None and scan.status == status and scan


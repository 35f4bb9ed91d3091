"""Real receivers on loopback for the alert worker's tests and bench: an HTTP server for
Apprise's JSON webhook (json://), an SMTP server (aiosmtpd) for mailto://, and an HTTPS
intercepting proxy that stands in for Slack, Discord and Teams (the worker runs with
HTTPS_PROXY pointing at it and `verify=no` in those URLs), recording the exact requests Apprise
makes to them."""
from __future__ import annotations

import email
import email.policy
import json
import socket
import ssl
import subprocess
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bench.procs import free_port


class WebhookReceiver:
    """Records every JSON POST with its arrival time; can go down and come back on its port."""

    def __init__(self, port: int = 0):
        self.received: list[tuple[float, dict]] = []
        self.port = port
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        return f"json://127.0.0.1:{self.port}/hook"

    def start(self) -> WebhookReceiver:
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                received.append((time.time(), json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self._server.allow_reuse_address = True
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def messages(self) -> list[dict]:
        return [body for _, body in self.received]


class MailReceiver:
    """A real SMTP server (aiosmtpd) keeping every message it is sent."""

    def __init__(self):
        from aiosmtpd.controller import Controller

        self.messages: list[email.message.EmailMessage] = []
        outer = self

        class Handler:
            async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
                outer.messages.append(email.message_from_bytes(envelope.content, policy=email.policy.default))
                return "250 OK"

        self.controller = Controller(Handler(), hostname="127.0.0.1", port=free_port())

    def start(self) -> MailReceiver:
        self.controller.start()
        return self

    @property
    def url(self) -> str:
        return (f"mailto://127.0.0.1:{self.controller.port}?from=alerts@example.com&to=team@example.com"
                "&secure=no&smtp=127.0.0.1")

    def html(self, message: email.message.EmailMessage) -> str:
        part = message.get_body(("html",))
        return part.get_content() if part is not None else ""

    def stop(self) -> None:
        self.controller.stop()


class InterceptingProxy:
    """An HTTP CONNECT proxy that answers every tunnelled HTTPS request itself (self-signed
    certificate) with 200 and records (host, path, JSON body)."""

    def __init__(self, cert_dir: str):
        self.requests: list[tuple[str, str, dict]] = []
        cert, key = f"{cert_dir}/proxy.crt", f"{cert_dir}/proxy.key"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=proxy",
                        "-keyout", key, "-out", cert], check=True, capture_output=True)
        self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.tls.load_cert_chain(cert, key)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(50)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"

    def start(self) -> InterceptingProxy:
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        try:
            head = _read_head(conn)
            host = head.split()[1].split(":")[0]
            conn.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            with self.tls.wrap_socket(conn, server_side=True) as tls:
                request = _read_head(tls)
                length = next((int(line.split(":")[1]) for line in request.split("\r\n")
                               if line.lower().startswith("content-length")), 0)
                body = request.split("\r\n\r\n", 1)[1].encode() if "\r\n\r\n" in request else b""
                while len(body) < length:
                    body += tls.recv(65536)
                self.requests.append((host, request.split()[1], json.loads(body or b"{}")))
                answer = b"ok"
                tls.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n"
                            b"Connection: close\r\n\r\n" + answer)
        except (OSError, ValueError, IndexError):
            pass
        finally:
            conn.close()

    def stop(self) -> None:
        self.sock.close()


def _read_head(conn) -> str:
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    return data.decode("latin-1")

"""The HTTP API: GET /healthz, GET /api/state, POST /api/events, GET /api/scans/{id}/diff,
POST /api/findings/triage.

A request is refused with `Refused` (an HTTP status and a JSON reason) at the first check it
fails; POST /api/events checks, in order: the token, the content type, the body's size while it
streams in, JSON, the batch's shape and size, every event, the producer's rate. Only a batch
that passes every check is submitted, and 202 means delivered: stored (with --state-db, on disk)
and sent, or with Redis, in the Redis stream and delivered by this gateway. When the stream cannot
take events (Redis down, its epoch changing) the answer is 503 with a JSON reason and
`Retry-After`; a batch sent again under its `Idempotency-Key` is never counted twice.
"""
from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from realtime import extra_fields, protocol
from realtime.auth import Authenticator, AuthError, Identity
from realtime.debug import fields
from realtime.gateway.origins import Origins
from realtime.gateway.sessions import Sessions
from realtime.gateway.stream import Stream, StreamUnavailable
from realtime.gateway.triage import TriageRefused, Triages
from realtime.options import GatewayOptions

VERSION = "0.1.0"
log = logging.getLogger("bughunt.gateway")
RETRY_AFTER = 1  # seconds a producer waits after a 503
DRAIN = 4  # a body up to this many times the limit is read before its 413 (bounded work, a readable answer)
ITEM_SHAPE = 'each item must be {"event": "<name>", "data": {...}}'


class Refused(Exception):
    def __init__(self, status: int, message: str, details: list | None = None, headers: dict | None = None):
        super().__init__(message)
        self.status, self.message, self.details, self.headers = status, message, details, headers

    def response(self) -> JSONResponse:
        body: dict[str, Any] = {"error": self.message}
        if self.details is not None:
            body["details"] = self.details
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def check_content_type(request: Request) -> None:
    if request.headers.get("content-type", "").split(";")[0].strip().lower() != "application/json":
        raise Refused(415, "Content-Type must be application/json")


async def read_body(request: Request, limit: int) -> bytes:
    """The body, never held past `limit` bytes. A larger body is still read (and dropped) up to
    DRAIN times the limit before the 413: a producer answered while still sending gets a broken
    pipe instead of the reason. Past that, the answer comes at once."""
    too_large = Refused(413, f"body larger than {limit} bytes")
    if int(request.headers.get("content-length") or 0) > DRAIN * limit:
        raise too_large
    body, seen = bytearray(), 0
    async for chunk in request.stream():
        seen += len(chunk)
        if seen > DRAIN * limit:
            break
        if seen <= limit:
            body += chunk
    if seen > limit:
        raise too_large
    return bytes(body)


def parse_items(body: bytes, max_batch: int, max_depth: int = protocol.MAX_DEPTH) -> list:
    """One event or a non-empty list of them, at most `max_batch`, nested at most `max_depth` deep."""
    try:
        doc = protocol.loads(body, max_depth)
    except protocol.TooDeep as exc:
        raise Refused(400, str(exc)) from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refused(400, "body is not valid JSON", [str(exc)]) from None
    items = doc if isinstance(doc, list) else [doc]
    if not isinstance(doc, (list, dict)) or not items:
        raise Refused(400, 'body must be {"event": ..., "data": {...}} or a non-empty list of them')
    if len(items) > max_batch:
        raise Refused(413, f"batch of {len(items)} events; the limit is {max_batch}")
    return items


def validate(items: list, window: float = protocol.CLOCK_WINDOW) -> tuple[list[tuple[str, dict]], list[dict]]:
    """(event, wire) of each valid item, and what is wrong with each invalid one (`window`: how
    far a timestamp may be from our clock)."""
    accepted, details = [], []
    for index, item in enumerate(items):
        if not isinstance(item, dict) or not isinstance(item.get("event"), str):
            details.append({"index": index, "error": ITEM_SHAPE})
            continue
        if item["event"] in protocol.GATEWAY_EVENTS:
            details.append({"index": index, "event": item["event"],
                            "error": "the gateway's own event (triage with POST /api/findings/triage)"})
            continue
        try:
            accepted.append((item["event"], protocol.wire(item["event"], item.get("data"), window)))
        except protocol.InvalidEvent as exc:
            details.append({"index": index, "event": protocol.preview(item["event"], 80), "error": exc.reason})
    return accepted, details


def plain(obj: Any) -> dict:
    return dataclasses.asdict(obj)


class HttpApi:
    def __init__(self, options: GatewayOptions, auth: Authenticator, stream: Stream, sessions: Sessions,
                 mode: str, origins: Origins, triages: Triages):
        self.options, self.auth, self.stream, self.sessions, self.mode = options, auth, stream, sessions, mode
        self.origins, self.triages = origins, triages
        self.store = stream.store
        self.started_at = time.time()
        self.reported = extra_fields.Reported()

    def routes(self) -> list[Route]:
        return [Route("/healthz", self.healthz), Route("/api/state", self.state),
                Route("/api/events", self.post_events, methods=["POST"]),
                Route("/api/scans/{scan_id}/diff", self.scan_diff),
                Route("/api/findings/triage", self.triage, methods=["POST"])]

    def identity(self, request: Request, right: str, refusal: str) -> Identity:
        """The caller's identity when it has `right` (an Identity property), else Refused 401/403."""
        environ = {"HTTP_HOST": request.headers.get("host"), "wsgi.url_scheme": request.url.scheme}
        if not self.origins.allowed(request.headers.get("origin"), environ):
            raise Refused(403, "requests from this browser origin are refused (BUGHUNT_CORS_ORIGINS)")
        try:
            identity = self.auth.identify(self.auth.bearer(request.headers.get("authorization")),
                                          request.client.host if request.client else None)
        except AuthError as exc:
            raise Refused(exc.status, exc.reason) from None
        if not getattr(identity, right):
            raise Refused(403, refusal)
        return identity

    async def healthz(self, request: Request) -> JSONResponse:
        """Up or not, for anyone (a load balancer); the figures only for viewer tokens."""
        try:
            self.identity(request, "can_view", "")
        except Refused:
            return JSONResponse({"status": "ok", "version": VERSION})
        return JSONResponse({
            "status": "ok", "version": VERSION, "mode": self.mode,
            "uptime": round(time.time() - self.started_at, 3), "clients": len(self.sessions),
            "events_emitted": self.stream.emitted, "epoch": self.stream.epoch, "stream": self.stream.health(),
            "last_seq": self.store.snapshot().last_seq,
        })

    async def state(self, request: Request) -> JSONResponse:
        """What a dashboard that starts late needs to catch up (a scoped link: its scans only)."""
        try:
            identity = self.identity(request, "can_view", "the state is for viewer tokens")
        except Refused as refused:
            return refused.response()
        snap, sees = self.store.snapshot(), identity.sees_scan
        return JSONResponse({
            "epoch": self.stream.epoch,
            "last_seq": snap.last_seq,
            "metrics": self.store.derived_metrics() if not identity.scoped else {},
            "scans": [plain(s) for s in sorted(snap.scans.values(), key=lambda s: -s.started_at) if sees(s.scan_id)],
            "vulnerabilities": [plain(v) for v in snap.vulnerabilities[:self.options.state_findings]
                                if sees(v.scan_id)],
            "vulnerabilities_total": sum(1 for v in snap.vulnerabilities if sees(v.scan_id)),
            **self.notifications(snap, identity),
        })

    async def scan_diff(self, request: Request) -> JSONResponse:
        """A scan against the previous completed scan of its target (a scoped link: its scan only)."""
        scan_id = request.path_params["scan_id"]
        try:
            identity = self.identity(request, "can_view", "scan diffs are for viewer tokens")
            if not identity.sees_scan(scan_id):
                raise Refused(403, "this link is for another scan")
            diff = await self.stream.scan_diff(scan_id) if protocol.ID_RE.match(scan_id) else None
            if diff is None:
                raise Refused(404, "unknown scan")
        except StreamUnavailable as exc:
            return unavailable(str(exc)).response()
        except Refused as refused:
            return refused.response()
        return JSONResponse(diff)

    async def triage(self, request: Request) -> JSONResponse:
        """`{fingerprint, state, note?}`: 200 {"triage": ...}, or a JSON reason."""
        try:
            identity = self.identity(request, "can_view", "triage is for viewer tokens")
            check_content_type(request)
            body = await read_body(request, self.options.max_body_bytes)
            try:
                triage = protocol.parse_request("triage_finding", protocol.loads(body, self.options.max_depth))
            except protocol.InvalidEvent as exc:
                raise Refused(400, exc.reason) from None
            except protocol.TooDeep as exc:
                raise Refused(400, str(exc)) from None
            except (ValueError, UnicodeDecodeError):
                raise Refused(400, "body is not valid JSON") from None
            return JSONResponse({"triage": await self.triages.mark(identity, triage)})
        except TriageRefused as exc:
            return Refused(exc.status, exc.reason).response()
        except Refused as refused:
            return refused.response()

    @staticmethod
    def notifications(snap: Any, identity: Identity) -> dict[str, Any]:
        """The newest 100 notifications this viewer may see, and how many it may see in all."""
        mine = [n for n in snap.notifications
                if n.user_id in (None, identity.sub) and (not identity.scoped or identity.sees_scan(n.scan_id))]
        return {"notifications": [plain(n) for n in mine[:100]], "notifications_total": len(mine)}

    async def post_events(self, request: Request) -> JSONResponse:
        try:
            identity = self.identity(request, "can_publish",
                                     "viewer tokens cannot publish; scanners need a producer token")
            check_content_type(request)
            key = idempotency_key(request)
            items = parse_items(await read_body(request, self.options.max_body_bytes), self.options.max_batch,
                                self.options.max_depth)
            producer = self.producer(request, identity)
            accepted = with_ids(self.accept(items, producer), key)
            await self.deliver(accepted, key)
        except Refused as refused:
            return refused.response()
        log.debug("accepted %d events from %s", len(accepted), producer)
        if not (ignored := extra_fields.in_batch(items)):
            return JSONResponse({"accepted": len(accepted)}, status_code=202)
        await self.report_ignored(producer, ignored)
        return JSONResponse({"accepted": len(accepted), "ignored": ignored}, status_code=202)

    async def report_ignored(self, producer: str, ignored: list[dict]) -> None:
        """Unknown fields were dropped from an accepted batch: tell every dashboard (a warning
        notification), once per producer and fields a while."""
        said = sorted({(i["event"], *i["fields"]) for i in ignored})
        if not self.reported.first(hashlib.sha1(repr((producer, said)).encode()).hexdigest()):  # small keys
            return
        log.info(fields("unknown fields ignored", producer=producer, fields=ignored[:3]))
        try:
            await (await self.stream.submit("notification", protocol.wire(
                "notification", extra_fields.notification(producer, ignored), self.options.clock_window)))
        except StreamUnavailable as exc:  # the batch is delivered; its answer names the fields anyway
            log.warning("could not tell dashboards about ignored fields: %s", exc)

    async def deliver(self, accepted: list[tuple[str, dict]], key: str | None) -> None:
        """Hand the batch to the stream and wait until it is delivered (202 means delivered: a
        producer that saw it never resends), else Refused 503: nothing of it was acknowledged, and
        a retry under the same key is never counted twice."""
        try:
            pending = await asyncio.wait_for(self.stream.submit_batch(accepted, key), self.options.publish_wait)
            await asyncio.wait_for(pending, self.options.publish_wait)
        except StreamUnavailable as exc:
            raise unavailable(str(exc)) from None
        except TimeoutError:
            raise unavailable("the stream did not deliver the events in time") from None

    def accept(self, items: list, producer: str) -> list[tuple[str, dict]]:
        """Every item valid and within the producer's rate, else Refused (a batch with one bad
        item accepts nothing)."""
        accepted, details = validate(items, self.options.clock_window)
        if details:
            for detail in details[:10]:  # bounded: a hostile batch must not flood the log
                log.info(fields("event rejected", producer=producer, index=detail["index"],
                                event=detail.get("event", "?"), reason=detail["error"]))
            raise Refused(400, f"{len(details)} of {len(items)} events are invalid; none were accepted", details)
        if not self.sessions.may_publish(producer, len(accepted)):
            raise Refused(429, f"rate limit: at most {self.options.publish_rate:g} events/s per producer; "
                               "retry later", headers={"Retry-After": "1"})
        return accepted

    @staticmethod
    def producer(request: Request, identity: Identity) -> str:
        """Who published: the token's subject, or in open mode the address and the name the
        producer gives (`X-Producer`; rates are per producer, not one bucket for every local process)."""
        if identity.sub:
            return identity.sub
        name = protocol.preview(request.headers.get("x-producer", ""), 64)
        return f"open@{request.client.host if request.client else '?'}/{name}"


def unavailable(reason: str) -> Refused:
    return Refused(503, f"not accepted, retry: {reason}", headers={"Retry-After": str(RETRY_AFTER)})


def idempotency_key(request: Request) -> str | None:
    """The batch's `Idempotency-Key` header (None without one), or Refused 400."""
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    if not 1 <= len(key) <= 128 or not key.isprintable():
        raise Refused(400, "Idempotency-Key must be 1 to 128 printable characters")
    return key


def with_ids(accepted: list[tuple[str, dict]], key: str | None) -> list[tuple[str, dict]]:
    """Under an idempotency key, a notification without its own id gets one derived from the key,
    its place in the batch and its content, so the same batch sent again is the same events."""
    if key is None:
        return accepted
    return [(event, {**wire, "id": derived_id(key, index, wire)})
            if event == "notification" and not wire.get("id") else (event, wire)
            for index, (event, wire) in enumerate(accepted)]


def derived_id(key: str, index: int, wire: dict) -> str:
    content = json.dumps([key, index, wire], sort_keys=True).encode()
    return "n-" + hashlib.sha1(content).hexdigest()[:16]

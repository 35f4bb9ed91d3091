"""Who may do what at the gateway: signed tokens (JWT, HS256) for viewers and producers.

A token carries `sub` (user id), `role` (viewer, producer or admin), optionally `scans` (the
only scans its holder may see: a read-only link), `start_scans` (may use `start_scan`), `jti`
(its id, for revocation: see Revocations) and `exp`. The secret comes from
BUGHUNT_SECRET or the file named by BUGHUNT_SECRET_FILE and is never logged. Without a secret the
gateway runs in open mode: loopback peers only, with every right.
"""
from __future__ import annotations

import ipaddress
import os
import re
import secrets
import time
from dataclasses import dataclass

import jwt

from realtime import protocol
from realtime.options import GatewayOptions

ROLES = ("viewer", "producer", "admin")
ALGORITHM = "HS256"
DEFAULT_TTL = 7 * 86400


class AuthError(Exception):
    """A refusal: `status` (401: who are you; 403: not allowed) and a reason to show."""

    def __init__(self, status: int, reason: str):
        super().__init__(reason)
        self.status, self.reason = status, reason


@dataclass(frozen=True)
class Identity:
    sub: str | None
    role: str
    scans: tuple[str, ...] | None = None  # None: every scan
    start_scans: bool = False  # the `start_scans` claim: may use `start_scan` (admins always may)

    @property
    def can_view(self) -> bool:
        return self.role in ("viewer", "admin")

    @property
    def can_publish(self) -> bool:
        return self.role in ("producer", "admin")

    @property
    def can_start_scans(self) -> bool:
        return self.role == "admin" or self.start_scans

    @property
    def scoped(self) -> bool:
        return self.scans is not None

    def may_join(self, room: str) -> str | None:
        """Why this identity may not join `room`, or None."""
        kind, _, ident = room.partition("_")
        if kind == "user" and self.role != "admin" and ident != self.sub:
            return f"{room} is another user's room"
        if kind == "scan" and self.scoped and ident not in self.scans:
            return f"this link is for scans {', '.join(self.scans)} only"
        if kind == "user" and self.scoped:
            return "a read-only scan link has no user room"
        return None

    def sees_scan(self, scan_id: str | None) -> bool:
        return not self.scoped or scan_id in self.scans


OPEN = Identity(sub=None, role="admin")


def parse_ttl(text: str) -> int:
    """'90s', '15m', '12h', '7d' or plain seconds."""
    match = re.fullmatch(r"(\d+)([smhd]?)", text.strip())
    if not match:
        raise ValueError(f"bad duration {text!r}: use e.g. 30m, 12h or 7d")
    return int(match.group(1)) * {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]


def load_secret(path: str = "", env: dict | None = None) -> str | None:
    """BUGHUNT_SECRET, else the contents of `path` (BUGHUNT_SECRET_FILE), else None (open mode)."""
    env = os.environ if env is None else env
    if env.get("BUGHUNT_SECRET"):
        return env["BUGHUNT_SECRET"]
    if path:
        with open(path) as f:
            secret = f.read().strip()
        if not secret:
            raise ValueError(f"{path} is empty")
        return secret
    return None


def is_loopback(host: str | None) -> bool:
    try:
        return host is not None and ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class Revocations:
    """Revoked token ids, one a line in a file (BUGHUNT_REVOKED_TOKENS), re-read when it changes."""

    def __init__(self, path: str):
        self.path = path
        self._stamp: float | None = None
        self._ids: frozenset[str] = frozenset()

    def __contains__(self, token_id: str) -> bool:
        try:
            stamp = os.stat(self.path).st_mtime_ns
        except FileNotFoundError:
            stamp = None
        if stamp != self._stamp:
            self._stamp = stamp
            self._ids = frozenset() if stamp is None else frozenset(self.read())
        return token_id in self._ids

    def read(self) -> list[str]:
        with open(self.path) as f:
            return [line.strip() for line in f if line.strip()]

    def add(self, token_id: str) -> None:
        with open(self.path, "a") as f:
            f.write(token_id + "\n")


def token_id(token: str) -> str | None:
    """The `jti` of a token, unverified (for `token revoke`, which takes a token or its id)."""
    try:
        return jwt.decode(token, options={"verify_signature": False}).get("jti")
    except jwt.InvalidTokenError:
        return None


class Authenticator:
    def __init__(self, secret: str | None, revoked: Revocations | None = None, max_ttl: int | None = None):
        if secret is not None and len(secret) < 32:
            raise ValueError("the secret must be at least 32 characters (e.g. `openssl rand -hex 32`)")
        self._secret = secret
        self.revoked, self.max_ttl = revoked, max_ttl

    @property
    def open_mode(self) -> bool:
        return self._secret is None

    def mint(self, sub: str, role: str, scans: list[str] | None = None, ttl: int | None = DEFAULT_TTL,
             start_scans: bool = False) -> str:
        if self._secret is None:
            raise ValueError("no secret configured (BUGHUNT_SECRET or BUGHUNT_SECRET_FILE)")
        if role not in ROLES:
            raise ValueError(f"role must be one of {', '.join(ROLES)}")
        if not protocol.ID_RE.match(str(sub)) or any(not protocol.ID_RE.match(s) for s in scans or ()):
            raise ValueError("sub and scan ids are 1-64 letters, digits, '-' or '_'")
        if self.max_ttl and (not ttl or ttl > self.max_ttl):
            raise ValueError(f"the lifetime may be at most {self.max_ttl} s (BUGHUNT_TOKEN_MAX_TTL)")
        claims: dict = {"sub": str(sub), "role": role, "iat": int(time.time()), "jti": secrets.token_hex(8)}
        if scans:
            claims["scans"] = list(scans)
        if start_scans:
            claims["start_scans"] = True
        if ttl:
            claims["exp"] = int(time.time()) + ttl
        return jwt.encode(claims, self._secret, algorithm=ALGORITHM)

    def identify(self, token: str | None, peer: str | None) -> Identity:
        """The identity behind a token from `peer`; raises AuthError."""
        if self._secret is None:
            if not is_loopback(peer):
                raise AuthError(403, "open mode (no secret configured) accepts loopback clients only")
            return OPEN
        if not token:
            raise AuthError(401, "a token is required")
        try:
            claims = jwt.decode(token, self._secret, algorithms=[ALGORITHM], options={"require": ["sub", "role"]})
        except jwt.ExpiredSignatureError:
            raise AuthError(401, "token expired") from None
        except jwt.InvalidTokenError as exc:
            raise AuthError(401, f"invalid token: {exc}") from None
        role, scans = claims.get("role"), claims.get("scans")
        if role not in ROLES:
            raise AuthError(401, "invalid token: unknown role")
        if scans is not None and (not isinstance(scans, list) or not all(isinstance(s, str) for s in scans)):
            raise AuthError(401, "invalid token: scans must be a list of ids")
        self.check_lifetime(claims)
        return Identity(sub=str(claims["sub"]), role=role, scans=tuple(scans) if scans is not None else None,
                        start_scans=claims.get("start_scans") is True)

    def check_lifetime(self, claims: dict) -> None:
        """Revoked tokens are refused; so are share links meant to outlive BUGHUNT_TOKEN_MAX_TTL."""
        if self.revoked is not None and str(claims.get("jti")) in self.revoked:
            raise AuthError(401, "token revoked")
        if self.max_ttl and claims.get("scans") is not None:
            exp, iat = claims.get("exp"), claims.get("iat")
            if not isinstance(exp, int) or not isinstance(iat, int) or exp - iat > self.max_ttl:
                raise AuthError(401, f"a share link may last at most {self.max_ttl} s")

    @staticmethod
    def bearer(header: str | None) -> str | None:
        if header and header.lower().startswith("bearer "):
            return header[7:].strip()
        return None


def for_gateway(options: GatewayOptions, secret: str | None = None) -> Authenticator:
    """The gateway's token checker as its settings describe it: the secret (`secret`, else
    BUGHUNT_SECRET or the secret file), the revocation list and the longest share-link lifetime."""
    revoked = Revocations(options.revoked_tokens) if options.revoked_tokens else None
    return Authenticator(secret or load_secret(options.secret_file), revoked, parse_ttl(options.token_max_ttl))

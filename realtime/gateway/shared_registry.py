"""SharedRegistry: the finding registry (realtime.gateway.registry) kept in Redis, for every gateway
of one stream.

A batch's findings are stamped by one Lua script before the batch is appended to the stream, so
first-seen is atomic: two gateways receiving the same new finding at once stamp exactly one as
new. Keys, under `<channel>:reg:`: `seen` (hash fingerprint → [first_at, last_at, times, first
scan, last scan, previous scan]), `lru` (sorted set by last seen: beyond
BUGHUNT_REGISTRY_MAX_FINGERPRINTS the least recently seen go, their triage with them), `triage`
(hash), `scans` (hash scan → [target, raw target, completed at, previous]), `order` (sorted set of
scans: beyond BUGHUNT_REGISTRY_MAX_SCANS the oldest go with their sets), `in:<scan>` (hash
fingerprint → [title, severity, url]), `members` (findings in all sets; none are added beyond
BUGHUNT_REGISTRY_SCAN_FINDINGS), `last` (hash target → [scan, completed at]).
"""
from __future__ import annotations

import json
import time

from redis import asyncio as aioredis

from realtime import fingerprint
from realtime.gateway.registry import (
    Member,
    Seen,
    counts,
    diff_lists,
    fingerprint_of,
    member_of,
    seen_history,
    stamped,
    triage_of,
)
from realtime.options import GatewayOptions

# KEYS: seen, lru, triage, members. ARGV: now, max fingerprints, set key prefix, max members, then
# (fingerprint, scan, member) triples. Returns each finding's record and triage ("" when none).
STAMP_SCRIPT = """
local now = tonumber(ARGV[1])
local room = tonumber(ARGV[4]) - tonumber(redis.call('GET', KEYS[4]) or '0')
local out = {}
for i = 5, #ARGV, 3 do
  local fp, scan = ARGV[i], ARGV[i + 1]
  local raw = redis.call('HGET', KEYS[1], fp)
  local rec
  if raw then
    rec = cjson.decode(raw)
    rec[2] = now
    if rec[5] ~= scan then rec[3] = rec[3] + 1; rec[6] = rec[5]; rec[5] = scan end
  else
    rec = {now, now, 1, scan, scan, ''}
  end
  local encoded = cjson.encode(rec)
  redis.call('HSET', KEYS[1], fp, encoded)
  redis.call('ZADD', KEYS[2], now, fp)
  if room > 0 and redis.call('HSETNX', ARGV[3] .. scan, fp, ARGV[i + 2]) == 1 then
    room = room - 1
    redis.call('INCR', KEYS[4])
  end
  out[#out + 1] = encoded
  out[#out + 1] = redis.call('HGET', KEYS[3], fp) or ''
end
local over = redis.call('ZCARD', KEYS[2]) - tonumber(ARGV[2])
if over > 0 then
  local gone = redis.call('ZPOPMIN', KEYS[2], over)
  for j = 1, #gone, 2 do
    redis.call('HDEL', KEYS[1], gone[j])
    redis.call('HDEL', KEYS[3], gone[j])
  end
end
return out
"""


class SharedRegistry:
    def __init__(self, redis: aioredis.Redis, channel: str, options: GatewayOptions):
        self.redis, self.options = redis, options
        self.prefix = f"{channel}:reg:"
        self._stamp = redis.register_script(STAMP_SCRIPT)

    def key(self, name: str) -> str:
        return self.prefix + name

    async def stamp(self, items: list[tuple[str, dict]]) -> list[tuple[str, dict]]:
        """The batch as it enters the stream (as FindingRegistry.stamp, for every event of it)."""
        for event, wire in items:
            if event == "scan_started":
                await self.scan(wire["scan_id"], wire.get("target"))
            elif event == "finding_triaged":
                await self.redis.hset(self.key("triage"), wire["fingerprint"], json.dumps(triage_of(wire)))
        stamped = await self.stamp_findings([wire for event, wire in items if event == "vulnerability_found"])
        out = []
        for event, wire in items:
            if event == "vulnerability_found":
                wire = stamped.pop(0)
            elif event == "scan_completed":
                wire = await self.complete(wire)
            out.append((event, wire))
        return out

    async def stamp_findings(self, findings: list[dict]) -> list[dict]:
        if not findings:
            return []
        for scan_id in sorted({w["scan_id"] for w in findings}):  # counted, so its set goes when it is old
            await self.scan(scan_id, None)
        scans = sorted({w["scan_id"] for w in findings if not w.get("fingerprint")})
        records = dict(zip(scans, await self.redis.hmget(self.key("scans"), scans))) if scans else {}
        args, fps = [time.time(), self.options.registry_max_fingerprints, self.key("in:"),
                     self.options.registry_scan_findings], []
        for wire in findings:
            raw = records.get(wire["scan_id"])
            fps.append(fingerprint_of(wire, json.loads(raw)[1] if raw else None))
            args += [fps[-1], wire["scan_id"], member_of(wire)]
        keys = [self.key(k) for k in ("seen", "lru", "triage", "members")]
        out = await self._stamp(keys=keys, args=args)
        return [stamped(wire, seen_history(fp, wire["scan_id"], Seen(*json.loads(out[2 * i])),
                                      json.loads(out[2 * i + 1]) if out[2 * i + 1] else None))
                for i, (wire, fp) in enumerate(zip(findings, fps))]

    async def scan(self, scan_id: str, target: str | None) -> None:
        """Remember a scan (and its target, once known); the oldest scans beyond the bound go."""
        record = [fingerprint.same_target(target) if target else None, target, None, None]
        if target is not None and (known := await self.record(scan_id)) is not None and known[1] is None:
            await self.redis.hset(self.key("scans"), scan_id, json.dumps(record[:2] + known[2:]))
        if await self.redis.hsetnx(self.key("scans"), scan_id, json.dumps(record)):
            await self.redis.zadd(self.key("order"), {scan_id: time.time()}, nx=True)
            over = await self.redis.zcard(self.key("order")) - max(2, self.options.registry_max_scans)
            for old, _ in await self.redis.zpopmin(self.key("order"), over) if over > 0 else []:
                await self.forget(old.decode())

    async def forget(self, scan_id: str) -> None:
        members = await self.redis.hlen(self.key("in:" + scan_id))
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.delete(self.key("in:" + scan_id)).hdel(self.key("scans"), scan_id)
            pipe.decrby(self.key("members"), members)
            await pipe.execute()

    async def record(self, scan_id: str) -> list | None:
        raw = await self.redis.hget(self.key("scans"), scan_id)
        return json.loads(raw) if raw else None

    async def complete(self, wire: dict) -> dict:
        scan_id = wire["scan_id"]
        record = await self.record(scan_id) or [None, None, None, None]
        if record[2] is None:
            record[2] = wire.get("timestamp")
            if record[0] is not None:
                last = await self.redis.hget(self.key("last"), record[0])
                record[3] = json.loads(last) if last and json.loads(last)[0] != scan_id else None
                await self.redis.hset(self.key("last"), record[0], json.dumps([scan_id, record[2]]))
            await self.redis.hset(self.key("scans"), scan_id, json.dumps(record))
        return stamped(wire, {"diff": counts(await self.diff(scan_id))} if record[3] else {})

    async def findings(self, scan_id: str) -> dict[str, Member]:
        raw = await self.redis.hgetall(self.key("in:" + scan_id))
        return {fp.decode(): m.decode() for fp, m in raw.items()}

    async def diff(self, scan_id: str) -> dict | None:
        record = await self.record(scan_id)
        if record is None:
            return None
        previous = record[3]
        if record[2] is None and record[0] is not None:  # still running: against the latest completed
            last = await self.redis.hget(self.key("last"), record[0])
            previous = json.loads(last) if last and json.loads(last)[0] != scan_id else None
        current = await self.findings(scan_id)
        before = await self.findings(previous[0]) if previous else {}
        fps = sorted(set(current) | set(before))
        triage = dict(zip(fps, await self.redis.hmget(self.key("triage"), fps))) if fps else {}
        triage = {fp: json.loads(t) for fp, t in triage.items() if t}
        return diff_lists(scan_id, record[1], tuple(previous) if previous else None, current, before, triage)

    async def lookup(self, fp: str) -> tuple[str, list | None] | None:
        raw = await self.redis.hget(self.key("seen"), fp)
        if raw is None:
            return None
        last_scan = json.loads(raw)[4]
        member = await self.redis.hget(self.key("in:" + last_scan), fp)
        return last_scan, json.loads(member) if member else None

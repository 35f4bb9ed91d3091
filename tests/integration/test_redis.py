"""Scale-out: two gateway processes sharing one ordered stream through a real redis-server."""
import json

from realtime.gateway.redis_stream import RedisEmitter
from tests.conftest import run_async, wait_for


def test_events_published_on_one_gateway_reach_clients_of_the_other_in_seq_order(
        redis_url, gateway_factory, viewers):
    a = gateway_factory("--redis-url", redis_url, "--metrics-interval", "0.3")
    b = gateway_factory("--redis-url", redis_url, "--metrics-interval", "0.3")
    on_a, on_b = viewers(a.url), viewers(b.url)
    assert a.get("/healthz")["mode"] == "redis"
    for i in range(30):  # both gateways publish, interleaved
        (a if i % 2 else b).publish("scan_progress", {"scan_id": i % 3, "progress": i})

    async def emit_externally():
        emitter = RedisEmitter(redis_url)
        for i in range(30, 40):
            await emitter.emit("scan_progress", {"scan_id": 9, "progress": i})
        await emitter.redis.aclose()

    run_async(emit_externally())
    for viewer in (on_a, on_b):
        wait_for(lambda v=viewer: len(v.of("scan_progress")) == 40)
    seqs_a = [d["seq"] for d in on_a.of("scan_progress")]
    seqs_b = [d["seq"] for d in on_b.of("scan_progress")]
    assert seqs_a == seqs_b == sorted(set(seqs_a))  # one stream, the same order everywhere
    assert [d["progress"] for d in on_a.of("scan_progress")][-10:] == list(range(30, 40))
    # both gateways' own stores follow the whole stream
    for gw in (a, b):
        # (at or past the last progress: a metrics tick may follow it)
        state = wait_for(lambda g=gw: (s := g.get("/api/state"))["last_seq"] >= seqs_a[-1] and s)
        assert {s["scan_id"] for s in state["scans"]} == {"0", "1", "2", "9"}
    # metrics come from one gateway at a time, not one copy per gateway
    wait_for(lambda: on_a.of("metrics_update"))
    wait_for(lambda: on_b.of("metrics_update"))
    seen_a, seen_b = ([d["seq"] for e, d in v.events if e == "metrics_update"] for v in (on_a, on_b))
    start = max(seen_a[0], seen_b[0])  # a viewer sees no tick from before it connected
    seen_a, seen_b = [q for q in seen_a if q >= start], [q for q in seen_b if q >= start]
    shared = min(len(seen_a), len(seen_b))
    assert shared and seen_a[:shared] == seen_b[:shared]


def test_invalid_events_from_redis_are_dropped_not_delivered(redis_url, gateway_factory, viewers):
    gw = gateway_factory("--redis-url", redis_url)
    viewer = viewers(gw.url)

    async def emit_bad_then_good():
        emitter = RedisEmitter(redis_url)
        # bypass the emitter's own validation, as a hostile or buggy producer would
        await emitter.append(await emitter.epoch(), [json.dumps({"event": "scan_progress",
                                                                 "data": [{"scan_id": 1, "progress": 999}]})])
        await emitter.emit("scan_progress", {"scan_id": 1, "progress": 5})
        await emitter.redis.aclose()

    run_async(emit_bad_then_good())
    wait_for(lambda: viewer.of("scan_progress"))
    assert [d["progress"] for d in viewer.of("scan_progress")] == [5]

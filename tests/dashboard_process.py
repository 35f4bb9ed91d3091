"""A dashboard's client in a process of its own, so a test can stop it (SIGSTOP) as a stalled
client: `python -m tests.dashboard_process URL`; each line on stdin is answered with one JSON
line summarising its store (scans, finding and notification ids, connection)."""
import json
import sys

from realtime.client import RealtimeClient
from realtime.options import ClientOptions
from realtime.store import EventStore


def summary(client: RealtimeClient) -> dict:
    snap = client.store.snapshot()
    return {"connected": client.status.connected, "note": snap.connection.note,
            "scans": {s.scan_id: [s.status, s.progress] for s in snap.scans.values()},
            "findings": sorted(v.id for v in snap.vulnerabilities),
            "notifications": sorted(n.id for n in snap.notifications)}


def main() -> None:
    options = ClientOptions(reconnect_delay=0.2, reconnect_delay_max=0.5, slow_retry=1.0)
    client = RealtimeClient(EventStore(), options).start()
    client.connect(sys.argv[1])
    for _ in sys.stdin:
        print(json.dumps(summary(client)), flush=True)
    client.close()


if __name__ == "__main__":
    main()

"""Every time a table shows is in the viewer's zone: a lost scan's status on Scans and Targets, and
the start times on the target pages (aware UTC cells, which the column shows in the viewer's zone)."""
from zoneinfo import ZoneInfo

from realtime import views
from realtime.store import EventStore

LOS_ANGELES = ZoneInfo("America/Los_Angeles")


def lost_scan_store() -> EventStore:
    store = EventStore()
    store.set_epoch("a")
    store.apply("scan_started", {"scan_id": "s", "target": "https://shop.example"}, at=1_764_241_200.0)
    store.set_epoch("b", at=1_764_241_300.0)  # the gateway restarted without its state: lost contact
    return store


def test_a_lost_scans_status_is_in_the_viewers_zone_on_scans_and_targets():
    snap = lost_scan_store().snapshot()
    status = views.scans_frame(snap, 1_764_241_400.0, 120, zone=LOS_ANGELES)["status"][0]
    assert status.startswith("lost contact since 2025-11-27 03:01:40 PST"), status
    target = views.target_frame(snap, "https://shop.example", 1_764_241_400.0, 120, LOS_ANGELES)
    assert target["status"][0] == status


def test_target_pages_hold_aware_times_not_the_servers_clock():
    snap = lost_scan_store().snapshot()
    started = views.target_frame(snap, "https://shop.example", 1_764_241_400.0, 120)["started"][0]
    last = views.targets_frame(snap)["last scan"][0]
    assert started.tzinfo is not None and last.tzinfo is not None
    assert started.timestamp() == last.timestamp() == 1_764_241_200.0


def test_counts_are_singular_for_one():
    assert (views.plural(1, "scan"), views.plural(2, "scan"), views.plural(1000, "finding")) == (
        "1 scan", "2 scans", "1,000 findings")

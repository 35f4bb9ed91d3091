from realtime.leases import RoomLeases


def test_rooms_are_held_while_renewed_and_left_after_the_last_viewer_goes():
    log = []
    leases = RoomLeases(lambda r: log.append(("join", r)), lambda r: log.append(("leave", r)), ttl=10)
    leases.renew("scan_1", now=0)
    leases.renew("scan_1", now=5)  # a second viewer, or the next tick: no second join
    leases.renew("scan_2", now=6)
    assert log == [("join", "scan_1"), ("join", "scan_2")]
    assert leases.expire(now=14) == []
    assert leases.expire(now=15) == ["scan_1"] and leases.rooms == ["scan_2"]
    leases.renew("scan_1", now=20)  # viewed again: joined again; scan_2 expired meanwhile
    assert log[2:] == [("leave", "scan_1"), ("join", "scan_1"), ("leave", "scan_2")]


def test_the_janitor_expires_leases_without_any_viewer():
    import time

    left = []
    leases = RoomLeases(lambda r: None, left.append, ttl=0.2)
    leases.renew("scan_9")
    leases.start()
    try:
        deadline = time.monotonic() + 5
        while not left and time.monotonic() < deadline:
            time.sleep(0.05)
        assert left == ["scan_9"] and leases.rooms == []
    finally:
        leases.stop()

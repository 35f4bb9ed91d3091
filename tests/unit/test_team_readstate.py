"""Issue 18 point 7: a click on *Mark read* before the browser's id came is not lost when it comes."""
from realtime.readstate import ReadState
from realtime.store import EventStore


def test_a_tabs_own_flags_go_to_the_browsers_id_when_it_comes():
    store = EventStore()
    for i in range(3):
        store.apply("notification", {"id": f"n{i}", "message": f"note {i}"})
    snap, reads = store.snapshot(), ReadState()
    reads.mark("session:a", ["n0", "n1"], snap)  # clicked in the tab's first moment
    assert reads.unread(snap, "browser:b") == 3
    assert reads.hand_over("session:a", "browser:b", snap) == 2
    assert reads.unread(snap, "browser:b") == 1 and reads.unread(snap, "browser:other") == 3
    assert reads.hand_over("browser:b", "browser:b", snap) == 0

"""The browser ids a dashboard's tabs wait for: each taken once, bounded, and old ones dropped."""
from realtime.browser_ids import BrowserIds


def test_an_id_is_taken_once_by_its_own_ticket():
    ids = BrowserIds()
    ids.put("t1", "b" * 32)
    assert ids.take("t2") is None
    assert ids.take("t1") == "b" * 32
    assert ids.take("t1") is None
    ids.put("t3", "")  # a browser without localStorage says so: its tab keeps its own id
    assert ids.take("t3") == ""


def test_ids_no_tab_takes_are_bounded_and_expire():
    ids = BrowserIds(pending=3, keep=60)
    for i in range(5):
        ids.put(f"t{i}", f"{i}", now=1000 + i)
    assert [ids.take(f"t{i}") for i in range(5)] == [None, None, "2", "3", "4"]  # the oldest went first
    ids.put("old", "x", now=1000)
    ids.put("new", "y", now=1061)
    assert ids.take("old") is None and ids.take("new") == "y"

"""The official JavaScript socket.io-client (what the original Next.js frontend uses)."""
import json
import subprocess

from tests.conftest import ROOT

JS = ROOT / "tests/js"


def test_js_client_joins_a_scan_room_receives_its_progress_and_leaves(gateway):
    assert (JS / "node_modules" / "socket.io-client").exists(), "run: npm ci --prefix tests/js"
    node = subprocess.Popen(["node", str(JS / "interop.mjs"), gateway.url, "42"],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert node.stdout.readline().strip() == "JOINED"
        gateway.publish("scan_progress", {"scan_id": 41, "progress": 50})  # another room
        for value in (10, 60, 100):
            gateway.publish("scan_progress", {"scan_id": 42, "progress": value})
        result = json.loads(node.stdout.readline())
        assert node.wait(10) == 0
    finally:
        node.kill()
    assert result["connected"] and result["joined"] == {"ok": True} and result["left"] == {"ok": True}
    assert result["progress"] == [["42", 10], ["42", 60], ["42", 100]]
    assert result["seqs"] == sorted(result["seqs"])


def test_a_busy_tab_asks_for_one_more_rerun_of_an_area_not_one_per_change():
    """realtime/changes.js in Node (tests/js/changes.mjs): ten changes heard while an area's rerun
    is under way bring one more rerun once it has rendered, and after the tab rested five times as
    long as that rerun took; a change told urgent (the connection panel's) and timer polling (the
    socket down) do not wait for the rest."""
    result = watcher_scenario("changes.mjs")
    assert (result["first"], result["whileBusy"], result["after"]) == (1, 1, 2), result
    # (the harness reads the clock a moment after the watcher does: a few ms of slack)
    assert 5 * result["took"] - 20 <= result["rested"] < 5 * result["took"] + 1000, result
    assert (result["calm"], result["resting"], result["urgent"]) == (1, 0, 1), result  # an urgent one goes
    assert result["polled"] >= 1, result  # polling every 0.3 s, resting or not


def test_an_areas_watcher_stays_while_its_element_is_in_the_page():
    """realtime/changes.js in Node (tests/js/cleanup.mjs): a render that ends after a newer render
    of the same element, and its cleanup, leave the area heard and rerun when told (CI: the
    sidebar's panel lost its watcher in a page's first moment and went on saying "asking this
    browser which it has read"); the element leaving the page drops it."""
    result = watcher_scenario("cleanup.mjs")
    assert result == {"keptDrops": 0, "heard": 1, "goneDrops": 1}, result


def watcher_scenario(name: str) -> dict:
    """Run a scenario of the change watcher in Node (tests/js/NAME): the JSON line it prints."""
    done = subprocess.run(["node", str(JS / name), str(ROOT / "realtime/changes.js")],
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)

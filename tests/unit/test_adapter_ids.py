"""An adapter run's default scan id: one scan per run, even for runs in the same second."""
from realtime import protocol
from realtime.adapters import default_scan_id


def test_default_scan_ids_are_unique_per_run_and_valid():
    ids = [default_scan_id("sarif") for _ in range(50)]  # well within one second
    assert len(set(ids)) == 50
    assert all(protocol.ID_RE.match(i) and i.startswith("sarif-") for i in ids)
    assert len(default_scan_id("nuclei")) <= 60  # SARIF keeps 60 characters before its "-<run>"

"""The registry's packed histories (realtime/gateway/seen.py): what is packed comes back, scan
numbers are renumbered by name, and --state-db rows in both spellings of seconds load."""
from realtime import protocol
from realtime.gateway.registry import FP, FindingRegistry
from realtime.gateway.seen import SCAN_MASK, Seen, encoded, fields, record
from realtime.options import GatewayOptions

T0 = 1_800_000_000.0


def test_a_record_gives_back_what_was_packed_even_past_its_usual_widths():
    for values in [(0, 0, 1, 0, 0, 0), (1_800_000_000_123, 1_800_000_000_999, 7, 3, 2, 1),
                   (2**44 - 1, 2**44 - 1, 10**12, SCAN_MASK, SCAN_MASK, SCAN_MASK)]:
        assert fields(record(*values)) == values
    assert Seen.decode(encoded(1_800_000_000_007, 1_800_000_001_250, 3, "s1", "s3", "s2")) == \
        Seen(1_800_000_000.007, 1_800_000_001.25, 3, "s1", "s3", "s2")


def finding(scan: str, title: str) -> dict:
    return protocol.wire("vulnerability_found", {"scan_id": scan, "title": title, "severity": "low",
                                                 "url": f"https://a.example/{title}"})


def test_scan_numbers_renumbered_keep_every_history_and_its_order():
    reg = FindingRegistry(GatewayOptions(registry_max_scans=2), persist=True)
    first = reg.stamp("vulnerability_found", finding("s-first", "kept"), now=T0)
    for n in range(1_500):  # many one-finding scans: their numbers outgrow the records, and are renumbered
        reg.stamp("vulnerability_found", finding(f"s{n}", f"t{n % 100}"), now=T0 + n)
    assert len(reg._scans) < 1_000  # noqa: SLF001 - what the renumbering is for
    assert reg.seen(first["fingerprint"]) == Seen(T0, T0, 1, "s-first", "s-first", "")
    assert reg.seen(finding_fp(reg, "s1499", "t99")) == Seen(T0 + 99, T0 + 1_499, 15, "s99", "s1499", "s1399")
    again = reg.stamp("vulnerability_found", finding("s-last", "kept"), now=T0 + 2_000)
    assert (again["known"], again["first_seen_scan_id"], again["previous_scan_id"], again["times_seen"]) == \
        (True, "s-first", "s-first", 2)
    assert list(reg._seen)[-1] == int(first["fingerprint"][3:], 16)  # noqa: SLF001 - the most recent is last


def finding_fp(reg: FindingRegistry, scan: str, title: str) -> str:
    return reg.stamp("vulnerability_found", finding(scan, title), now=T0 + 1_499)["fingerprint"]


def test_rows_written_with_float_seconds_still_load():
    fp = "fp-" + "ab" * 16
    reg = FindingRegistry(GatewayOptions(), persist=True)
    reg.load({FP: [(FP + fp, "1800000000.1234567|1800000005.5|2|s1|s2|s1")]})
    assert reg.seen(fp) == Seen(1_800_000_000.123, 1_800_000_005.5, 2, "s1", "s2", "s1")
    stamped = reg.stamp("vulnerability_found", {**finding("s3", "x"), "fingerprint": fp}, now=T0 + 10)
    assert (stamped["first_seen_at"], stamped["times_seen"], stamped["previous_scan_id"]) == \
        ("2027-01-15T08:00:00.123+00:00", 3, "s2")

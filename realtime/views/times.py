"""Times: for people, in the viewer's own time zone with the zone named (and how long ago); for
files, UTC ISO 8601 with `Z`. Every time a page or an export shows goes through here."""
from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from realtime.views.text import ago

UTC = UTC


def zone_of(name: str | None = None, offset_minutes: int | None = None) -> tzinfo:
    """The browser's time zone: its IANA name when known, else its offset (minutes *behind* UTC,
    as JavaScript's getTimezoneOffset gives it), else UTC."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass  # an unknown or malformed name (it came from the browser): fall back
    if isinstance(offset_minutes, int) and abs(offset_minutes) < 24 * 60:
        return timezone(-timedelta(minutes=offset_minutes))
    return UTC


def zone_name(zone: tzinfo) -> str:
    """What a column header names: "America/Los_Angeles", "UTC", "UTC+05:30"."""
    if isinstance(zone, ZoneInfo):
        return zone.key
    return datetime.now(zone).strftime("%Z") or "UTC"


def moment(epoch: float, zone: tzinfo = UTC) -> datetime:
    return datetime.fromtimestamp(epoch, zone)


def clock(epoch: float | None, zone: tzinfo = UTC) -> str:
    """"2026-11-27 03:10:10 PST": the date and time in `zone`, the zone named."""
    return "" if epoch is None else moment(epoch, zone).strftime("%Y-%m-%d %H:%M:%S %Z")


def time_of_day(epoch: float, zone: tzinfo = UTC) -> str:
    """"03:10:10 PST"."""
    return moment(epoch, zone).strftime("%H:%M:%S %Z")


def when(epoch: float | None, now: float, zone: tzinfo = UTC) -> str:
    """"2026-11-27 03:10:10 PST (3 min ago)": absolute and relative side by side."""
    return "" if epoch is None else f"{clock(epoch, zone)} ({ago(now - epoch)})"


def wall(epoch: float, zone: tzinfo = UTC) -> str:
    """"2026-11-27T03:10:10.979": the clock in `zone`, for a chart's date axis (plotly drops an
    offset and draws the wall time it is given)."""
    return moment(epoch, zone).replace(tzinfo=None).isoformat(timespec="milliseconds")


def iso_utc(epoch: float) -> str:
    """"2026-11-27T11:10:10.979Z": for files and machines."""
    return moment(epoch).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def utc_datetime(epoch: float) -> datetime:
    """A table cell: an aware UTC time, shown in the viewer's zone by its column."""
    return moment(epoch)


def exported(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with its time columns as UTC ISO 8601 text with `Z` (CSV and JSON alike)."""
    times = [c for c in frame.columns if isinstance(frame[c].dtype, pd.DatetimeTZDtype)]
    if not times:
        return frame
    return frame.assign(**{c: frame[c].map(lambda t: iso_utc(t.timestamp())) for c in times})


def file_stamp(epoch: float | None = None) -> str:
    """"20261127T111010Z" for file names."""
    return moment(time.time() if epoch is None else epoch).strftime("%Y%m%dT%H%M%SZ")

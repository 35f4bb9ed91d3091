"""Charts (plotly figures as plain data) and the metric series behind the stat cards."""
from __future__ import annotations

from collections import Counter
from datetime import tzinfo
from typing import Any

import plotly.graph_objects as go

from realtime import protocol
from realtime.findings import HISTOGRAM_SECONDS
from realtime.models import Scan, Snapshot
from realtime.views.memo import per_snapshot
from realtime.views.scans import phase_spans
from realtime.views.tables import matching_findings
from realtime.views.text import plotly_text, span
from realtime.views.times import UTC, clock, wall, zone_name

SEVERITY_COLORS = {"critical": "#dc2626", "high": "#f97316", "medium": "#eab308", "low": "#3b82f6",
                   "info": "#6b7280"}


def figure(traces: list[dict], **layout: Any) -> go.Figure:
    """A plotly figure as plain data: no validation by plotly and no default template (Streamlit's
    theme styles it in the browser). Each viewer's tick copies and sends the figure: ~0.1 ms so,
    against ~1.5 ms for a validated figure carrying plotly's template."""
    return go.Figure({"data": traces, "layout": {"template": {}, "margin": {"l": 10, "r": 10, "t": 10, "b": 10},
                                                 "height": 260, **layout}}, _validate=False)


def time_axis(first: float, last: float, zone: tzinfo, minimum: float = 60) -> dict:
    """A clock axis in the viewer's zone, named, spanning at least `minimum` seconds: one point
    alone would otherwise get sub-millisecond ticks."""
    return {**zone_axis(zone), "tickformat": "%H:%M:%S", "range": time_range(first, last, zone, minimum)}


def time_range(first: float, last: float, zone: tzinfo, minimum: float) -> list[str]:
    """[first, last] widened to `minimum` seconds around its middle, as the viewer's clock."""
    pad = max(0.0, minimum - (last - first)) / 2
    return [wall(first - pad, zone), wall(last + pad, zone)]


def zone_axis(zone: tzinfo) -> dict:
    """A date axis whose title names the zone its times are in."""
    return {"type": "date", "title": {"text": f"time ({zone_name(zone)})"}}


def empty_figure(message: str, **layout: Any) -> go.Figure:
    """No data: the message in place of axes (plotly would draw a meaningless numeric 0–6 or
    −1…1 grid)."""
    return figure([], xaxis={"visible": False}, yaxis={"visible": False}, annotations=[
        {"text": message, "showarrow": False, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5}], **layout)


def progress_figure(scan: Scan, zone: tzinfo = UTC) -> go.Figure:
    h = scan.history
    if not h:
        return empty_figure("No progress reported yet")
    return figure([{"type": "scatter", "x": [wall(p.at, zone) for p in h], "y": [p.progress for p in h],
                    "mode": "lines+markers", "text": [plotly_text(p.phase or "") for p in h],
                    "hovertemplate": "%{x|%H:%M:%S} · %{y:.1f}% · %{text}<extra></extra>"}],
                  xaxis=time_axis(h[0].at, h[-1].at, zone), yaxis={"range": [0, 100], "title": {"text": "progress %"}})


def gantt_figure(scan: Scan, now: float, zone: tzinfo = UTC) -> go.Figure:
    spans = phase_spans(scan, now)
    if not spans:
        return empty_figure("No phases reported yet", height=100)
    return figure([{"type": "bar", "orientation": "h", "y": [plotly_text(p) for p, _, _ in spans],
                    "x": [max(end - start, 0.5) * 1000 for _, start, end in spans],
                    "base": [wall(start, zone) for _, start, _ in spans],
                    # the duration as text: on a date axis plotly's %{x} is a date, not the bar's length
                    "customdata": [[clock(start, zone)[11:], span(end - start)] for _, start, end in spans],
                    "hovertemplate": "%{y}: %{customdata[0]}, %{customdata[1]}<extra></extra>"}],
                  xaxis=time_axis(spans[0][1], spans[-1][2], zone), yaxis={"autorange": "reversed"},
                  height=110 + 40 * len(spans), showlegend=False)  # room for the ticks and the zone under one bar


@per_snapshot
def severity_figure(snap: Snapshot, filters: tuple[tuple[str, ...], str, str] | None = None) -> go.Figure:
    """Findings held by severity; with `filters` (as `matching_findings` takes them), those matching."""
    if filters is None:
        counts = dict(snap.severity_counts)
    else:
        found = Counter(v.severity for v in matching_findings(snap, *filters))
        counts = {s: found.get(s, 0) for s in protocol.SEVERITIES}
    if not any(counts.values()):
        return empty_figure("No findings match" if filters and any(filters) else "No findings yet")
    return figure([{"type": "bar", "x": list(counts), "y": list(counts.values()),
                    "marker": {"color": [SEVERITY_COLORS[s] for s in counts]},
                    "hovertemplate": "%{x}: %{y:,} findings<extra></extra>"}],
                  yaxis=count_axis(max(counts.values())))


def count_axis(top: int) -> dict:
    """A y axis of whole numbers from 0 (a few findings would otherwise get ticks 0.5, 1.5…)."""
    return {"range": [0, top * 1.1], "tickformat": ",d", "title": {"text": "findings"},
            **({"dtick": 1} if top < 5 else {})}


@per_snapshot
def findings_over_time_figure(snap: Snapshot, zone: tzinfo = UTC) -> go.Figure:
    """From the store's running histogram: no pass over the findings themselves."""
    histogram = snap.findings_histogram
    if not histogram:
        return empty_figure("No findings yet")
    first, last = min(histogram), max(histogram) + HISTOGRAM_SECONDS
    width = max(last - first, 60)
    bucket = next(b for b in (10, 60, 300, 900, 3600, 21600, 86400, 604800, 2592000, 31536000, 10**9)
                  if width / b <= 60)
    counts: Counter[int] = Counter()
    for start, n in histogram.items():
        counts[start // bucket * bucket] += n
    xs = sorted(counts)
    return figure([{"type": "bar", "x": [wall(x + bucket / 2, zone) for x in xs],
                    "y": [counts[x] for x in xs], "width": bucket * 1000 * 0.9,
                    "hovertemplate": "%{x}: %{y} findings<extra></extra>"}],
                  # a few buckets wide at least: one bar alone would otherwise fill the chart
                  xaxis={**zone_axis(zone), "range": time_range(xs[0], xs[-1] + bucket, zone, 6 * bucket)},
                  yaxis=count_axis(max(counts.values())))


def metric_series(snap: Snapshot, key: str) -> list[int]:
    return [s.metrics.get(key, 0) for s in snap.samples]


def metric_delta(snap: Snapshot, key: str, window: float = 300) -> int | None:
    """Change over the last `window` seconds, from the samples."""
    if not snap.samples:
        return None
    cutoff = snap.samples[-1].at - window
    past = next((s for s in snap.samples if s.at >= cutoff), snap.samples[0])
    return snap.metrics.get(key, 0) - past.metrics.get(key, 0)


def event_rates(snap: Snapshot) -> list[float]:
    """Events/s between consecutive samples."""
    s = snap.samples
    return [round((b.logged - a.logged) / (b.at - a.at), 2) for a, b in zip(s, s[1:]) if b.at > a.at]

"""What pages show, derived from a store snapshot: text, scans, tables, charts, toasts, exports.

No Streamlit here (pages only lay these out). Derived data is memoised per snapshot
(`memo.per_snapshot`), and a store hands the same snapshot object to every caller until it
changes, so many viewers polling the same version share one computation instead of repeating it
per session. Pages use this package's names; the modules group them by concept.
"""
from realtime.views.cards import Card, stat_card
from realtime.views.empty import (
    EmptyState,
    finding_missing,
    no_findings,
    no_notifications,
    no_scans,
    target_missing,
    with_token,
)
from realtime.views.figures import (
    event_rates,
    findings_over_time_figure,
    gantt_figure,
    metric_delta,
    metric_series,
    progress_figure,
    severity_figure,
)
from realtime.views.links import SCAN_ID_SHOWN, finding_url, scan_url, target_url
from realtime.views.scans import (
    active_scans,
    duration_text,
    elapsed,
    eta,
    events_gone_note,
    is_stuck,
    lost_note,
    lost_scans,
    phase_spans,
    scan_choices,
    scan_label,
    scans_by_start,
    scans_frame,
    status_text,
    stuck_note,
)
from realtime.views.tables import (
    EXTRA_COLUMNS,
    TABLE_COLUMNS,
    Paging,
    event_rows,
    events_jsonl,
    extra_text,
    find_finding,
    findings_frame,
    findings_page,
    matching_findings,
    matching_notifications,
    pages,
    to_csv,
    to_json,
)
from realtime.views.targets import (
    severity_by_scan,
    target_frame,
    target_of,
    target_scans,
    targets,
    targets_frame,
)
from realtime.views.text import TYPE_ICONS, ago, literal, plural, shown, span, type_icon, visible
from realtime.views.times import clock, file_stamp, iso_utc, time_of_day, when, zone_name, zone_of
from realtime.views.toasts import new_records, plan_toasts
from realtime.views.whatsnew import (
    DEFAULT_SHOW,
    SHOW,
    SHOW_LABELS,
    badge,
    diff_line,
    diff_rows,
    iso_z,
    kind,
    triage_text,
)

__all__ = [
    "with_token",
    "EXTRA_COLUMNS", "TABLE_COLUMNS", "extra_text",
    "TYPE_ICONS", "Paging", "active_scans", "ago", "clock", "elapsed", "eta", "event_rates", "events_gone_note",
    "event_rows",
    "events_jsonl", "findings_frame", "findings_over_time_figure", "findings_page", "gantt_figure",
    "is_stuck", "literal", "lost_note", "lost_scans", "matching_findings", "matching_notifications",
    "metric_delta", "metric_series", "new_records", "pages", "phase_spans", "plan_toasts", "progress_figure",
    "plural", "scans_by_start", "scans_frame", "severity_figure", "shown", "span", "stat_card", "Card", "status_text",
    "stuck_note", "to_csv", "duration_text",
    "to_json", "type_icon", "visible",
    "file_stamp", "iso_utc", "time_of_day", "when", "zone_name", "zone_of", "scan_choices", "scan_label",
    "DEFAULT_SHOW", "SHOW", "SHOW_LABELS", "badge", "diff_line", "diff_rows", "iso_z", "kind", "triage_text",
    "EmptyState", "finding_missing", "no_findings", "no_notifications", "no_scans", "target_missing",
    "SCAN_ID_SHOWN", "find_finding", "finding_url", "scan_url", "target_url",
    "severity_by_scan", "target_frame", "target_of", "target_scans", "targets", "targets_frame",
]

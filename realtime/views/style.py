"""The dashboard's own CSS (one <style>, sent to every page): bidi isolation and phone layout."""

PHONE_WIDTH = 640  # px: below this Streamlit stacks columns
PREVIEW_AREA = "previews_"  # the key of a live area's block that previews notifications (realtime/live.py)

# Names are shown bold and URLs as code: isolated, right-to-left text in one never reorders the
# text around it (a scan's name and the words after it keep their order).
# On a phone, toasts come down from the top over the page title: they go to the bottom instead.
# The four stat cards, stacked one under another with their sparklines, would fill the first
# screen: two by two, numbers and changes only (the Dashboard puts them in `.st-key-stat_cards`).
# An area previewing new notifications shows its watcher (their lines) first, as its list is newest
# first; the watcher is the area's last element (its render says the run is over).
STYLE = f"""<style>
[data-testid="stMarkdownContainer"] :is(strong, code) {{ unicode-bidi: isolate; }}
[class*="st-key-{PREVIEW_AREA}"] > :last-child {{ order: -1; }}
@media (max-width: {PHONE_WIDTH}px) {{
  [data-testid="stToastContainer"] {{ top: auto !important; bottom: 0.5rem !important; }}
  .st-key-stat_cards [data-testid="stHorizontalBlock"] {{ flex-flow: row wrap !important; gap: 0.5rem !important; }}
  .st-key-stat_cards [data-testid="stColumn"] {{
    flex: 1 1 calc(50% - 0.5rem) !important; width: calc(50% - 0.5rem) !important;
    min-width: calc(50% - 0.5rem) !important; }}
  .st-key-stat_cards [data-testid="stMetricChart"] {{ display: none; }}
}}
</style>"""

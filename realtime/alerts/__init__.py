"""Alerts: tell the team where it already is (Slack, Teams, Discord, email, webhooks through
Apprise). `python -m realtime.alerts --rules alerts.toml`; see README "Alerts"."""

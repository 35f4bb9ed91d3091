"""Alert rules are checked with clear errors; README's alerts.toml is valid; untrusted text is defused."""
import re
import tomllib
from pathlib import Path

import pytest

from realtime.alerts import messages
from realtime.alerts.engine import Alert, Engine
from realtime.alerts.rules import RulesError, load, parse

ROOT = Path(__file__).resolve().parents[2]
HOOK = {"hook": {"url": "json://127.0.0.1:9/x"}}


def readme_rules():
    text = (ROOT / "README.md").read_text()
    return tomllib.loads(re.search(r"A complete `alerts.toml`.*?```toml\n(.*?)```", text, re.S).group(1))


def test_readmes_alerts_toml_is_valid(tmp_path):
    doc = readme_rules()
    (tmp_path / "mail").write_text("mailto://user:pw@smtp.example.com?to=team@example.com")
    doc["destinations"]["email"]["url_file"] = str(tmp_path / "mail")
    config = parse(doc, {"SLACK_ALERTS_URL": "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ"})
    assert {d.dialect for d in config.destinations.values()} == {"slack", "email"}
    assert {r.on for r in config.rules} == {"finding", "scan_failed", "scan_stuck", "scan_lost", "scan_completed",
                                            "notification"}


@pytest.mark.parametrize("rule, error", [
    ({"name": "x", "on": "findings", "to": ["hook"]}, "on = 'findings': expected one of finding"),
    ({"name": "x", "on": "finding", "to": ["slack"]}, "to = ['slack']: name destinations defined"),
    ({"name": "x", "on": "finding", "to": ["hook"], "severity": "urgent"}, "severity = 'urgent'"),
    ({"name": "x", "on": "finding", "to": ["hook"], "digset": 60}, "unknown key(s) digset"),
    ({"name": "x", "on": "finding", "to": ["hook"], "digest": -1}, "digest must be a number ≥ 0"),
    ({"on": "finding", "to": ["hook"]}, "needs a name"),
])
def test_bad_rules_are_refused_with_the_reason(rule, error):
    with pytest.raises(RulesError, match=re.escape(error)):
        parse({"destinations": HOOK, "rules": [rule]}, {})


def test_destination_secrets_come_from_env_or_file_and_are_never_shown(tmp_path):
    with pytest.raises(RulesError, match="environment variable SLACK_URL is not set"):
        parse({"destinations": {"s": {"url_env": "SLACK_URL"}}, "rules": [{"name": "x", "on": "finding", "to": ["s"]}]},
              {})
    with pytest.raises(RulesError, match="Apprise does not accept this nope:// URL"):
        parse({"destinations": {"s": {"url": "nope://secret-token"}}, "rules": []}, {})
    config = parse({"destinations": {"s": {"url_env": "U"}}, "rules": [{"name": "x", "on": "finding", "to": ["s"]}]},
                   {"U": "json://me:t0psecret@127.0.0.1/x"})
    assert "t0psecret" not in repr(config)


def test_findings_match_severity_globs_tags_and_new_only():
    config = parse({"destinations": HOOK, "rules": [
        {"name": "prod high", "on": "finding", "severity": "high", "targets": ["*shop*"], "new_only": True,
         "to": ["hook"]},
        {"name": "xss", "on": "finding", "tags": ["XSS"], "new_only": False, "to": ["hook"]}]}, {})
    engine = Engine(config.rules)
    engine.handle("scan_started", {"scan_id": "s1", "target": "https://shop.example.com", "seq": 1})
    engine.handle("scan_started", {"scan_id": "s2", "target": "https://blog.example.com", "seq": 2})

    def rules(**data):
        return [r.name for r, _ in engine.handle("vulnerability_found", {"title": "t", "seq": 9, **data})]

    assert rules(scan_id="s1", severity="critical") == ["prod high"]
    assert rules(scan_id="s1", severity="medium") == []
    assert rules(scan_id="s2", severity="critical") == []
    assert rules(scan_id="s1", severity="high", known=True) == []  # not new
    assert rules(scan_id="s2", severity="low", vulnerability_type="xss") == ["xss"]
    assert rules(scan_id="s2", severity="low", tags=["xss"], known=True) == ["xss"]


@pytest.mark.parametrize("dialect", ["text", "json", "slack", "discord", "teams", "email"])
def test_untrusted_text_cannot_ping_link_or_render(dialect):
    hostile = "@everyone <!channel> <@U123> [x](https://evil.example) <img src=x>"
    alert = Alert(kind="finding", key="k", scan_id="s1", target="https://evil.example", severity="high",
                  title=hostile)
    title, body, _ = messages.render(messages.single(alert, messages.Links()), dialect)
    for text in (title, body.replace("<br>", "")):  # our own line breaks
        assert not re.search(r"@everyone|<[!@a-z]|\]\(|https://evil", text), text
    assert "everyone" in body


def test_the_example_rules_file_is_the_one_readme_shows():
    shown = re.search(r"A complete `alerts.toml`.*?```toml\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert (ROOT / "alerts.example.toml").read_text() == shown.group(1)


def test_a_dry_run_notes_secrets_it_cannot_read_instead_of_stopping(tmp_path):
    with pytest.raises(RulesError, match="environment variable SLACK_ALERTS_URL is not set"):
        load(str(ROOT / "alerts.example.toml"), {})
    config = load(str(ROOT / "alerts.example.toml"), {}, dry_run=True)
    where = ROOT / "alerts.example.toml"
    assert {n: d.unresolved for n, d in config.destinations.items()} == {
        "slack": f"{where}: [destinations.slack]: environment variable SLACK_ALERTS_URL is not set",
        "email": f"{where}: [destinations.email]: cannot read url_file /run/secrets/alerts_mail_url "
                 "(No such file or directory)"}
    assert len(config.rules) == 7
    with pytest.raises(RulesError, match="Apprise does not accept"):  # what it can check, it still does
        parse({"destinations": {"s": {"url": "nope://x"}}, "rules": []}, {}, dry_run=True)


def test_scans_from_the_gateways_state_are_known_to_the_rules():
    """A scan that started before the worker (or in a gap it resynced over) comes only in the
    state the client loads: its name and target must still match and name the alert."""
    config = parse({"destinations": HOOK, "rules": [
        {"name": "prod", "on": "finding", "severity": "critical", "targets": ["*shop.example.com*"], "to": ["hook"]},
        {"name": "done", "on": "scan_completed", "scans": ["Alert*"], "to": ["hook"]}]}, {})
    engine = Engine(config.rules)
    engine.learn([{"scan_id": "al-1", "name": "Alert test", "target": "https://shop.example.com",
                   "status": "running", "updated_at": 100.0},
                  {"scan_id": "al-2", "name": "Old", "status": "completed", "updated_at": 50.0}])
    assert engine.stuck(100.5) == [] and engine.scans["al-1"].last_at == 100.0  # silent since the state says
    matched = engine.handle("vulnerability_found",
                            {"scan_id": "al-1", "title": "RCE", "severity": "critical", "seq": 3})
    assert [(r.name, a.scan_name, a.target) for r, a in matched] == [("prod", "Alert test", "https://shop.example.com")]
    assert engine.running() == ["al-1"]  # statuses as the state has them
    assert {i.scan_id for i in engine.take_dirty()[0]} == {"al-1", "al-2"}  # persisted with the cursor
    assert [r.name for r, _ in engine.handle("scan_completed", {"scan_id": "al-1", "seq": 4})] == ["done"]


@pytest.mark.parametrize("dialect", ["text", "json", "slack", "discord", "teams", "email"])
def test_finding_alerts_and_digests_carry_cve_and_cvss_inert(dialect):
    alert = Alert(kind="finding", key="k", scan_id="s1", target="https://shop.example.com", severity="critical",
                  title="Log4Shell", cve=["CVE-2021-44228", "@everyone <!here>"], cvss=10.0)
    single = messages.render(messages.single(alert, messages.Links()), dialect)[1]
    top = messages.render(messages.digest([alert, alert], 2, {"finding": 2}, {"critical": 2}, messages.Links()),
                          dialect)[1]
    for body in (single, top):
        assert re.search(r"CVE\\?-2021\\?-44228", body) and "CVSS 10.0" in body, body
        assert not re.search(r"@everyone|<[!@a-z]", body.replace("<br>", "")), body
    bare = messages.render(messages.single(Alert(kind="finding", key="k", severity="low", title="t"),
                                           messages.Links()), dialect)[1]
    assert "CVE" not in bare and "CVSS" not in bare

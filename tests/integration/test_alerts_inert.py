"""Hostile finding titles reach Slack, Discord, Teams, email and a JSON webhook inert: no ping,
no link, nothing rendered. Slack, Discord and Teams are stood in for by an intercepting HTTPS
proxy that records the exact requests Apprise makes to them; email by a real SMTP server."""
import json
import re
from html.parser import HTMLParser

import pytest

from bench.alerting import WorkerProcess, rules_toml
from bench.receivers import InterceptingProxy, MailReceiver, WebhookReceiver
from tests.conftest import wait_for

HOSTILE = ["@everyone look", "<!channel> hi", "@here now", "<@U123> you", "[click me](http://evil.example/x)",
           '<img src=x onerror=alert(1)><a href="http://evil.example">x</a><script>alert(1)</script>']
DASHBOARD = "http://dash.example"
# Mentions as Slack/Discord/Teams act on them, links and autolinks to the attacker.
PING = re.compile(r"@(everyone|here|channel)\b|<[!@]|<@U123>")
EVIL_LINK = re.compile(r"\]\(|https?://evil|<a |<img|<script", re.I)


@pytest.fixture
def receivers(tmp_path):
    hook, mail, proxy = WebhookReceiver().start(), MailReceiver().start(), InterceptingProxy(str(tmp_path)).start()
    yield hook, mail, proxy
    hook.stop(), mail.stop(), proxy.stop()


def assert_inert(where, text):
    assert not PING.search(text), (where, text)
    assert not EVIL_LINK.search(text.replace(f"]({DASHBOARD}", "")), (where, text)


class Tags(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.hrefs = set(), []

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.hrefs += [v for k, v in attrs if k == "href"]


def test_hostile_titles_are_inert_in_every_format(gateway, receivers, tmp_path):
    hook, mail, proxy = receivers
    destinations = {
        "hook": hook.url, "mail": mail.url,
        "slack": "slack://T1JJ3T3L2/A1BRTD4JD/TIiajkdnlazkcOXrIdevi7FQ?verify=no&footer=no&image=no",
        "discord": "discord://123456789012345678/abcdefghijklmnopqrstuvwxyz0123456789?verify=no&image=no",
        "teams": "workflows://prod-01.westus.logic.azure.com:443/abcdef0123456789/sig0123456789?verify=no&image=no",
    }
    rules = [{"name": "all", "on": "finding", "to": list(destinations), "max_per_hour": 0}]
    worker = WorkerProcess(gateway.url, rules_toml(destinations, rules), tmp_path / "w",
                           env={"HTTPS_PROXY": proxy.url, "NO_PROXY": "127.0.0.1,localhost",
                                "BUGHUNT_DASHBOARD_URL": DASHBOARD})
    try:
        worker.wait_connected()
        gateway.publish("scan_started", {"scan_id": "s1", "scan_name": "@everyone", "target": "https://shop.example.com"})
        for n, title in enumerate(HOSTILE):
            gateway.publish("vulnerability_found", {"scan_id": "s1", "title": title, "severity": "critical",
                                                    "url": f"http://evil.example/{n}", "cve": [title[:32]]})
        count = len(HOSTILE)
        wait_for(lambda: len(hook.messages()) == count and len(mail.messages) == count
                 and len(proxy.requests) == 3 * count, timeout=30)
    finally:
        worker.stop()
    for message in hook.messages():
        assert_inert("json", message["title"] + "\n" + message["message"])
    for message in mail.messages:
        html = mail.html(message)
        assert_inert("email subject", str(message["Subject"]))
        parser = Tags()
        parser.feed(html)
        assert not parser.tags & {"img", "script", "iframe", "style", "form"}, html
        assert all(href.startswith(DASHBOARD) for href in parser.hrefs), html
        assert_inert("email", re.sub(r'<a href="http://dash\.example[^"]*">', "", html))
    by_host = {}
    for host, _, body in proxy.requests:
        by_host.setdefault(host, []).append(body)
    assert set(by_host) == {"hooks.slack.com", "discord.com", "prod-01.westus.logic.azure.com"}
    for body in by_host["hooks.slack.com"]:
        assert_inert("slack", json.dumps(body["attachments"], ensure_ascii=False))
    for body in by_host["discord.com"]:
        assert "allowed_mentions" not in body or not body["allowed_mentions"].get("parse")
        assert_inert("discord", body["content"])
        assert not re.search(r"(?<!\\)[\[\]<>*_`]", body["content"]), body["content"]  # markdown escaped
    for body in by_host["prod-01.westus.logic.azure.com"]:
        text = json.dumps(body, ensure_ascii=False)
        assert_inert("teams", text)
    # The hostile text is still there to read, only defused.
    assert any("everyone look" in m["message"] for m in hook.messages())
    assert [m["message"].count("everyone look") for m in hook.messages() if "everyone look" in m["message"]] == [2]

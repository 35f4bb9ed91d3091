"""Finding identity pinned (issue 19): fingerprints, `same_target` and a whole stamping transcript
as the code before the stamping path was made cheaper (main at 96e3542) computed them. The recipe
is documented (docs/protocol.md, "Finding identity") and kept in --state-db and Redis across
versions: a changed value here means a rescan would call every known finding new."""
import hashlib
import json
import random
import re
from pathlib import Path
from urllib.parse import unquote_plus

import pytest

from realtime import fingerprint
from realtime.adapters import Scan, nmap, nuclei, sarif
from realtime.gateway.registry import FindingRegistry
from realtime.options import GatewayOptions

REAL = Path(__file__).resolve().parents[1] / "samples" / "real"
T0 = 1_800_000_000.0  # 2027-01-15T08:00:00Z

# (scan target, title, url) → derived fingerprint: query values, ports, case, trailing slashes,
# IPv6, user info, percent-encoded names, no URL, bad ports, bare hosts, relative URLs, Unicode.
DERIVED = [
    ('https://shop.example.com', 'Reflected XSS', 'https://shop.example.com/search?q=%3Cscript%3E&t=1700000000',
     'fp-683dd2450fbeacfd1644990bb1699567'),
    ('https://shop.example.com', 'Reflected XSS', 'https://shop.example.com/search?t=1800000000&q=x',
     'fp-683dd2450fbeacfd1644990bb1699567'),
    ('https://shop.example.com', 'SQL injection', 'HTTPS://Shop.Example.COM:443/Item/42?id=1&ID=2&id=3',
     'fp-6ed24ce520e47c86f36c1539883a404c'),
    ('http://10.0.0.5:8080', 'Open redirect', 'http://10.0.0.5:8080/login?next=/admin&sid=abc#frag?x=1',
     'fp-bc07e1da84bca2352ead0ab9b64619e5'),
    ('http://10.0.0.5:8080', 'Open redirect', 'http://10.0.0.5:80/login?next=%2Fadmin',
     'fp-89bb8f3e516cad08fcc67a89222f0438'),
    ('https://a.example', 'Directory listing', 'https://a.example/admin/',
     'fp-6a9cda1a4d1956e852ef930295fa5a4a'),
    ('https://a.example', 'Directory listing', 'https://a.example/admin',
     'fp-3edc58dc51ec9bfa6ae44e5b094927b5'),
    ('https://a.example', 'Exposed .git', 'https://a.example',
     'fp-7f562b55eb07b8908b88e4a49d265f10'),
    ('https://a.example', 'Exposed .git', 'https://a.example/',
     'fp-7f562b55eb07b8908b88e4a49d265f10'),
    ('https://a.example', 'Exposed .git', 'https://a.example?',
     'fp-7f562b55eb07b8908b88e4a49d265f10'),
    ('https://a.example', 'Weak TLS', 'https://a.example:8443/?a=1',
     'fp-ca1ddb4e38b18db79eb61a26c4f485ce'),
    ('https://a.example', 'Weak TLS', 'https://a.example:443',
     'fp-b4b79ddffb52d12abd1ffdcfcc1a07e3'),
    ('https://a.example', 'Weak TLS', 'https://a.example:00443/',
     'fp-b4b79ddffb52d12abd1ffdcfcc1a07e3'),
    ('https://a.example', 'Debug page', 'http://[2001:DB8::1]:8080/x?a=1&b',
     'fp-12249f2721c5aea066c9edc087bca117'),
    ('https://a.example', 'Debug page', 'http://[::1]:80/',
     'fp-dc5602b62f7e769bda0241b1a7153787'),
    ('https://a.example', 'Debug page', 'http://[::1/',
     'fp-2699c2ee44a9f4cddf4b6f12667687d7'),
    ('https://a.example', 'Credentials in URL', 'https://user:p%40ss@Host.Example/x?token=abc',
     'fp-aadee4f5210ca82797c14c208e9c9616'),
    ('https://a.example', 'Query names', 'https://a.example/p?a%20b=1&c+d=2&&=x&e&e=&%41=1',
     'fp-eecf7f3da2365170c2fadd610a9ec504'),
    ('https://a.example', 'Query names', 'https://a.example/p?;x=1&y',
     'fp-d22a9d2147af6d6d71f5374937ae34e6'),
    ('https://Shop.example.com:443/', 'Missing header', None,
     'fp-8381033dd0f808dbef09304db01d7c00'),
    ('https://Shop.example.com:443/', 'Missing header', '',
     'fp-8381033dd0f808dbef09304db01d7c00'),
    (None, 'Missing header', None,
     'fp-95067bfab5d863d278a57b242268229f'),
    (None, 'Missing header', 'https://b.example/h',
     'fp-b85be7c3ecc44a2022b03bcc40c5fa84'),
    ('https://c.example:8443', 'Bad port in URL', 'http://bad:port/x?y=1',
     'fp-3383271bd6e0abffacf1f568953babe8'),
    ('https://c.example:8443', 'Port too large', 'http://c.example:65536/x',
     'fp-91c477bb3f5fb33df0880c06cd912d3e'),
    ('https://c.example:8443', 'Port at the limit', 'http://c.example:65535/x',
     'fp-69e64020fc93f347cf76609eb1ff248e'),
    ('https://c.example:8443', 'Empty port', 'http://c.example:/x',
     'fp-7775f8a8b32923258e8ae162d12d3cc9'),
    ('shop.example.com:22', 'SSH weak kex', 'shop.example.com:22',
     'fp-a1adde3c6ca344728c0385140f6be5d9'),
    ('shop.example.com', 'SSH weak kex', 'ssh://shop.example.com:22',
     'fp-9338b59267f42e0b9d775c17dbc8c49a'),
    ('shop.example.com', 'FTP anonymous', 'ftp://Files.Example.com:21/pub/',
     'fp-23571077136fd0bcd2a01f50cb64fd78'),
    ('shop.example.com', 'WebSocket', 'wss://live.example.com:443/socket?EIO=4&transport=websocket',
     'fp-0898a91ff3df927845ed4c5305c8c8ff'),
    ('shop.example.com', 'WebSocket', 'ws://live.example.com:8080/socket',
     'fp-0673b804591aa9265ea82eaaf6202a53'),
    ('https://shop.example.com', 'Relative path', '/admin/login?x=1',
     'fp-d8ea9763af58c79457ea3e557280dd08'),
    ('https://shop.example.com', 'Scheme-relative', '//cdn.example.com/a.js?v=3',
     'fp-16ab26e03c123c74e46f477039d0b0a7'),
    ('https://shop.example.com', '  Padded title \t', '  https://shop.example.com/x  ',
     'fp-fb042910ebf5500a5529d60e451435ec'),
    ('https://bücher.example', 'Unicode', 'https://BÜCHER.example/straße?ä=1&ö',
     'fp-3679a87baf9d08478feba7d15def8a82'),
    ('https://shop.example.com', 'Not a URL', 'a b://x',
     'fp-19db642734a81711c3268a0bb2e78ae4'),
    ('https://shop.example.com', 'Mailto', 'mailto:x://y',
     'fp-a9d588511fce84c15ac98dbc73e0b338'),
    ('https://shop.example.com', 'File path', 'src/app/views.py:42',
     'fp-d4a95f351c0704f005eb72d14b0260e8'),
    ('https://shop.example.com', 'Custom scheme', 'git+ssh://git@github.com:22/org/repo.git',
     'fp-b57ac7bd3d93bfb3a9f4029277939880'),
    ('https://shop.example.com', 'Fragment only', 'https://shop.example.com#/route?tab=1',
     'fp-0b73795c3ed737d6d6bf50b8e1419dab'),
]

# A producer's own recipe (the adapters': nmap host/port/script, SARIF rule + location, nuclei).
OF = [
    (('nmap', '192.168.1.10', 'tcp', '443'), 'fp-d0059d0983f021cba9f76ca8bdbe4137'),
    (('nmap', '192.168.1.10', 'tcp/22', 'ssh2-enum-algos'), 'fp-ca9dc2046caea50191cd056526c450bb'),
    (('nmap', '10.0.0.1', 'host', 'smb-vuln-ms17-010', 'CVE-2017-0143'), 'fp-5f9f3d0966e3fe9524a75f5ae3698955'),
    (('nmap', 'scanme.nmap.org', 'tcp/80', 'vulners', 'CVE-2021-44790'), 'fp-c9ed75942719f2b62c39cbd69be5121c'),
    (('sarif', 'js/xss', 'src/app/views.js:42'), 'fp-98b001c4b165ddbaff72e94a14f7ddb7'),
    (('sarif', 'generic-api-key', 'file:///repo/config/settings.py:3'), 'fp-a5b4035ac4ebd00f8eca0ca5e4d35ac8'),
    (('sarif', 'CIS-DI-0001', 'https://github.com/org/repo'), 'fp-df11c8f7f7b2eb144ee4f907c260d65f'),
    (('nuclei', 'tech-detect', 'https://a.example', 'nginx'), 'fp-b9fc71b60678dbf85587c3c2f49d0c02'),
    (('nuclei', 'CVE-2021-44228', 'https://shop.example.com/login?x=1', None, 'abc', 'déf'),
     'fp-5592c41d659140d3d05b4bba75449819'),
]

# scan_started's target → what "the same target" compares.
TARGETS = [
    ('HTTPS://Shop.example.com:443/', 'https://shop.example.com'),
    ('https://shop.example.com', 'https://shop.example.com'),
    ('https://shop.example.com/app/', 'https://shop.example.com/app'),
    ('http://shop.example.com:8080/app?x=1', 'http://shop.example.com:8080/app?x=1'),
    ('shop.example.com', 'shop.example.com'),
    ('Shop.Example.com:22', 'shop.example.com:22'),
    ('10.0.0.0/24', '10.0.0.0/24'),
    ('http://bad:port/', 'http://bad:port/'),
    ('', ''),
    (None, ''),
    ('  https://a.example/  ', 'https://a.example'),
    ('http://[::1]:80/', 'http://::1'),
]

# Real scanner output (tests/samples/real/SOURCES): how many findings, a digest of every finding's
# "<producer fingerprint> <derived fingerprint>" line, and the first finding's two fingerprints.
REAL_OUTPUT = [
    (nmap, "nmap/defectdojo-nmap_script_vulners.xml", 3, "b59e0b516a4523400ef74947ecf713aa",
     "fp-c4c4e0c2020d410253c1d956f4bc80eb", "fp-b8dd2833396dbce1c9ae5067a711d072"),
    (sarif, "sarif/gitleaks-sarif_simple.sarif", 1, "9cb32d404163f2733b55edfeb1a732ed",
     "fp-8b8034792c601d4a1b1b6b6b515a3d4b", "fp-0641cb18a2830ec4d6fea110dc1a4951"),
    (sarif, "sarif/defectdojo-dockle_0_3_15.sarif", 4, "917d2fd5b8729ac1455ae990defd32fe",
     "fp-1c4ad9beb802da32ae6dc0f06599f735", "fp-7d4558d77d9f4e0d648e5f26e99c20ea"),
    (nuclei, "nuclei/defectdojo-multiple_v3.json", 6, "81a86ed4d011251bd750884394b1945e",
     "fp-ddd3b0d52903696f7dea9d35204f040f", "fp-badc8dca5fd5f71398c18eda39fd74b0"),
    (nuclei, "nuclei/defectdojo-many_findings.jsonl", 20, "9177eb7973f34afca6676f9d12c6743c",
     "fp-2eb8794b42bb1a137ba2a930aea46e56", "fp-9cf04b05713314886e32dfe13c796c9e"),
]
REAL_TARGET = "https://Pinned.example:443/"

# transcript(): each step's output (stamped event, changes() rows, a diff), as sorted-key JSON,
# by the first 16 hex digits of its SHA-256: a failure names the first step that changed.
TRANSCRIPT = ["632c9d9fa6e68356", "55885a2232177743", "644b99bf402fdc3d", "e6c00c747bbc8407", "ec63d3eae3c81956",
              "853366b743f8d3e2", "5f7823b6245be6ea", "c02b29454f316d25", "2be1cdc5e6ed8886", "524cc41bb694b20e",
              "b900451eaf6c6d03", "2b1732704d2b895a", "373c79f5823a8cec", "5bb105f957075491", "cea81ac7254b01e9",
              "636fd478ef4f0b82", "ca1e9679c72e634d", "5bb105f957075491", "495ecbf9d66879b9", "27a8a3a2e4bec5cf",
              "dd06efb3d46a5053", "6dd667832d5796c8"]


@pytest.mark.parametrize(("target", "title", "url", "expected"), DERIVED)
def test_derived_fingerprints_are_the_pinned_ones(target, title, url, expected):
    assert fingerprint.derive(target, title, url) == expected
    assert fingerprint.PREFIX + fingerprint.derived(target, title, url).hex() == expected


def test_producer_recipes_and_same_target_are_the_pinned_ones():
    assert [fingerprint.of(*parts) for parts, _ in OF] == [fp for _, fp in OF]
    assert [fingerprint.same_target(target) for target, _ in TARGETS] == [same for _, same in TARGETS]


@pytest.mark.parametrize(("adapter", "name", "count", "digest", "first_own", "first_derived"), REAL_OUTPUT)
def test_real_scanner_output_fingerprints_are_the_pinned_ones(adapter, name, count, digest, first_own,
                                                              first_derived):
    lines = (REAL / name).read_text().splitlines(True)
    found = [data for _n, event, data in adapter.convert(lines, Scan("pinned", target=REAL_TARGET))
             if event == "vulnerability_found"]
    pairs = [(f["fingerprint"], fingerprint.derive(REAL_TARGET, f["title"], f.get("url"))) for f in found]
    assert (len(found), pairs[0]) == (count, (first_own, first_derived))
    listing = "\n".join(f"{own} {derived}" for own, derived in pairs)
    assert hashlib.sha256(listing.encode()).hexdigest()[:32] == digest


def transcript() -> list:
    """Two scans of one target through a small registry with --state-db: derived and producer
    fingerprints (ours and not), a retry, triage, forged stamps, eviction, changes(), a diff."""
    reg, out = FindingRegistry(GatewayOptions(registry_max_fingerprints=7), persist=True), []

    def step(event, wire, now=None):
        out.append(reg.stamp(event, wire, now=now))

    def found(scan, title, url, now, **extra):
        step("vulnerability_found", {"scan_id": scan, "title": title, "severity": "high", "url": url, **extra}, now)

    step("scan_started", {"scan_id": "s1", "target": "HTTPS://Shop.Example.com:443/"})
    found("s1", "XSS", "https://shop.example.com/s?q=1&t=17", T0 + 0.0005)  # rounds to T0's millisecond
    found("s1", "XSS", "https://shop.example.com/s?t=18&q=2", T0 + 1)  # the same finding again
    found("s1", "Missing header", None, T0 + 2)
    found("s1", "SQLi", "http://shop.example.com:8080/item?id=4", T0 + 3)
    found("s1", "CVE-2021-44228", "https://shop.example.com/login", T0 + 5.123,
          fingerprint="nuclei:CVE-2021-44228/login")
    step("scan_completed", {"scan_id": "s1", "timestamp": "2027-01-15T08:01:00.000+00:00"})
    out.append(reg.changes())
    step("finding_triaged", {"fingerprint": out[1]["fingerprint"], "scan_id": "s1", "state": "false_positive",
                             "note": "test data", "by": "7", "at": "2027-01-15T08:02:00Z"})
    step("finding_triaged", {"fingerprint": out[3]["fingerprint"], "scan_id": "s1", "state": "accepted_risk",
                             "by": "8"})
    found("s1", "Open port 22/tcp", "10.0.0.1:22", T0 + 6, fingerprint="fp-c4c4e0c2020d410253c1d956f4bc80eb")
    step("scan_started", {"scan_id": "s2", "target": "https://shop.example.com"})
    for n, (title, url) in enumerate([("XSS", "https://Shop.example.com/s?q=9"),
                                      ("New one", "https://shop.example.com/new"), ("Missing header", ""),
                                      ("Other", "https://other.example/x"), ("Third", None)]):
        found("s2", title, url, T0 + 3600 + n, known=True, times_seen=99)  # forged stamps are replaced
    found("s2", "New one", "https://shop.example.com/new", T0 + 3700)  # a retry in the same scan
    found("s2", "CVE-2021-44228", "https://shop.example.com/login", T0 + 3701,
          fingerprint="nuclei:CVE-2021-44228/login")
    step("scan_completed", {"scan_id": "s2", "timestamp": "2027-01-15T09:05:00.000+00:00"})
    out.append(reg.changes())
    out.append(reg.diff("s2"))
    return out


def test_a_stamping_transcript_is_the_pinned_one():
    steps = [hashlib.sha256(json.dumps(item, sort_keys=True).encode()).hexdigest()[:16] for item in transcript()]
    assert steps == TRANSCRIPT


# The location as the recipe's first implementation computed it (a query's names by a regular
# expression; now split by "&" and "=", and looked up per query string): the oracle below.
OLD_NAMES = re.compile(r"(?:^|&)([^&=]*)")


def old_location(parts, url: str) -> str:
    if parts is None:
        return url.strip()
    query = parts[4]
    names = set(OLD_NAMES.findall(query))
    if "%" in query or "+" in query:
        names = {unquote_plus(name) for name in names}
    names.discard("")
    return (parts[3] or "/") + ("?" + "&".join(sorted(names)) if names else "")


def generated_url(rnd: random.Random, queries: list[str]) -> str:
    """A URL (or something a producer sends as one) from pieces that matter to the recipe."""
    pick = rnd.choice
    scheme = pick(["https://", "http://", "HTTPS://", "ws://", "wss://", "ftp://", "ssh://", "git+ssh://", "//", "",
                   "a b://", "mailto:", "x1-.+://"])
    user = pick(["", "", "", "user@", "user:p%40ss@", "@"])
    host = pick(["shop.example.com", "Shop.EXAMPLE.com", "10.0.0.5", "[2001:DB8::1]", "[::1", "bücher.example", "",
                 "a.example:", "h_st"])
    port = pick(["", "", ":80", ":443", ":8443", ":0", ":65535", ":65536", ":00443", ":port", ":", ":٣"])
    path = pick(["", "/", "/item/42", "/Admin/", "/a%20b/c+d", "/x:y", "/p;q", "admin", "/s//t/"])
    query = pick(["", "", "?", "?" + pick(queries), "?" + pick(queries), "?" + pick(queries) + "&" + pick(queries)])
    fragment = pick(["", "", "#frag", "#/route?tab=1", "#"])
    pad = pick(["", "", " ", "\t", "\n "])
    return pad + scheme + user + host + port + path + query + fragment + pad


def generated_queries(rnd: random.Random, count: int) -> list[str]:
    names = ["q", "t", "sid", "session", "page", "a b", "a%20b", "c+d", "%41", "", "=", "id", "ID", "ä", "x=y", ";x"]
    values = ["", "1", "abc", "1700000000", "%2F", "a=b", "+", "x%26y"]
    pairs = [rnd.choice(names) + rnd.choice(["", "=", "=" + rnd.choice(values)]) for _ in range(count * 3)]
    return ["&".join(rnd.sample(pairs, rnd.randint(1, 4))) for _ in range(count)]


def test_generated_urls_fingerprint_as_the_old_location_said():
    """5,000 generated URLs (a one-off run compared 100,000): the location, and the fingerprint
    made of it by the documented recipe, as the old regular expression gave them."""
    rnd = random.Random(19)
    queries = generated_queries(rnd, 200)  # few enough to repeat: the per-query lookup is exercised
    for _ in range(5_000):
        url, title, target = generated_url(rnd, queries), rnd.choice(["XSS", " SQLi "]), rnd.choice(TARGET_POOL)
        parts = fingerprint._split(url)  # noqa: SLF001 - the parts both locations are made from
        assert fingerprint.location(url) == old_location(parts, url), url
        where = fingerprint.host(url) or fingerprint.host(target)
        assert fingerprint.derive(target, title, url) == \
            fingerprint.of("derived", where, title.strip(), old_location(parts, url)), url


TARGET_POOL = [None, "", "https://Shop.example.com:443/", "shop.example.com:22", "http://[::1]:8080"]


@pytest.mark.parametrize("port", ["²", "9" * 5000])
def test_a_port_int_cannot_read_is_no_port_and_raises_nothing(port):
    """A client's URL must not make stamping raise (a traceback in the log, the finding unstamped):
    such a URL reads as one with a port out of range, "http://a:99999/"."""
    url = f"http://a:{port}/x"
    assert fingerprint.location("http://a:99999/x") == "http://a:99999/x"  # not a URL: the text itself
    assert fingerprint.location(url) == url and fingerprint.host(url) == ""
    assert fingerprint.derive("https://t.example", "T", url).startswith(fingerprint.PREFIX)
    assert fingerprint.host("http://a:٣/") == fingerprint.host("http://a:3/")  # other scripts' digits, as before

"""crawler.robots: RFC 9309 decisions from (status, body), as docs/contract.md#robotstxt says."""

from __future__ import annotations

import random

import pytest

from crawler.robots import (
    MAX_CRAWL_DELAY_S,
    ROBOTS_MAX_BYTES,
    RobotsPolicy,
    product_token,
    robots_url,
)

UA = "crawler/0.1 (+https://example.com/crawler)"
HOST = "http://ex.com"


def policy(text: str, user_agent: str = UA) -> RobotsPolicy:
    return RobotsPolicy.from_response(200, text.encode(), user_agent)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://ex.com/a/b?q=1", "http://ex.com/robots.txt"),
        ("https://ex.com:8443/", "https://ex.com:8443/robots.txt"),
        ("http://127.0.0.1:8000/x", "http://127.0.0.1:8000/robots.txt"),
        ("http://user:pw@ex.com/x", "http://ex.com/robots.txt"),
        ("http://[::1]:8080/x", "http://[::1]:8080/robots.txt"),
    ],
)
def test_robots_url(url: str, expected: str) -> None:
    assert robots_url(url) == expected


@pytest.mark.parametrize(
    ("user_agent", "token"),
    [
        ("crawler/0.1 (+https://example.com)", "crawler"),
        ("crawler", "crawler"),
        ("Crawler 2", "Crawler"),
        ("  MyBot/1.0", "MyBot"),
        ("Googlebot-Image/1.0", "Googlebot-Image"),
    ],
)
def test_product_token(user_agent: str, token: str) -> None:
    assert product_token(user_agent) == token


DISALLOW_X = b"User-agent: *\nDisallow: /x\n"


@pytest.mark.parametrize(
    ("status", "body", "allowed"),
    [
        (None, b"", False),  # unreachable: timeout, DNS, connection
        (500, DISALLOW_X, False),
        (503, b"", False),
        (599, b"", False),
        (400, b"", True),
        (401, b"", True),  # RFC 9309 2.3.1.3: "unavailable", even 401/403
        (403, DISALLOW_X, True),
        (404, b"", True),
        (410, b"", True),
        (429, b"", True),  # every 4xx allows all (RFC 9309 2.3.1.3)
        (301, b"", True),  # more redirects than we follow (RFC 9309 2.3.1.2)
        (308, DISALLOW_X, True),
        (200, b"", True),
        (204, b"", True),
        (100, b"", False),  # not a usable answer
        (600, b"", False),
    ],
)
def test_status_decides_before_the_body(status: int | None, body: bytes, allowed: bool) -> None:
    p = RobotsPolicy.from_response(status, body, UA)
    assert p.allowed(f"{HOST}/") is allowed
    assert p.allowed(f"{HOST}/y") is allowed
    assert p.delay_s() is None


def test_allow_all_and_disallow_all() -> None:
    assert RobotsPolicy.allow_all().allowed(f"{HOST}/x")
    assert not RobotsPolicy.disallow_all().allowed(f"{HOST}/x")
    assert RobotsPolicy.allow_all().delay_s() is None
    assert RobotsPolicy.disallow_all().delay_s() is None


def test_2xx_body_is_parsed() -> None:
    p = RobotsPolicy.from_response(200, DISALLOW_X, UA)
    assert not p.allowed(f"{HOST}/x")
    assert not p.allowed(f"{HOST}/x/y")
    assert not p.allowed(f"{HOST}/xyz")
    assert p.allowed(f"{HOST}/y")
    assert p.allowed(f"{HOST}/")


RULES = """\
User-agent: *
Disallow: /private
Allow: /private/public
Disallow: /*.pdf$
Disallow: /search?
Allow: /page
Disallow: /page
Disallow: /a*b
Allow: /a*b/ok$
Disallow: /shop/*/cart
Disallow: /exact$
Disallow: /%7Etilde
Disallow: /caf%C3%A9
Disallow: /q?sort=
"""


@pytest.mark.parametrize(
    ("path", "allowed"),
    [
        ("/", True),
        ("/robots.txt", True),
        # Longest match wins.
        ("/private", False),
        ("/private/x", False),
        ("/private/public", True),
        ("/private/public/deeper", True),
        ("/privateer", False),
        # Allow beats Disallow at equal length (RFC 9309 2.2.2).
        ("/page", True),
        ("/page/2", True),
        # "*" and "$".
        ("/doc.pdf", False),
        ("/dir/doc.pdf", False),
        ("/doc.pdf?x=1", True),
        ("/doc.pdfx", True),
        ("/ab", False),
        ("/a/x/b", False),
        ("/a/x/b/ok", True),
        ("/a/x/b/ok/more", False),
        ("/shop/7/cart", False),
        ("/shop/cart", True),
        ("/exact", False),
        ("/exact/more", True),
        # Matched on path and query.
        ("/search?q=x", False),
        ("/search", True),
        ("/q?sort=asc", False),
        ("/q?a=1", True),
        # Percent-encoding: both sides normalised.
        ("/~tilde", False),
        ("/caf%C3%A9", False),
    ],
)
def test_rule_matching(path: str, allowed: bool) -> None:
    assert policy(RULES).allowed(HOST + path) is allowed


GROUPS = """\
User-agent: crawl
Disallow: /crawl-group

User-agent: other
User-agent: CRAWLER
Disallow: /crawler-group
Crawl-delay: 2

User-agent: *
Disallow: /star-group
Crawl-delay: 7
"""


@pytest.mark.parametrize(
    ("user_agent", "group"),
    [
        (UA, "crawler"),
        ("Crawler/2.0", "crawler"),
        ("CRAWLER", "crawler"),
        ("other-bot/1.0", "star"),  # a group named "other" is not "other-bot"
        ("crawlerx/1.0", "star"),  # nor is "crawler" a prefix match
        ("crawl/1.0", "crawl"),
        ("somebot/3", "star"),
    ],
)
def test_group_is_chosen_by_product_token(user_agent: str, group: str) -> None:
    p = policy(GROUPS, user_agent)
    for name in ("crawl", "crawler", "star"):
        assert p.allowed(f"{HOST}/{name}-group") is (name != group)


@pytest.mark.parametrize(
    "line",
    [
        "User-agent: crawler",
        "user-agent: CrAwLeR",
        "User-agent: crawler/1.0",
        "User-agent: crawler*",
        "User-agent: crawler # our bot",
        "USERAGENT: crawler",
        "User agent: crawler",
        "User-agent crawler",
    ],
)
def test_group_name_spellings(line: str) -> None:
    p = policy(f"User-agent: *\nDisallow: /\n\n{line}\nDisallow: /mine\n")
    assert p.allowed(f"{HOST}/other")
    assert not p.allowed(f"{HOST}/mine")


def test_group_of_several_agents_ending_with_ours() -> None:
    text = "User-agent: a\nDisallow: /a\n\nUser-agent: b\nUser-agent: crawler\nDisallow: /b\n"
    p = policy(text)
    assert p.allowed(f"{HOST}/a")
    assert not p.allowed(f"{HOST}/b")


def test_another_agents_group_does_not_leak_into_ours() -> None:
    # "other" ends the star group; its rules must not join the star group.
    text = "User-agent: *\nDisallow: /star\nUser-agent: other\nDisallow: /other\n"
    p = policy(text)
    assert not p.allowed(f"{HOST}/star")
    assert p.allowed(f"{HOST}/other")


def test_no_matching_group_allows_all() -> None:
    p = policy("User-agent: otherbot\nDisallow: /\n")
    assert p.allowed(f"{HOST}/anything")
    assert p.delay_s() is None


@pytest.mark.parametrize(
    ("text", "delay"),
    [
        ("User-agent: *\nCrawl-delay: 2.5\n", 2.5),
        ("User-agent: crawler\nCrawl-delay: 1\nUser-agent: *\nCrawl-delay: 9\n", 1.0),
        ("User-agent: crawler\nDisallow: /x\nUser-agent: *\nCrawl-delay: 9\n", None),
        ("User-agent: *\nCrawl-delay: 30\n", 30.0),
        ("User-agent: *\nCrawl-delay: 31\n", MAX_CRAWL_DELAY_S),
        ("User-agent: *\nCrawl-delay: 86400\n", MAX_CRAWL_DELAY_S),
        ("User-agent: *\nCrawl-delay: 0\n", 0.0),
        ("User-agent: *\nCrawl-delay: soon\n", None),
        ("User-agent: *\nCrawl-delay: -1\n", None),
        ("User-agent: *\nCrawl-delay: inf\n", None),
        ("User-agent: *\nCrawl-delay: nan\n", None),
        ("User-agent: *\nDisallow: /\n", None),
        ("", None),
    ],
)
def test_crawl_delay_is_capped(text: str, delay: float | None) -> None:
    assert policy(text).delay_s() == delay


def test_only_the_first_500_kib_are_parsed() -> None:
    head = b"User-agent: *\nDisallow: /early\n"
    padding = b"#" + b"x" * (ROBOTS_MAX_BYTES - len(head) - 2) + b"\n"
    body = head + padding + b"Disallow: /late\n"
    assert len(head + padding) == ROBOTS_MAX_BYTES
    p = RobotsPolicy.from_response(200, body, UA)
    assert not p.allowed(f"{HOST}/early")
    assert p.allowed(f"{HOST}/late")


def test_a_rule_cut_at_500_kib_is_parsed_as_cut() -> None:
    head = b"User-agent: *\n"
    padding = b"#" * (ROBOTS_MAX_BYTES - len(head) - len(b"\nDisallow: /ab")) + b"\n"
    body = head + padding + b"Disallow: /abc\n"
    p = RobotsPolicy.from_response(200, body, UA)
    assert not p.allowed(f"{HOST}/ab")  # the rule became "Disallow: /ab"


def test_utf8_bom_and_crlf() -> None:
    p = RobotsPolicy.from_response(200, b"\xef\xbb\xbfUser-agent: *\r\nDisallow: /x\r\n", UA)
    assert not p.allowed(f"{HOST}/x")


def test_non_utf8_bytes_are_replaced() -> None:
    p = RobotsPolicy.from_response(200, b"User-agent: *\nDisallow: /caf\xe9\nDisallow: /y\n", UA)
    assert not p.allowed(f"{HOST}/y")
    assert p.allowed(f"{HOST}/cafe")


@pytest.mark.parametrize("seed", range(5))
def test_binary_body_behaves_as_an_empty_file(seed: int) -> None:
    body = random.Random(seed).randbytes(64 * 1024).replace(b"\n", b"\x00")
    p = RobotsPolicy.from_response(200, body, UA)
    assert p.allowed(f"{HOST}/")
    assert p.allowed(f"{HOST}/any/path?q=1")
    assert p.delay_s() is None


def test_html_error_page_served_as_robots_txt_allows_all() -> None:
    body = b"<!doctype html><html><head><title>Oops</title></head><body>Not here</body></html>"
    assert RobotsPolicy.from_response(200, body, UA).allowed(f"{HOST}/x")

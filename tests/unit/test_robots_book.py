"""crawler.robots: RobotsBook, robots_next_hop and RobotsPolicy.from_attempt."""

from __future__ import annotations

import pytest

from crawler.robots import (
    ROBOTS_MAX_BYTES,
    ROBOTS_MAX_REDIRECTS,
    RobotsBook,
    RobotsPolicy,
    robots_next_hop,
)

UA = "crawler/0.1 (+https://example.com/crawler)"
HOST = "ex.com"
ROBOTS = "http://ex.com/robots.txt"
RULES = b"User-agent: *\nDisallow: /private\nCrawl-delay: 4\n"


# -- RobotsBook ------------------------------------------------------------------------


def test_needs_fetch_once_per_host() -> None:
    book = RobotsBook(UA)
    assert book.needs_fetch(HOST)
    assert not book.needs_fetch(HOST)
    assert not book.needs_fetch(HOST)
    assert book.needs_fetch("other.org")  # each host has its own
    assert book.needs_fetch("ex.com:8080")  # the port is part of the host
    assert not book.needs_fetch("other.org")


def test_needs_fetch_stays_false_once_learnt() -> None:
    book = RobotsBook(UA)
    assert book.needs_fetch(HOST)
    book.learn(HOST, 200, None, RULES)
    assert not book.needs_fetch(HOST)


def test_learn_alone_does_not_mark_a_host_asked() -> None:
    # learn() stores a policy; only needs_fetch() decides a fetch, and it says yes once.
    book = RobotsBook(UA)
    book.learn(HOST, 404, None, b"")
    assert book.needs_fetch(HOST)
    assert not book.needs_fetch(HOST)


def test_ignore_never_fetches_and_allows_everything() -> None:
    book = RobotsBook(UA, ignore=True)
    for host in (HOST, HOST, "other.org"):
        assert not book.needs_fetch(host)
    assert book.allowed(HOST, "http://ex.com/private")
    assert book.allowed("other.org", "http://other.org/")


def test_unknown_host_is_allowed() -> None:
    # Its URLs wait behind its robots.txt fetch and are asked again when they start.
    book = RobotsBook(UA)
    assert book.allowed(HOST, "http://ex.com/private")
    book.needs_fetch(HOST)
    assert book.allowed(HOST, "http://ex.com/private")  # asked for, not learnt yet


def test_learn_then_allowed() -> None:
    book = RobotsBook(UA)
    policy = book.learn(HOST, 200, None, RULES)
    assert not policy.allowed("http://ex.com/private")
    assert policy.delay_s() == 4.0
    assert not book.allowed(HOST, "http://ex.com/private")
    assert not book.allowed(HOST, "http://ex.com/private/deeper?q=1")
    assert book.allowed(HOST, "http://ex.com/public")
    assert book.allowed(HOST, "http://ex.com/")


def test_policies_are_per_host() -> None:
    book = RobotsBook(UA)
    book.learn(HOST, 200, None, b"User-agent: *\nDisallow: /\n")
    book.learn("open.org", 404, None, b"")
    assert not book.allowed(HOST, "http://ex.com/a")
    assert book.allowed("open.org", "http://open.org/a")
    assert book.allowed("new.org", "http://new.org/a")  # not learnt: allowed


def test_learn_uses_the_books_user_agent() -> None:
    body = b"User-agent: mybot\nDisallow: /mine\n\nUser-agent: *\nDisallow: /theirs\n"
    mine = RobotsBook("MyBot/2.0 (+https://my.org)")
    mine.learn(HOST, 200, None, body)
    assert not mine.allowed(HOST, "http://ex.com/mine")
    assert mine.allowed(HOST, "http://ex.com/theirs")
    other = RobotsBook(UA)
    other.learn(HOST, 200, None, body)
    assert other.allowed(HOST, "http://ex.com/mine")
    assert not other.allowed(HOST, "http://ex.com/theirs")


@pytest.mark.parametrize(
    ("status", "error_kind", "allowed"),
    [
        (404, None, True),  # no rules
        (410, None, True),
        (301, None, True),  # a redirect not followed counts as 4xx
        (503, None, False),  # unavailable: disallow all
        (None, "timeout", False),
        (None, "dns", False),
    ],
)
def test_learn_without_rules(status: int | None, error_kind: str | None, allowed: bool) -> None:
    book = RobotsBook(UA)
    policy = book.learn(HOST, status, error_kind, b"")
    assert book.allowed(HOST, "http://ex.com/any") is allowed
    assert policy.delay_s() is None


def test_learn_again_replaces_the_policy() -> None:
    book = RobotsBook(UA)
    book.learn(HOST, 503, None, b"")
    book.learn(HOST, 404, None, b"")
    assert book.allowed(HOST, "http://ex.com/a")


# -- robots_next_hop -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("location", "target"),
    [
        ("/robots2.txt", "http://ex.com/robots2.txt"),
        ("moved/robots.txt", "http://ex.com/moved/robots.txt"),
        ("https://ex.com/robots.txt", "https://ex.com/robots.txt"),
        ("https://cdn.org/r.txt", "https://cdn.org/r.txt"),  # to any host
        ("//cdn.org/r.txt", "http://cdn.org/r.txt"),
        ("HTTP://CDN.org:80/a/../r.txt#x", "http://cdn.org/r.txt"),  # canonical
    ],
)
def test_next_hop_target(location: str, target: str) -> None:
    assert robots_next_hop(ROBOTS, location, 0) == target


def test_next_hop_resolves_against_the_url_that_answered() -> None:
    url = "http://cdn.org/dir/r.txt"
    assert robots_next_hop(url, "next.txt", 2) == "http://cdn.org/dir/next.txt"


def test_max_redirects_is_five() -> None:
    assert ROBOTS_MAX_REDIRECTS == 5  # RFC 9309 2.3.1.2 and docs/contract.md


@pytest.mark.parametrize("followed", range(ROBOTS_MAX_REDIRECTS))
def test_up_to_five_redirects_are_followed(followed: int) -> None:
    # `followed` hops already followed: this is redirect number followed + 1 (<= 5).
    assert robots_next_hop(ROBOTS, "/next.txt", followed) == "http://ex.com/next.txt"


@pytest.mark.parametrize("followed", [ROBOTS_MAX_REDIRECTS, ROBOTS_MAX_REDIRECTS + 1, 50])
def test_the_sixth_redirect_is_not_followed(followed: int) -> None:
    assert robots_next_hop(ROBOTS, "/next.txt", followed) is None


@pytest.mark.parametrize(
    "location",
    [
        None,
        "",
        "http://[::1",  # unparsable
        "http://",  # no host
        "ftp://ex.com/robots.txt",
        "mailto:admin@ex.com",
        "http://ex.com:99999/robots.txt",
    ],
)
def test_no_usable_location(location: str | None) -> None:
    assert robots_next_hop(ROBOTS, location, 0) is None


# -- RobotsPolicy.from_attempt ---------------------------------------------------------


def test_an_answer_without_error_is_read_by_status() -> None:
    policy = RobotsPolicy.from_attempt(200, None, RULES, UA)
    assert not policy.allowed("http://ex.com/private")
    assert policy.allowed("http://ex.com/public")
    assert policy.delay_s() == 4.0


def test_too_large_keeps_the_rules_of_the_first_part() -> None:
    policy = RobotsPolicy.from_attempt(200, "too_large", RULES, UA)
    assert not policy.allowed("http://ex.com/private")
    assert policy.allowed("http://ex.com/public")
    assert policy.delay_s() == 4.0


def test_too_large_body_is_read_up_to_the_max_bytes() -> None:
    filler = b"# " + b"x" * ROBOTS_MAX_BYTES + b"\n"
    body = b"User-agent: *\nDisallow: /early\n" + filler + b"Disallow: /late\n"
    policy = RobotsPolicy.from_attempt(200, "too_large", body, UA)
    assert not policy.allowed("http://ex.com/early")
    assert policy.allowed("http://ex.com/late")  # past the first 500 KiB


@pytest.mark.parametrize(
    ("status", "allowed"),
    [(404, True), (301, True), (503, False), (None, False)],
)
def test_too_large_still_goes_by_the_status(status: int | None, allowed: bool) -> None:
    policy = RobotsPolicy.from_attempt(status, "too_large", b"", UA)
    assert policy.allowed("http://ex.com/x") is allowed


@pytest.mark.parametrize("error_kind", ["timeout", "connect", "dns", "tls", "bad_response"])
@pytest.mark.parametrize("status", [None, 200, 404])
def test_no_usable_answer_disallows_all(error_kind: str, status: int | None) -> None:
    # Even a status and a permissive body: the attempt broke, so nothing is known.
    policy = RobotsPolicy.from_attempt(status, error_kind, b"User-agent: *\nAllow: /\n", UA)
    assert not policy.allowed("http://ex.com/")
    assert not policy.allowed("http://ex.com/anything")
    assert policy.delay_s() is None


@pytest.mark.parametrize(
    ("status", "allowed"),
    [
        (404, True),
        (401, True),
        (403, True),  # RFC 9309: every 4xx means no rules
        (302, True),
        (500, False),
        (599, False),
        (None, False),
        (199, False),  # outside 200-599: no usable answer
        (600, False),
    ],
)
def test_status_without_error(status: int | None, allowed: bool) -> None:
    policy = RobotsPolicy.from_attempt(status, None, b"User-agent: *\nDisallow: /\n", UA)
    assert policy.allowed("http://ex.com/x") is allowed


def test_a_host_the_guard_refused_is_blocked_with_its_message() -> None:
    book = RobotsBook("crawler/1")
    assert book.needs_fetch("10.0.0.5")
    message = "10.0.0.5 is private"
    book.learn("10.0.0.5", None, "blocked_address", b"", blocked=message)
    assert book.refusal("10.0.0.5") == ("blocked_address", message)
    assert not book.allowed("10.0.0.5", "http://10.0.0.5/")
    book.learn("ex.com", 404, None, b"")
    assert book.refusal("ex.com") is None and book.allowed("ex.com", "http://ex.com/")


@pytest.mark.parametrize(
    ("status", "kind", "message", "starts"),
    [
        (None, "connect", "NewConnectionError: [Errno 111] Connection refused", "connect: "),
        (None, "dns", "NameResolutionError: no such name", "dns: "),
        (None, "timeout", None, "timeout"),
        (None, "bad_response", "RemoteDisconnected", "bad_response: "),
        (503, None, None, "status 503"),
        (500, None, None, "status 500"),
        (999, None, None, "status 999"),
        (99, None, None, "status 99"),
    ],
)
def test_an_unavailable_robots_txt_refuses_the_host(
    status: int | None, kind: str | None, message: str | None, starts: str
) -> None:
    book = RobotsBook("crawler/1")
    book.learn("dead.test", status, kind, b"", error_message=message)
    refusal = book.refusal("dead.test")
    assert refusal is not None and refusal[0] == "robots_unavailable"
    assert refusal[1].startswith(starts) and "robots.txt of dead.test" in refusal[1]
    assert not book.allowed("dead.test", "http://dead.test/")


@pytest.mark.parametrize(
    ("status", "kind"), [(200, None), (404, None), (403, None), (301, None), (200, "too_large")]
)
def test_a_usable_robots_txt_refuses_nothing(status: int, kind: str | None) -> None:
    book = RobotsBook("crawler/1")
    book.learn("ok.test", status, kind, b"User-agent: *\nDisallow: /private\n")
    assert book.refusal("ok.test") is None

"""Hostile robots.txt: huge, binary, a redirect loop, a timeout, a long redirect chain.

Each case is a raw-socket server (tests/helpers/hostile.py) whose robots.txt misbehaves and
whose pages are plain; the assertions are on what the server received, so "obeyed"
means "never requested", not only "not in out.json".
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable

import pytest

from crawler.robots import ROBOTS_MAX_BYTES
from tests.helpers.crawler_cli import Crawl
from tests.helpers.hostile import HostileServer, Peer

# The pages every case serves: the home page links to the rest.
PAGES = ("/public", "/secret", "/late")
HUGE_BYTES = 5 * 1024 * 1024

Route = Callable[[Peer], None]


def reply(
    peer: Peer,
    status: str,
    body: bytes = b"",
    content_type: str = "text/html",
    extra: str = "",
) -> None:
    head = (
        f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        f"Connection: close\r\n{extra}\r\n"
    )
    peer.send(head.encode("latin-1") + body)


def redirect(location: str) -> Route:
    return lambda peer: reply(peer, "302 Found", extra=f"Location: {location}\r\n")


def text(body: bytes, content_type: str = "text/plain") -> Route:
    return lambda peer: reply(peer, "200 OK", body, content_type)


def site(routes: dict[str, Route]) -> Callable[[Peer], None]:
    """A handler: `routes` by request path, then the plain pages, else a quick 404."""

    def handle(peer: Peer) -> None:
        head = peer.read_request()
        if not head:
            return
        path = head.split(b" ")[1].decode("latin-1")
        if path in routes:
            routes[path](peer)
        elif path == "/":
            links = "".join(f'<a href="{page}">{page}</a>' for page in PAGES)
            reply(peer, "200 OK", f"<title>Home</title>{links}".encode())
        elif path in PAGES:
            reply(peer, "200 OK", f"<title>{path[1:]}</title>".encode())
        else:
            reply(peer, "404 Not Found")

    return handle


def paths(server: HostileServer) -> list[str]:
    """The request targets the server received, in order."""
    return [head.split(b" ")[1].decode("latin-1") for head in list(server.requests)]


def crawl_site(crawl, server: HostileServer, *args: str) -> tuple[Crawl, float]:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    result: Crawl = crawl(
        "--seed", server.url("/"), "--procs", "1", "--threads", "4", *args, timeout=60
    )
    return result, time.monotonic() - started


def assert_clean(result: Crawl) -> None:
    assert result.code == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert result.out is not None and result.out["complete"] is True


def huge_robots() -> bytes:
    """Several MB: our rule first, padding (rules of no concern and comments) past
    500 KiB, a rule there that must be ignored, then padding again."""
    lines = [b"User-agent: *", b"Disallow: /secret"]
    size = 0
    n = 0

    def pad_to(limit: int) -> None:
        nonlocal size, n
        while size < limit:
            if n % 2:
                line = f"Disallow: /pad/{n:07d}/*.html$".encode()
            else:
                line = f"# padding {n:07d} ".encode() + b"x" * 60
            lines.append(line)
            size += len(line) + 1
            n += 1

    pad_to(ROBOTS_MAX_BYTES + 100 * 1024)
    lines.append(b"Disallow: /late")  # beyond the first 500 KiB: not parsed
    pad_to(HUGE_BYTES)
    return b"\n".join(lines) + b"\n"


def test_huge_robots_first_500_kib_obeyed(crawl) -> None:  # type: ignore[no-untyped-def]
    body = huge_robots()
    assert len(body) > HUGE_BYTES
    with HostileServer(site({"/robots.txt": text(body)})) as server:
        result, elapsed = crawl_site(crawl, server, "--timeout", "10", "--retries", "0")
    assert_clean(result)
    seen = paths(server)
    assert seen[0] == "/robots.txt" and seen.count("/robots.txt") == 1
    assert "/secret" not in seen  # the early rule is obeyed
    assert sorted(seen[1:]) == ["/", "/late", "/public"]  # the late one is past 500 KiB
    assert set(result.by_url()) == {server.url(p) for p in ("/", "/public", "/late")}
    assert result.stats["robots_excluded"] == 1
    assert elapsed < 30


def test_binary_robots_allows_all(crawl) -> None:  # type: ignore[no-untyped-def]
    junk = bytes(range(256)) + random.Random(9309).randbytes(64 * 1024)
    with HostileServer(site({"/robots.txt": text(junk, "application/octet-stream")})) as server:
        result, _ = crawl_site(crawl, server, "--retries", "0")
    assert_clean(result)
    seen = paths(server)
    assert seen[0] == "/robots.txt" and seen.count("/robots.txt") == 1
    assert sorted(seen[1:]) == ["/", *sorted(PAGES)]
    assert len(result.pages) == 1 + len(PAGES)
    assert all(p["status"] == 200 and p["error"] is None for p in result.pages)
    assert result.stats["robots_excluded"] == 0


def test_robots_redirect_loop_counts_as_unavailable(crawl) -> None:  # type: ignore[no-untyped-def]
    routes = {"/robots.txt": redirect("/r1"), "/r1": redirect("/r2"), "/r2": redirect("/r1")}
    with HostileServer(site(routes)) as server:
        result, elapsed = crawl_site(crawl, server, "--retries", "0")
    assert_clean(result)
    seen = paths(server)
    robots_requests = [p for p in seen if p in routes]
    # RFC 9309 2.3.1.2: at most five redirects are followed, then "unavailable"
    assert seen[: len(robots_requests)] == robots_requests  # before any page
    assert 2 <= len(robots_requests) <= 6, robots_requests
    # unavailable = allow all (README), so every page is crawled, none of the hops is
    assert sorted(seen[len(robots_requests) :]) == ["/", *sorted(PAGES)]
    assert set(result.by_url()) == {server.url(p) for p in ("/", *PAGES)}
    assert result.stats["robots_excluded"] == 0
    assert elapsed < 30


@pytest.mark.parametrize("stall", ["headers", "body"])
def test_robots_timeout_disallows_the_host(crawl, stall: str) -> None:  # type: ignore[no-untyped-def]
    def drip(peer: Peer) -> None:
        if stall == "headers":
            peer.drip(b"HTTP/1.1 200 OK\r\n" + b"X-Slow: yes\r\n" * 1000, 0.1)
        else:
            peer.send(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 99999\r\n\r\n"
            )
            peer.drip_forever(b"#", 0.1)

    with HostileServer(site({"/robots.txt": drip})) as server:
        result, elapsed = crawl_site(crawl, server, "--timeout", "1", "--retries", "0")
    assert_clean(result)
    assert paths(server) == ["/robots.txt"]  # one attempt, then nothing of the host
    (record,) = result.pages  # the seed, refused: robots.txt timed out
    assert record["error"]["kind"] == "robots_unavailable" and record["worker"] is None
    assert record["error"]["message"].startswith("timeout")
    assert result.stats["robots_excluded"] == 0
    assert elapsed < 10


def test_robots_after_five_redirects_is_obeyed(crawl) -> None:  # type: ignore[no-untyped-def]
    rules = b"User-agent: *\nDisallow: /secret\nDisallow: /late\n"
    routes: dict[str, Route] = {
        "/robots.txt": redirect("/hop1"),
        "/hop1": redirect("hop2"),  # relative
        "/hop2": redirect("/hop3"),
        "/hop3": redirect("/hop4"),
        "/real-robots.txt": text(rules),
    }
    with HostileServer(site(routes)) as server:
        routes["/hop4"] = redirect(server.url("/real-robots.txt"))  # absolute
        result, _ = crawl_site(crawl, server, "--retries", "0")
    assert_clean(result)
    seen = paths(server)
    chain = ["/robots.txt", "/hop1", "/hop2", "/hop3", "/hop4", "/real-robots.txt"]
    assert seen[: len(chain)] == chain  # five redirects, each once, before any page
    assert sorted(seen[len(chain) :]) == ["/", "/public"]
    assert set(result.by_url()) == {server.url("/"), server.url("/public")}
    assert result.stats["robots_excluded"] == 2

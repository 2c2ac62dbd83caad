"""Hostile pages: 100 000 links, stacked-encoding bombs, non-UTF-8 header bytes, and
10 000-deep nesting. Each costs one record (or the links it really has), never the crawl.
"""

from __future__ import annotations

import time
import zlib
from collections.abc import Callable, Iterator

import brotli

from tests.helpers.crawler_cli import Crawl
from tests.helpers.hostile import HostileServer, Peer

LINK_COUNT = 100_000
MAX_BYTES = 1_000_000
BOMB_RAW_BYTES = 64 * 1024 * 1024  # 64 x MAX_BYTES once every layer is decoded

Route = Callable[[Peer], None]


def reply(
    peer: Peer,
    status: bytes,
    body: bytes = b"",
    content_type: bytes = b"text/html",
    extra: bytes = b"",
) -> None:
    """An answer from raw bytes: the status line and headers need not be ASCII."""
    head = (
        b"HTTP/1.1 " + status + b"\r\nContent-Type: " + content_type
        + b"\r\nContent-Length: " + str(len(body)).encode()
        + b"\r\nConnection: close\r\n" + extra + b"\r\n"
    )  # fmt: skip
    peer.send(head + body)


def html(body: bytes, **kwargs: bytes) -> Route:
    return lambda peer: reply(peer, b"200 OK", body, **kwargs)


def site(routes: dict[str, Route]) -> Callable[[Peer], None]:
    """A handler: `routes` by request path, robots.txt 404 (allow all), else a quick 404."""

    def handle(peer: Peer) -> None:
        head = peer.read_request()
        if not head:
            return
        path = head.split(b" ")[1].decode("latin-1")
        if path in routes:
            routes[path](peer)
        else:
            reply(peer, b"404 Not Found")

    return handle


def paths(server: HostileServer) -> list[str]:
    return [head.split(b" ")[1].decode("latin-1") for head in list(server.requests)]


# urllib3 logs this warning, with a traceback, for a header line Python cannot parse;
# the answer is still used (headers up to that line), so it is noise, not a crash.
URLLIB3_HEADER_WARNING = "urllib3.exceptions.HeaderParsingError"


def run(crawl, server: HostileServer, *args: str) -> tuple[Crawl, float]:  # type: ignore[no-untyped-def]
    started = time.monotonic()
    result: Crawl = crawl(
        "--seed", server.url("/"), "--procs", "2", "--threads", "4", *args, timeout=90
    )
    elapsed = time.monotonic() - started
    assert result.code == 0, result.stderr
    tracebacks = result.stderr.count("Traceback")
    assert tracebacks == result.stderr.count(URLLIB3_HEADER_WARNING), result.stderr
    assert result.out is not None and result.out["complete"] is True
    return result, elapsed


# -- 100 000 links ------------------------------------------------------------------


def many_links_page() -> bytes:
    """LINK_COUNT distinct same-host links, with a few other spellings of some of them
    interleaved (the same canonical URLs: `links` lists each once, in document order)."""
    parts = [b"<!DOCTYPE html><title>Many</title><ul>"]
    for i in range(LINK_COUNT):
        parts.append(b'<li><a href="/l/%d">%d</a>' % (i, i))
        if i % 1000 == 999:
            parts.append(b'<li><a href="./l/%d#again">%d</a>' % (i - 500, i - 500))
    parts.append(b"</ul>")
    return b"".join(parts)


def test_page_of_100000_links(crawl) -> None:  # type: ignore[no-untyped-def]
    body = many_links_page()
    with HostileServer(site({"/": html(body)})) as server:
        result, elapsed = run(crawl, server, "--max-depth", "1", "--max-pages", "50")
    print(f"100 000-link page: crawl took {elapsed:.1f} s, {len(body)} bytes of HTML")
    home = result.by_url()[server.url("/")]
    assert home["error"] is None and home["status"] == 200 and home["title"] == "Many"
    assert home["links"] == [server.url(f"/l/{i}") for i in range(LINK_COUNT)]
    # --max-pages 50: the home page and 49 links, each fetched once (all answer 404)
    assert result.stats["pages"] == 50
    fetched = [p for p in paths(server) if p.startswith("/l/")]
    assert len(fetched) == 49 and len(set(fetched)) == 49
    assert {p["url"] for p in result.pages} == {server.url("/"), *map(server.url, fetched)}
    assert all(p["status"] == 404 for p in result.pages if p["url"] != server.url("/"))
    assert elapsed < 45


# -- stacked Content-Encoding bombs -----------------------------------------------------


def _zeros() -> Iterator[bytes]:
    chunk = bytes(1 << 20)
    for _ in range(BOMB_RAW_BYTES >> 20):
        yield chunk


def stacked_bomb(codings: list[str]) -> bytes:
    """BOMB_RAW_BYTES of zeros encoded by each coding in turn (header order), streamed."""
    data: Iterator[bytes] = _zeros()
    for coding in codings:
        if coding == "br":
            br = brotli.Compressor(quality=5)
            out = [br.process(chunk) for chunk in data] + [br.finish()]
        else:
            wbits = 31 if coding == "gzip" else 15  # 31: gzip framing, 15: zlib (deflate)
            z = zlib.compressobj(9, zlib.DEFLATED, wbits)
            out = [z.compress(chunk) for chunk in data] + [z.flush()]
        data = iter([b"".join(out)])
    return b"".join(data)


BOMBS = {
    "/gzip-gzip": ["gzip", "gzip"],
    "/deflate-gzip": ["deflate", "gzip"],
    "/gzip-br": ["gzip", "br"],
}


def test_stacked_encoding_bombs_are_too_large(crawl) -> None:  # type: ignore[no-untyped-def]
    routes: dict[str, Route] = {}
    for path, codings in BOMBS.items():
        extra = b"Content-Encoding: " + ", ".join(codings).encode() + b"\r\n"
        routes[path] = html(stacked_bomb(codings), extra=extra)
    links = "".join(f'<a href="{path}">x</a>' for path in BOMBS).encode()
    routes["/"] = html(b"<title>Bombs</title>" + links)
    with HostileServer(site(routes)) as server:
        result, _ = run(
            crawl, server, "--max-bytes", str(MAX_BYTES), "--retries", "0", "--timeout", "10"
        )
    records = result.by_url()
    assert len(records) == 1 + len(BOMBS)
    for path in BOMBS:
        record = records[server.url(path)]
        assert record["error"] is not None, path
        assert record["error"]["kind"] == "too_large", (path, record["error"])
        assert record["status"] == 200, path
        assert MAX_BYTES < record["bytes"] <= MAX_BYTES + 65536, (path, record["bytes"])
    assert sorted(p for p in paths(server) if p in BOMBS) == sorted(BOMBS)  # once each


# -- header bytes that are not UTF-8 ------------------------------------------------------

TITLE = b"<title>Fine</title>"
HEADER_CASES: dict[str, Route] = {
    # Latin-1 and plain junk in a header value
    "/value": html(TITLE, extra=b"X-Name: caf\xe9 \xff\xfe\x80\r\n"),
    # junk in a header name
    "/name": html(TITLE, extra=b"X-\xff\xfe\x80: 1\r\n"),
    # junk in a header name before the others: Python's parser stops there, so
    # Content-Type and Content-Length are lost; the body runs to the close
    "/name-first": lambda peer: peer.send(
        b"HTTP/1.1 200 OK\r\nX-\xff\xfe\x80: 1\r\nContent-Type: text/html\r\n"
        b"Content-Length: 19\r\nConnection: close\r\n\r\n" + TITLE
    ),
    # junk as the charset: decoding falls through to <meta>/detection
    "/charset": html(TITLE, content_type=b"text/html; charset=\xff\xfe\x80"),
    # junk in the reason phrase
    "/reason": lambda peer: reply(peer, b"200 \xff\xfe\x80 \xe9", TITLE),
    # Location in Latin-1 (not UTF-8) and in UTF-8 bytes
    "/location-latin1": lambda peer: reply(peer, b"302 Found", extra=b"Location: /l\xe9\r\n"),
    "/location-utf8": lambda peer: reply(peer, b"302 Found", extra=b"Location: /u\xc3\xa9\r\n"),
}


def test_non_utf8_header_bytes_are_records(crawl) -> None:  # type: ignore[no-untyped-def]
    links = "".join(f'<a href="{path}">x</a>' for path in HEADER_CASES).encode()
    routes = {"/": html(b"<title>Headers</title>" + links), **HEADER_CASES}
    with HostileServer(site(routes)) as server:
        result, _ = run(crawl, server, "--retries", "0", "--timeout", "5")
    records = result.by_url()
    assert set(records) == {server.url("/"), *map(server.url, HEADER_CASES)}
    for path in ("/value", "/name", "/name-first", "/charset", "/reason"):
        record = records[server.url(path)]
        assert record["error"] is None and record["status"] == 200, (path, record)
        assert record["title"] == "Fine", path
    # The redirects are followed to a canonical (UTF-8, percent-encoded) target; the
    # contract is silent on how Latin-1 bytes in Location read: only the prefix is checked.
    utf8 = records[server.url("/location-utf8")]
    assert utf8["final_url"] == server.url("/u%C3%A9") and utf8["status"] == 404, utf8
    latin1 = records[server.url("/location-latin1")]
    assert latin1["error"] is None and latin1["final_url"].startswith(server.url("/l%")), latin1
    assert "/u%C3%A9" in paths(server)


# -- 10 000-deep nesting ------------------------------------------------------------------

DEPTH = 10_000


def deep_page(name: str, opener: bytes, closer: bytes) -> bytes:
    return (
        b"<title>Deep</title>"
        + opener * DEPTH
        + b'<a href="/inside-%s">in</a>' % name.encode()
        + closer * DEPTH
        + b'<p><a href="/after-%s">after</a> <a href="/last-%s">last</a>' % ((name.encode(),) * 2)
    )


DEEP_PAGES = {
    "closed": deep_page("closed", b"<div>", b"</div>"),
    "unclosed": deep_page("unclosed", b"<div>", b""),
    "mixed": deep_page("mixed", b"<div><span><ul><li><b>", b"</b></li></ul></span></div>"),
}


def test_deeply_nested_pages_links_after_the_depth_are_followed(crawl) -> None:  # type: ignore[no-untyped-def]
    leaf = html(b"<title>Leaf</title>")
    routes: dict[str, Route] = {}
    for name, body in DEEP_PAGES.items():
        routes[f"/deep-{name}"] = html(body)
        for kind in ("inside", "after", "last"):
            routes[f"/{kind}-{name}"] = leaf
    links = "".join(f'<a href="/deep-{name}">x</a>' for name in DEEP_PAGES).encode()
    routes["/"] = html(b"<title>Home</title>" + links)
    with HostileServer(site(routes)) as server:
        result, _ = run(crawl, server, "--retries", "0", "--timeout", "10")
    records = result.by_url()
    seen = paths(server)
    for name in DEEP_PAGES:
        record = records[server.url(f"/deep-{name}")]
        assert record["error"] is None and record["title"] == "Deep", (name, record["error"])
        expected = [server.url(f"/{kind}-{name}") for kind in ("inside", "after", "last")]
        assert record["links"] == expected, name
        for kind in ("inside", "after", "last"):
            assert seen.count(f"/{kind}-{name}") == 1, (name, kind)
            assert records[server.url(f"/{kind}-{name}")]["title"] == "Leaf"

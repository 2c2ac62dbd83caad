"""A crawl through hostile servers: each bad page costs one record, never the crawl."""

from __future__ import annotations

import gzip
import time
import zlib

from tests.helpers.crawler_cli import Crawl
from tests.helpers.hostile import HostileServer, Peer, closed_port

LINKS = [
    "/ok",
    "/drip-headers",
    "/drip-body",
    "/huge",
    "/gzip-bomb",
    "/deflate-bomb",
    "/liar",
    "/reset",
    "/bad-status",
    "/binary",
    "/deep",
    "/latin1",
]
MAX_BYTES = 1_000_000


def _gzip_bomb() -> bytes:
    return gzip.compress(b"\0" * 50_000_000, compresslevel=9)


def _deflate_bomb() -> bytes:
    return zlib.compress(b"\0" * 50_000_000, 9)


GZIP_BOMB = _gzip_bomb()
DEFLATE_BOMB = _deflate_bomb()


def answer(peer: Peer, body: bytes, content_type: str = "text/html", extra: str = "") -> None:
    head = (
        f"HTTP/1.1 200 OK\r\nContent-Type: {content_type}\r\nContent-Length: {len(body)}\r\n"
        f"Connection: close\r\n{extra}\r\n"
    )
    peer.send(head.encode("latin-1") + body)


def hostile(peer: Peer) -> None:
    head = peer.read_request()
    if not head:
        return
    path = head.split(b" ")[1].decode()
    if path == "/robots.txt":
        peer.send(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
    elif path == "/":
        links = "".join(f'<a href="{link}">{link}</a>' for link in LINKS)
        answer(peer, f"<title>Home</title>{links}".encode())
    elif path == "/ok":
        answer(peer, b"<title>Fine</title>")
    elif path == "/drip-headers":
        peer.drip(b"HTTP/1.1 200 OK\r\n" + b"X-Slow: yes\r\n" * 1000, 0.2)
    elif path == "/drip-body":
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 9999\r\n\r\n")
        peer.drip_forever(b"x", 0.2)
    elif path == "/huge":
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nConnection: close\r\n\r\n")
        chunk = b"<p>" + b"a" * 65536
        deadline = time.monotonic() + 10
        while not peer.stop.is_set() and time.monotonic() < deadline:
            peer.send(chunk)
    elif path == "/gzip-bomb":
        answer(peer, GZIP_BOMB, extra="Content-Encoding: gzip\r\n")
    elif path == "/deflate-bomb":
        answer(peer, DEFLATE_BOMB, extra="Content-Encoding: deflate\r\n")
    elif path == "/liar":
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n\r\n<p>")
        peer.sock.close()
    elif path == "/reset":
        peer.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 5000\r\n\r\n<p>")
        peer.reset()
    elif path == "/bad-status":
        peer.send(b"HTTP/9.9 TWO HUNDRED\r\n\r\nnonsense")
    elif path == "/binary":
        answer(peer, bytes(range(256)) * 100, content_type="text/html")
    elif path == "/deep":
        answer(peer, b"<div>" * 10_000 + b'<a href="/ok">ok</a>' + b"</div>" * 10_000)
    elif path == "/latin1":
        answer(peer, "<title>Crème brûlée</title>".encode("latin-1"), "text/html; charset=latin-1")


def test_hostile_pages_cost_one_record_each(crawl) -> None:  # type: ignore[no-untyped-def]
    with HostileServer(hostile) as server:
        started = time.monotonic()
        result: Crawl = crawl(
            "--seed",
            server.url("/"),
            "--procs",
            "2",
            "--threads",
            "8",
            "--timeout",
            "1.5",
            "--retries",
            "0",
            "--max-bytes",
            str(MAX_BYTES),
            timeout=60,
        )
        elapsed = time.monotonic() - started
    assert result.code == 0, result.stderr
    assert "Traceback" not in result.stderr
    records = {p["url"].rsplit("/", 1)[1]: p for p in result.pages}
    assert len(result.pages) == len(LINKS) + 1
    kind = {name: (r["error"] or {}).get("kind") for name, r in records.items()}
    assert kind["ok"] is None and records["ok"]["title"] == "Fine"
    assert kind["drip-headers"] == "timeout"
    assert kind["drip-body"] == "timeout"
    assert kind["huge"] == "too_large" and records["huge"]["status"] == 200
    assert kind["gzip-bomb"] == "too_large"
    assert kind["deflate-bomb"] == "too_large"
    assert records["gzip-bomb"]["bytes"] <= MAX_BYTES + 65536
    assert kind["liar"] == "bad_response"
    assert kind["reset"] == "bad_response"
    assert kind["bad-status"] == "bad_response"
    assert kind["binary"] is None and records["binary"]["status"] == 200
    assert kind["deep"] is None and records["deep"]["links"] == [server.url("/ok")]
    assert records["latin1"]["title"] == "Crème brûlée"
    # the drips were cut at the total deadline, not stretched by each byte
    assert records["drip-headers"]["elapsed_ms"] < 2500
    assert elapsed < 30


def test_unreachable_hosts_are_records(crawl) -> None:  # type: ignore[no-untyped-def]
    port = closed_port()
    result = crawl(
        "--seed",
        f"http://127.0.0.1:{port}/",
        "--seed",
        "http://no-such-host.invalid/",
        "--procs",
        "1",
        "--retries",
        "1",
        "--ignore-robots",
    )
    assert result.code == 0, result.stderr
    kinds = {p["url"]: p["error"]["kind"] for p in result.pages}
    assert kinds == {f"http://127.0.0.1:{port}/": "connect", "http://no-such-host.invalid/": "dns"}
    refused = result.by_url()[f"http://127.0.0.1:{port}/"]
    assert refused["retries"] == 1 and refused["status"] is None


def test_a_dead_seed_is_a_record_not_an_empty_crawl(crawl) -> None:  # type: ignore[no-untyped-def]
    # Its robots.txt is unreachable, so RFC 9309 disallows the host; the seed is still a
    # record saying so, with no worker (nothing was requested), and the last line says it.
    port = closed_port()
    seed = f"http://127.0.0.1:{port}/"
    result = crawl("--seed", seed, "--procs", "1", "--retries", "0")
    assert result.code == 0
    (record,) = result.pages
    assert record["url"] == seed and record["status"] is None and record["worker"] is None
    assert record["bytes"] == 0 and record["elapsed_ms"] == 0
    assert record["error"]["kind"] == "robots_unavailable"
    assert record["error"]["message"].startswith("connect: ")
    assert f"robots.txt of 127.0.0.1:{port}" in record["error"]["message"]
    assert result.stats["robots_excluded"] == 0 and result.stats["failed"] == 1
    assert result.stats["by_error"] == {"robots_unavailable": 1}

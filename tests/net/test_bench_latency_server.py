"""The bench's latency server (scripts/bench/servers.py): the site's answers, each held
back by the latency.

The server runs as the bench runs it (a subprocess, stopped by SIGTERM); these tests
speak raw HTTP/1.1 to it over loopback. Only lower bounds of time are asserted: that
an answer is never early holds on any machine, how late it is does not.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.bench.servers import latency_server
from scripts.bench.site_build import BuiltSite, build_site
from scripts.site import SiteConfig, respond

LATENCY_MS = 50.0
CFG = SiteConfig(pages=30, links=5, hosts=1, page_bytes=2_000)


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> BuiltSite:
    return build_site(CFG, tmp_path_factory.mktemp("www"))


@pytest.fixture(scope="module")
def address(site: BuiltSite) -> Iterator[tuple[str, int]]:
    with latency_server(site, LATENCY_MS) as server:
        host, port = server.base.removeprefix("http://").rstrip("/").split(":")
        yield host, int(port)


def _read_answer(sock: socket.socket, buffered: bytearray, head_only: bool = False) -> bytes:
    """One whole answer (head and Content-Length body) from `sock`; the rest stays buffered."""
    while b"\r\n\r\n" not in buffered:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed before an answer")
        buffered += chunk
    end = buffered.index(b"\r\n\r\n") + 4
    head = bytes(buffered[:end])
    length = 0 if head_only else int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
    while len(buffered) < end + length:
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed mid-body")
        buffered += chunk
    answer = bytes(buffered[: end + length])
    del buffered[: end + length]
    return answer


def _body(answer: bytes) -> bytes:
    return answer.split(b"\r\n\r\n", 1)[1]


def test_keep_alive_answers_are_the_sites_and_each_waits_the_latency(
    address: tuple[str, int],
) -> None:
    with socket.create_connection(address, timeout=10) as sock:
        buffered = bytearray()
        for target in ("/", "/p/3", "/p/4?b=2&a=1"):
            started = time.monotonic()
            sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            answer = _read_answer(sock, buffered)
            assert time.monotonic() - started >= LATENCY_MS / 1000
            assert answer.startswith(b"HTTP/1.1 200 OK\r\n")
            assert _body(answer) == respond(CFG, 0, target)[2]


def test_pipelined_requests_are_answered_in_order(address: tuple[str, int]) -> None:
    targets = [f"/p/{n}" for n in (7, 1, 20, 2)]
    with socket.create_connection(address, timeout=10) as sock:
        started = time.monotonic()
        sock.sendall(b"".join(f"GET {t} HTTP/1.1\r\nHost: x\r\n\r\n".encode() for t in targets))
        buffered = bytearray()
        bodies = [_body(_read_answer(sock, buffered)) for _ in targets]
        assert time.monotonic() - started >= LATENCY_MS / 1000
    assert bodies == [respond(CFG, 0, t)[2] for t in targets]


def test_redirect_missing_page_and_head(address: tuple[str, int]) -> None:
    with socket.create_connection(address, timeout=10) as sock:
        buffered = bytearray()
        sock.sendall(b"GET /r/5 HTTP/1.1\r\nHost: x\r\n\r\n")
        moved = _read_answer(sock, buffered)
        assert moved.startswith(b"HTTP/1.1 301 ")
        assert b"\r\nLocation: /p/5\r\n" in moved
        sock.sendall(b"GET /no/such/page HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _read_answer(sock, buffered).startswith(b"HTTP/1.1 404 ")
        sock.sendall(b"HEAD /p/1 HTTP/1.1\r\nHost: x\r\n\r\n")
        head = _read_answer(sock, buffered, head_only=True)
        assert head.startswith(b"HTTP/1.1 200 OK\r\n") and head.endswith(b"\r\n\r\n")
        # No body came after the HEAD answer: the next answer starts right away.
        sock.sendall(b"GET /p/2 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _body(_read_answer(sock, buffered)) == respond(CFG, 0, "/p/2")[2]


def test_connection_close_is_honoured_after_the_answer(address: tuple[str, int]) -> None:
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(b"GET /p/1 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        buffered = bytearray()
        assert _body(_read_answer(sock, buffered)) == respond(CFG, 0, "/p/1")[2]
        assert sock.recv(1) == b""  # then closed
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(b"GET /p/1 HTTP/1.0\r\n\r\n")  # HTTP/1.0 closes by default
        buffered = bytearray()
        assert _read_answer(sock, buffered).startswith(b"HTTP/1.1 200 ")
        assert sock.recv(1) == b""


@pytest.mark.parametrize(
    "garbage",
    [b"NONSENSE\r\n\r\n", b"GET /" + b"a" * (70 * 1024)],
    ids=["not-http", "endless-head"],
)
def test_garbage_drops_only_that_connection(address: tuple[str, int], garbage: bytes) -> None:
    with socket.create_connection(address, timeout=10) as sock:
        try:
            sock.sendall(garbage)
            assert sock.recv(1) == b""
        except ConnectionResetError:
            pass  # the server closed with our bytes unread: also a drop
    with socket.create_connection(address, timeout=10) as sock:
        sock.sendall(b"GET /p/1 HTTP/1.1\r\nHost: x\r\n\r\n")
        assert _body(_read_answer(sock, bytearray())) == respond(CFG, 0, "/p/1")[2]


def test_stops_on_sigterm_with_connections_open(site: BuiltSite, tmp_path: Path) -> None:
    with latency_server(site, LATENCY_MS) as server:
        host, port = server.base.removeprefix("http://").rstrip("/").split(":")
        idle = socket.create_connection((host, int(port)), timeout=10)
        waiting = socket.create_connection((host, int(port)), timeout=10)
        waiting.sendall(b"GET /p/1 HTTP/1.1\r\nHost: x\r\n\r\n")
    # latency_server sent SIGTERM and waited for the process: both connections are closed
    # (a recv that still waited would time out), the idle one without a byte, the other
    # with nothing or its whole answer, whichever the stop left time for.
    received = []
    for sock in (idle, waiting):
        with sock:
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
            received.append(data)
    assert received[0] == b""
    assert received[1] == b"" or _body(received[1]) == respond(CFG, 0, "/p/1")[2]

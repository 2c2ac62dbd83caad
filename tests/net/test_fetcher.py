"""The fetcher against real loopback servers: pytest-httpserver for scripted answers,
tests/helpers/hostile.py for peers that drip, lie, reset, bomb or do not speak HTTP."""

from __future__ import annotations

import functools
import gzip
import time
import tracemalloc
import zlib
from collections.abc import Callable, Iterator

import brotli
import pytest
from pytest_httpserver import HTTPServer

from crawler.errors import ErrorKind
from crawler.fetcher import Attempt, Fetcher
from tests.helpers.hostile import HostileServer, Peer, closed_port

UA = "crawler-test/1.0 (+https://example.invalid/crawler)"
MIB = 1 << 20

MakeFetcher = Callable[..., Fetcher]


@pytest.fixture
def make_fetcher() -> Iterator[MakeFetcher]:
    made: list[Fetcher] = []

    def make(timeout_s: float = 5.0, max_bytes: int = MIB, **kwargs: object) -> Fetcher:
        fetcher = Fetcher(user_agent=UA, timeout_s=timeout_s, max_bytes=max_bytes, **kwargs)
        made.append(fetcher)
        return fetcher

    yield make
    for fetcher in made:
        fetcher.close()


def answer(head: bytes, body: bytes = b"") -> Callable[[Peer], None]:
    """A handler that reads one request and sends `head` (CRLF-joined lines) and `body`."""

    def handle(peer: Peer) -> None:
        peer.read_request()
        peer.send(head + b"\r\n\r\n" + body)

    return handle


def fetch_from(
    handler: Callable[[Peer], None], fetcher: Fetcher, path: str = "/", scheme: str = "http"
) -> Attempt:
    with HostileServer(handler) as server:
        return fetcher.fetch(server.url(path, scheme))


def assert_failed(attempt: Attempt, kind: ErrorKind) -> None:
    assert attempt.error_kind is kind, attempt.error_message
    assert attempt.error_message
    assert attempt.status is None
    assert attempt.body == b""


# --- ordinary answers ---


def test_ok_html_keeps_media_type_charset_and_body(
    httpserver: HTTPServer, make_fetcher: MakeFetcher
) -> None:
    page = "<html><title>Café</title></html>".encode("latin-1")
    httpserver.expect_request("/page").respond_with_data(
        page, headers={"Content-Type": 'Text/HTML; Charset="ISO-8859-1"'}
    )
    before = time.time()
    attempt = make_fetcher().fetch(httpserver.url_for("/page"))
    assert attempt.error_kind is None and attempt.error_message is None
    assert attempt.status == 200
    assert (attempt.content_type, attempt.charset) == ("text/html", "iso-8859-1")
    assert attempt.body == page and attempt.bytes == len(page)
    assert attempt.location is None and attempt.retry_after is None
    assert before <= attempt.fetched_at <= time.time()
    assert 0 < attempt.elapsed_ms < 5000


def test_404_is_a_status_not_an_error(httpserver: HTTPServer, make_fetcher: MakeFetcher) -> None:
    httpserver.expect_request("/gone").respond_with_data("no such page", status=404)
    attempt = make_fetcher().fetch(httpserver.url_for("/gone"))
    assert (attempt.status, attempt.error_kind, attempt.body) == (404, None, b"no such page")


def test_retry_after_is_kept_raw(httpserver: HTTPServer, make_fetcher: MakeFetcher) -> None:
    httpserver.expect_request("/busy").respond_with_data(
        "later", status=503, headers={"Retry-After": "120"}
    )
    attempt = make_fetcher().fetch(httpserver.url_for("/busy"))
    assert (attempt.status, attempt.retry_after, attempt.error_kind) == (503, "120", None)


def test_redirect_gives_location_and_reads_no_body(make_fetcher: MakeFetcher) -> None:
    # The body never ends: reading it would take the whole 5 s deadline.
    def handle(peer: Peer) -> None:
        peer.read_request()
        peer.send(
            b"HTTP/1.1 301 Moved Permanently\r\nLocation: /caf\xc3\xa9?a=1\r\n"
            b"Content-Length: 1000000\r\n\r\n"
        )
        peer.drip_forever(b"x", 0.05)

    attempt = fetch_from(handle, make_fetcher(timeout_s=5))
    assert (attempt.status, attempt.error_kind) == (301, None)
    assert attempt.location == "/café?a=1"
    assert (attempt.body, attempt.bytes) == (b"", 0)
    assert attempt.elapsed_ms < 1000


def test_custom_headers_go_only_where_the_caller_says(
    httpserver: HTTPServer, make_fetcher: MakeFetcher
) -> None:
    httpserver.expect_request("/a").respond_with_data("a")
    httpserver.expect_request("/b").respond_with_data("b")
    fetcher = make_fetcher(headers={"X-Token": "s3cret"})
    assert fetcher.fetch(httpserver.url_for("/a"), send_headers=True).status == 200
    assert fetcher.fetch(httpserver.url_for("/b"), send_headers=False).status == 200
    (sent_a, _), (sent_b, _) = httpserver.log
    assert sent_a.headers.get("X-Token") == "s3cret"
    assert sent_b.headers.get("X-Token") is None
    for sent in (sent_a, sent_b):
        assert sent.headers["User-Agent"] == UA
        assert sent.headers["Accept-Encoding"] == "gzip, deflate, br"


OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


def keep_alive(peer: Peer) -> None:
    while peer.read_request():
        peer.send(OK)


def test_keep_alive_reuses_one_connection(make_fetcher: MakeFetcher) -> None:
    fetcher = make_fetcher()
    with HostileServer(keep_alive) as server:
        first = fetcher.fetch(server.url("/1"))
        second = fetcher.fetch(server.url("/2"))
    assert first.body == second.body == b"ok"
    assert server.connections == 1
    assert [head.split(b" ")[1] for head in server.requests] == [b"/1", b"/2"]


def test_gzip_body_is_decoded_and_counted_decoded(make_fetcher: MakeFetcher) -> None:
    text = b"hello " * 1000
    packed = gzip.compress(text)
    head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d" % len(packed)
    attempt = fetch_from(answer(head, packed), make_fetcher())
    assert (attempt.error_kind, attempt.body, attempt.bytes) == (None, text, len(text))


# --- connection failures ---


def test_refused_port_is_connect(make_fetcher: MakeFetcher) -> None:
    attempt = make_fetcher().fetch(f"http://127.0.0.1:{closed_port()}/")
    assert_failed(attempt, ErrorKind.CONNECT)


def test_unknown_host_is_dns(make_fetcher: MakeFetcher) -> None:
    assert_failed(make_fetcher().fetch("http://nonexistent.invalid/"), ErrorKind.DNS)


def test_close_without_answer_is_connect(make_fetcher: MakeFetcher) -> None:
    assert_failed(fetch_from(Peer.read_request, make_fetcher()), ErrorKind.CONNECT)


def test_tls_to_a_plain_http_server_is_tls(make_fetcher: MakeFetcher) -> None:
    def plain_http(peer: Peer) -> None:
        peer.sock.recv(4096)  # the ClientHello
        peer.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")

    assert_failed(fetch_from(plain_http, make_fetcher(), scheme="https"), ErrorKind.TLS)


# --- the total deadline ---


def drip_status_line(peer: Peer) -> None:
    peer.read_request()
    peer.drip(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0.1)


def drip_headers(peer: Peer) -> None:
    peer.read_request()
    peer.send(b"HTTP/1.1 200 OK\r\n")
    peer.drip_forever(b"x", 0.1)


def endless_continue(peer: Peer) -> None:
    # http.client skips 1xx answers in a loop of its own.
    peer.read_request()
    while not peer.stop.wait(0.01):
        peer.send(b"HTTP/1.1 100 Continue\r\n\r\n")


def drip_tls_handshake(peer: Peer) -> None:
    peer.sock.recv(4096)  # the ClientHello
    peer.send(b"\x16\x03\x03\x40\x00")  # a handshake record of 16 KiB, to come slowly
    peer.drip_forever(b"\x00", 0.1)


def drip_body(framing: bytes, first: bytes = b"") -> Callable[[Peer], None]:
    def handle(peer: Peer) -> None:
        peer.read_request()
        peer.send(b"HTTP/1.1 200 OK\r\n" + framing + b"\r\n\r\n" + first)
        peer.drip_forever(b"x", 0.1)

    return handle


@pytest.mark.parametrize(
    ("handler", "scheme"),
    [
        pytest.param(drip_status_line, "http", id="status-line"),
        pytest.param(drip_headers, "http", id="headers"),
        pytest.param(endless_continue, "http", id="endless-100-continue"),
        pytest.param(drip_tls_handshake, "https", id="tls-handshake"),
        pytest.param(drip_body(b"Content-Length: 100000"), "http", id="body-content-length"),
        pytest.param(drip_body(b"Connection: close"), "http", id="body-until-close"),
        pytest.param(
            drip_body(b"Transfer-Encoding: chunked", b"100000\r\n"), "http", id="body-chunked"
        ),
    ],
)
def test_a_dripping_server_cannot_hold_the_thread(
    handler: Callable[[Peer], None], scheme: str, make_fetcher: MakeFetcher
) -> None:
    started = time.monotonic()
    attempt = fetch_from(handler, make_fetcher(timeout_s=1.0), scheme=scheme)
    assert_failed(attempt, ErrorKind.TIMEOUT)
    assert 0.9 <= time.monotonic() - started < 1.5
    assert 900 <= attempt.elapsed_ms < 1500


def test_the_deadline_also_holds_on_a_kept_alive_connection(make_fetcher: MakeFetcher) -> None:
    def fast_then_drip(peer: Peer) -> None:
        peer.read_request()
        peer.send(OK)
        drip_headers(peer)

    fetcher = make_fetcher(timeout_s=1.0)
    with HostileServer(fast_then_drip) as server:
        assert fetcher.fetch(server.url("/1")).body == b"ok"
        started = time.monotonic()
        attempt = fetcher.fetch(server.url("/2"))
        assert time.monotonic() - started < 1.5
    assert_failed(attempt, ErrorKind.TIMEOUT)
    assert server.connections == 1


def test_a_timed_out_connection_is_not_reused(make_fetcher: MakeFetcher) -> None:
    def drip_then_answer(peer: Peer) -> None:
        if peer.read_request().startswith(b"GET /slow"):
            peer.drip_forever(b"x", 0.1)
        else:
            peer.send(OK)

    fetcher = make_fetcher(timeout_s=0.5)
    with HostileServer(drip_then_answer) as server:
        assert fetcher.fetch(server.url("/slow")).error_kind is ErrorKind.TIMEOUT
        after = fetcher.fetch(server.url("/fast"))
    assert (after.status, after.body, after.error_kind) == (200, b"ok", None)
    assert server.connections == 2


# --- the byte cap ---

BODY = bytes(range(256)) * 20  # 5120 bytes
LIMIT = 1000


@pytest.mark.parametrize(
    ("framing", "wire"),
    [
        pytest.param(b"Content-Length: %d" % len(BODY), BODY, id="content-length"),
        pytest.param(b"Connection: close", BODY, id="until-close"),
        pytest.param(
            b"Transfer-Encoding: chunked",
            b"%x\r\n%s\r\n0\r\n\r\n" % (len(BODY), BODY),
            id="chunked",
        ),
    ],
)
def test_a_body_over_max_bytes_is_too_large_and_truncated(
    framing: bytes, wire: bytes, make_fetcher: MakeFetcher
) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n" + framing
    attempt = fetch_from(answer(head, wire), make_fetcher(max_bytes=LIMIT))
    assert attempt.error_kind is ErrorKind.TOO_LARGE
    assert (attempt.status, attempt.content_type) == (200, "text/html")
    assert attempt.body == BODY[:LIMIT]
    assert LIMIT < attempt.bytes <= len(BODY)


def test_a_body_of_exactly_max_bytes_is_fine(make_fetcher: MakeFetcher) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: %d" % LIMIT
    attempt = fetch_from(answer(head, BODY[:LIMIT]), make_fetcher(max_bytes=LIMIT))
    assert (attempt.error_kind, attempt.body, attempt.bytes) == (None, BODY[:LIMIT], LIMIT)


GIB_MIB = 1024  # a bomb decodes to 1 GiB of zeros


@functools.cache
def zlib_bomb(wbits: int) -> bytes:
    """1 GiB of zeros in zlib (wbits 15) or gzip (wbits 31) framing, built in a blink.

    After a full flush the compressor starts afresh, so every further MiB of zeros
    compresses to the same block; only the trailer's checksum needs the whole count.
    """
    zeros = bytes(MIB)
    packer = zlib.compressobj(9, zlib.DEFLATED, wbits)
    first = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    final_block = packer.flush()[:2]  # the empty final block; the trailer follows
    size = GIB_MIB * MIB
    if wbits == 31:
        crc = 0
        for _ in range(GIB_MIB):
            crc = zlib.crc32(zeros, crc)
        trailer = crc.to_bytes(4, "little") + (size % 2**32).to_bytes(4, "little")
    else:  # Adler-32 of n zero bytes: a stays 1, b sums to n (RFC 1950)
        trailer = ((size % 65521) << 16 | 1).to_bytes(4, "big")
    return first + block * (GIB_MIB - 1) + final_block + trailer


@functools.cache
def brotli_bomb() -> bytes:
    packer = brotli.Compressor(quality=1)
    zeros = bytes(MIB)
    return b"".join(packer.process(zeros) for _ in range(GIB_MIB)) + packer.finish()


BOMBS: dict[str, Callable[[], bytes]] = {
    "gzip": lambda: zlib_bomb(31),
    "deflate": lambda: zlib_bomb(15),
    "br": brotli_bomb,
    "gzip, gzip": lambda: gzip.compress(zlib_bomb(31)),
}


@pytest.mark.parametrize("encoding", list(BOMBS))
def test_a_compression_bomb_stops_at_max_bytes_in_bounded_memory(
    encoding: str, make_fetcher: MakeFetcher
) -> None:
    bomb = BOMBS[encoding]()
    assert len(bomb) < 2 * MIB  # a few wire bytes for 1 GiB of body
    head = b"HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: %d" % (
        encoding.encode(),
        len(bomb),
    )
    fetcher = make_fetcher(max_bytes=MIB, timeout_s=10)
    with HostileServer(answer(head, bomb)) as server:
        tracemalloc.start()
        try:
            attempt = fetcher.fetch(server.url())
            peak_bytes = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert attempt.error_kind is ErrorKind.TOO_LARGE, attempt.error_message
    assert attempt.body == bytes(MIB)
    assert MIB < attempt.bytes < 2 * MIB
    # The body kept (1 MiB) plus its join and one bounded read; not the 1 GiB decoded.
    assert peak_bytes < 16 * MIB


@pytest.mark.parametrize("encoding", list(BOMBS))
def test_a_captured_bomb_keeps_only_the_raw_bytes_that_reached_max_bytes(
    encoding: str, make_fetcher: MakeFetcher
) -> None:
    # --warc: the payload is the raw (still encoded) prefix that decoded to the limit
    # and at most one read more, not the whole body sent; memory stays bounded.
    bomb = BOMBS[encoding]()
    head = b"HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: %d" % (
        encoding.encode(),
        len(bomb),
    )
    fetcher = make_fetcher(max_bytes=MIB, timeout_s=10, capture=True)
    with HostileServer(answer(head, bomb)) as server:
        tracemalloc.start()
        try:
            attempt = fetcher.fetch(server.url())
            peak_bytes = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
    assert attempt.error_kind is ErrorKind.TOO_LARGE, attempt.error_message
    exchange = attempt.exchange
    assert exchange is not None
    assert exchange.truncated == "length"
    assert exchange.response_head == head + b"\r\n\r\n"
    assert bomb.startswith(exchange.body())
    # A read of 64 KiB decoded takes at most 64 KiB raw: the prefix is a read or two long,
    # whatever the size of the body sent (~1 MiB for gzip and deflate).
    assert 0 < len(exchange.body()) <= min(len(bomb), 2 * 64 * 1024)
    assert exchange.request.startswith(b"GET / HTTP/1.1\r\n")
    assert exchange.ip == "127.0.0.1"
    assert peak_bytes < 16 * MIB


def test_without_capture_an_attempt_carries_no_exchange(make_fetcher: MakeFetcher) -> None:
    head = b"HTTP/1.1 200 OK\r\nContent-Length: 2"
    attempt = fetch_from(answer(head, b"ok"), make_fetcher())
    assert (attempt.status, attempt.exchange) == (200, None)


# --- broken answers ---


def lying_content_length(peer: Peer) -> None:
    peer.read_request()
    peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)


def reset_mid_body(peer: Peer) -> None:
    peer.read_request()
    peer.send(b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n" + b"x" * 10)
    # No pause needed before the RST: Linux keeps the bytes that arrived before it
    # readable, so the client reads the head and only then meets the reset, mid-body.
    peer.reset()


BROKEN = {
    "lying-content-length": lying_content_length,
    "reset-mid-body": reset_mid_body,
    "chunk-size-not-hex": answer(
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked", b"zz\r\nhello\r\n0\r\n\r\n"
    ),
    "chunked-cut-short": answer(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked", b"64\r\nhello"),
    "not-gzip": answer(b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 5", b"hello"),
    "status-not-a-number": answer(b"HTTP/1.1 abc OK"),
    "status-out-of-range": answer(b"HTTP/1.1 2000 OK"),
    "not-http": answer(b"SSH-2.0-OpenSSH_9.6"),
    "10000-headers": answer(b"HTTP/1.1 200 OK" + b"\r\nX-N: v" * 10000),
    "1-mib-header": answer(b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * MIB),
}


@pytest.mark.parametrize("handler", list(BROKEN.values()), ids=list(BROKEN))
def test_a_broken_answer_is_bad_response(
    handler: Callable[[Peer], None], make_fetcher: MakeFetcher
) -> None:
    attempt = fetch_from(handler, make_fetcher())
    assert_failed(attempt, ErrorKind.BAD_RESPONSE)
    assert attempt.elapsed_ms < 1000


def test_non_utf8_header_values_do_not_crash(make_fetcher: MakeFetcher) -> None:
    head = (
        b"HTTP/1.1 200 OK\r\nX-Junk: \xff\xfe\x80\xc3\x28\r\n"
        b"Content-Type: text/html; charset=\xe9t\xe9\r\nContent-Length: 2"
    )
    attempt = fetch_from(answer(head, b"ok"), make_fetcher())
    assert (attempt.status, attempt.error_kind, attempt.body) == (200, None, b"ok")
    assert (attempt.content_type, attempt.charset) == ("text/html", "\xe9t\xe9")


def test_a_non_utf8_header_name_does_not_crash(make_fetcher: MakeFetcher) -> None:
    # http.client stops parsing at such a line (urllib3 logs a warning): the headers
    # after it are lost, Content-Length too, so the body runs until the server closes.
    head = b"HTTP/1.1 200 OK\r\nX-\xe9\xff: y\r\nContent-Length: 2"
    attempt = fetch_from(answer(head, b"ok"), make_fetcher())
    assert (attempt.status, attempt.error_kind, attempt.body) == (200, None, b"ok")


def test_repeated_content_type_headers_use_the_last(make_fetcher: MakeFetcher) -> None:
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n"
        b"Content-Type: text/html; charset=UTF-8\r\nContent-Length: 2"
    )
    attempt = fetch_from(answer(head, b"ok"), make_fetcher())
    assert (attempt.content_type, attempt.charset) == ("text/html", "utf-8")


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        pytest.param("ftp://127.0.0.1/", {}, id="no-adapter-for-scheme"),
        pytest.param("http://127.0.0.1:1/", {"X-Bad": "a\r\nInjected: 1"}, id="bad-header"),
    ],
)
def test_a_request_we_cannot_build_is_internal_and_logged(
    url: str, headers: dict[str, str], make_fetcher: MakeFetcher, caplog: pytest.LogCaptureFixture
) -> None:
    attempt = make_fetcher(headers=headers).fetch(url)
    assert_failed(attempt, ErrorKind.INTERNAL)
    assert any(record.exc_info for record in caplog.records if record.name == "crawler.fetcher")

"""One HTTP attempt of one URL, hardened against hostile servers.

Owns the requests Session of one fetch thread, the attempt's total deadline (a
process-wide watchdog shuts down the sockets of attempts past it), the decoded byte cap,
and the one table that maps requests/urllib3/socket exceptions to error kinds: no
other module knows those exceptions. It must not follow redirects, retry, choose which
URLs get the --header values, or parse bodies: the coordinator and the worker do that.

With `capture` (--warc), it also keeps each attempt's bytes as they crossed the
socket, for crawler/warc_writer.py: the request head as sent, and the status line,
headers and body as received (transfer- and content-encoding intact), teed off the
socket reads the decoding already does, so the body is read once.
"""

from __future__ import annotations

import contextlib
import functools
import heapq
import http.client
import itertools
import logging
import math
import os
import socket
import ssl
import sys
import threading
import time
from collections import deque
from collections.abc import Generator, Mapping
from concurrent.futures import Future
from dataclasses import dataclass, field, replace
from enum import StrEnum
from http.cookiejar import DefaultCookiePolicy
from types import MappingProxyType
from typing import Any, cast

import requests
import requests.exceptions as rexc
import urllib3.exceptions as uexc
from requests.adapters import HTTPAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.util.connection import allowed_gai_family
from urllib3.util.retry import Retry
from urllib3.util.ssl_ import is_ipaddress
from urllib3.util.ssl_match_hostname import CertificateError as Urllib3CertificateError

from crawler.addresses import AddressGuard
from crawler.errors import ErrorKind

log = logging.getLogger(__name__)

# What we can decode: urllib3 decodes all three, "br" through the brotli package.
ACCEPT_ENCODING = "gzip, deflate, br"
# Decoded bytes per read. urllib3 >= 2.7 also bounds each read's decompression by it,
# so a bomb costs at most about this much memory per step, not its decoded size.
_CHUNK_BYTES = 64 * 1024
# A zero timeout would make the socket non-blocking; never hand that to requests.
_MIN_TIMEOUT_S = 0.001
# The watchdog's heap keeps released entries until their deadline; rebuild it when
# they dominate, so long timeouts at high request rates do not pile them up.
_COMPACT_AT = 1024

_NO_HEADERS: Mapping[str, str] = MappingProxyType({})


class Truncation(StrEnum):
    """Why an archived answer's body ends early: WARC-Truncated's values (WARC 1.1 §5.15)."""

    LENGTH = "length"  # --max-bytes decoded reached
    TIME = "time"  # the attempt's deadline
    DISCONNECT = "disconnect"  # the connection broke, or the answer was malformed
    UNSPECIFIED = "unspecified"  # a redirect's body, never read


@dataclass(frozen=True, slots=True)
class Exchange:
    """One attempt's bytes as they crossed the socket (kept only with `capture`)."""

    url: str
    started_at: float  # time.time() when the attempt started
    ip: str | None  # the address connected to (checked by the address guard)
    request: bytes  # the request head as sent, --header values included
    secret_headers: frozenset[str]  # lower-case names whose values were --header values
    # Status line and headers as received; b"" when no usable answer came.
    response_head: bytes
    # As received, up to where the read stopped: the pieces as read, not joined (a
    # worker's large blocks come from mmap, so every copy of a body costs system time).
    response_body: tuple[bytes, ...]
    truncated: Truncation | None

    def body(self) -> bytes:
        return b"".join(self.response_body)


@dataclass(frozen=True, slots=True)
class Attempt:
    """The outcome of one request: what the server answered, or why nothing usable came.

    For an error, `status`, `content_type`, `charset`, `location` and `retry_after` are
    None and `body` is b"", except for `too_large`, which keeps the answer's headers and
    the first `max_bytes` decoded bytes. `bytes` counts the decoded bytes actually read,
    so for `too_large` it exceeds `max_bytes` (by less than one read of 64 KiB).
    """

    url: str
    status: int | None  # None when no usable HTTP answer
    content_type: str | None  # lower-case media type without parameters
    charset: str | None  # charset parameter of Content-Type, if any (lower-case)
    location: str | None  # Location header (3xx only), UTF-8 bytes decoded as UTF-8
    retry_after: str | None  # raw Retry-After header
    body: bytes  # decoded body read, at most max_bytes; b"" for 3xx
    bytes: int  # decoded body bytes read
    elapsed_ms: float
    fetched_at: float  # time.time() when the attempt started
    error_kind: ErrorKind | None
    error_message: str | None
    exchange: Exchange | None = None  # with `capture`, when a request was sent
    # The response's headers (case-insensitive names); empty when there was no answer.
    headers: Mapping[str, str] = field(default_factory=dict)


class Fetcher:
    """Fetches one URL per call over its own keep-alive Session.

    Not thread-safe: each fetch thread owns one Fetcher, since a requests Session must
    not be shared between threads.
    `headers` (the --header values) win over the default headers, as with `curl -H`.
    """

    def __init__(
        self,
        *,
        user_agent: str,
        timeout_s: float,
        max_bytes: int,
        headers: Mapping[str, str] = _NO_HEADERS,
        guard: AddressGuard | None = None,
        capture: bool = False,
    ) -> None:
        """`guard` checks every address a name resolves to before connecting (the worker
        always gives one; None, no check, is for tests of the fetcher alone). With
        `capture`, each Attempt that sent a request carries its Exchange."""
        if timeout_s <= 0 or max_bytes < 0:
            raise ValueError(f"need timeout_s > 0 and max_bytes >= 0, not {timeout_s}, {max_bytes}")
        self._timeout_s = timeout_s
        self._max_bytes = max_bytes
        self._headers = dict(headers)
        self._secret_headers = frozenset(name.lower() for name in self._headers)
        self._deadline = _Deadline()
        self._tap = _Tap() if capture else None
        self._session = _new_session(self._deadline, user_agent, guard, self._tap)

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the keep-alive connections."""
        self._session.close()

    def fetch(self, url: str, *, send_headers: bool = True) -> Attempt:
        """One GET (no redirect, no retry); never raises for network or HTTP trouble."""
        fetched_at = time.time()
        started = time.monotonic()
        self._deadline.start(started + self._timeout_s)
        if self._tap is not None:
            self._tap.start()
        reply = _Reply()
        kind: ErrorKind | None = None
        message: str | None = None
        try:
            self._exchange(url, send_headers, reply)
        except _DeadlinePassed:
            kind = ErrorKind.TIMEOUT
        except Exception as exc:
            kind, message = _classify(exc)
            if kind is ErrorKind.INTERNAL:
                log.exception("unexpected failure fetching %s", url)
        finally:
            stopped = self._deadline.finish()
        if reply.too_large and kind is None:
            kind = ErrorKind.TOO_LARGE
            message = f"decoded body exceeds max_bytes={self._max_bytes}"
        # The watchdog's shutdown surfaces as whatever the interrupted read made of it
        # (EOF, reset, SSL error) or even as a clean end of a close-delimited body.
        if stopped and kind is not ErrorKind.TOO_LARGE:
            kind = ErrorKind.TIMEOUT
        if kind is ErrorKind.TIMEOUT:
            message = f"no complete answer within {self._timeout_s:g} s"
        elapsed_ms = (time.monotonic() - started) * 1000.0
        attempt = _attempt(url, reply, kind, message, fetched_at, elapsed_ms)
        if self._tap is None:
            return attempt
        secrets = self._secret_headers if send_headers else frozenset()
        return replace(attempt, exchange=self._tap.finish(url, fetched_at, reply, kind, secrets))

    def _exchange(self, url: str, send_headers: bool, reply: _Reply) -> None:
        # requests' timeouts bound each connect and each socket read; the watchdog
        # bounds the whole. Both get the time left, so neither outlives the deadline.
        remaining_s = max(self._deadline.remaining_s(), _MIN_TIMEOUT_S)
        request = self._session.prepare_request(
            requests.Request("GET", url, headers=self._headers if send_headers else None)
        )
        # Straight to the adapter, not Session.send: even with allow_redirects=False
        # that reads a whole 3xx body, with no size limit, to fill Response.next. The
        # adapter makes exactly one request (no redirects, no retries).
        response = self._session.get_adapter(url).send(
            request, stream=True, timeout=(remaining_s, remaining_s)
        )
        # Closing a response whose body was not read to the end drops its connection
        # instead of returning it to the pool: nothing half-read is ever reused.
        with response:
            if self._tap is not None:
                self._tap.head_read()
            headers = response.headers
            reply.headers = headers
            reply.status = response.status_code
            reply.content_type, reply.charset = _parse_content_type(headers.get("Content-Type"))
            reply.retry_after = headers.get("Retry-After")
            if 300 <= response.status_code < 400:
                # The coordinator follows redirects hop by hop; a 3xx body is never
                # read, so an endless one cannot hold the thread.
                reply.location = _repair_utf8(headers.get("Location"))
                # Nothing left to read only when a length of 0 was announced (or none
                # can come: 304); urllib3 says so as length_remaining.
                reply.body_unread = response.raw.length_remaining != 0
                return
            self._read_body(response, reply)

    def _read_body(self, response: requests.Response, reply: _Reply) -> None:
        limit = self._max_bytes
        parts: list[bytes] = []
        # iter_content decodes gzip/deflate/br (also stacked) a bounded step at a time.
        # It is a generator function, so it has close(); requests' stubs say Iterator.
        chunks = cast(
            "Generator[bytes, None, None]", response.iter_content(min(_CHUNK_BYTES, limit + 1))
        )
        with contextlib.closing(chunks):
            for chunk in chunks:
                reply.bytes_read += len(chunk)
                if reply.bytes_read > limit:
                    parts.append(chunk[: len(chunk) - (reply.bytes_read - limit)])
                    reply.too_large = True
                    break
                parts.append(chunk)
                # A read timeout only bounds the gap between reads: a server that drips
                # bytes is stopped by the attempt's deadline, checked between chunks.
                if self._deadline.has_passed():
                    raise _DeadlinePassed
        reply.body = b"".join(parts)


@dataclass(slots=True)
class _Reply:
    """What the server said so far; filled in as the exchange proceeds."""

    status: int | None = None
    content_type: str | None = None
    charset: str | None = None
    location: str | None = None
    retry_after: str | None = None
    body: bytes = b""
    bytes_read: int = 0
    too_large: bool = False
    body_unread: bool = False  # a 3xx body left unread
    headers: Mapping[str, str] = field(default_factory=dict)


class _DeadlinePassed(Exception):
    """The attempt's deadline passed between two reads of the body."""


def _attempt(
    url: str,
    reply: _Reply,
    kind: ErrorKind | None,
    message: str | None,
    fetched_at: float,
    elapsed_ms: float,
) -> Attempt:
    # A page with no usable answer has status null and no headers or body; too_large
    # alone keeps what it got (docs/contract.md#outjson).
    usable = kind is None or kind is ErrorKind.TOO_LARGE
    return Attempt(
        url=url,
        status=reply.status if usable else None,
        content_type=reply.content_type if usable else None,
        charset=reply.charset if usable else None,
        location=reply.location if usable else None,
        retry_after=reply.retry_after if usable else None,
        body=reply.body if usable else b"",
        bytes=reply.bytes_read,
        elapsed_ms=elapsed_ms,
        fetched_at=fetched_at,
        error_kind=kind,
        error_message=message,
        headers=reply.headers if usable else _NO_HEADERS,
    )


def _parse_content_type(value: str | None) -> tuple[str | None, str | None]:
    """Split Content-Type into (lower-case media type, lower-case charset) (RFC 9110 §8.3)."""
    if not value:
        return None, None
    # Repeated Content-Type headers arrive joined by ", "; like browsers, take the last.
    typed = [piece for piece in value.split(",") if "/" in piece.partition(";")[0]]
    media_type, *params = (typed[-1] if typed else value).split(";")
    charset = None
    for param in params:
        name, sep, raw = param.partition("=")
        if sep and name.strip().lower() == "charset":
            charset = raw.strip().strip("\"'").strip().lower() or None
            break
    return media_type.strip().lower() or None, charset


def _repair_utf8(value: str | None) -> str | None:
    # http.client decodes header bytes as Latin-1, but servers put UTF-8 in Location;
    # requests' get_redirect_target makes the same repair.
    if value is None:
        return None
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


# --- Session: keep-alive, no retries, no redirects, nothing from the environment ---


def _new_session(
    deadline: _Deadline, user_agent: str, guard: AddressGuard | None, tap: _Tap | None
) -> requests.Session:
    session = requests.Session()
    # No proxies, .netrc or CA bundle from environment variables: a crawl behaves the
    # same wherever it runs.
    session.trust_env = False
    # Workers hold no crawl state beyond keep-alive connections; a cookie jar
    # per thread would make answers depend on which thread fetched a page. (Only
    # Session.send stores cookies, and we bypass it; this keeps it so if that changes.)
    session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
    session.headers = CaseInsensitiveDict(
        {"User-Agent": user_agent, "Accept-Encoding": ACCEPT_ENCODING, "Accept": "*/*"}
    )
    adapter = _DeadlineAdapter(deadline, guard, tap)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


class _DeadlineAdapter(HTTPAdapter):
    """An HTTPAdapter whose connections resolve, connect and read within the deadline."""

    def __init__(self, deadline: _Deadline, guard: AddressGuard | None, tap: _Tap | None) -> None:
        # Set first: HTTPAdapter.__init__ builds the pool manager.
        self._deadline = deadline
        self._guard = guard
        self._tap = tap
        # The coordinator retries and follows redirects; urllib3 must do neither.
        super().__init__(max_retries=Retry(total=0, read=False, redirect=False))

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        # Pools pass unknown keywords on to each connection they create.
        deadline, guard, tap = self._deadline, self._guard, self._tap
        self.poolmanager.pool_classes_by_scheme = {
            "http": functools.partial(
                _WatchedHTTPConnectionPool, deadline=deadline, guard=guard, tap=tap
            ),
            "https": functools.partial(
                _WatchedHTTPSConnectionPool, deadline=deadline, guard=guard, tap=tap
            ),
        }


class BlockedAddress(Exception):
    """A name resolved to an address the guard refuses: no connection was made.

    Not an OSError, so urllib3 and requests let it through unwrapped and unretried.
    """


class _WatchedHTTPConnection(HTTPConnection):
    """Resolves, checks every address, connects to a checked one, all within the deadline,
    and puts its socket under the watchdog."""

    def __init__(
        self,
        *args: Any,
        deadline: _Deadline,
        guard: AddressGuard | None,
        tap: _Tap | None,
        **kwargs: Any,
    ) -> None:
        self._deadline = deadline
        self._guard = guard
        self._tap = tap
        self._peer_ip: str | None = None
        if tap is not None:
            # http.client makes one response object per answer, with this class.
            self.response_class = cast(
                "type[http.client.HTTPResponse]", functools.partial(_TappedHTTPResponse, tap=tap)
            )
        super().__init__(*args, **kwargs)

    def _new_conn(self) -> socket.socket:
        # Replaces urllib3's, whose getaddrinfo has no time limit; the exceptions raised
        # are the ones urllib3 raises there, so requests translates them as usual.
        try:
            addresses = _resolve(self._dns_host, self.port, self._deadline.remaining_s())
            # Once per connection (a kept-alive one is not checked again), on the very
            # addresses connected to next: a name that resolves elsewhere a moment later
            # (DNS rebinding) is never looked up again for this connection.
            self._check(addresses)
            sock = _connect_first(
                addresses, self._deadline, self.source_address, self.socket_options
            )
            if self._tap is not None:
                self._peer_ip = str(sock.getpeername()[0])
        except socket.gaierror as exc:
            raise uexc.NameResolutionError(self.host, self, exc) from exc
        except TimeoutError as exc:
            raise uexc.ConnectTimeoutError(self, f"Connection to {self.host} timed out") from exc
        except OSError as exc:
            raise uexc.NewConnectionError(
                self, f"Failed to establish a new connection: {exc}"
            ) from exc
        sys.audit("http.client.connect", self, self.host, self.port)
        # Watched before any TLS handshake, so a handshake that drips is stopped too.
        self._deadline.watch(self, sock)
        return sock

    def _check(self, addresses: list[Any]) -> None:
        if self._guard is None:
            return
        refusal = self._guard.refusal(info[4][0] for info in addresses)
        if refusal is not None:
            name = self.host.strip("[]")
            raise BlockedAddress(
                refusal if is_ipaddress(name) else f"{refusal} (an address of {name})"
            )

    def request(self, *args: Any, **kwargs: Any) -> None:
        if self.sock is not None:
            # A kept-alive connection: its socket was last watched for an earlier attempt.
            self._deadline.watch(self, self.sock)
        super().request(*args, **kwargs)

    def send(self, data: Any) -> None:
        super().send(data)
        # After the send: bytes a failed send did not deliver were not "as sent".
        if self._tap is not None and isinstance(data, bytes | bytearray):
            self._tap.sent(data, self._peer_ip)


class _WatchedHTTPSConnection(_WatchedHTTPConnection, HTTPSConnection):
    pass


# --- Capture (--warc): the bytes of one attempt as they cross the socket ---


class _Tap:
    """The running attempt's bytes, shared by one Fetcher and its connections.

    http.client reads the status line, the headers and the body (chunk sizes
    included) through one buffered socket file; wrapping it records what was consumed,
    so the raw body costs no second read, and only what the decoding asked for is kept:
    the raw bytes that gave up to --max-bytes decoded (plus at most one read).
    """

    def __init__(self) -> None:
        self.start()

    def start(self) -> None:
        self._request = bytearray()
        self._response: list[bytes] = []
        self._head_end = 0
        self._ip: str | None = None

    def sent(self, data: bytes | bytearray, ip: str | None) -> None:
        self._request += data
        self._ip = ip

    def received(self, data: bytes) -> None:
        if data:
            self._response.append(data)

    def head_read(self) -> None:
        """The status line and headers are in; what comes next is the body."""
        self._head_end = len(self._response)

    def finish(
        self,
        url: str,
        started_at: float,
        reply: _Reply,
        kind: ErrorKind | None,
        secret_headers: frozenset[str],
    ) -> Exchange | None:
        """The attempt's Exchange, None if no request was sent; and forget it."""
        request, response, head_end = bytes(self._request), tuple(self._response), self._head_end
        ip = self._ip
        self.start()
        if not request:
            return None
        answered = reply.status is not None and head_end > 0
        return Exchange(
            url=url,
            started_at=started_at,
            ip=ip,
            request=request,
            secret_headers=secret_headers,
            response_head=b"".join(response[:head_end]) if answered else b"",
            response_body=response[head_end:] if answered else (),
            truncated=_truncation(reply, kind) if answered else None,
        )


def _truncation(reply: _Reply, kind: ErrorKind | None) -> Truncation | None:
    if reply.too_large:
        return Truncation.LENGTH
    if kind is ErrorKind.TIMEOUT:
        return Truncation.TIME
    if kind is not None:
        return Truncation.DISCONNECT
    if reply.body_unread:
        return Truncation.UNSPECIFIED
    return None


class _TappedHTTPResponse(http.client.HTTPResponse):
    """http.client's response, reading through a _TeeReader."""

    def __init__(self, sock: socket.socket, *args: Any, tap: _Tap, **kwargs: Any) -> None:
        super().__init__(sock, *args, **kwargs)
        self.fp = _TeeReader(self.fp, tap)  # type: ignore[assignment]


class _TeeReader:
    """A buffered socket file that hands every byte read to the tap too."""

    def __init__(self, fp: Any, tap: _Tap) -> None:
        self._fp = fp
        self._tap = tap

    def readline(self, limit: int = -1) -> bytes:
        line: bytes = self._fp.readline(limit)
        self._tap.received(line)
        return line

    def read(self, n: int | None = -1) -> bytes:
        data: bytes = self._fp.read(n)
        self._tap.received(data)
        return data

    def read1(self, n: int = -1) -> bytes:
        data: bytes = self._fp.read1(n)
        self._tap.received(data)
        return data

    def readinto(self, buffer: Any) -> int:
        n: int = self._fp.readinto(buffer)
        if n:
            self._tap.received(bytes(memoryview(buffer)[:n]))
        return n

    def __getattr__(self, name: str) -> Any:
        # peek (consumes nothing), close, flush, fileno, closed: as the file does them.
        return getattr(self._fp, name)


class _WatchedHTTPConnectionPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSConnectionPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


def _resolve(host: str, port: int, timeout_s: float) -> list[Any]:
    """getaddrinfo, bounded by `timeout_s` (raises TimeoutError past it)."""
    host = host.strip("[]")  # urllib3 keeps IPv6 literals bracketed
    family = allowed_gai_family()
    if is_ipaddress(host):  # a literal needs no lookup, so no thread
        return socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
    if timeout_s <= 0:
        raise TimeoutError("deadline passed before name resolution")
    # getaddrinfo cannot be interrupted: run it in a helper thread and stop waiting at
    # the deadline. A lookup still hanging then ends on the resolver's own timeout.
    found: Future[list[Any]] = Future()
    threading.Thread(
        target=_lookup_into, args=(found, host, port, family), name="fetch-dns", daemon=True
    ).start()
    return found.result(timeout=timeout_s)


def _lookup_into(found: Future[list[Any]], host: str, port: int, family: int) -> None:
    try:
        found.set_result(socket.getaddrinfo(host, port, family, socket.SOCK_STREAM))
    except UnicodeError as exc:
        # An empty or over-long label cannot be IDNA-encoded, so it can never resolve.
        found.set_exception(socket.gaierror(socket.EAI_NONAME, f"invalid host name: {exc}"))
    except Exception as exc:  # handed to the waiting thread, which raises it
        found.set_exception(exc)


def _connect_first(
    addresses: list[Any],
    deadline: _Deadline,
    source_address: tuple[str, int] | None,
    socket_options: list[tuple[int, int, int | bytes]] | None,
) -> socket.socket:
    """Connect to the first address that answers, as urllib3's create_connection does."""
    error: OSError = OSError("the name resolved to no address")
    for family, kind, proto, _canonname, address in addresses:
        remaining_s = deadline.remaining_s()
        if remaining_s <= 0:
            raise TimeoutError("deadline passed before connecting")
        sock = socket.socket(family, kind, proto)
        try:
            for level, option, value in socket_options or ():
                sock.setsockopt(level, option, value)
            sock.settimeout(remaining_s)
            if source_address:
                sock.bind(source_address)
            sock.connect(address)
        except OSError as exc:
            sock.close()
            error = exc
        except BaseException:
            sock.close()
            raise
        else:
            return sock
    raise error


# --- The deadline and the watchdog ---


class _Deadline:
    """The running attempt's deadline, shared by one Fetcher and its connections."""

    def __init__(self) -> None:
        self.at = math.inf
        self._stopped = threading.Event()  # set by the watchdog when it shuts a socket
        self._watches: list[_Watch] = []
        self._watched: set[HTTPConnection] = set()

    def start(self, at: float) -> None:
        self.at = at
        self._stopped.clear()

    def remaining_s(self) -> float:
        return self.at - time.monotonic()

    def has_passed(self) -> bool:
        return self._stopped.is_set() or time.monotonic() >= self.at

    def watch(self, conn: HTTPConnection, sock: socket.socket) -> None:
        if self.at == math.inf or conn in self._watched:
            return  # outside an attempt, or already watched (a TLS socket after its raw one)
        self._watched.add(conn)
        self._watches.append(_the_watchdog().watch(sock, self.at, self._stopped))

    def finish(self) -> bool:
        """End the attempt: release its sockets; True if the watchdog had to stop it."""
        if self._watches:
            watchdog = _the_watchdog()
            for watch in self._watches:
                watchdog.release(watch)
        self._watches.clear()
        self._watched.clear()
        self.at = math.inf
        return self._stopped.is_set()


class _Watch:
    """One socket of one attempt under the watchdog."""

    __slots__ = ("sock", "stopped", "released")

    def __init__(self, sock: socket.socket, stopped: threading.Event) -> None:
        self.sock = sock
        self.stopped = stopped
        self.released = False


class _Watchdog:
    """A process-wide thread that shuts down the sockets of attempts past their deadline.

    A thread cannot be killed, but a socket can be shut down: the blocked read returns
    at once (EOF), whichever phase it is in (TLS handshake, status line, headers, body).
    """

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._heap: list[tuple[float, int, _Watch]] = []
        self._order = itertools.count()  # ties in the heap never compare _Watch objects
        self._compact_at = _COMPACT_AT
        threading.Thread(target=self._run, name="fetch-watchdog", daemon=True).start()

    def watch(self, sock: socket.socket, deadline: float, stopped: threading.Event) -> _Watch:
        # Watch a duplicate of the descriptor: it stays valid when the original is
        # wrapped in TLS (which detaches it) or closed, and since we own it, a number
        # reused by another thread's socket can never be shut down by mistake.
        dup = socket.fromfd(sock.fileno(), sock.family, sock.type, sock.proto)
        watch = _Watch(dup, stopped)
        with self._cond:
            heapq.heappush(self._heap, (deadline, next(self._order), watch))
            if self._heap[0][2] is watch:
                self._cond.notify()
        return watch

    def release(self, watch: _Watch) -> None:
        with self._cond:  # never while _run is shutting this very socket down
            watch.released = True
            watch.sock.close()
            if len(self._heap) > self._compact_at:
                self._heap = [entry for entry in self._heap if not entry[2].released]
                heapq.heapify(self._heap)
                self._compact_at = max(_COMPACT_AT, 2 * len(self._heap))

    def _run(self) -> None:
        with self._cond:
            while True:
                now = time.monotonic()
                while self._heap and self._heap[0][0] <= now:
                    watch = heapq.heappop(self._heap)[2]
                    if not watch.released:
                        watch.stopped.set()  # before the shutdown wakes the reader
                        # Already ended by the peer or by urllib3: nothing left to stop.
                        with contextlib.suppress(OSError):
                            watch.sock.shutdown(socket.SHUT_RDWR)
                self._cond.wait(self._heap[0][0] - now if self._heap else None)


_watchdog: _Watchdog | None = None
_watchdog_lock = threading.Lock()


def _the_watchdog() -> _Watchdog:
    global _watchdog
    with _watchdog_lock:
        if _watchdog is None:
            _watchdog = _Watchdog()
        return _watchdog


def _forget_watchdog() -> None:
    # A forked child has none of its parent's threads: start a fresh watchdog on demand.
    global _watchdog, _watchdog_lock
    _watchdog = None
    _watchdog_lock = threading.Lock()


os.register_at_fork(after_in_child=_forget_watchdog)


# --- Exceptions to error kinds ---

# The one ordered table, most specific first. A row matches when the exception or any
# exception in its chain (__cause__, __context__, urllib3's `reason`, wrapped args) is
# an instance, so the order decides between wrappers and what they wrap.
_KIND_TABLE: tuple[tuple[tuple[type[BaseException], ...], ErrorKind], ...] = (
    # Refused by the address guard before any connection.
    ((BlockedAddress,), ErrorKind.BLOCKED_ADDRESS),
    # DNS failures arrive wrapped in connection errors.
    ((socket.gaierror, uexc.NameResolutionError), ErrorKind.DNS),
    # urllib3 derives NewConnectionError from ConnectTimeoutError, yet it means refused
    # or unreachable; a real connect timeout is a ConnectTimeoutError itself.
    ((uexc.NewConnectionError,), ErrorKind.CONNECT),
    ((rexc.Timeout, uexc.TimeoutError, TimeoutError), ErrorKind.TIMEOUT),
    # requests' SSLError is also a ConnectionError.
    ((rexc.SSLError, uexc.SSLError, ssl.SSLError, Urllib3CertificateError), ErrorKind.TLS),
    # The answer began, then broke: lying Content-Length, bad chunking, reset mid-body,
    # undecodable gzip. Before the connection rows, since a reset here is one too.
    (
        (
            rexc.ChunkedEncodingError,
            rexc.ContentDecodingError,
            uexc.DecodeError,
            http.client.IncompleteRead,
        ),
        ErrorKind.BAD_RESPONSE,
    ),
    # Refused, reset or closed before any answer (the builtin ConnectionError family).
    # RemoteDisconnected, a silent close, is also a BadStatusLine: this row wins.
    ((ConnectionError, rexc.ProxyError, uexc.ProxyError), ErrorKind.CONNECT),
    # Not HTTP: invalid status line, header lines too long or too many.
    (
        (http.client.HTTPException, uexc.ProtocolError, uexc.HeaderParsingError),
        ErrorKind.BAD_RESPONSE,
    ),
    ((rexc.TooManyRedirects,), ErrorKind.TOO_MANY_REDIRECTS),
    # A request we should never have built: the coordinator hands canonical http(s)
    # URLs, settings validate --header, and we use neither proxies, JSON nor retries.
    (
        (
            rexc.InvalidProxyURL,
            rexc.MissingSchema,
            rexc.InvalidSchema,
            rexc.URLRequired,
            rexc.InvalidHeader,
            rexc.InvalidJSONError,
            rexc.StreamConsumedError,
            rexc.UnrewindableBodyError,
            rexc.HTTPError,
            rexc.RetryError,
        ),
        ErrorKind.INTERNAL,
    ),
    # What requests still rejects in a canonical URL is its host (a leading '.' or '*',
    # an empty label): such a name can never resolve.
    ((rexc.InvalidURL,), ErrorKind.DNS),
    ((rexc.ConnectionError,), ErrorKind.CONNECT),
    # RequestException is an OSError: keep unknown ones from the row below.
    ((rexc.RequestException,), ErrorKind.INTERNAL),
    # Any other socket error, e.g. an unreachable network.
    ((OSError,), ErrorKind.CONNECT),
)


def error_kind_for(exc: BaseException) -> ErrorKind:
    """The error kind of an exception from requests, urllib3 or the socket layer."""
    return _classify(exc)[0]


def _classify(exc: BaseException) -> tuple[ErrorKind, str]:
    chain = _chain(exc)
    for classes, kind in _KIND_TABLE:
        for link in chain:
            if isinstance(link, classes):
                return kind, _describe(link)
    return ErrorKind.INTERNAL, _describe(exc)


def _chain(exc: BaseException) -> list[BaseException]:
    """`exc` and every exception it was raised from or wraps, nearest first."""
    found: list[BaseException] = []
    seen: set[int] = set()
    queue = deque([exc])
    while queue:
        link = queue.popleft()
        if id(link) in seen:
            continue
        seen.add(id(link))
        found.append(link)
        # urllib3 keeps the cause in MaxRetryError.reason and ProtocolError.args[1].
        nexts = (link.__cause__, link.__context__, getattr(link, "reason", None), *link.args)
        queue.extend(n for n in nexts if isinstance(n, BaseException))
    return found


def _describe(exc: BaseException) -> str:
    """One line: the class that decided the kind, and what its root cause said.

    urllib3's wrappers put a connection repr before the cause's text; the cause alone
    ("[Errno 111] Connection refused") says it better.
    """
    root = exc
    while root.__cause__ is not None and str(root.__cause__):
        root = root.__cause__
    text = " ".join(str(root).split())
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__

"""Serving the built site on loopback: nginx (fast, scaling) or the latency server.

Each server runs in a process (and session) of its own, is checked against
scripts/site.py's answers before it is used, and is stopped when its `with` block ends.
The latency server holds every answer back by a fixed latency and is this package's own:
`python -m scripts.bench --serve-latency DIR` runs `serve_latency`.
"""

from __future__ import annotations

import asyncio
import contextlib
import http.client
import os
import re
import selectors
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from scripts.bench import ROOT
from scripts.bench.site_build import INDEX_FILE, NOT_FOUND_FILE, BuiltSite, static_route
from scripts.proctree import read_text, signal_pids
from scripts.site import HTML_TYPE, MISSING_PATH, TEXT_TYPE, SiteConfig, respond

SERVER_START_TIMEOUT_S = 10.0
STOP_GRACE_S = 10.0  # after SIGTERM or SIGQUIT, then SIGKILL
MAX_HEAD_BYTES = 64 * 1024  # a request head longer than this is not HTTP we serve

_REDIRECT_ROUTE = re.compile(r"/r/([0-9]+)")

AnswerFor = Callable[[str], tuple[bytes, bytes]]  # request target -> (head, body)


@dataclass(frozen=True, slots=True)
class Server:
    name: str
    base: str
    pid: int
    error_log: Path | None = None  # nginx's; read after each run for trouble


def nginx_config(www: Path, work: Path, port: int, as_root: bool) -> str:
    """An nginx.conf serving the static site on 127.0.0.1:<port> from `www`."""
    # As root, nginx would drop to user "nobody", group "nobody": Debian has no such group.
    user = "user root;\n" if as_root else ""
    temp_paths = "".join(
        f"    {name}_temp_path {work}/{name}_temp;\n"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        "daemon off;\n"
        "master_process on;\n"
        # One worker: nginx is far from the limit at ~0.05 ms a request, and the two cores
        # stay for the crawlers (its CPU share is printed for every run).
        "worker_processes 1;\n"
        f"{user}"
        f"pid {work}/nginx.pid;\n"
        f"error_log {work}/error.log warn;\n"
        "events { worker_connections 4096; }\n"
        "http {\n"
        "    access_log off;\n"
        f"{temp_paths}"
        "    sendfile on;\n"
        "    tcp_nodelay on;\n"
        "    keepalive_timeout 65s;\n"
        "    keepalive_requests 100000;\n"
        # No open_file_cache: it holds a descriptor per cached file, and 20 000 pages
        # exhaust the worker's RLIMIT_NOFILE (accept4() then fails, the server stalls).
        "    server_tokens off;\n"
        "    types { text/html html; text/plain txt; }\n"
        "    default_type text/html;\n"  # /p/N files have no extension
        "    charset utf-8;\n"
        "    server {\n"
        f"        listen 127.0.0.1:{port} backlog=4096;\n"
        f"        root {www};\n"
        "        absolute_redirect off;\n"  # Location: /p/N, as scripts/site.py answers
        f"        error_page 404 /{NOT_FOUND_FILE};\n"
        f"        location = /{NOT_FOUND_FILE} {{ internal; }}\n"
        f"        location = / {{ try_files /{INDEX_FILE} =404; }}\n"
        "        location ~ ^/r/([0-9]+)$ { return 301 /p/$1; }\n"
        # $uri has no query: /p/10?a=1&b=2 is the file p/10, like the site's server.
        "        location / { try_files $uri =404; }\n"
        "    }\n"
        "}\n"
    )


def serious_log_lines(text: str) -> list[str]:
    """The lines of an nginx error log at level crit, alert or emerg."""
    return [line for line in text.splitlines() if re.search(r"\[(crit|alert|emerg)\]", line)]


def check_server(base_url: str, cfg: SiteConfig) -> None:
    """A few requests compared with scripts/site.py: the server serves the same site."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        for target in ("/", "/robots.txt", "/p/1", "/p/10?a=1&b=2", "/r/5", MISSING_PATH):
            conn.request("GET", target)
            answer = conn.getresponse()
            body = answer.read()
            status, headers, want = respond(cfg, 0, target)
            same = answer.status == status
            if status == 200:
                same = same and body == want
            if status == 301:
                same = same and answer.getheader("Location") == dict(headers)["Location"]
            if not same:
                raise RuntimeError(f"server at {base_url} answers {target} unlike the site")
    finally:
        conn.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return True
        time.sleep(0.05)
    return False


def find_nginx() -> str | None:
    # /usr/sbin is not on a normal user's PATH.
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def _stop_server(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    if proc.poll() is None:
        signal_pids([proc.pid], sig)
        try:
            proc.wait(STOP_GRACE_S)
        except subprocess.TimeoutExpired:
            signal_pids([proc.pid], signal.SIGKILL)
            proc.wait()


@contextlib.contextmanager
def nginx_server(nginx: str, site: BuiltSite, work: Path) -> Iterator[Server]:
    """Serve the site with nginx on 127.0.0.1 until the block ends."""
    work.mkdir(parents=True, exist_ok=True)
    for attempt in range(5):
        port = _free_port()
        conf = work / "nginx.conf"
        conf.write_text(nginx_config(site.www, work, port, os.geteuid() == 0), encoding="utf-8")
        # -e: the startup error log too goes to the temp dir, not /var/log/nginx.
        cmd = [nginx, "-p", f"{work}/", "-c", str(conf), "-e", str(work / "error.log")]
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            if _wait_for_port(port, proc):
                base = f"http://127.0.0.1:{port}/"
                check_server(base, site.cfg)
                yield Server("nginx", base, proc.pid, work / "error.log")
                return
            log_text = read_text(str(work / "error.log")) or ""
            if "Address already in use" not in log_text or attempt == 4:
                raise RuntimeError(f"nginx did not start:\n{log_text}")
        finally:
            # SIGQUIT: graceful, but keep-alive connections are idle by now anyway.
            _stop_server(proc, signal.SIGQUIT)


@contextlib.contextmanager
def latency_server(site: BuiltSite, latency_ms: float) -> Iterator[Server]:
    """Serve the site with this module's asyncio server in a process of its own."""
    cmd = [sys.executable, "-m", "scripts.bench", "--serve-latency", str(site.www)]
    cmd += ["--latency-ms", str(latency_ms)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, start_new_session=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()
        if not line.isdigit():
            raise RuntimeError("the latency server did not start")
        base = f"http://127.0.0.1:{line}/"
        check_server(base, site.cfg)
        yield Server("server", base, proc.pid)
    finally:
        _stop_server(proc, signal.SIGTERM)
        if proc.stdout is not None:
            proc.stdout.close()


def _http_head(status: int, reason: str, content_type: str, length: int, extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n{extra}"
        f"Content-Length: {length}\r\n\r\n"
    ).encode("latin-1")


def _load_responses(www: Path) -> tuple[dict[str, tuple[bytes, bytes]], tuple[bytes, bytes]]:
    """Every 200 answer, head and body rendered once, by route; and the 404 answer."""
    answers: dict[str, tuple[bytes, bytes]] = {}
    not_found = (b"", b"")
    for path in www.rglob("*"):
        if not path.is_file():
            continue
        rel = path.relative_to(www).as_posix()
        body = path.read_bytes()
        if rel == NOT_FOUND_FILE:
            not_found = (_http_head(404, "Not Found", HTML_TYPE, len(body)), body)
            continue
        content_type = TEXT_TYPE if rel.endswith(".txt") else HTML_TYPE
        route = "/" if rel == INDEX_FILE else f"/{rel}"
        answers[route] = (_http_head(200, "OK", content_type, len(body)), body)
    return answers, not_found


class _LatencyConnection(asyncio.Protocol):
    """One keep-alive connection: each request answered `latency_s` after its head came.

    A timer per answer, not a coroutine per connection: the server's own work stays a
    few microseconds per request, so at 16..64 connections it adds no queueing of its
    own. Answers leave in request order (pipelined requests wait their turn).
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, latency_s: float, answer_for: AnswerFor
    ) -> None:
        self._loop = loop
        self._latency_s = latency_s
        self._answer_for = answer_for
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._due: deque[tuple[float, bytes, bool]] = deque()  # (when, answer, then close)
        self._timer: asyncio.TimerHandle | None = None
        self._last_request = False  # a `Connection: close` came: read no further

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        arrived = self._loop.time()
        if self._last_request:
            return
        self._buffer += data
        while (end := self._buffer.find(b"\r\n\r\n")) >= 0:
            head = bytes(self._buffer[:end])
            del self._buffer[: end + 4]
            try:
                method, target, version = head.split(b"\r\n", 1)[0].split(b" ", 2)
            except ValueError:
                self._drop()  # not HTTP
                return
            lowered = head.lower()
            close = b"connection: close" in lowered or (
                version == b"HTTP/1.0" and b"connection: keep-alive" not in lowered
            )
            answer_head, body = self._answer_for(target.decode("latin-1"))
            answer = answer_head if method == b"HEAD" else answer_head + body
            self._due.append((arrived + self._latency_s, answer, close))
            if close:
                self._last_request = True
                break
        if len(self._buffer) > MAX_HEAD_BYTES:
            self._drop()
            return
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._due.clear()

    def _arm(self) -> None:
        if self._timer is None and self._due:
            self._timer = self._loop.call_at(self._due[0][0], self._answer)

    def _answer(self) -> None:
        self._timer = None
        _, answer, close = self._due.popleft()
        assert self._transport is not None
        if self._transport.is_closing():
            return
        self._transport.write(answer)
        if close:
            self._transport.close()  # after the buffered answer is sent
            return
        self._arm()

    def _drop(self) -> None:
        self._due.clear()
        assert self._transport is not None
        self._transport.close()


def _latency_loop() -> asyncio.AbstractEventLoop:
    # select() sleeps to the microsecond; epoll and poll round every timeout up to a
    # whole millisecond, which added ~0.5 ms to each 50 ms answer. The bench opens at
    # most a few dozen connections, far below select's 1024-descriptor limit.
    return asyncio.SelectorEventLoop(selectors.SelectSelector())


async def _serve_latency(www: Path, latency_s: float) -> None:
    answers, not_found = _load_responses(www)

    def answer_for(target: str) -> tuple[bytes, bytes]:
        route = static_route(target)
        if match := _REDIRECT_ROUTE.fullmatch(route):
            body = b"<!DOCTYPE html>\n<title>Moved</title>\n"
            location = f"Location: /p/{match.group(1)}\r\n"
            return _http_head(301, "Moved Permanently", HTML_TYPE, len(body), location), body
        return answers.get(route, not_found)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # A deep backlog: the crawlers open their 16..32 keep-alive connections at once.
    server = await loop.create_server(
        lambda: _LatencyConnection(loop, latency_s, answer_for), "127.0.0.1", 0, backlog=4096
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await stop.wait()


def serve_latency(www: Path, latency_ms: float) -> None:
    """Serve the site built in `www`, each answer `latency_ms` late, until SIGTERM or SIGINT.

    Prints the port first; `latency_server` runs this in a process of its own.
    """
    with asyncio.Runner(loop_factory=_latency_loop) as runner:
        runner.run(_serve_latency(www, latency_ms / 1000))

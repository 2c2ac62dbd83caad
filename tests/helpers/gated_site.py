"""A one-host site on 127.0.0.1 whose page requests pass a gate the test controls.

`/` links to /p0 .. /p<pages-1>; robots.txt is 404. Each page request is counted
(arrived, in flight, peak in flight) and then calls `gate()` in its handler thread
before it is answered, so a test can hold requests until a condition it chooses is
reached (a threading.Event, a Barrier) instead of hoping a sleep makes it likely.
Whoever holds a gate must open it before `stop()`: a handler is never killed.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

JOIN_TIMEOUT_S = 5.0


class GatedSite:
    def __init__(self, pages: int, gate: Callable[[], None] = lambda: None) -> None:
        self.pages = pages
        self.gate = gate
        self.arrived = 0  # page requests received
        self.active = 0  # page requests received and not yet answered
        self.peak = 0  # the most page requests in flight at once
        self.errors: list[BaseException] = []  # raised by the gate
        self.lock = threading.Lock()
        self._server = _QuietServer(("127.0.0.1", 0), _make_handler(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="gated-site"
        )
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/"

    def __enter__(self) -> GatedSite:
        self._thread.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(JOIN_TIMEOUT_S)

    def _pass_gate(self) -> bool:
        """Count a page request and pass the gate; False if the gate failed (no answer then).

        The request stops counting as in flight before any byte of its answer is sent:
        a request the crawler starts once it has an answer can never overlap it here.
        """
        with self.lock:
            self.arrived += 1
            self.active += 1
            self.peak = max(self.peak, self.active)
        try:
            self.gate()
        except Exception as exc:  # a broken Barrier, say: the test reads `errors`
            with self.lock:
                self.errors.append(exc)
            return False
        finally:
            with self.lock:
                self.active -= 1
        return True


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A held request may be answered after its client has gone: a broken pipe.
        if not isinstance(sys.exc_info()[1], OSError):
            super().handle_error(request, client_address)


def _make_handler(site: GatedSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:  # noqa: N802 - http.server's name
            if self.path == "/robots.txt":
                self._answer(404, b"")
            elif self.path == "/":
                links = "".join(f'<a href="/p{i}">p</a>' for i in range(site.pages))
                self._answer(200, f"<title>home</title>{links}".encode())
            elif site._pass_gate():
                self._answer(200, b"<title>p</title>")
            else:
                self.close_connection = True

        def _answer(self, status: int, body: bytes) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # quiet: the counts are the log

    return Handler

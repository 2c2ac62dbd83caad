"""A tiny HTTP server of fixed pages, run as its own process (inside a test's namespace).

    python -m tests.helpers.page_server PAGES.json PORTFILE LOGFILE

PAGES.json maps a request target ("/", "/robots.txt", "/r?x=1") to
{"status": 200, "headers": {...}, "body": "..."} (every key optional; Content-Type
defaults to text/html). Anything else is a 404, robots.txt included. "{PORT}" in a body
or header value becomes the server's port, so pages can link back to it by number.

It binds 127.0.0.1 port 0, writes the port to PORTFILE (whole, by rename: a reader that
polls it never sees half of it), appends each request line to LOGFILE, and exits 0 on
SIGTERM.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType
from typing import Any

PORT_TOKEN = "{PORT}"


def _handler(pages: dict[str, dict[str, Any]], log_path: Path) -> type[BaseHTTPRequestHandler]:
    log_lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            with log_lock, log_path.open("a", encoding="utf-8") as log:
                log.write(self.requestline + "\n")
            port = str(self.connection.getsockname()[1])
            page = pages.get(self.path, {"status": 404, "body": "not found"})
            body = str(page.get("body", "")).replace(PORT_TOKEN, port).encode("utf-8")
            headers = {"Content-Type": "text/html", **page.get("headers", {})}
            self.send_response(int(page.get("status", 200)))
            for name, value in headers.items():
                self.send_header(name, str(value).replace(PORT_TOKEN, port))
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            pass  # the request log is LOGFILE; stderr stays for real trouble

    return Handler


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: python -m tests.helpers.page_server PAGES.json PORTFILE LOGFILE")
        return 2
    pages_path, port_path, log_path = (Path(arg) for arg in argv)
    pages = json.loads(pages_path.read_text(encoding="utf-8"))
    log_path.touch()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(pages, log_path))
    server.daemon_threads = True

    def stop(signum: int, frame: FrameType | None) -> None:
        # shutdown() waits for serve_forever(), which runs in this very thread.
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    partial = port_path.with_name(port_path.name + ".partial")
    partial.write_text(str(server.server_address[1]), encoding="ascii")
    os.replace(partial, port_path)
    try:
        server.serve_forever(poll_interval=0.05)
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

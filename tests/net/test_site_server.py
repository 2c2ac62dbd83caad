"""The synthetic site's server and CLI on real loopback sockets (127.0.0.1 and 127.0.0.2)."""

from __future__ import annotations

import http.client
import json
import os
import select
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from scripts.site import SiteConfig, SiteServer, expected_urls, respond

ROOT = Path(__file__).resolve().parents[2]
CFG = SiteConfig(pages=20, links=3, hosts=2)
CLI_TIMEOUT_S = 10.0


@pytest.fixture
def site() -> Iterator[SiteServer]:
    with SiteServer(CFG) as server:
        yield server


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=5) as response:
        return response.status, response.read()


def _connect(base_url: str) -> http.client.HTTPConnection:
    parts = urlsplit(base_url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=5)


def test_serves_every_host_on_one_port(site: SiteServer) -> None:
    assert len(site.base_urls) == 2
    host0, host1 = (urlsplit(url) for url in site.base_urls)
    assert (host0.hostname, host1.hostname) == ("127.0.0.1", "127.0.0.2")
    assert host0.port == host1.port
    assert _get(site.base_urls[1] + "p/5") == (200, respond(CFG, 1, "/p/5", site.base_urls)[2])
    assert _get(site.base_urls[0] + "robots.txt")[1] == b"User-agent: *\nDisallow: /private/\n"


def test_logs_requests(site: SiteServer) -> None:
    before = time.monotonic()
    _get(site.base_urls[0] + "p/4?b=2&a=1")
    _get(site.base_urls[1] + "p/1")
    [logged] = site.requests_for("/p/4?b=2&a=1")
    assert (logged.host_index, logged.method) == (0, "GET")
    assert before <= logged.t <= time.monotonic()
    assert logged.headers["Host"] == urlsplit(site.base_urls[0]).netloc
    assert [r.host_index for r in site.requests_for("/p/1")] == [1]
    assert site.requests_for("/p/1", host_index=0) == []


def test_keep_alive_redirect_404_and_head(site: SiteServer) -> None:
    connection = _connect(site.base_urls[0])
    try:
        connection.request("GET", "/r/2")
        response = connection.getresponse()
        response.read()
        assert (response.status, response.getheader("Location")) == (301, "/p/2")
        sock = connection.sock
        connection.request("GET", "/missing")
        response = connection.getresponse()
        assert response.status == 404
        assert int(response.getheader("Content-Length")) == len(response.read())
        connection.request("HEAD", "/p/0")
        response = connection.getresponse()
        assert response.status == 200
        assert response.read() == b""
        assert int(response.getheader("Content-Length")) > 0
        # Three requests, one connection: every answer kept it open.
        assert sock is not None and connection.sock is sock
    finally:
        connection.close()


def test_stop_ends_idle_keep_alive_connections() -> None:
    server = SiteServer(CFG)
    base = server.start()[0]
    connection = _connect(base)
    try:
        connection.request("GET", "/")
        connection.getresponse().read()
        started = time.monotonic()
        server.stop()
        assert time.monotonic() - started < 2
    finally:
        connection.close()


def test_latency_delays_each_answer() -> None:
    with SiteServer(SiteConfig(pages=3, latency_ms=100)) as server:
        started = time.monotonic()
        _get(server.base_urls[0])
        assert time.monotonic() - started >= 0.1


def test_fixed_port_and_restart() -> None:
    with SiteServer(CFG) as first:
        port = urlsplit(first.base_urls[0]).port
        with pytest.raises(OSError):
            SiteServer(CFG, port=port).start()
    with SiteServer(CFG, port=port) as again:
        assert again.base_urls[0] == f"http://127.0.0.1:{port}/"


def _read_lines(proc: subprocess.Popen[bytes], count: int) -> list[str]:
    """The first `count` lines of the child's stdout, or fail after CLI_TIMEOUT_S."""
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    data = b""
    deadline = time.monotonic() + CLI_TIMEOUT_S
    while data.count(b"\n") < count:
        remaining = deadline - time.monotonic()
        assert remaining > 0, f"no {count} lines in time, got {data!r}"
        ready, _, _ = select.select([fd], [], [], remaining)
        if ready:
            chunk = os.read(fd, 4096)
            assert chunk, f"stdout closed early, got {data!r}, exit {proc.poll()}"
            data += chunk
    return data.decode().splitlines()[:count]


def test_cli_prints_base_urls_first_and_stops_on_sigterm(tmp_path: Path) -> None:
    log, expected, stderr_path = tmp_path / "log.jsonl", tmp_path / "urls.txt", tmp_path / "err"
    argv = [sys.executable, "-m", "scripts.site", "--pages", "20", "--links", "3"]
    argv += ["--hosts", "2", "--log", str(log), "--expected", str(expected), "--max-depth", "2"]
    with (
        stderr_path.open("wb") as stderr,
        subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=stderr) as proc,
    ):
        try:
            base0, base1 = _read_lines(proc, 2)
            assert base0.startswith("http://127.0.0.1:")
            assert base1 == base0.replace("127.0.0.1", "127.0.0.2")
            assert _get(base0 + "p/0")[0] == 200
            assert expected.read_text().splitlines() == sorted(
                expected_urls(CFG, [base0, base1], max_depth=2)
            )
            [line] = log.read_text().splitlines()
            assert json.loads(line)["path"] == "/p/0"
            assert json.loads(line)["host"] == 0
            proc.send_signal(signal.SIGTERM)
            assert proc.wait(CLI_TIMEOUT_S) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    assert stderr_path.read_text() == ""

"""The synthetic site's server and CLI on real loopback sockets (127.0.0.1 and 127.0.0.2)."""

from __future__ import annotations

import http.client
import json
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from scripts.site import SiteConfig, SiteServer, expected_urls, respond
from tests.helpers.site_process import SiteProcess

CFG = SiteConfig(pages=20, links=3, hosts=2)


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


def test_cli_prints_base_urls_first_and_stops_on_sigterm(
    tmp_path: Path, site_process: Callable[..., SiteProcess]
) -> None:
    log, expected, stderr = tmp_path / "log.jsonl", tmp_path / "urls.txt", tmp_path / "err"
    options = ("--log", str(log), "--expected", str(expected), "--max-depth", "2")
    site = site_process(CFG, *options, stderr=stderr)  # reads the base URLs it prints
    base0, base1 = site.base_urls
    assert base0.startswith("http://127.0.0.1:")
    assert base1 == base0.replace("127.0.0.1", "127.0.0.2")
    assert _get(base0 + "p/0")[0] == 200
    assert expected.read_text().splitlines() == sorted(
        expected_urls(CFG, [base0, base1], max_depth=2)
    )
    [line] = log.read_text().splitlines()
    assert json.loads(line)["path"] == "/p/0"
    assert json.loads(line)["host"] == 0
    assert site.stop() == 0  # SIGTERM
    assert stderr.read_text() == ""


def test_a_site_process_serves_the_sitemaps_its_config_names(
    site_process: Callable[..., SiteProcess],
) -> None:
    """SiteConfig(sitemaps=True) in a child process serves them, as expected_records()
    of that config assumes."""
    site = site_process(SiteConfig(pages=20, links=3, hosts=1, sitemaps=True))
    with urllib.request.urlopen(site.base_urls[0] + "robots.txt", timeout=5) as answer:
        assert "Sitemap:" in answer.read().decode()

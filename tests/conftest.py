"""Fixtures shared by every test folder: the crawler's command line as a subprocess, the
synthetic site, in this process or in its own, and a real Redis. Each fixture stops what
it started.

The plain helpers they are built on live in tests/helpers/ (test modules import those,
never another test module or a conftest.py).
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts.site import SiteConfig, SiteServer
from tests.helpers import crawler_cli
from tests.helpers.crawler_cli import Crawl, RunCrawler, StartCrawler
from tests.helpers.redis_server import RedisServer, missing_reason
from tests.helpers.site_process import SiteProcess


@pytest.fixture
def crawl(tmp_path: Path) -> RunCrawler:
    """`crawl(*args, timeout=60, stdin=None) -> Crawl`: run the crawler in tmp_path to its end."""

    def run(*args: str, timeout: float = 60, stdin: str | None = None) -> Crawl:
        return crawler_cli.run_crawler(tmp_path, *args, timeout=timeout, stdin=stdin)

    return run


@pytest.fixture
def start_crawler(tmp_path: Path) -> Iterator[StartCrawler]:
    """`start_crawler(*args, **options) -> Popen`: the crawler in tmp_path, not waited for.

    The options are those of tests.helpers.crawler_cli.start_crawler. A process still
    running when the test ends is killed (with its group if it leads one).
    """
    started: list[subprocess.Popen[str]] = []

    def start(*args: str, **options: Any) -> subprocess.Popen[str]:
        proc = crawler_cli.start_crawler(tmp_path, *args, **options)
        started.append(proc)
        return proc

    yield start
    for proc in started:
        crawler_cli.stop_process(proc)


@pytest.fixture
def site_server() -> Iterator[Callable[[SiteConfig], SiteServer]]:
    """`site_server(cfg) -> SiteServer`: the synthetic site in this process, started."""
    servers: list[SiteServer] = []

    def start(cfg: SiteConfig) -> SiteServer:
        server = SiteServer(cfg)
        server.start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def site_process() -> Iterator[Callable[..., SiteProcess]]:
    """`site_process(cfg, *options, stderr=None) -> SiteProcess`: the site as a child
    process (python -m scripts.site), started; stopped by PID when the test ends."""
    sites: list[SiteProcess] = []

    def start(cfg: SiteConfig, *options: str, stderr: Path | None = None) -> SiteProcess:
        site = SiteProcess(cfg, *options, stderr=stderr)
        sites.append(site)
        site.start()
        return site

    yield start
    for site in sites:
        site.stop()


@pytest.fixture(scope="session")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RedisServer]:
    """One redis-server for the whole session (no RDB, no AOF), started by the first test
    that needs it; skips that test when redis-server is not installed."""
    reason = missing_reason()
    if reason is not None:
        pytest.skip(reason)
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def redis_url(redis_server: RedisServer) -> str:
    """`redis://127.0.0.1:PORT/0` of the session's server, every database empty."""
    if not redis_server.is_running:  # a test stopped it: the next one gets it back
        redis_server.stop()
        redis_server.start()
    redis_server.flushall()
    return redis_server.url


@pytest.fixture
def start_redis(tmp_path: Path) -> Iterator[Callable[..., RedisServer]]:
    """`start_redis(aof=False) -> RedisServer`: a server of the test's own (in tmp_path),
    started, for tests that stop or restart it (with `aof=True` its data survives
    `restart()`); stopped by PID when the test ends. Skips when redis-server is missing."""
    reason = missing_reason()
    if reason is not None:
        pytest.skip(reason)
    servers: list[RedisServer] = []

    def start(*, aof: bool = False) -> RedisServer:
        server = RedisServer(tmp_path / f"redis-{len(servers)}", aof=aof)
        servers.append(server)
        server.start()
        return server

    yield start
    for server in servers:
        server.stop()

"""Interrupts and crashes under pressure: a second SIGINT, and a worker killed again and again.

The real CLI runs as a subprocess; processes are found from the crawler's own process
tree (tests/helpers/processes.py) and killed by PID.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from crawler.worker import parse_backlog
from scripts.site import SiteConfig, SiteServer, expected_urls
from tests.helpers.crawler_cli import RunCrawler, StartCrawler
from tests.helpers.gated_site import GatedSite
from tests.helpers.processes import has_exited, wait_for, worker_pids

KILLS = 3
PROCS = 2
THREADS = 2
# The coordinator's warning on the first SIGINT or SIGTERM: it is in its grace period.
FIRST_SIGNAL_LOGGED = "finishing in-flight requests"


def leftovers(directory: Path) -> list[str]:
    """Temporary and spool files of out.json (`.out.json.*`)."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".out.json"))


@pytest.fixture
def held_site() -> Iterator[tuple[GatedSite, threading.Event]]:
    """A site whose page requests are answered only while the event is set."""
    opened = threading.Event()
    with GatedSite(pages=400, gate=opened.wait) as site:
        try:
            yield site, opened
        finally:
            opened.set()  # releases every held request, so the server can stop


def test_second_sigint_exits_at_once_and_never_tears_out_json(
    tmp_path: Path,
    held_site: tuple[GatedSite, threading.Event],
    crawl: RunCrawler,
    start_crawler: StartCrawler,
) -> None:
    site, opened = held_site
    opened.set()
    first = crawl("--seed", site.url, "--procs", "1", "--max-pages", "3")
    assert first.code == 0, first.stderr
    out = tmp_path / "out.json"
    previous = out.read_bytes()

    # From now on every page request is held: the in-flight requests never finish, so
    # the first SIGINT's grace period lasts until its bound, and the second SIGINT is
    # sent as soon as the crawler says it got the first one.
    opened.clear()
    stderr_path = tmp_path / "stderr.txt"
    with stderr_path.open("w", encoding="utf-8") as stderr:
        proc = start_crawler("--seed", site.url, "--procs", "2", "--threads", "4", stderr=stderr)
    wait_for(lambda: site.active == 2 * 4, 30, "every fetch thread to wait for an answer")
    workers = worker_pids(proc.pid)
    assert len(workers) == 2
    proc.send_signal(signal.SIGINT)
    wait_for(
        lambda: FIRST_SIGNAL_LOGGED in stderr_path.read_text(encoding="utf-8"),
        10,
        "the crawler to take the first SIGINT",
    )
    second = time.monotonic()
    proc.send_signal(signal.SIGINT)
    proc.wait(timeout=15)
    took = time.monotonic() - second
    err = stderr_path.read_text(encoding="utf-8")
    print(f"exit {took:.2f} s after the second SIGINT")
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    # "At once": no grace period, no output to write, and the workers, whose requests
    # never end here, are killed rather than waited for (the pool's join bound is 3 s).
    assert took < 2
    data = out.read_bytes()
    if data == previous:
        print("out.json: the previous file")
    else:
        new = json.loads(data)  # whole and valid, not torn
        print(f"out.json: a new file, {new['stats']['pages']} records")
        assert new["complete"] is False
        assert len(new["pages"]) == new["stats"]["pages"]
    # No temporary or spool file of either run is left beside out.json.
    assert leftovers(tmp_path) == []
    for pid in workers:
        wait_for(lambda pid=pid: has_exited(pid), 5, f"worker {pid} to exit")


@pytest.fixture
def very_slow_site(site_server: Callable[[SiteConfig], SiteServer]) -> SiteServer:
    return site_server(SiteConfig(pages=400, latency_ms=200))


def test_second_sigint_while_out_json_is_written(
    tmp_path: Path, very_slow_site: SiteServer, start_crawler: StartCrawler
) -> None:
    out = tmp_path / "out.json"
    out.write_text('{"previous": true}\n', encoding="utf-8")
    proc = start_crawler("--seed", very_slow_site.base_urls[0], "--procs", "2")
    wait_for(lambda: len(very_slow_site.requests) > 10, 30, "the crawl to get going")
    proc.send_signal(signal.SIGINT)
    # The first SIGINT's partial out.json goes to a temporary file, then is renamed:
    # the second SIGINT arrives while it is being written (polled without sleeping).
    deadline = time.monotonic() + 10
    while proc.poll() is None and time.monotonic() < deadline:
        if any(name.endswith(".tmp") for name in leftovers(tmp_path)):
            proc.send_signal(signal.SIGINT)
            break
    else:
        pytest.skip("the temporary out.json was never seen: no second SIGINT sent")
    _, err = proc.communicate(timeout=15)
    # out.json is never torn: the previous file or a whole new one.
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data == {"previous": True} or data["complete"] is False
    assert leftovers(tmp_path) == []
    # And the second SIGINT still ends the command properly: exit 130 (not -2, killed
    # by the signal), and no KeyboardInterrupt traceback.
    assert proc.returncode == 130, err
    assert "Traceback" not in err


@pytest.fixture
def busy_site(site_server: Callable[[SiteConfig], SiteServer]) -> SiteServer:
    return site_server(SiteConfig(pages=300, links=5, latency_ms=20))


def wait_for_replacement(crawler_pid: int, old: set[int], timeout: float) -> tuple[int, float]:
    """Poll tightly for a worker PID not in `old` (with PROCS workers alive again)."""
    started = time.monotonic()
    deadline = started + timeout
    while time.monotonic() < deadline:
        pids = set(worker_pids(crawler_pid))
        fresh = pids - old
        if fresh and len(pids) == PROCS:
            return fresh.pop(), time.monotonic() - started
        time.sleep(0.005)
    raise AssertionError(f"no replacement worker within {timeout} s")


def test_repeated_worker_deaths_lose_nothing(
    tmp_path: Path, busy_site: SiteServer, start_crawler: StartCrawler
) -> None:
    # Few threads keep the crawl long enough (several seconds) for three kills with
    # progress between them, and bound what a kill can cost.
    proc = start_crawler(
        "--seed",
        busy_site.base_urls[0],
        "--procs",
        str(PROCS),
        "--threads",
        str(THREADS),
        "--max-depth",
        "50",
    )
    recovery_s: list[float] = []
    for kill in range(KILLS):
        target = 20 + 60 * kill
        wait_for(lambda t=target: len(busy_site.requests) > t, 30, f"{target} requests")
        alive = wait_for(lambda: worker_pids(proc.pid), 5, "workers")
        assert len(alive) == PROCS, alive
        victim = alive[kill % len(alive)]
        killed = time.monotonic()
        os.kill(victim, signal.SIGKILL)
        _, waited = wait_for_replacement(proc.pid, set(alive), 10)
        recovery_s.append(waited)
        assert time.monotonic() - killed < 10
    _, err = proc.communicate(timeout=60)
    print(
        "replacement worker appeared after " + ", ".join(f"{s * 1000:.0f} ms" for s in recovery_s)
    )
    assert proc.returncode == 0, err
    assert err.count("died") == KILLS, err
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    expected = expected_urls(busy_site.cfg, busy_site.base_urls)
    assert {p["url"] for p in data["pages"]} == expected
    assert len(data["pages"]) == len(expected)
    assert data["complete"] is True
    # Only the URLs in flight at a kill are fetched again: never more than twice.
    counts = Counter((r.host_index, r.path) for r in busy_site.requests)
    assert counts[(0, "/robots.txt")] == 1
    twice = sorted(path for (_, path), n in counts.items() if n == 2)
    print(f"fetched twice: {twice}")
    assert max(counts.values()) <= 2, counts.most_common(3)
    # At most the URLs in flight at each kill: a request per thread, and the pages
    # fetched but still waiting for (or in) the worker's parse thread.
    assert len(twice) <= KILLS * (THREADS + parse_backlog(THREADS) + 1)


@pytest.fixture
def threaded_server() -> Iterator[HTTPServer]:
    """A server that answers requests concurrently (a held one does not block the rest)."""
    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    yield server
    server.clear()
    if server.is_running():
        server.stop()


def test_a_url_in_flight_at_two_worker_deaths_is_not_handed_out_again(
    threaded_server: HTTPServer, start_crawler: StartCrawler, tmp_path: Path
) -> None:
    # /killer is held every time it is asked for, and its worker is killed meanwhile,
    # as a page that crashes its parser would: after the second death it becomes an
    # internal record, and the crawl ends normally.
    arrivals: list[float] = []
    release = threading.Event()

    def killer(request: Request) -> Response:
        arrivals.append(time.monotonic())
        release.wait(20)
        return Response("<title>never</title>", content_type="text/html")

    threaded_server.expect_request("/robots.txt").respond_with_data("", status=404)
    threaded_server.expect_request("/").respond_with_data(
        '<a href="/killer">k</a><a href="/ok">ok</a>', content_type="text/html"
    )
    threaded_server.expect_request("/ok").respond_with_data("<title>ok</title>")
    threaded_server.expect_request("/killer").respond_with_handler(killer)
    proc = start_crawler("--seed", threaded_server.url_for("/"), "--procs", "1", "--threads", "2")
    try:
        killed: set[int] = set()
        for death in (1, 2):
            # The request arrived, so the worker that made it is the one alive now (after
            # the last death the crawl may end at once: no waiting for a replacement).
            wait_for(lambda d=death: len(arrivals) >= d, 30, f"/killer asked for ({death})")
            (victim,) = wait_for(
                lambda: [pid for pid in worker_pids(proc.pid) if pid not in killed],
                5,
                "the worker",
            )
            os.kill(victim, signal.SIGKILL)
            killed.add(victim)
        _, err = proc.communicate(timeout=30)
    finally:
        release.set()
    assert proc.returncode == 0, err
    assert len(arrivals) == 2  # not a third time
    assert err.count("worker 0 died") == 2, err
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    by_url = {p["url"]: p for p in data["pages"]}
    killed = by_url[threaded_server.url_for("/killer")]
    assert killed["error"]["kind"] == "internal" and killed["status"] is None
    assert "2 worker processes died" in killed["error"]["message"]
    assert by_url[threaded_server.url_for("/ok")]["status"] == 200
    assert data["complete"] is True

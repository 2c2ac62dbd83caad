"""Interrupts and crashes under pressure: a second SIGINT, and a worker killed again and again.

The real CLI runs as a subprocess against the synthetic site; processes are found from
the crawler's own process tree and killed by PID (tests/e2e/test_processes.py).
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.worker import parse_backlog
from scripts.site import SiteConfig, SiteServer, expected_urls
from tests.e2e.conftest import run_crawler
from tests.e2e.test_processes import start_crawler, wait_for, worker_pids

KILLS = 3
PROCS = 2
THREADS = 2


def gone(pid: int) -> bool:
    """The process has exited (a zombie not yet reaped counts as gone)."""
    try:
        with open(f"/proc/{pid}/stat", encoding="utf-8") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def just_arrived(site: SiteServer) -> bool:
    requests = site.requests
    return bool(requests) and time.monotonic() - requests[-1].t < 0.02


def leftovers(directory: Path) -> list[str]:
    """Temporary and spool files of out.json (`.out.json.*`)."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith(".out.json"))


@pytest.fixture
def very_slow_site() -> Iterator[SiteServer]:
    server = SiteServer(SiteConfig(pages=400, latency_ms=200))
    server.start()
    yield server
    server.stop()


def test_second_sigint_exits_at_once_and_never_tears_out_json(
    tmp_path: Path, very_slow_site: SiteServer
) -> None:
    seed = very_slow_site.base_urls[0]
    first = run_crawler(tmp_path, "--seed", seed, "--procs", "1", "--max-pages", "3")
    assert first.code == 0, first.stderr
    out = tmp_path / "out.json"
    previous = out.read_bytes()
    before = len(very_slow_site.requests)

    proc = start_crawler(tmp_path, "--seed", seed, "--procs", "2", "--threads", "4")
    try:
        wait_for(lambda: len(very_slow_site.requests) > before + 10, 30, "the crawl to get going")
        workers = worker_pids(proc.pid)
        assert len(workers) == 2
        # Interrupt just after a request arrived: it answers 200 ms later, so the second
        # SIGINT, 50 ms after the first, surely lands in the grace period.
        wait_for(lambda: just_arrived(very_slow_site), 30, "a request to arrive")
        proc.send_signal(signal.SIGINT)
        time.sleep(0.05)
        second = time.monotonic()
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    took = time.monotonic() - second
    print(f"exit {took:.2f} s after the second SIGINT")
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert took < 5  # "at once": no grace period, no output to write
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
        wait_for(lambda pid=pid: gone(pid), 5, f"worker {pid} to exit")


def test_second_sigint_while_out_json_is_written(
    tmp_path: Path, very_slow_site: SiteServer
) -> None:
    out = tmp_path / "out.json"
    out.write_text('{"previous": true}\n', encoding="utf-8")
    proc = start_crawler(tmp_path, "--seed", very_slow_site.base_urls[0], "--procs", "2")
    try:
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
            proc.kill()
            proc.communicate()
            pytest.skip("the temporary out.json was never seen: no second SIGINT sent")
        _, err = proc.communicate(timeout=15)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    # out.json is never torn: the previous file or a whole new one (this holds today).
    data = json.loads(out.read_text(encoding="utf-8"))
    assert data == {"previous": True} or data["complete"] is False
    assert leftovers(tmp_path) == []
    # What fails today: exit -2 (killed by SIGINT) and a KeyboardInterrupt traceback.
    assert proc.returncode == 130, err
    assert "Traceback" not in err


@pytest.fixture
def busy_site() -> Iterator[SiteServer]:
    server = SiteServer(SiteConfig(pages=300, links=5, latency_ms=20))
    server.start()
    yield server
    server.stop()


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


def test_repeated_worker_deaths_lose_nothing(tmp_path: Path, busy_site: SiteServer) -> None:
    # Few threads keep the crawl long enough (several seconds) for three kills with
    # progress between them, and bound what a kill can cost.
    proc = start_crawler(
        tmp_path,
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
    try:
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
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
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

"""Processes: concurrency per host across workers, interrupts, dead workers, no orphans."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scripts.site import SiteConfig, SiteServer, expected_urls
from tests.helpers.crawler_cli import RunCrawler, StartCrawler
from tests.helpers.gated_site import GatedSite
from tests.helpers.processes import has_exited, wait_for, worker_pids

PER_HOST = 3
# How long the first page requests wait for the others of their batch: well under the
# crawler's own timeout, so a crawl that never reaches the limit fails here, not there.
BATCH_TIMEOUT_S = 5.0


@pytest.fixture
def batched_site() -> Iterator[GatedSite]:
    """Page requests are answered PER_HOST at a time, once PER_HOST are in flight."""
    batch = threading.Barrier(PER_HOST, timeout=BATCH_TIMEOUT_S)
    # A multiple of PER_HOST, so the last batch is full too.
    with GatedSite(pages=13 * PER_HOST, gate=batch.wait) as site:
        try:
            yield site
        finally:
            batch.abort()  # releases a handler still waiting, so the server can stop


def test_per_host_limit_holds_across_workers(
    tmp_path: Path, batched_site: GatedSite, start_crawler: StartCrawler
) -> None:
    # Every page request waits until PER_HOST are in flight: the crawl reaches the limit
    # (or fails); and a request over the limit would be in flight with a whole batch.
    proc = start_crawler(
        "--seed", batched_site.url, "--procs", "3", "--threads", "4", "--per-host", str(PER_HOST)
    )
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert batched_site.errors == []
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert data["stats"]["pages"] == batched_site.pages + 1
    assert all(page["error"] is None for page in data["pages"])
    assert batched_site.peak == PER_HOST  # reached, never exceeded
    assert {p["worker"] for p in data["pages"]} == {0, 1, 2}


@pytest.fixture
def slow_site(site_server: Callable[[SiteConfig], SiteServer]) -> SiteServer:
    return site_server(SiteConfig(pages=400, links=5, hosts=1, latency_ms=30))


def test_sigint_writes_partial_output_and_exits_130(
    tmp_path: Path, slow_site: SiteServer, start_crawler: StartCrawler
) -> None:
    proc = start_crawler(
        "--seed",
        slow_site.base_urls[0],
        "--procs",
        "2",
        "--threads",
        "2",
        "--jsonl",
        str(tmp_path / "pages.jsonl"),
    )
    wait_for(lambda: len(slow_site.requests) > 20, 30, "the crawl to get going")
    workers = worker_pids(proc.pid)
    assert len(workers) == 2
    interrupted = time.monotonic()
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == 130, err
    assert time.monotonic() - interrupted < 10
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert data["complete"] is False
    assert 0 < data["stats"]["pages"] < 400
    lines = (tmp_path / "pages.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == data["stats"]["pages"]  # every finished record, in both
    for pid in workers:
        wait_for(lambda pid=pid: has_exited(pid), 5, f"worker {pid} to exit")


def test_sigterm_too(tmp_path: Path, slow_site: SiteServer, start_crawler: StartCrawler) -> None:
    proc = start_crawler("--seed", slow_site.base_urls[0], "--procs", "1")
    wait_for(lambda: len(slow_site.requests) > 5, 30, "the crawl to get going")
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=15)
    assert proc.returncode == 130, err
    assert json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))["complete"] is False


def start_deep_crawl(slow_site: SiteServer, start_crawler: StartCrawler) -> subprocess.Popen[str]:
    """Two workers of four threads on the whole slow site, once it has got going."""
    proc = start_crawler(
        "--seed",
        slow_site.base_urls[0],
        *("--procs", "2", "--threads", "4", "--max-depth", "50"),
    )
    wait_for(lambda: len(slow_site.requests) > 30, 30, "the crawl to get going")
    return proc


def test_killed_worker_is_replaced_and_nothing_is_lost(
    tmp_path: Path, slow_site: SiteServer, start_crawler: StartCrawler
) -> None:
    proc = start_deep_crawl(slow_site, start_crawler)
    victim = wait_for(lambda: worker_pids(proc.pid), 5, "workers")[0]
    os.kill(victim, signal.SIGKILL)
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    assert "died" in err
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    expected = expected_urls(slow_site.cfg, slow_site.base_urls)
    assert {p["url"] for p in data["pages"]} == expected
    assert len(data["pages"]) == len(expected)
    assert data["complete"] is True


def thread_cpus(pid: int) -> set[str]:
    """The CPU lists (as /proc shows them: "0-3", "1") that the threads of `pid` may run on."""
    lists = set()
    for tid in os.listdir(f"/proc/{pid}/task"):
        with open(f"/proc/{pid}/task/{tid}/status", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("Cpus_allowed_list:"):
                    lists.add(line.split(":", 1)[1].strip())
    return lists


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs to choose from")
def test_each_worker_runs_with_all_its_threads_on_a_cpu_of_its_own(
    slow_site: SiteServer, start_crawler: StartCrawler
) -> None:
    proc = start_deep_crawl(slow_site, start_crawler)
    workers = wait_for(lambda: len(pids := worker_pids(proc.pid)) == 2 and pids, 5, "workers")
    placements = [thread_cpus(pid) for pid in workers]
    threads = [len(os.listdir(f"/proc/{pid}/task")) for pid in workers]
    proc.terminate()
    proc.communicate(timeout=30)
    allowed = {str(cpu) for cpu in os.sched_getaffinity(0)}
    assert all(n >= 4 + 1 for n in threads)  # the fetch threads and the parse thread
    assert all(len(cpus) == 1 and cpus <= allowed for cpus in placements), placements
    assert placements[0] != placements[1]


def test_no_process_left_after_a_normal_crawl(
    slow_site: SiteServer, start_crawler: StartCrawler
) -> None:
    proc = start_crawler("--seed", slow_site.base_urls[0], "--procs", "2", "--max-pages", "20")
    workers = wait_for(lambda: worker_pids(proc.pid), 20, "workers")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    for pid in workers:
        wait_for(lambda pid=pid: has_exited(pid), 5, f"worker {pid} to exit")


def test_progress_bar_when_asked(slow_site: SiteServer, crawl: RunCrawler) -> None:
    result = crawl(
        "--progress", "--seed", slow_site.base_urls[0], "--max-pages", "10", "--procs", "1"
    )
    assert result.code == 0, result.stderr
    assert re.search(r"10/10 pages, \d+ failed, \d+ queued, [\d.]+ pages/s", result.stderr), (
        result.stderr
    )

"""--state DIR: continuous checkpoints; the same command resumes after SIGINT or SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from scripts.site import SiteConfig, SiteServer, expected_urls
from tests.e2e.conftest import crawler_env, run_crawler
from tests.e2e.test_processes import wait_for

PROCS, THREADS = 2, 3


@pytest.fixture
def site() -> Iterator[SiteServer]:
    server = SiteServer(SiteConfig(pages=300, links=5, hosts=2, latency_ms=20))
    server.start()
    yield server
    server.stop()


def args(tmp_path: Path, site: SiteServer, *extra: str) -> list[str]:
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("\n".join(site.base_urls) + "\n", encoding="utf-8")
    return [
        "--seeds",
        str(seeds),
        "--procs",
        str(PROCS),
        "--threads",
        str(THREADS),
        "--max-depth",
        "50",
        "--state",
        str(tmp_path / "state"),
        "--jsonl",
        str(tmp_path / "pages.jsonl"),
        *extra,
    ]


def start(tmp_path: Path, argv: list[str]) -> subprocess.Popen[str]:
    cmd = [sys.executable, "-m", "crawler", "--out", str(tmp_path / "out.json"), "--no-progress"]
    return subprocess.Popen(
        [*cmd, *argv],
        cwd=tmp_path,
        env=crawler_env(),
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group, to kill it whole
    )


def page_fetches(site: SiteServer) -> Counter[tuple[int, str]]:
    return Counter((r.host_index, r.path) for r in site.requests if r.path != "/robots.txt")


def assert_whole_crawl(tmp_path: Path, site: SiteServer, in_flight_allowance: int) -> None:
    data = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    expected = expected_urls(site.cfg, site.base_urls)
    urls = [p["url"] for p in data["pages"]]
    assert data["complete"] is True
    assert len(urls) == len(set(urls)) and set(urls) == expected
    assert data["stats"]["pages"] == len(expected)
    twice = [key for key, count in page_fetches(site).items() if count > 1]
    assert len(twice) <= in_flight_allowance, twice
    lines = [json.loads(x) for x in (tmp_path / "pages.jsonl").read_text("utf-8").splitlines()]
    assert sorted(p["url"] for p in lines) == sorted(urls)  # each record once overall


@pytest.mark.parametrize("how", ["SIGINT", "SIGKILL"])
def test_resume_after_interrupt_or_kill(tmp_path: Path, site: SiteServer, how: str) -> None:
    argv = args(tmp_path, site)
    proc = start(tmp_path, argv)
    wait_for(lambda: len(site.requests) > 120, 60, "the crawl to get going")
    if how == "SIGINT":
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=15)
        assert proc.returncode == 130
    else:
        os.killpg(proc.pid, signal.SIGKILL)  # coordinator, forkserver and workers at once
        proc.communicate(timeout=15)
        wait_for(lambda: not _group_alive(proc.pid), 10, "the process group to die")
        # Nothing a killed crawl could not clean up was ever given a name: no spool.
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.json")] == []
    before = len(page_fetches(site))
    assert 0 < before < len(expected_urls(site.cfg, site.base_urls))
    result = run_crawler(tmp_path, *argv)
    assert result.code == 0, result.stderr
    assert "resuming" in result.stderr
    # What a kill loses per fetch thread: the request in flight, and the page before it,
    # fetched but not yet recorded (a thread starts its next request on the same host
    # while that page is parsed and its record is on the way to the coordinator).
    assert_whole_crawl(tmp_path, site, in_flight_allowance=2 * PROCS * THREADS)


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


def test_finished_crawl_rerun_fetches_nothing(tmp_path: Path, site: SiteServer) -> None:
    argv = args(tmp_path, site)
    first = run_crawler(tmp_path, *argv)
    assert first.code == 0, first.stderr
    fetched = len(site.requests)
    second = run_crawler(tmp_path, *argv)
    assert second.code == 0, second.stderr
    assert len(site.requests) == fetched
    assert second.pages == first.pages
    assert second.stats["pages"] == first.stats["pages"]
    assert_whole_crawl(tmp_path, site, in_flight_allowance=0)


def test_raising_max_pages_goes_on(tmp_path: Path, site: SiteServer) -> None:
    first = run_crawler(tmp_path, *args(tmp_path, site, "--max-pages", "25"))
    assert first.code == 0 and len(first.pages) == 25
    second = run_crawler(tmp_path, *args(tmp_path, site, "--max-pages", "60"))
    assert second.code == 0, second.stderr
    assert len(second.pages) == 60
    assert len({p["url"] for p in second.pages}) == 60
    assert max(page_fetches(site).values()) == 1


def test_resume_with_other_seeds_or_scope_is_refused(tmp_path: Path, site: SiteServer) -> None:
    first = run_crawler(tmp_path, *args(tmp_path, site, "--max-pages", "5"))
    assert first.code == 0
    other = run_crawler(tmp_path, "--seed", site.base_urls[0], "--state", str(tmp_path / "state"))
    assert other.code == 2 and "seeds" in other.last_stderr_line
    scoped = run_crawler(tmp_path, *args(tmp_path, site, "--scope", "any"))
    assert scoped.code == 2 and "scope" in scoped.last_stderr_line
    assert "Traceback" not in other.stderr + scoped.stderr

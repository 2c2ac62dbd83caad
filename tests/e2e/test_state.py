"""--state DIR: continuous checkpoints; the same command resumes after SIGINT or SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from scripts.proctree import processes_in_group
from scripts.site import SiteConfig, SiteServer, expected_urls
from tests.helpers.crawler_cli import RunCrawler, StartCrawler
from tests.helpers.processes import wait_for

PROCS, THREADS = 2, 3


@pytest.fixture
def site(site_server: Callable[[SiteConfig], SiteServer]) -> SiteServer:
    return site_server(SiteConfig(pages=300, links=5, hosts=2, latency_ms=20))


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


def page_fetches(site: SiteServer) -> Counter[tuple[int, str]]:
    return Counter((r.host_index, r.path) for r in site.requests if r.path != "/robots.txt")


def committed_pages(tmp_path: Path, site: SiteServer) -> set[tuple[int, str]]:
    """The pages whose records the checkpoint holds (every URL of each record's chain)."""
    db = sqlite3.connect(f"file:{tmp_path / 'state' / 'crawl.sqlite'}?mode=ro", uri=True)
    try:
        records = [json.loads(line) for (line,) in db.execute("SELECT line FROM records")]
    finally:
        db.close()
    hosts = {urlsplit(base).netloc: index for index, base in enumerate(site.base_urls)}
    keys = set()
    for record in records:
        for url in [record["url"], *record["redirects"], record["final_url"]]:
            parts = urlsplit(url)
            path = parts.path + (f"?{parts.query}" if parts.query else "")
            keys.add((hosts[parts.netloc], path))
    return keys


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
def test_resume_after_interrupt_or_kill(
    tmp_path: Path, site: SiteServer, how: str, crawl: RunCrawler, start_crawler: StartCrawler
) -> None:
    argv = args(tmp_path, site)
    proc = start_crawler(*argv, start_new_session=True)  # a group of its own, to kill whole
    wait_for(lambda: len(site.requests) > 120, 60, "the crawl to get going")
    if how == "SIGINT":
        proc.send_signal(signal.SIGINT)
        proc.communicate(timeout=15)
        assert proc.returncode == 130
    else:
        os.killpg(proc.pid, signal.SIGKILL)  # coordinator, forkserver and workers at once
        proc.communicate(timeout=15)
        wait_for(lambda: not processes_in_group(proc.pid), 10, "the process group to die")
        # Nothing a killed crawl could not clean up was ever given a name: no spool.
        assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out.json")] == []
    fetched_before = set(page_fetches(site))
    committed = committed_pages(tmp_path, site)
    assert 0 < len(fetched_before) < len(expected_urls(site.cfg, site.base_urls))
    result = crawl(*argv)
    assert result.code == 0, result.stderr
    assert "resuming" in result.stderr
    if how == "SIGINT":
        # In-flight requests finished (or were abandoned after the grace period) and the
        # answers waiting for breadth-first order were written before exiting.
        assert_whole_crawl(tmp_path, site, in_flight_allowance=2 * PROCS * THREADS)
        return
    # A kill loses what the checkpoint had not committed: requests in flight, pages
    # fetched and being parsed, answers waiting for breadth-first order. Those alone may
    # be fetched again; a page whose record was committed never is.
    assert_whole_crawl(tmp_path, site, in_flight_allowance=len(fetched_before))
    twice = {key for key, count in page_fetches(site).items() if count > 1}
    assert not twice & committed, sorted(twice & committed)
    assert twice <= fetched_before - committed


def test_finished_crawl_rerun_fetches_nothing(
    tmp_path: Path, site: SiteServer, crawl: RunCrawler
) -> None:
    argv = args(tmp_path, site)
    first = crawl(*argv)
    assert first.code == 0, first.stderr
    fetched = len(site.requests)
    second = crawl(*argv)
    assert second.code == 0, second.stderr
    assert len(site.requests) == fetched
    assert second.pages == first.pages
    assert second.stats["pages"] == first.stats["pages"]
    assert_whole_crawl(tmp_path, site, in_flight_allowance=0)


def test_raising_max_pages_goes_on(tmp_path: Path, site: SiteServer, crawl: RunCrawler) -> None:
    first = crawl(*args(tmp_path, site, "--max-pages", "25"))
    assert first.code == 0 and len(first.pages) == 25
    second = crawl(*args(tmp_path, site, "--max-pages", "60"))
    assert second.code == 0, second.stderr
    assert len(second.pages) == 60
    assert len({p["url"] for p in second.pages}) == 60
    assert max(page_fetches(site).values()) == 1


def test_resume_with_other_seeds_or_scope_is_refused(
    tmp_path: Path, site: SiteServer, crawl: RunCrawler
) -> None:
    first = crawl(*args(tmp_path, site, "--max-pages", "5"))
    assert first.code == 0
    other = crawl("--seed", site.base_urls[0], "--state", str(tmp_path / "state"))
    assert other.code == 2 and "seeds" in other.last_stderr_line
    scoped = crawl(*args(tmp_path, site, "--scope", "any"))
    assert scoped.code == 2 and "scope" in scoped.last_stderr_line
    assert "Traceback" not in other.stderr + scoped.stderr

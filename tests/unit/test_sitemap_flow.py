"""The sitemap flow in the coordinator, without a process: answers are handed in by hand.

What the frontier lets start, and when, is the point: robots.txt, then the sitemaps,
and no page of a seed host before every sitemap of every seed host is answered.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

from crawler.addresses import GUARD_DEFAULT
from crawler.coordinator import Coordinator
from crawler.frontier import Task
from crawler.memory_frontier import MemoryFrontier
from crawler.messages import Result, SitemapContent
from crawler.pool import WorkerPool
from crawler.recorder import Recorder
from crawler.settings import Settings
from crawler.sitemaps import MAX_SITEMAP_FILES

A, B = "http://a.test/", "http://b.test/"


def coordinator(tmp_path: Path, *seeds: str, **options: Any) -> Coordinator:
    settings = Settings(
        seed=seeds, out=str(tmp_path / "out.json"), sitemaps=True, scope="any", **options
    )
    frontier = MemoryFrontier(delay_s=0, per_host=8, clock=lambda: 0.0)
    pool = WorkerPool(settings, cast(Any, None), GUARD_DEFAULT)  # never started
    recorder = Recorder.open(settings, list(seeds), [])
    c = Coordinator(settings, list(seeds), frontier, pool, recorder)
    c.answers.queue([Task(url=seed, depth=0) for seed in seeds])
    assert c.sitemaps is not None
    c.sitemaps.start()
    return c


def answer(status: int, body: bytes = b"", sitemap: SitemapContent | None = None) -> Result:
    return Result(
        1,
        0,
        status,
        "text/plain",
        None,
        None,
        len(body),
        1.0,
        0.0,
        None,
        None,
        body=body,
        sitemap=sitemap,
    )


def urlset(*urls: str) -> SitemapContent:
    return SitemapContent("urlset", urls, len(urls), 0, None, None)


def take(c: Coordinator) -> dict[str, Task]:
    """Every task that may start now, by URL, each one's request ended at once."""
    tasks = c.frontier.take(100)
    for task in tasks:
        c.frontier.finish(task.host)
    return {task.url: task for task in tasks}


def test_pages_wait_until_every_seed_hosts_sitemaps_are_read(tmp_path: Path) -> None:
    c = coordinator(tmp_path, A, B)
    assert set(take(c)) == {A + "robots.txt", B + "robots.txt"}
    first = take(c)
    assert first == {}
    c._on_robots(
        Task(url=A + "robots.txt", depth=0, robots=True),
        answer(200, b"Sitemap: http://a.test/s.xml\n"),
    )
    c._on_robots(Task(url=B + "robots.txt", depth=0, robots=True), answer(404))
    ready = take(c)
    assert set(ready) == {A + "s.xml", B + "sitemap.xml"}  # no page yet
    c._on_robots(ready[A + "s.xml"], answer(200, sitemap=urlset(A + "orphan", B + "x")))
    assert take(c) == {}  # b.test's sitemap is still out: a.test waits too
    c._on_robots(ready[B + "sitemap.xml"], answer(404))
    assert c.sitemaps is not None and c.sitemaps.done
    pages = take(c)
    assert set(pages) == {A, B, A + "orphan", B + "x"}
    assert pages[A + "orphan"].depth == 0 and pages[A + "orphan"].referrer == A + "s.xml"
    assert c.sitemaps.to_json() == {
        "files": [
            {"url": A + "s.xml", "status": 200, "urls": 2, "error": None},
            {"url": B + "sitemap.xml", "status": 404, "urls": 0, "error": None},
        ],
        "urls": 2,
    }
    assert c.sitemaps.lists(B + "x") and not c.sitemaps.lists(B)
    c.recorder.close()


def test_a_sitemap_on_another_host_waits_for_that_hosts_robots_txt(tmp_path: Path) -> None:
    c = coordinator(tmp_path, A)
    take(c)
    c._on_robots(
        Task(url=A + "robots.txt", depth=0, robots=True),
        answer(200, b"Sitemap: http://c.test/s.xml\nSitemap: http://c.test/no/s.xml\n"),
    )
    assert set(take(c)) == {"http://c.test/robots.txt"}  # not the sitemaps yet
    c._on_robots(
        Task(url="http://c.test/robots.txt", depth=0, robots=True),
        answer(200, b"User-agent: *\nDisallow: /no/\n"),
    )
    assert set(take(c)) == {"http://c.test/s.xml"}
    assert c.sitemaps is not None
    entry = c.sitemaps.to_json()["files"][0]
    assert entry["url"] == "http://c.test/no/s.xml" and entry["error"]["kind"] == "robots_excluded"
    c.recorder.close()


def test_an_index_listing_itself_and_another_host(tmp_path: Path) -> None:
    c = coordinator(tmp_path, A)
    take(c)
    c._on_robots(Task(url=A + "robots.txt", depth=0, robots=True), answer(404))
    (sitemap,) = take(c).values()
    listed = (A + "sitemap.xml", "http://c.test/s.xml", A + "s1.xml")
    c._on_robots(sitemap, answer(200, sitemap=SitemapContent("index", listed, 3, 0, None, None)))
    ready = take(c)
    assert set(ready) == {A + "s1.xml"}
    assert ready[A + "s1.xml"].sitemap_level == 2
    assert c.sitemaps is not None
    kinds = [(f["url"], f["error"] and f["error"]["kind"]) for f in c.sitemaps.to_json()["files"]]
    assert kinds == [(A + "sitemap.xml", None), ("http://c.test/s.xml", "other_host")]
    c._on_robots(ready[A + "s1.xml"], answer(500))
    assert set(take(c)) == {A}
    c.recorder.close()


def test_ignore_robots_reads_robots_txt_for_its_sitemap_lines_only(tmp_path: Path) -> None:
    c = coordinator(tmp_path, A, ignore_robots=True)
    (robots,) = take(c).values()
    assert robots.url == A + "robots.txt" and robots.sitemap_for == "a.test"
    c._on_robots(robots, answer(200, b"User-agent: *\nDisallow: /\nSitemap: http://a.test/s.xml\n"))
    (sitemap,) = take(c).values()
    c._on_robots(sitemap, answer(200, sitemap=urlset(A + "x")))
    assert set(take(c)) == {A, A + "x"}  # robots.txt's rules do not count
    c.recorder.close()


def test_at_most_max_sitemap_files_per_seed_host(tmp_path: Path) -> None:
    c = coordinator(tmp_path, A)
    take(c)
    c._on_robots(Task(url=A + "robots.txt", depth=0, robots=True), answer(404))
    (index,) = take(c).values()
    children = tuple(f"{A}s/{i}.xml" for i in range(MAX_SITEMAP_FILES + 5))
    content = SitemapContent("index", children, len(children), 0, None, None)
    c._on_robots(index, answer(200, sitemap=content))
    started = 0
    while ready := take(c):  # 8 at a time: --per-host
        started += len(ready)
    assert started == MAX_SITEMAP_FILES - 1  # the index itself is one of the host's files
    assert c.sitemaps is not None
    (entry,) = c.sitemaps.to_json()["files"]
    assert entry["error"]["kind"] == "too_many_sitemaps"
    assert entry["error"]["message"].startswith("6 of its sitemaps not read")
    c.recorder.close()

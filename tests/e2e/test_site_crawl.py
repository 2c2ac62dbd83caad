"""Crawls of the synthetic site through the real CLI, checked against its ground truth."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest

from scripts.site import SiteConfig, SiteServer, expected_records, sitemap_urls
from tests.helpers.crawler_cli import RunCrawler


@pytest.fixture
def site(site_server: Callable[[SiteConfig], SiteServer]) -> SiteServer:
    return site_server(SiteConfig(pages=120, links=6, hosts=2, seed=3))


def seeds_file(tmp_path: Path, urls: list[str]) -> str:
    path = tmp_path / "seeds.txt"
    path.write_text("# the site\n" + "\n".join(urls) + "\n", encoding="utf-8")
    return str(path)


def test_crawl_finds_exactly_the_ground_truth(
    tmp_path: Path, site: SiteServer, crawl: RunCrawler
) -> None:
    result = crawl(
        "--seeds",
        seeds_file(tmp_path, site.base_urls),
        "--procs",
        "2",
        "--threads",
        "4",
        "--max-depth",
        "50",
    )
    assert result.code == 0, result.stderr
    expected = expected_records(site.cfg, site.base_urls)
    records = result.by_url()
    assert len(records) == len(result.pages)  # one record per URL
    assert set(records) == set(expected)
    for url, want in expected.items():
        got = records[url]
        assert got["final_url"] == want.final_url, url
        assert got["redirects"] == list(want.redirects), url
        assert got["depth"] == want.depth, url
        assert got["status"] == want.status, url
        assert got["title"] == want.title, url
        assert got["links"] == list(want.links), url
    # Each canonical URL fetched once; robots.txt once per host, before anything else.
    by_path = Counter((r.host_index, r.path) for r in site.requests)
    assert max(by_path.values()) == 1
    for host in range(site.cfg.hosts):
        first = next(r for r in site.requests if r.host_index == host)
        assert first.path == "/robots.txt"
    assert not site.requests_for("/private/secret")
    # A single site spreads over every worker process.
    assert {p["worker"] for p in result.pages} == {0, 1}
    out = result.out
    assert out is not None and out["complete"] is True and out["version"] == 1
    assert out["seeds"] == site.base_urls
    assert out["stats"]["pages"] == len(expected)
    assert out["stats"]["robots_excluded"] >= 1


def test_depth_limit_matches_ground_truth(
    tmp_path: Path, site: SiteServer, crawl: RunCrawler
) -> None:
    result = crawl(
        "--seeds",
        seeds_file(tmp_path, site.base_urls),
        "--procs",
        "1",
        "--threads",
        "1",
        "--max-depth",
        "2",
    )
    assert result.code == 0, result.stderr
    assert set(result.by_url()) == set(expected_records(site.cfg, site.base_urls, max_depth=2))


def test_jsonl_streams_the_same_records(
    tmp_path: Path, site: SiteServer, crawl: RunCrawler
) -> None:
    jsonl = tmp_path / "pages.jsonl"
    result = crawl(
        "--seed",
        site.base_urls[0],
        "--procs",
        "2",
        "--threads",
        "2",
        "--max-pages",
        "30",
        "--jsonl",
        str(jsonl),
    )
    assert result.code == 0, result.stderr
    lines = [json.loads(line) for line in jsonl.read_text(encoding="utf-8").splitlines()]
    assert len(result.pages) == 30
    assert sorted(lines, key=lambda p: p["url"]) == sorted(result.pages, key=lambda p: p["url"])


def test_max_pages_per_host(tmp_path: Path, site: SiteServer, crawl: RunCrawler) -> None:
    result = crawl(
        "--seeds",
        seeds_file(tmp_path, site.base_urls),
        "--procs",
        "2",
        "--threads",
        "2",
        "--max-pages-per-host",
        "7",
    )
    assert result.code == 0, result.stderr
    hosts = Counter(p["url"].split("/")[2] for p in result.pages)
    assert sorted(hosts.values()) == [7, 7]
    requests = [r for r in site.requests if r.path != "/robots.txt"]
    hops = sum(len(p["redirects"]) for p in result.pages)  # part of their records
    assert 14 <= len(requests) <= 14 + hops


def test_sitemaps_crawl_matches_ground_truth(
    tmp_path: Path, site_server: Callable[[SiteConfig], SiteServer], crawl: RunCrawler
) -> None:
    site = site_server(SiteConfig(pages=120, links=6, hosts=2, seed=3, sitemaps=True))
    result = crawl(
        "--seeds",
        seeds_file(tmp_path, site.base_urls),
        "--procs",
        "2",
        "--threads",
        "4",
        "--max-depth",
        "50",
        "--sitemaps",
    )
    assert result.code == 0, result.stderr
    expected = expected_records(site.cfg, site.base_urls)
    listed = set(sitemap_urls(site.cfg, site.base_urls))
    records = result.by_url()
    assert set(records) == set(expected)
    for url, want in expected.items():
        got = records[url]
        assert (got["depth"], got["status"], got["final_url"]) == (
            want.depth,
            want.status,
            want.final_url,
        ), url
        assert got["in_sitemap"] is (url in listed), url
    # Orphans (only the sitemaps list them) are records; pages the sitemaps leave out are
    # found by links and say so.
    orphan = records[site.base_urls[1] + "orphan/2"]
    assert orphan["depth"] == 0 and orphan["referrer"] == site.base_urls[1] + "sitemaps/orphans.txt"
    assert records[site.base_urls[0] + "p/2"]["in_sitemap"] is False
    assert not site.requests_for("/private/secret")
    out = result.out
    assert out is not None
    assert out["sitemaps"]["urls"] == len(listed)
    assert len(out["sitemaps"]["files"]) == 4 * site.cfg.hosts
    assert all(f["status"] == 200 and f["error"] is None for f in out["sitemaps"]["files"])
    # Every sitemap of every host is read before the first page of any host.
    order = [r.path for r in site.requests]
    first_page = min(
        i
        for i, path in enumerate(order)
        if path == "/" or path.startswith(("/p/", "/r/", "/orphan/"))
    )
    assert (
        sum(1 for path in order[:first_page] if path.startswith("/sitemap")) == 4 * site.cfg.hosts
    )
    assert Counter((r.host_index, r.path) for r in site.requests).most_common(1)[0][1] == 1

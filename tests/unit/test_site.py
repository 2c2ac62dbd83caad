"""The pure synthetic site: determinism, reachability and its ground truth."""

from __future__ import annotations

import hashlib

import pytest

from crawler.sitemap_parse import parse_sitemap
from crawler.urls import canonicalize
from scripts.site import (
    FROM_404_PATH,
    ROBOTS_TXT,
    SiteConfig,
    expected_records,
    expected_urls,
    make_base_urls,
    respond,
    sitemap_urls,
)

CFG = SiteConfig(pages=50, links=5, hosts=2)
BASES = make_base_urls(2, 8000)
H0, H1 = BASES


def test_respond_is_deterministic_and_seed_dependent() -> None:
    first = [respond(CFG, i % 2, f"/p/{i}", BASES) for i in range(CFG.pages)]
    again = [respond(CFG, i % 2, f"/p/{i}", BASES) for i in range(CFG.pages)]
    other = SiteConfig(pages=50, links=5, hosts=2, seed=1)
    assert first == again
    assert first != [respond(other, i % 2, f"/p/{i}", BASES) for i in range(other.pages)]


def test_ground_truth_is_stable_across_processes_and_versions() -> None:
    # A golden digest of every body: hash() randomization or a changed generator moves it.
    digest = hashlib.sha256()
    for i in range(CFG.pages):
        digest.update(respond(CFG, i % 2, f"/p/{i}", BASES)[2])
    assert digest.hexdigest()[:16] == GOLDEN_DIGEST


GOLDEN_DIGEST = "040939de24125052"


def test_a_page() -> None:
    status, headers, body = respond(CFG, 1, "/p/5", BASES)
    text = body.decode()
    assert status == 200
    assert ("Content-Type", "text/html; charset=utf-8") in headers
    assert "<title>Page 5</title>" in text
    assert text.count("<a ") >= 1 + CFG.links


def test_query_and_escapes_serve_the_same_page() -> None:
    page = respond(CFG, 0, "/p/10", BASES)
    assert respond(CFG, 0, "/p/10?a=1&b=2", BASES) == page
    assert respond(CFG, 0, "/%70/%31%30", BASES) == page


@pytest.mark.parametrize(
    ("host", "path"),
    [
        (0, "/p/1"),  # page 1 lives on host 1
        (0, "/p/50"),
        (0, "/p/010"),
        (0, "/nothing"),
        (0, "/p/"),
        (1, "/missing"),
        (0, "/missing"),
        (1, "/nofollow-only"),
        (0, "/r/1"),
        (0, FROM_404_PATH),
    ],
)
def test_anything_undefined_is_404(host: int, path: str) -> None:
    assert respond(CFG, host, path, BASES)[0] == 404


def test_robots_and_redirect() -> None:
    for host in (0, 1):
        assert respond(CFG, host, "/robots.txt", BASES)[2] == ROBOTS_TXT.encode()
    status, headers, _ = respond(CFG, 1, "/r/7", BASES)
    assert status == 301
    assert dict(headers)["Location"] == "/p/7"


@pytest.mark.parametrize("page_bytes", [2000, 10_000])
def test_page_bytes_pads_to_about_that_size(page_bytes: int) -> None:
    cfg = SiteConfig(pages=20, links=5, page_bytes=page_bytes)
    sizes = [len(respond(cfg, 0, f"/p/{i}")[2]) for i in range(cfg.pages)]
    assert all(abs(size - page_bytes) < 100 for size in sizes)


def test_links_use_many_spellings_of_one_url() -> None:
    bodies = b"".join(respond(CFG, i % 2, f"/p/{i}", BASES)[2] for i in range(CFG.pages))
    for spelling in (b'href="../p/', b"#frag", b"?b=2&amp;a=1", b"/%70/", b"HTTP://", b'href="//'):
        assert spelling in bodies


def test_every_page_is_reachable_and_nothing_forbidden_is_fetched() -> None:
    urls = expected_urls(CFG, BASES)
    pages = {canonicalize(f"p/{i}", BASES[i % 2]) for i in range(CFG.pages)}
    assert pages <= urls
    assert {H0, H1, H0 + "missing", H0 + "meta-nofollow", H0 + "r/0"} <= urls
    assert H0 + "p/10?a=1&b=2" in urls
    assert len([u for u in urls if "/r/" in u]) == 6
    for forbidden in ("private/secret", "nofollow-only", FROM_404_PATH.lstrip("/")):
        assert H0 + forbidden not in urls
        assert H1 + forbidden not in urls
    assert not any("out-of-scope" in u or u.startswith("mailto:") for u in urls)
    assert len(urls) == 65


def test_expected_records_follow_spec_rules() -> None:
    records = expected_records(CFG, BASES)
    home = records[H0]
    assert (home.depth, home.status, home.title) == (0, 200, "Home 0")
    # Listed but not followed: nofollow and out-of-scope links; mailto: is no http(s) link.
    assert H0 + "nofollow-only" in home.links
    assert "http://out-of-scope.invalid/x" in home.links
    assert not any(link.startswith("mailto:") for link in home.links)
    redirect = records[H0 + "r/0"]
    assert (redirect.status, redirect.final_url, redirect.links) == (301, H0 + "p/0", ())
    assert redirect.redirects == (H0 + "r/0",)
    assert redirect.depth == records[H0 + "p/0"].depth == 1
    missing = records[H0 + "missing"]
    assert (missing.status, missing.title, missing.links) == (404, None, ())
    meta = records[H0 + "meta-nofollow"]
    assert meta.title == "Meta nofollow"
    assert meta.links == (H0 + "nofollow-only", H0)


def test_redirect_targets_are_linked_before_the_redirect() -> None:
    # So every redirect chain ends at an already seen URL, whatever the crawl order.
    for record in expected_records(CFG, BASES).values():
        if record.redirects:
            assert record.status == 301
            assert record.final_url in expected_urls(CFG, BASES, record.depth)


@pytest.mark.parametrize(
    ("max_depth", "count"), [(0, 2), (1, 7), (2, 20), (3, 53), (4, 65), (5, 65), (None, 65)]
)
def test_depth_limits(max_depth: int | None, count: int) -> None:
    urls = expected_urls(CFG, BASES, max_depth)
    assert len(urls) == count
    if max_depth == 0:
        assert urls == {H0, H1}
    records = expected_records(CFG, BASES, max_depth)
    assert all(r.depth <= (max_depth if max_depth is not None else 99) for r in records.values())


def test_depth_is_shortest_distance_and_shallower_limits_nest() -> None:
    records = expected_records(CFG, BASES)
    for depth in range(5):
        limited = expected_records(CFG, BASES, depth)
        assert limited == {u: r for u, r in records.items() if r.depth <= depth}


def test_single_host_site_and_tiny_site() -> None:
    one = SiteConfig(pages=1, links=0)
    base = make_base_urls(1, 9000)
    assert expected_urls(one, base) == {
        base[0] + p for p in ("", "p/0", "r/0", "missing", "meta-nofollow")
    }


def test_config_is_validated() -> None:
    with pytest.raises(ValueError, match="hosts"):
        SiteConfig(hosts=0)
    with pytest.raises(ValueError, match="pages"):
        SiteConfig(pages=0)
    with pytest.raises(ValueError, match="base URLs"):
        expected_urls(CFG, BASES[:1])


def test_sitemaps_are_off_by_default() -> None:
    assert respond(CFG, 0, "/robots.txt", BASES)[2] == ROBOTS_TXT.encode()
    for path in ("/sitemap_index.xml", "/sitemaps/pages.xml", "/orphan/0", "/sitemap.xml"):
        assert respond(CFG, 0, path, BASES)[0] == 404
    assert sitemap_urls(CFG, BASES) == []


def test_sitemaps_list_what_the_ground_truth_says() -> None:
    cfg = SiteConfig(pages=50, links=5, hosts=2, sitemaps=True)
    listed: list[str] = []
    for host, base in enumerate(BASES):
        status, _, robots = respond(cfg, host, "/robots.txt", BASES)
        assert f"Sitemap: {base}sitemap_index.xml" in robots.decode()
        index = parse_sitemap(respond(cfg, host, "/sitemap_index.xml", BASES)[2], 1 << 20, 2048)
        assert index.kind == "index" and len(index.urls) == 3
        for url in index.urls:
            path = url.removeprefix(base.rstrip("/"))
            status, headers, body = respond(cfg, host, path, BASES)
            content = parse_sitemap(body, 1 << 20, 2048)
            assert status == 200 and content.error_kind is None, url
            listed.extend(content.urls)
        assert respond(cfg, host, "/orphan/0", BASES)[0] == 200
    assert listed == sitemap_urls(cfg, BASES)
    assert f"{H0}p/2" not in listed and f"{H0}p/4" in listed  # linked, left out / listed
    records = expected_records(cfg, BASES)
    assert f"{H1}orphan/1" in records and records[f"{H1}orphan/1"].depth == 0
    assert f"{H0}private/secret" not in records  # listed, but robots.txt disallows it

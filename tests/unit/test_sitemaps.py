"""The rules of reading sitemaps: which ones a host has, index entries, redirects, entries."""

from __future__ import annotations

from crawler.sitemaps import (
    OTHER_HOST,
    TOO_DEEP,
    Entry,
    child_error,
    default_sitemap,
    redirect_target,
    robots_sitemaps,
)


# -- which sitemaps ------------------------------------------------------------------------
def test_robots_sitemap_lines_on_any_host_canonical_each_once() -> None:
    body = (
        b"User-agent: *\nDisallow: /x\nSitemap: http://A.test/s.xml\n"
        b"sitemap: http://other.test:8080/s.xml.gz\nSitemap: /relative.xml\n"
        b"Sitemap: http://a.test/s.xml\n"
    )
    assert robots_sitemaps(body) == ["http://a.test/s.xml", "http://other.test:8080/s.xml.gz"]


def test_robots_without_sitemap_lines() -> None:
    assert robots_sitemaps(b"User-agent: *\nDisallow:\n") == []
    assert robots_sitemaps(b"") == []


def test_default_sitemap_is_on_the_seed_host() -> None:
    assert default_sitemap("http://a.test:8000/some/page?q=1") == "http://a.test:8000/sitemap.xml"
    assert default_sitemap("https://a.test/") == "https://a.test/sitemap.xml"


def test_index_entries_must_be_on_the_index_host() -> None:
    assert child_error("http://a.test/i.xml", "http://a.test/s.xml", 2) is None
    problem = child_error("http://a.test/i.xml", "http://b.test/s.xml", 2)
    assert problem is not None and problem[0] == OTHER_HOST
    problem = child_error("http://a.test/i.xml", "http://a.test:81/s.xml", 2)
    assert problem is not None and problem[0] == OTHER_HOST


def test_index_levels_stop_at_three() -> None:
    assert child_error("http://a.test/i.xml", "http://a.test/s.xml", 3) is None
    problem = child_error("http://a.test/i.xml", "http://a.test/s.xml", 4)
    assert problem is not None and problem[0] == TOO_DEEP


def test_redirects_are_followed_on_the_sitemap_host_only() -> None:
    url = "http://a.test/sitemap.xml"
    assert redirect_target(url, "/sitemap_index.xml", [], 10) == "http://a.test/sitemap_index.xml"
    assert redirect_target(url, "http://b.test/s.xml", [], 10)[0] == "out_of_scope_redirect"
    assert redirect_target(url, "https://a.test/sitemap.xml", [], 10)[0] == "out_of_scope_redirect"
    assert redirect_target(url, "/x", ["http://a.test/x"], 10)[0] == "too_many_redirects"
    assert redirect_target(url, "/y", ["http://a.test/x"], 1)[0] == "too_many_redirects"
    assert redirect_target(url, None, [], 10)[0] == "bad_response"


def test_entry_json_is_shaped_like_a_record_error() -> None:
    assert Entry("http://a.test/s.xml", 200, 3).to_json() == {
        "url": "http://a.test/s.xml",
        "status": 200,
        "urls": 3,
        "error": None,
    }
    assert Entry("http://a.test/s.xml", None, 0, "timeout", "slow").to_json()["error"] == {
        "kind": "timeout",
        "message": "slow",
    }

"""What one sitemap file lists: XML, index, text, gzip, and hostile files."""

from __future__ import annotations

import gzip
import resource
import time

import pytest

from crawler.messages import Result
from crawler.sitemap_parse import parse_sitemap, with_sitemap
from crawler.sitemaps import BAD_SITEMAP, INDEX, MAX_SITEMAP_URLS, TEXT, TOO_LARGE, URLSET

MB = 1 << 20
NS = 'xmlns="http://www.sitemaps.org/schemas/sitemap/0.9"'


def urlset(*locs: str, ns: str = NS) -> bytes:
    body = "".join(f"<url><loc>{loc}</loc><lastmod>2026-01-01</lastmod></url>" for loc in locs)
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<urlset {ns}>{body}</urlset>'.encode()


def index(*locs: str) -> bytes:
    body = "".join(f"<sitemap><loc>{loc}</loc></sitemap>" for loc in locs)
    return f"<sitemapindex {NS}>{body}</sitemapindex>".encode()


def parse(body: bytes, max_bytes: int = 10 * MB, max_url_length: int = 2048):  # type: ignore[no-untyped-def]
    return parse_sitemap(body, max_bytes, max_url_length)


# -- what a file lists ----------------------------------------------------------------------
def test_urlset_gives_canonical_urls_each_once_in_order() -> None:
    content = parse(
        urlset(
            "http://A.test/b/../c?z=1&amp;a=2", "http://a.test/x", " http://a.test/c?a=2&amp;z=1 "
        )
    )
    assert content.kind == URLSET
    assert content.urls == ("http://a.test/c?a=2&z=1", "http://a.test/x")
    assert content.listed == 3
    assert content.error_kind is None


def test_elements_are_matched_by_local_name_whatever_the_namespace() -> None:
    for ns in ("", 'xmlns="http://www.google.com/schemas/sitemap/0.84"', 'xmlns:s="x"'):
        assert parse(urlset("http://a.test/1", ns=ns)).urls == ("http://a.test/1",)


def test_index_lists_sitemaps() -> None:
    content = parse(index("http://a.test/s1.xml", "http://a.test/s2.xml.gz"))
    assert content.kind == INDEX
    assert content.urls == ("http://a.test/s1.xml", "http://a.test/s2.xml.gz")
    assert content.listed == 2


def test_entries_that_are_no_absolute_http_url_are_listed_but_left_out() -> None:
    content = parse(
        urlset("/relative", "mailto:a@b.test", "", "ftp://a.test/x", "http://a.test/ok")
    )
    assert content.urls == ("http://a.test/ok",)
    assert content.listed == 5


def test_loc_outside_its_entry_is_no_entry() -> None:
    body = (
        f"<urlset {NS}><loc>http://a.test/stray</loc><url><loc>http://a.test/1</loc></url></urlset>"
    )
    assert parse(body.encode()).urls == ("http://a.test/1",)


def test_plain_text_sitemap() -> None:
    body = b"\xef\xbb\xbfhttp://a.test/1\r\n\n  http://a.test/2  \nnot a url\n"
    content = parse(body)
    assert content.kind == TEXT
    assert content.urls == ("http://a.test/1", "http://a.test/2")
    assert content.listed == 3
    assert content.error_kind is None


def test_text_without_any_url_is_no_sitemap() -> None:
    content = parse(b"Not found, sorry\n")
    assert content.urls == ()
    assert content.error_kind == BAD_SITEMAP


def test_empty_file_lists_nothing_and_is_no_error() -> None:
    content = parse(b"")
    assert (content.urls, content.listed, content.error_kind) == ((), 0, None)


def test_html_page_is_no_sitemap() -> None:
    content = parse(b"<!doctype html><html><body><a href='http://a.test/'>x</a></body></html>")
    assert content.urls == ()
    assert content.error_kind == BAD_SITEMAP
    content = parse(b"<html><body><a href='http://a.test/'>x</a></body></html>")
    assert (content.urls, content.error_kind) == ((), BAD_SITEMAP)
    assert "<html>" in (content.error_message or "")


def test_malformed_xml_keeps_the_urls_before_the_fault() -> None:
    body = urlset("http://a.test/1", "http://a.test/2")[:-30] + b"<url><loc>http://a.test/3</lo"
    content = parse(body)
    assert content.urls == ("http://a.test/1", "http://a.test/2")
    assert content.error_kind == BAD_SITEMAP


def test_gzip_by_magic_bytes() -> None:
    content = parse(gzip.compress(urlset("http://a.test/1")))
    assert content.urls == ("http://a.test/1",)
    assert content.error_kind is None


def test_gzip_members_one_after_another() -> None:
    body = gzip.compress(b"http://a.test/1\n") + gzip.compress(b"http://a.test/2\n")
    assert parse(body).urls == ("http://a.test/1", "http://a.test/2")


def test_broken_gzip_is_bad_sitemap() -> None:
    whole = gzip.compress(urlset(*(f"http://a.test/{i}" for i in range(100))))
    assert parse(whole[:40]).error_kind == BAD_SITEMAP
    assert parse(b"\x1f\x8b" + b"garbage" * 10).error_kind == BAD_SITEMAP


def test_gzip_bomb_stops_at_max_bytes() -> None:
    bomb = gzip.compress(b"http://a.test/x\n" + bytes(64 * MB), compresslevel=1)
    assert len(bomb) < MB
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    content = parse(bomb, max_bytes=MB)
    # ru_maxrss is in KiB, a high-water mark: the 64 MB were never decoded at once.
    assert resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before < 32 * 1024
    assert content.error_kind == TOO_LARGE
    assert content.urls == ("http://a.test/x",)


def test_billion_laughs_costs_nothing() -> None:
    lol = '<!ENTITY lol0 "lol">' + "".join(
        f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
    )
    body = f'<?xml version="1.0"?><!DOCTYPE urlset [{lol}]><urlset {NS}><url><loc>http://a.test/&lol9;</loc></url></urlset>'
    started = time.monotonic()
    content = parse(body.encode())
    assert time.monotonic() - started < 1.0
    assert content.urls == ()  # never expanded into a URL


def test_external_entities_are_not_read() -> None:
    body = (
        '<?xml version="1.0"?><!DOCTYPE urlset [<!ENTITY x SYSTEM "file:///etc/hostname">]>'
        f"<urlset {NS}><url><loc>http://a.test/&x;</loc></url><url><loc>http://a.test/2</loc></url></urlset>"
    )
    content = parse(body.encode())
    assert content.urls == ("http://a.test/2",)  # the entity's loc is no URL


def test_at_most_50000_entries() -> None:
    body = "\n".join(f"http://a.test/{i}" for i in range(MAX_SITEMAP_URLS + 10)).encode()
    content = parse(body)
    assert content.listed == MAX_SITEMAP_URLS
    assert len(content.urls) == MAX_SITEMAP_URLS
    assert content.urls[-1] == f"http://a.test/{MAX_SITEMAP_URLS - 1}"
    assert content.error_kind == TOO_LARGE


def test_xml_at_most_50000_entries() -> None:
    content = parse(urlset(*(f"http://a.test/{i}" for i in range(MAX_SITEMAP_URLS + 1))))
    assert (content.listed, len(content.urls), content.error_kind) == (
        MAX_SITEMAP_URLS,
        MAX_SITEMAP_URLS,
        TOO_LARGE,
    )


def test_urls_longer_than_max_url_length_are_dropped_and_counted() -> None:
    long = "http://a.test/" + "x" * 100
    content = parse(urlset(long, "http://a.test/1"), max_url_length=50)
    assert content.urls == ("http://a.test/1",)
    assert content.dropped == 1


# -- a fetch's result ----------------------------------------------------------------------
def _result(status: int | None, body: bytes, kind: str | None = None) -> Result:
    return Result(
        1, 0, status, "application/xml", None, None, len(body), 1.0, 0.0, kind, None, body=body
    )


def test_with_sitemap_reads_2xx_and_drops_the_body() -> None:
    done = with_sitemap(_result(200, urlset("http://a.test/1")), MB, 2048)
    assert done.body == b""
    assert done.sitemap is not None and done.sitemap.urls == ("http://a.test/1",)


def test_with_sitemap_reads_the_first_part_of_a_too_large_answer() -> None:
    done = with_sitemap(_result(200, b"http://a.test/1\nhttp://a.te", "too_large"), MB, 2048)
    assert done.sitemap is not None and done.sitemap.urls[0] == "http://a.test/1"
    assert done.error_kind == "too_large"


@pytest.mark.parametrize(("status", "kind"), [(404, None), (500, None), (None, "timeout")])
def test_with_sitemap_leaves_other_answers_unread(status: int | None, kind: str | None) -> None:
    done = with_sitemap(_result(status, b"http://a.test/1\n", kind), MB, 2048)
    assert done.sitemap is None
    assert done.body == b""

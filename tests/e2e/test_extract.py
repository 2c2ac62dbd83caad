"""--extract NAME=SELECTOR through the real CLI: records' `data`, and a bad selector."""

from __future__ import annotations

import json

from pytest_httpserver import HTTPServer

from tests.helpers.crawler_cli import Crawl

LATIN = "<html><head><title>L</title></head><body><h1>Café  naïve — “quoted”</h1></body></html>"


def serve_site(server: HTTPServer) -> None:
    """A root page with headings and links; pages without a match, in windows-1252,
    a 404 and a text file, all reached from the root."""
    server.expect_request("/robots.txt").respond_with_data("", status=404)
    server.expect_request("/").respond_with_data(
        "<html><head><title>Root</title></head><body>"
        "<h1> Hello\n   <em>world</em> </h1><h1>Second</h1>"
        '<a href="/none">none</a><a href="/latin">latin</a>'
        '<a href="/missing">missing</a><a href="/file.txt">file</a></body></html>',
        content_type="text/html; charset=utf-8",
    )
    server.expect_request("/none").respond_with_data(
        "<html><body><p>no heading, no link</p></body></html>", content_type="text/html"
    )
    server.expect_request("/latin").respond_with_data(
        LATIN.encode("cp1252"), content_type="text/html; charset=windows-1252"
    )
    server.expect_request("/missing").respond_with_data(
        '<html><body><h1>Not found</h1><a href="/">home</a></body></html>',
        status=404,
        content_type="text/html",
    )
    server.expect_request("/file.txt").respond_with_data(
        "<h1>not html</h1>", content_type="text/plain"
    )


def run(crawl, server: HTTPServer, *args: str) -> Crawl:  # type: ignore[no-untyped-def]
    return crawl("--seed", server.url_for("/"), "--procs", "2", "--threads", "2", *args)


def test_extract_text_and_attribute(crawl, httpserver: HTTPServer) -> None:
    serve_site(httpserver)
    result = run(crawl, httpserver, "--extract", "heading=h1", "--extract", "links=a@href")
    assert result.code == 0, result.stderr
    pages = {"/" + p["url"].removeprefix(httpserver.url_for("/")): p for p in result.pages}
    assert set(pages) == {"/", "/none", "/latin", "/missing", "/file.txt"}
    assert pages["/"]["data"] == {
        "heading": ["Hello world", "Second"],
        "links": ["/none", "/latin", "/missing", "/file.txt"],  # as the page wrote them
    }
    assert list(pages["/"])[-2:] == ["error", "data"]
    assert pages["/none"]["data"] == {"heading": [], "links": []}
    # Decoded by its HTTP charset, as the title is.
    assert pages["/latin"]["data"] == {"heading": ["Café naïve — “quoted”"], "links": []}
    # A 404 page and a page that is not HTML have no data at all.
    assert pages["/missing"]["status"] == 404 and "data" not in pages["/missing"]
    assert pages["/file.txt"]["status"] == 200 and "data" not in pages["/file.txt"]
    assert result.out is not None
    assert result.out["settings"]["extract"] == ["heading=h1", "links=a@href"]


def test_jsonl_carries_data(crawl, httpserver: HTTPServer) -> None:
    serve_site(httpserver)
    result = run(crawl, httpserver, "--extract", "heading=h1", "--jsonl", "out.jsonl")
    assert result.code == 0, result.stderr
    text = (result.out_path.parent / "out.jsonl").read_text(encoding="utf-8")
    records = {r["url"]: r for r in map(json.loads, text.splitlines()) if "url" in r}
    assert records[httpserver.url_for("/")]["data"] == {"heading": ["Hello world", "Second"]}
    assert "data" not in records[httpserver.url_for("/missing")]


def test_without_extract_no_record_has_data(crawl, httpserver: HTTPServer) -> None:
    serve_site(httpserver)
    result = run(crawl, httpserver)
    assert result.code == 0, result.stderr
    assert len(result.pages) == 5
    assert not any("data" in page for page in result.pages)


def test_bad_selector_is_exit_2_before_any_request(crawl, httpserver: HTTPServer) -> None:
    serve_site(httpserver)
    result = run(crawl, httpserver, "--extract", "heading=h1", "--extract", "bad=a[href")
    assert result.code == 2, result.stderr
    assert result.stderr.strip().splitlines() == [result.last_stderr_line]
    assert "extract" in result.last_stderr_line and "'a[href'" in result.last_stderr_line
    assert httpserver.log == []
    assert result.out is None

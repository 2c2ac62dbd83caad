"""The worker's per-task handling against a real loopback server."""

from __future__ import annotations

import logging

import pytest
from pytest_httpserver import HTTPServer

from crawler import worker
from crawler.fetcher import Fetcher


@pytest.fixture
def fetcher() -> Fetcher:
    f = Fetcher(user_agent="crawler-test/1", timeout_s=5, max_bytes=1_000_000)
    yield f
    f.close()


def test_html_page_becomes_a_parsed_result(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    httpserver.expect_request("/").respond_with_data(
        '<title> Hi </title><a href="/a?b=2&a=1#x">a</a>', content_type="text/html"
    )
    result = worker.handle(fetcher, (7, httpserver.url_for("/"), False, False), 3, 2048)
    assert result["id"] == 7 and result["worker"] == 3
    assert result["status"] == 200 and result["title"] == "Hi"
    assert result["links"] == [httpserver.url_for("/a?a=1&b=2")]


def test_robots_result_carries_the_body(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nDisallow: /x\n")
    result = worker.handle(fetcher, (1, httpserver.url_for("/robots.txt"), False, True), 0, 2048)
    assert result["body"] == b"User-agent: *\nDisallow: /x\n" and result["links"] == []


def test_a_surprise_in_a_thread_is_an_internal_record(
    httpserver: HTTPServer,
    fetcher: Fetcher,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken_parser(*args: object, **kwargs: object) -> None:
        raise UnicodeError("a parser bug")

    monkeypatch.setattr(worker, "parse_page", broken_parser)
    httpserver.expect_request("/").respond_with_data("<title>x</title>", content_type="text/html")
    with caplog.at_level(logging.ERROR):
        result = worker.handle(fetcher, (2, httpserver.url_for("/"), False, False), 1, 2048)
    assert result["error_kind"] == "internal"
    assert result["error_message"] == "UnicodeError: a parser bug"
    assert "Traceback" in caplog.text and "a parser bug" in caplog.text
    # the same fetcher (thread) goes on with the next task
    monkeypatch.undo()
    again = worker.handle(fetcher, (3, httpserver.url_for("/"), False, False), 1, 2048)
    assert again["title"] == "x" and again["error_kind"] is None

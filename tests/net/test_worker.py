"""The worker's per-task handling against a real loopback server."""

from __future__ import annotations

import logging
import multiprocessing
from typing import Any

import pytest
from pytest_httpserver import HTTPServer

from crawler import worker
from crawler.fetcher import Fetcher
from crawler.settings import Settings


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


def _run_worker(settings: Settings, messages: list[worker.TaskMessage], expect: int) -> list[Any]:
    """A real worker process on real pipes: send tasks, read `expect` messages back."""
    ctx = multiprocessing.get_context("spawn")
    task_r, task_w = ctx.Pipe(duplex=False)
    result_r, result_w = ctx.Pipe(duplex=False)
    process = ctx.Process(target=worker.worker_main, args=(0, settings, task_r, result_w))
    process.start()
    task_r.close()
    result_w.close()
    try:
        for message in messages:
            task_w.send(message)
        received = []
        for _ in range(expect):
            assert result_r.poll(20), f"only {received} arrived"
            received.append(result_r.recv())
        task_w.send(None)
        process.join(10)
        assert process.exitcode == 0
        return received
    finally:
        if process.is_alive():
            process.kill()
            process.join()


def test_worker_says_a_request_is_over_before_parsing(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data(
        '<title>Hi</title><a href="/a">a</a>', content_type="text/html"
    )
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\n")
    httpserver.expect_request("/gone").respond_with_data("no", status=404)
    settings = Settings(threads=1, log_level="WARNING")
    page, robots, gone = (httpserver.url_for(p) for p in ("/", "/robots.txt", "/gone"))
    received = _run_worker(
        settings, [(1, page, False, False), (2, robots, False, True), (3, gone, False, False)], 4
    )
    # An HTML page: the bare id (its host slot and fetch thread are free) before the
    # parsed result; a robots.txt or a 404 is not parsed, so its result is all it sends.
    assert received.index(1) < next(
        i for i, m in enumerate(received) if isinstance(m, dict) and m["id"] == 1
    )
    results = {m["id"]: m for m in received if isinstance(m, dict)}
    assert [m for m in received if isinstance(m, int)] == [1]
    assert results[1]["title"] == "Hi" and results[1]["links"] == [httpserver.url_for("/a")]
    assert results[2]["body"] == b"User-agent: *\n"
    assert results[3]["status"] == 404

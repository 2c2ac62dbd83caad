"""The worker against a real loopback server: per-task handling, and a real worker process."""

from __future__ import annotations

import dataclasses
import logging
import multiprocessing
import threading
import time
from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from crawler import worker
from crawler.extract import parse_extractors
from crawler.fetcher import Fetcher
from crawler.messages import FENCED, Result, TaskMessage
from crawler.settings import default_settings


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    f = Fetcher(user_agent="crawler-test/1", timeout_s=5, max_bytes=1_000_000)
    yield f
    f.close()


def test_html_page_becomes_a_parsed_result(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    httpserver.expect_request("/").respond_with_data(
        '<title> Hi </title><a href="/a?b=2&a=1#x">a</a>', content_type="text/html"
    )
    result = worker.handle(fetcher, TaskMessage(7, httpserver.url_for("/"), False, False), 3, 2048)
    assert isinstance(result, Result)
    assert result.task_id == 7 and result.worker == 3
    assert result.status == 200 and result.title == "Hi"
    assert list(result.links) == [httpserver.url_for("/a?a=1&b=2")]


def test_extractors_add_data_to_html_results_only(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    httpserver.expect_request("/").respond_with_data(
        '<title>Hi</title><h1>One</h1><a href="/a">a</a>', content_type="text/html"
    )
    httpserver.expect_request("/gone").respond_with_data("<h1>x</h1>", status=404)
    extractors = parse_extractors(["h=h1", "l=a@href"])
    page = worker.handle(
        fetcher, TaskMessage(1, httpserver.url_for("/"), False, False), 0, 2048, extractors
    )
    assert page.data == {"h": ["One"], "l": ["/a"]} and page.title == "Hi"
    assert list(page.links) == [httpserver.url_for("/a")]
    gone = worker.handle(
        fetcher, TaskMessage(2, httpserver.url_for("/gone"), False, False), 0, 2048, extractors
    )
    assert gone.status == 404 and gone.data is None
    plain = worker.handle(fetcher, TaskMessage(3, httpserver.url_for("/"), False, False), 0, 2048)
    assert plain.data is None


def test_robots_result_carries_the_body(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nDisallow: /x\n")
    message = TaskMessage(1, httpserver.url_for("/robots.txt"), False, True)
    result = worker.handle(fetcher, message, 0, 2048)
    assert result.body == b"User-agent: *\nDisallow: /x\n" and list(result.links) == []


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
        result = worker.handle(
            fetcher, TaskMessage(2, httpserver.url_for("/"), False, False), 1, 2048
        )
    assert result.error_kind == "internal" and result.task_id == 2 and result.worker == 1
    assert result.error_message == "UnicodeError: a parser bug"
    assert "Traceback" in caplog.text and "a parser bug" in caplog.text
    # the same fetcher (thread) goes on with the next task
    monkeypatch.undo()
    again = worker.handle(fetcher, TaskMessage(3, httpserver.url_for("/"), False, False), 1, 2048)
    assert again.title == "x" and again.error_kind is None


# -- a worker process: successors ----------------------------------------------------


def _run_worker(
    tasks: list[TaskMessage],
    *,
    wait_between: bool,
    threads: int = 1,
    arrived: dict[int, float] | None = None,
) -> list[Result]:
    """Run a real worker process; send the tasks; collect the results."""
    ctx = multiprocessing.get_context("forkserver")
    task_r, task_w = ctx.Pipe(duplex=False)
    result_r, result_w = ctx.Pipe(duplex=False)
    settings = dataclasses.replace(default_settings(), threads=threads, log_level="WARNING")
    process = ctx.Process(target=worker.worker_main, args=(0, settings, task_r, result_w))
    process.start()
    task_r.close()
    result_w.close()
    results: list[Result] = []

    def receive() -> None:
        assert result_r.poll(10), "a task got no result"
        results.append(result_r.recv())
        if arrived is not None:
            arrived[results[-1].task_id] = time.monotonic()

    try:
        for message in tasks:
            task_w.send(message)
            if wait_between:
                receive()
        while len(results) < len(tasks):
            receive()
    finally:
        task_w.send(None)
        process.join(10)
        if process.is_alive():
            process.kill()
    return results


@pytest.fixture
def threaded_server() -> Iterator[HTTPServer]:
    """A server that answers requests concurrently (one may wait for another)."""
    server = HTTPServer(host="127.0.0.1", threaded=True)
    server.start()
    yield server
    server.clear()
    server.stop()


def test_a_successor_starts_as_its_predecessors_request_ends(
    threaded_server: HTTPServer,
) -> None:
    # Two threads. /a holds one until /marker is requested; /marker is sent after /b, so
    # by then the worker has read /b (its messages are read in order). /b follows /a:
    # it waits for /a's thread, although the other thread is free after /c and /marker.
    # Had it gone to the shared inbox, that thread would have fetched it before /marker.
    released = threading.Event()

    def slow(request: Request) -> Response:
        released.wait(10)
        return Response("<title>slow</title>", content_type="text/html")

    def marker(request: Request) -> Response:
        released.set()
        return Response("<title>marker</title>", content_type="text/html")

    threaded_server.expect_request("/a").respond_with_handler(slow)
    threaded_server.expect_request("/marker").respond_with_handler(marker)
    for path in ("/b", "/c"):
        threaded_server.expect_request(path).respond_with_data("<title>x</title>")
    url = threaded_server.url_for
    results = _run_worker(
        [
            TaskMessage(1, url("/a"), False, False),
            TaskMessage(2, url("/c"), False, False),
            TaskMessage(3, url("/b"), False, False, after=1),
            TaskMessage(4, url("/marker"), False, False),
        ],
        wait_between=False,
        threads=2,
    )
    paths = [request.path for request, _ in threaded_server.log]
    assert paths.index("/marker") < paths.index("/b")
    assert sorted(r.task_id for r in results) == [1, 2, 3, 4]
    assert all(r.status == 200 for r in results)
    # /a was parsed by the parse thread while its fetch thread went on with /b.
    assert [r.title for r in results if r.task_id == 1] == ["slow"]


def test_a_parse_thread_parses_while_the_successor_is_fetched(httpserver: HTTPServer) -> None:
    # A page slow to parse (tens of thousands of links): its successor's request must
    # reach the server before the page's parsed result is back.
    links = "".join(f'<a href="/l/{n}">{n}</a>' for n in range(40_000))
    httpserver.expect_request("/big").respond_with_data(
        f"<title>big</title>{links}", content_type="text/html"
    )
    started: list[float] = []

    def next_page(request: Request) -> Response:
        started.append(time.monotonic())
        return Response("<title>next</title>", content_type="text/html")

    httpserver.expect_request("/next").respond_with_handler(next_page)
    url = httpserver.url_for
    arrived: dict[int, float] = {}
    results = _run_worker(
        [TaskMessage(1, url("/big"), False, False), TaskMessage(2, url("/next"), False, False, 1)],
        wait_between=False,
        arrived=arrived,
    )
    assert {r.task_id: r.title for r in results} == {1: "big", 2: "next"}
    assert len(next(r for r in results if r.task_id == 1).links) == 40_000
    assert started and started[0] < arrived[1]


def test_fetch_threads_parse_their_own_pages_when_the_parse_thread_is_behind(
    httpserver: HTTPServer,
) -> None:
    # A chain of pages slow to parse and quick to fetch: unbounded, every request would
    # start before any page is parsed; with at most parse_backlog(1) pages waiting, the
    # fetch thread parses one itself (and sends its result) before the last request.
    links = "".join(f'<a href="/l/{n}">{n}</a>' for n in range(20_000))
    started: dict[str, float] = {}

    def big_page(request: Request) -> Response:
        started[request.path] = time.monotonic()
        return Response(f"<title>{request.path}</title>{links}", content_type="text/html")

    count = worker.parse_backlog(1) + 4
    paths = [f"/big/{n}" for n in range(1, count + 1)]
    for path in paths:
        httpserver.expect_request(path).respond_with_handler(big_page)
    arrived: dict[int, float] = {}
    chain = [
        TaskMessage(n, httpserver.url_for(path), False, False, n - 1)
        for n, path in enumerate(paths, 1)
    ]
    results = _run_worker(chain, wait_between=False, arrived=arrived)
    assert sorted((r.task_id, r.title, len(r.links)) for r in results) == [
        (n, path, 20_000) for n, path in enumerate(paths, 1)
    ]
    assert started[paths[-1]] > min(arrived.values())


def test_a_successor_sent_after_its_predecessor_ended_still_runs(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/a").respond_with_data("<title>a</title>")
    httpserver.expect_request("/b").respond_with_data("<title>b</title>")
    url = httpserver.url_for
    results = _run_worker(
        [TaskMessage(1, url("/a"), False, False), TaskMessage(2, url("/b"), False, False, 1)],
        wait_between=True,
    )
    assert [r.task_id for r in results] == [1, 2]
    assert [request.path for request, _ in httpserver.log] == ["/a", "/b"]


def test_parse_backlog_is_half_the_fetch_threads_and_at_least_one() -> None:
    assert [worker.parse_backlog(n) for n in (1, 2, 3, 8, 32)] == [1, 1, 1, 4, 16]


def test_successors_bookkeeping() -> None:
    s = worker.Successors()
    first, second, third = (TaskMessage(n, f"u{n}", False, False, n - 1) for n in (1, 2, 3))
    assert not s.received(first)
    assert s.received(second)  # 1's request is not over: 2 waits for it
    assert s.received(third)  # 2 has not even started: 3 waits too
    assert s.request_over(1) == second
    assert s.request_over(2) == third
    assert s.request_over(3) is None
    assert not s.received(TaskMessage(4, "u4", False, False, 3))  # 3 is over: to the inbox


def test_a_task_past_its_deadline_is_fenced_and_never_requested(
    httpserver: HTTPServer, fetcher: Fetcher
) -> None:
    httpserver.expect_request("/page").respond_with_data(
        "<title>T</title>", content_type="text/html"
    )
    url = httpserver.url_for("/page")
    past = TaskMessage(1, url, False, False, deadline=time.monotonic() - 0.001)
    result, page = worker.fetch_step(fetcher, past, 0)
    assert (result.error_kind, result.status, page) == (FENCED, None, None)
    assert httpserver.log == []  # the lease may be another machine's now: nothing sent
    ahead = TaskMessage(2, url, False, False, deadline=time.monotonic() + 60)
    result, _ = worker.fetch_step(fetcher, ahead, 0)
    assert result.status == 200 and len(httpserver.log) == 1

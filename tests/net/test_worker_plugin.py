"""A worker with --plugin against a real loopback server: the page's Result goes to the
coordinator before the plugin is called, its outcome after; a redirect hop's page knows
its record's URL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pytest_httpserver import HTTPServer

from crawler import worker
from crawler.extract import parse_extractors
from crawler.fetcher import Fetcher
from crawler.messages import PluginOutcome, Result, TaskMessage
from crawler.plugin import Page


@pytest.fixture
def fetcher() -> Iterator[Fetcher]:
    f = Fetcher(user_agent="crawler-test/1", timeout_s=5, max_bytes=1_000_000)
    yield f
    f.close()


def run_page(
    fetcher: Fetcher, message: TaskMessage, parsing: worker.Parsing
) -> list[Result | PluginOutcome]:
    sent: list[Result | PluginOutcome] = []
    result, page = worker.fetch_step(fetcher, message, 0)
    if page is None:
        sent.append(result)
    else:
        worker.finish_page(page, result, parsing, sent.append)
    return sent


def test_result_first_then_the_outcome(httpserver: HTTPServer, fetcher: Fetcher) -> None:
    calls: list[Page] = []

    def plugin(page: Page) -> object:
        calls.append(page)
        return {"h": "plugin", "follow": ["b", "a"]}

    parsing = worker.Parsing(2048, parse_extractors(["h=h1", "t=title"]), plugin)
    message = TaskMessage(5, httpserver.url_for("/hop"), False, False, origin="http://e.com/r")
    httpserver.expect_request("/hop").respond_with_data(
        '<title>Hi</title><base href="/dir/"><h1>One</h1><a href="a">a</a>',
        content_type="text/html",
        headers={"X-Thing": "v"},
    )
    sent = run_page(fetcher, message, parsing)
    first, second = sent
    assert isinstance(first, Result) and first.plugin_pending
    assert first.title == "Hi" and list(first.links) == [httpserver.url_for("/dir/a")]
    assert first.data == {"h": ["One"], "t": ["Hi"]}  # what a timeout leaves
    assert second == PluginOutcome(
        5,
        {"h": "plugin", "t": ["Hi"]},
        # Resolved against the page's base URL, as its links.
        [httpserver.url_for("/dir/b"), httpserver.url_for("/dir/a")],
        None,
        0,
    )
    (page,) = calls
    assert page.url == "http://e.com/r" and page.final_url == httpserver.url_for("/hop")
    assert page.status == 200 and page.headers["x-thing"] == "v"
    assert page.headers["content-type"].startswith("text/html")


def test_no_plugin_call_for_a_page_that_is_not_2xx_html(
    httpserver: HTTPServer, fetcher: Fetcher
) -> None:
    httpserver.expect_request("/gone").respond_with_data("<h1>x</h1>", status=404)
    httpserver.expect_request("/t").respond_with_data("<h1>x</h1>", content_type="text/plain")
    calls: list[Page] = []
    parsing = worker.Parsing(2048, (), calls.append)
    for n, path in enumerate(("/gone", "/t")):
        (only,) = run_page(fetcher, TaskMessage(n, httpserver.url_for(path), False, False), parsing)
        assert isinstance(only, Result) and not only.plugin_pending and only.data is None
    assert calls == []


def test_without_extractors_a_plugin_page_has_empty_data(
    httpserver: HTTPServer, fetcher: Fetcher
) -> None:
    httpserver.expect_request("/").respond_with_data("<p>x</p>", content_type="text/html")
    parsing = worker.Parsing(2048, (), lambda page: None)
    first, second = run_page(
        fetcher, TaskMessage(1, httpserver.url_for("/"), False, False), parsing
    )
    assert isinstance(first, Result) and first.data == {}
    assert isinstance(second, PluginOutcome) and second.data == {} and second.error is None


def test_a_plugin_that_cannot_be_imported_in_the_worker_names_it_on_every_call() -> None:
    broken = worker._plugin("no_such_module_here:f")
    assert broken is not None
    page = Page("http://e.com/", "http://e.com/", 200, {}, "<p>")
    with pytest.raises(Exception, match="cannot import 'no_such_module_here'"):
        broken(page)

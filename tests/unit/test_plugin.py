"""--plugin's pure parts: the MODULE:FUNCTION spec, what a return value makes of a record,
the `page` object (its soup built only when asked for), loading and calling."""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from crawler.errors import UsageError
from crawler.messages import Result
from crawler.plugin import Page, PluginLoadError, call_plugin, load_plugin
from crawler.plugin_rules import (
    MAX_ERROR_CHARS,
    BadPluginSpec,
    apply_return,
    error_text,
    merge_data,
    parse_spec,
    resolve_follow,
    with_follow,
)
from crawler.records import Stats, build_record, not_attempted
from crawler.settings import load_settings

BASE = "http://example.com/dir/page"
EXTRACTED = {"heading": ["One"], "price": ["3"]}


# --- the spec ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "parts"),
    [
        ("myplugin:extract", ("myplugin", "extract")),
        ("pkg.sub_mod:Cls.method", ("pkg.sub_mod", "Cls.method")),
        (" plug:f ", ("plug", "f")),
    ],
)
def test_spec_parses(spec: str, parts: tuple[str, str]) -> None:
    assert parse_spec(spec) == parts


@pytest.mark.parametrize(
    "spec", ["myplugin", "myplugin:", ":f", "my-plugin:f", "a:b:c", "1mod:f", "mod:f()", ""]
)
def test_bad_spec_names_the_expected_form(spec: str) -> None:
    with pytest.raises(BadPluginSpec, match="MODULE:FUNCTION"):
        parse_spec(spec)


# --- the return value -------------------------------------------------------------------


def test_none_keeps_the_extracted_data() -> None:
    applied = apply_return(None, EXTRACTED, BASE, 2048)
    assert applied.data == EXTRACTED and applied.data is not EXTRACTED
    assert applied.follow == [] and applied.error is None and applied.dropped == 0


def test_a_dict_is_merged_and_its_keys_win_in_place() -> None:
    applied = apply_return({"price": 3.5, "new": {"a": [1, None, True]}}, EXTRACTED, BASE, 2048)
    assert applied.data == {"heading": ["One"], "price": 3.5, "new": {"a": [1, None, True]}}
    assert list(applied.data) == ["heading", "price", "new"]
    assert applied.error is None


def test_merge_without_extractors() -> None:
    assert merge_data({}, {"a": 1}) == {"a": 1}
    assert merge_data({"a": [], "b": []}, {"a": "x"}) == {"a": "x", "b": []}


def test_values_cross_as_plain_json() -> None:
    class Text(str):  # as a bs4 NavigableString is: a str that holds its whole tree
        tree = object()

    applied = apply_return({"t": Text("hi"), "pair": (1, 2)}, {}, BASE, 2048)
    assert applied.data == {"t": "hi", "pair": [1, 2]}
    assert type(applied.data["t"]) is str


def test_follow_is_taken_out_resolved_and_canonical() -> None:
    returned = {
        "n": 1,
        "follow": [
            "other?b=2&a=1#frag",
            "/top",
            "HTTP://Example.com:80/top",  # the same as /top, once
            "mailto:x@example.invalid",  # not http(s): skipped, like an href
            "http://[bad",  # does not parse: skipped
            "https://elsewhere.example/x",
        ],
    }
    applied = apply_return(returned, {}, BASE, 2048)
    assert applied.data == {"n": 1}
    assert applied.follow == [
        "http://example.com/dir/other?a=1&b=2",
        "http://example.com/top",
        "https://elsewhere.example/x",
    ]
    assert applied.error is None


def test_follow_longer_than_the_limit_is_dropped_and_counted() -> None:
    long_url = "/" + "a" * 100
    urls, dropped = resolve_follow([long_url, "/short", long_url], BASE, 50)
    assert urls == ["http://example.com/short"] and dropped == 2


def test_follow_alone_adds_no_data() -> None:
    applied = apply_return({"follow": ["/x"]}, EXTRACTED, BASE, 2048)
    assert applied.data == EXTRACTED and applied.follow == ["http://example.com/x"]


@pytest.mark.parametrize(
    ("returned", "error"),
    [
        (["a"], "TypeError: the plugin returned list, not a dict or None"),
        ("text", "TypeError: the plugin returned str, not a dict or None"),
        ({1: "x"}, "TypeError: key 1 of the returned dict is not a string"),
        ({"follow": "/x"}, "TypeError: 'follow' must be a list of URL strings, not str"),
        (
            {"follow": ["/x", 3]},
            "TypeError: 'follow' must be a list of URL strings, not a list holding a non-string",
        ),
        ({"ids": {1, 2}}, "TypeError: Object of type set is not JSON serializable"),
        ({"x": math.nan}, "ValueError: Out of range float values are not JSON compliant"),
        ({"o": object()}, "TypeError: Object of type object is not JSON serializable"),
    ],
)
def test_a_bad_return_is_an_error_and_adds_nothing(returned: object, error: str) -> None:
    applied = apply_return(returned, EXTRACTED, BASE, 2048)
    assert applied.error is not None and applied.error.startswith(error), applied.error
    assert applied.data == EXTRACTED and applied.follow == []


def test_error_text_is_one_short_line() -> None:
    assert error_text("ValueError", "a\n  b") == "ValueError: a b"
    long = error_text("E", "x" * 5000)
    assert len(long) == MAX_ERROR_CHARS and long.endswith("...")


# --- links the crawl follows ------------------------------------------------------------


def test_with_follow_adds_new_urls_after_the_links() -> None:
    links, nofollow = with_follow(["a", "b", "c"], ["b", "c"], ["c", "d", "a"])
    assert links == ["a", "b", "c", "d"]
    # The plugin asked for c: it is followed although the page said nofollow.
    assert nofollow == ["b"]


def test_with_follow_on_a_page_without_links() -> None:
    assert with_follow([], [], ["x"]) == (["x"], [])


# --- the page object --------------------------------------------------------------------


def make_page(text: str = "<html><head><title>T</title></head><body><p class='a b'>x</p>") -> Page:
    headers = {"Content-Type": "text/html", "X-Custom": "1"}
    return Page("http://e.com/r", "http://e.com/f", 200, headers, text)


def test_page_fields() -> None:
    page = make_page()
    assert (page.url, page.final_url, page.status) == ("http://e.com/r", "http://e.com/f", 200)
    assert page.headers == {"content-type": "text/html", "x-custom": "1"}
    assert page.text.startswith("<html>")


def test_soup_is_built_only_when_asked_for() -> None:
    page = make_page()
    assert call_plugin(lambda p: {"n": len(p.text)}, page, {}, BASE, 2048).error is None
    assert not page.soup_built
    soup = page.soup
    assert page.soup_built and page.soup is soup  # built once
    assert soup.title is not None and soup.title.get_text() == "T"
    paragraph = soup.find("p")
    assert paragraph is not None
    assert paragraph["class"] == ["a", "b"]  # bs4's own defaults: the whole document


def test_soup_of_an_xhtml_document() -> None:
    page = make_page('<?xml version="1.0"?><html><body><h1>X</h1></body></html>')
    assert page.soup.h1 is not None and page.soup.h1.get_text() == "X"


# --- calling ----------------------------------------------------------------------------


def test_an_exception_becomes_the_error() -> None:
    def boom(page: Page) -> object:
        raise KeyError("price")

    applied = call_plugin(boom, make_page(), EXTRACTED, BASE, 2048)
    assert applied.error == "KeyError: 'price'" and applied.data == EXTRACTED


def test_sys_exit_in_a_plugin_is_an_error_not_an_exit() -> None:
    applied = call_plugin(lambda p: sys.exit(3), make_page(), {}, BASE, 2048)
    assert applied.error == "SystemExit: 3"


# --- loading ----------------------------------------------------------------------------


@pytest.fixture
def plugin_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory for plugin modules; sys.path and sys.modules restored after."""
    saved_path, saved_modules = list(sys.path), set(sys.modules)
    yield tmp_path
    sys.path[:] = saved_path
    for name in set(sys.modules) - saved_modules:
        del sys.modules[name]


def test_load_from_the_given_directory(plugin_dir: Path) -> None:
    (plugin_dir / "plug_here.py").write_text(
        "class Holder:\n    @staticmethod\n    def run(page):\n        return {'ok': 1}\n"
        "def extract(page):\n    return None\n"
    )
    assert load_plugin("plug_here:extract", str(plugin_dir))(make_page()) is None
    assert load_plugin("plug_here:Holder.run", str(plugin_dir))(make_page()) == {"ok": 1}
    assert sys.path[0] == str(plugin_dir)


@pytest.mark.parametrize(
    ("source", "spec", "message"),
    [
        (None, "plug_absent:f", "cannot import 'plug_absent'"),
        ("x = (", "plug_syntax:f", "SyntaxError"),
        ("raise SystemExit(2)", "plug_exits:f", "SystemExit: 2"),
        ("def g(page): pass", "plug_nofunc:f", "'plug_nofunc' has no 'f'"),
        ("f = 3", "plug_notcallable:f", "is a int, not a function"),
        (None, "nocolon", "MODULE:FUNCTION"),
    ],
)
def test_load_errors_are_one_line(
    plugin_dir: Path, source: str | None, spec: str, message: str
) -> None:
    if source is not None:
        (plugin_dir / f"{spec.partition(':')[0]}.py").write_text(source)
    with pytest.raises(PluginLoadError) as info:
        load_plugin(spec, str(plugin_dir))
    assert message in str(info.value) and "\n" not in str(info.value)


# --- records and stats ------------------------------------------------------------------


def record_of(result: Result) -> dict[str, object]:
    url = "http://e.com/"
    return build_record(
        url=url, final_url=url, redirects=[], depth=0, referrer=None, attempt=result, retries=0
    )


def test_a_record_has_plugin_error_after_data_and_stats_count_it() -> None:
    ok = not_attempted(0.0)._replace(status=200, data={"a": 1})
    failed = ok._replace(plugin_error="ValueError: x")
    record = record_of(failed)
    assert list(record)[-3:] == ["error", "data", "plugin_error"]
    assert "plugin_error" not in record_of(ok)
    # A record with an error of its own was not parsed: no data, no plugin_error.
    assert "plugin_error" not in record_of(failed._replace(error_kind="internal"))
    stats = Stats()
    for result in (ok, failed, failed):
        stats.add(record_of(result))
    assert stats.plugin_errors == 2 and stats.to_json(1.0)["plugin_errors"] == 2
    assert stats.ok == 3  # a plugin error is not a failed page


# --- settings ---------------------------------------------------------------------------


def test_settings_check_the_spec_and_the_timeout() -> None:
    seed = {"seed": ["http://e.com/"]}
    settings = load_settings({**seed, "plugin": "mod:f", "plugin_timeout": 2})
    assert settings.plugin == "mod:f" and settings.plugin_timeout == 2.0
    assert load_settings(seed).plugin is None and load_settings(seed).plugin_timeout == 30.0
    with pytest.raises(UsageError, match="plugin.*MODULE:FUNCTION"):
        load_settings({**seed, "plugin": "mod"})
    for bad in (0, -1, "2"):
        with pytest.raises(UsageError, match="plugin-timeout"):
            load_settings({**seed, "plugin_timeout": bad})


def test_the_first_failure_is_logged_with_its_traceback(caplog: pytest.LogCaptureFixture) -> None:
    import crawler.plugin

    def boom(page: Page) -> object:
        raise ValueError("first")

    crawler.plugin._first_error.clear()  # once per process: start as a new worker does
    with caplog.at_level(logging.DEBUG, logger="crawler.plugin"):
        call_plugin(boom, make_page(), {}, BASE, 2048)
        call_plugin(boom, make_page(), {}, BASE, 2048)
    first, second = caplog.records
    assert first.levelno == logging.WARNING and "Traceback" in first.getMessage()
    assert "ValueError: first" in first.getMessage() and "http://e.com/f" in first.getMessage()
    assert second.levelno == logging.DEBUG

"""The command line without a crawl: parsing, the help's defaults, the summary line."""

from __future__ import annotations

import dataclasses
import itertools
import re
from typing import Any

import pytest

from crawler.cli import build_parser, parse_command_line, summary_line
from crawler.errors import UsageError
from crawler.settings import Settings, load_settings


def test_urls_join_the_seed_options_wherever_they_stand() -> None:
    given = parse_command_line(
        ["http://a.test/", "-o", "x.json", "--seed", "http://b.test/", "http://c.test/"]
    )
    assert given == {
        "out": "x.json",
        "seed": ["http://b.test/", "http://a.test/", "http://c.test/"],
    }


def test_only_typed_options_are_given() -> None:
    assert parse_command_line(["--seeds", "s.txt"]) == {"seeds": "s.txt"}


def test_extension_lists_are_lower_case_without_dots_or_empties() -> None:
    given = parse_command_line(["--accept-ext", "gz,tar.gz, .ZIP,", "--accept-ext", "HTML"])
    assert given["accept_ext"] == ["gz", "tar.gz", "zip", "html"]
    settings = load_settings({**given, "seed": ["http://a.test/"]})
    assert settings.accept_ext == ("gz", "tar.gz", "zip", "html")


@pytest.mark.parametrize("value", ["", ",", " . , "])
def test_an_extension_list_without_extensions_is_a_usage_error(value: str) -> None:
    with pytest.raises(UsageError, match="--reject-ext"):
        parse_command_line(["--reject-ext", value])


def help_entry(text: str, option: str) -> str:
    """The help of `option`: its line and the indented lines that continue it."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if re.match(rf"^  (-\w \S+, )?{re.escape(option)}(?=[ ,]|$)", line):
            entry = [line]
            entry += itertools.takewhile(lambda more: more.startswith(" " * 10), lines[i + 1 :])
            return " ".join(" ".join(entry).split())
    raise AssertionError(f"{option} is not in the help")


def test_the_help_shows_a_default_for_every_setting() -> None:
    text = build_parser().format_help()
    for field in dataclasses.fields(Settings):
        if field.name not in ("seeds", "seed"):
            entry = help_entry(text, "--" + field.name.replace("_", "-"))
            assert "(default: " in entry, entry
    assert help_entry(text, "--threads").endswith(f"(default: {Settings().threads})")
    assert help_entry(text, "--out").endswith(f"(default: {Settings().out})")


def stats(**overrides: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "pages": 1,
        "ok": 1,
        "failed": 0,
        "elapsed_s": 0.31,
        "pages_per_s": 3.2,
        "by_status": {"200": 1},
        "by_error": {},
    }
    return {**base, **overrides}


def test_summary_of_one_page() -> None:
    assert (
        summary_line(stats(), "out.json", complete=True)
        == "crawler: done: 1 page (1 ok, 0 failed) in 0.3 s, 3.2 pages/s -> out.json"
    )


def test_summary_says_why_pages_failed_adding_up_to_failed() -> None:
    line = summary_line(
        stats(
            pages=9,
            ok=3,
            failed=6,
            by_status={"200": 3, "404": 1, "410": 1, "503": 1},
            by_error={"timeout": 1, "connect": 2},
        ),
        "o.json",
        complete=False,
    )
    assert line.startswith(
        "crawler: INCOMPLETE: 9 pages "
        "(3 ok, 6 failed: 2 HTTP 4xx, 1 HTTP 5xx, 2 connect, 1 timeout)"
    )
    assert "errors" not in line


def test_summary_when_an_error_record_also_has_a_failing_status() -> None:
    # too_large keeps the status answered: a 404 with a huge body is in both counters.
    line = summary_line(
        stats(
            pages=3,
            ok=0,
            failed=3,
            by_status={"404": 2, "500": 1},
            by_error={"too_large": 1},
        ),
        "o.json",
        complete=True,
    )
    assert "(0 ok, 3 failed: 2 HTTP >= 400, 1 too_large)" in line


def test_summary_when_no_output_was_written() -> None:
    assert summary_line(stats(pages=0, ok=0, by_status={}), None, complete=True).endswith(
        "0 pages (0 ok, 0 failed) in 0.3 s, 3.2 pages/s -> no output written"
    )

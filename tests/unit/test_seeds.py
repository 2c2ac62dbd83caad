from __future__ import annotations

import io
import sys
from pathlib import Path

import pytest

from crawler.seeds import parse_seeds, read_seed_lines, shown


def test_good_bad_blank_and_comment_lines() -> None:
    lines = [
        "# my seeds",
        "http://Example.com/a#x",
        "",
        "htp:/x",
        "example.org",
        "http://example.com/a",  # same page as line 2
        "  https://b.test/  ",
        "\x00\xff garbage",
    ]
    seeds, rejected = parse_seeds(lines)
    assert seeds == ["http://example.com/a", "https://b.test/"]
    assert [(r["line"], r["text"]) for r in rejected] == [
        (4, "htp:/x"),
        (5, "example.org"),
        (8, "\x00\xff garbage"),
    ]
    assert rejected[0]["reason"] == "unsupported scheme"
    assert "missing http://" in rejected[1]["reason"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("htp:/x", "'htp:/x'"),
        ("\x1b[31mred\x07", "'\\x1b[31mred\\x07'"),  # no control character reaches a terminal
        ("\u202etxt.exe", "'\\u202etxt.exe'"),  # nor a bidi override
        ("it's a \\", "'it\\'s a \\\\'"),
        ("\ufffdé", "'\ufffdé'"),  # printable: as it is
        ("a" * 61, "'" + "a" * 60 + "'..."),
        ("a" * 60, "'" + "a" * 60 + "'"),
        ("\x00" * 20, "'" + "\\x00" * 15 + "'..."),  # cut by shown width, never in an escape
    ],
)
def test_shown_escapes_and_cuts(text: str, expected: str) -> None:
    assert shown(text) == expected


def test_lines_end_at_newlines_only_and_bytes_never_fail(tmp_path: Path) -> None:
    path = tmp_path / "seeds.txt"
    path.write_bytes(b"http://a.test/\r\n\x0c\x1c junk \xff\x85\nhttp://b.test/\n")
    lines = read_seed_lines(str(path))
    assert lines == ["http://a.test/\r", "\x0c\x1c junk \ufffd\ufffd", "http://b.test/"]
    seeds, rejected = parse_seeds(lines)
    assert seeds == ["http://a.test/", "http://b.test/"] and rejected[0]["line"] == 2


def test_binary_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    stdin = io.TextIOWrapper(io.BytesIO(b"\xfe\xff\nhttp://a.test/"), encoding="ascii")
    monkeypatch.setattr(sys, "stdin", stdin)
    assert read_seed_lines("-") == ["\ufffd\ufffd", "http://a.test/"]

from __future__ import annotations

from crawler.seeds import parse_seeds


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

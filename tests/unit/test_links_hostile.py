"""crawler.links on hostile bodies: deep nesting, huge pages, junk, broken markup.

None of these may raise: a page that breaks the parser would become an `internal`
record and lose its links.
"""

from __future__ import annotations

import random

import pytest

from crawler.links import ParsedPage, is_html, parse_page

PAGE = "http://ex.com/"
EMPTY = ParsedPage(title=None, links=[], nofollow=[], dropped_links=0)


def parse(body: bytes, http_charset: str | None = None) -> ParsedPage:
    return parse_page(body, url=PAGE, http_charset=http_charset, max_url_length=2048)


@pytest.mark.parametrize(
    ("opening", "closing"),
    [
        ("<div>", "</div>"),
        ("<div>", ""),  # never closed
        ("<span><b>", "</b></span>"),
        ("<table><tr><td>", ""),
        ("<ul><li>", "</li></ul>"),
        ("<svg>", ""),
        ("<object>", ""),
        ("<select>", ""),
    ],
)
def test_ten_thousand_deep_nesting_keeps_links_on_both_sides(opening: str, closing: str) -> None:
    depth = 10_000
    html = (
        "<title>deep</title><a href=/before>b</a>"
        + opening * depth
        + "<a href=/inside>i</a>"
        + closing * depth
        + "<a href=/after>a</a>"
    )
    page = parse(html.encode())
    assert page.title == "deep"
    assert page.links[0] == "http://ex.com/before"
    # libxml2 >= 2.14 has no depth limit in its HTML parser; older ones stop at 256
    # levels (or 2048) and drop the rest, which must still not raise.
    assert "http://ex.com/inside" in page.links
    assert "http://ex.com/after" in page.links


def test_ten_thousand_nested_anchors() -> None:
    html = "".join(f"<a href=/n/{i}>" for i in range(10_000))
    page = parse(html.encode())
    assert len(page.links) == 10_000
    assert page.links[-1] == "http://ex.com/n/9999"


def test_a_page_of_100_000_links() -> None:
    # 100 000 occurrences of 1 000 distinct links; the count is what costs, in bs4.
    html = "<title>many</title>" + "".join(f"<a href=/p/{i % 1000}>{i}</a>" for i in range(100_000))
    page = parse(html.encode())
    assert page.links == [f"http://ex.com/p/{i}" for i in range(1000)]
    assert page.nofollow == []
    assert page.dropped_links == 0


def test_empty_body() -> None:
    assert parse(b"") == EMPTY
    assert parse(b"", http_charset="utf-8") == EMPTY
    assert is_html(None, b"") is False


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("size", [1, 100, 65_536])
def test_binary_junk(seed: int, size: int) -> None:
    rng = random.Random(seed)
    body = rng.randbytes(size)
    page = parse(body)
    assert isinstance(page, ParsedPage)
    assert all(link.startswith(("http://", "https://")) for link in page.links)


@pytest.mark.parametrize(
    "body",
    [
        b"\x00" * 1000,
        b"<" * 10_000,
        b"<a" * 10_000,
        b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 10,
        b"\x1f\x8b\x08\x00" + bytes(range(255, -1, -1)) * 10,  # gzip, not decoded
        b"\xff\xfe<\x00a\x00 \x00h\x00r\x00e\x00f\x00=\x00/\x00x\x00>\x00",  # UTF-16 BOM
        b"\xfe\xff\xd8\x00",  # BOM then a lone surrogate
        b"<a href=/x\x00y>\x01\x02\x03</a>",
    ],
)
def test_binary_bodies_never_raise(body: bytes) -> None:
    parse(body)
    parse(body, http_charset="utf-8")


@pytest.mark.parametrize(
    ("html", "links"),
    [
        ("<a href='/x", []),
        ('<a href="/unterminated>text</a><a href="/next">n</a>', None),
        ("<a href=/a <b>x</b>", ["/a"]),
        ("<<<a href=/a>>>", ["/a"]),
        ("</a></a></area><a href=/a>", ["/a"]),
        ("<a href=/a/>x", ["/a/"]),
        ("<a href=/a href=/b>x</a>", None),
        ("<a href>x</a>", None),
        ("<a href=''>x</a>", [""]),
        ("<base href=><a href=x>", ["/x"]),
        ("<base href='http://[::1'><a href=/x>", ["/x"]),
        ("<!-- never closed <a href=/c>", []),
        ("<![CDATA[<a href=/cdata>]]><a href=/after>", None),
        ("<title>no end <a href=/t>", []),
        ("<script><a href=/s>", []),
        ("<a href=/a><table><a href=/b></td></tr><p></a>", ["/a", "/b"]),
        ("<html><html><body><body><a href=/a>", ["/a"]),
        ("<a href='http://ex.com/%zz%'>bad escape</a>", None),
        ("<a href='http://ex.com/" + "x" * 100_000 + "'>long</a>", []),
        ("<a " + "data-x=1 " * 10_000 + "href=/many-attrs>", ["/many-attrs"]),
        ("<title>" + "t " * 100_000 + "</title>", []),
        ("\ufeff<a href=/bom-char>", ["/bom-char"]),
        ("<?xml version='1.0' encoding='utf-16'?><rss><a href=/x>", ["/x"]),
        ("<?xml version='1.0'?>", []),
        ("<?php echo 1 ?><a href=/php>", ["/php"]),
        ("http://ex.com/looks/like/a/url.html", []),
        ("index.html", []),
    ],
)
def test_broken_markup(html: str, links: list[str] | None) -> None:
    page = parse(html.encode(), http_charset="utf-8")
    if links is not None:  # None: any answer will do, as long as nothing raises
        assert page.links == [PAGE.rstrip("/") + link if link else PAGE for link in links]


def test_long_link_among_broken_markup_is_counted() -> None:
    page = parse(b"<a href='/" + b"x" * 5000 + b"'>long</a><a href=/ok>")
    assert page.links == ["http://ex.com/ok"]
    assert page.dropped_links == 1

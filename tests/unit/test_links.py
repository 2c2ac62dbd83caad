"""crawler.links: links, nofollow, dropped links, title, charsets, is_html.

What they must be: docs/contract.md#links.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any

import pytest

from crawler.links import ParsedPage, decode_html, is_html, parse_page

DATA = Path(__file__).parent.parent / "data"
LINK_CASES: list[dict[str, Any]] = json.loads(
    (DATA / "links_cases.json").read_text(encoding="utf-8")
)
PAGE = "http://ex.com/dir/page"


def parse(
    html: str | bytes,
    *,
    url: str = PAGE,
    http_charset: str | None = "utf-8",
    max_url_length: int = 2048,
) -> ParsedPage:
    body = html.encode("utf-8") if isinstance(html, str) else html
    return parse_page(body, url=url, http_charset=http_charset, max_url_length=max_url_length)


@pytest.mark.parametrize("case", LINK_CASES, ids=[case["name"] for case in LINK_CASES])
def test_links_resolve_to_canonical_urls(case: dict[str, Any]) -> None:
    page = parse(case["html"], url=case["url"])
    assert page.links == case["links"]
    assert page.nofollow == []
    assert page.dropped_links == 0


# --- rel="nofollow" and <meta name="robots"> -----------------------------------------


@pytest.mark.parametrize(
    ("html", "nofollow"),
    [
        ('<a href="/a" rel="nofollow">', ["/a"]),
        ('<a href="/a" rel="NoFollow noopener">', ["/a"]),
        ('<a href="/a" rel=" external\tnofollow\n">', ["/a"]),
        ('<a href="/a" rel="noopener noreferrer">', []),
        ('<a href="/a" rel="nofollownot">', []),
        ('<a href="/a" rel="no-follow">', []),
        ('<a href="/a" rel="">', []),
        ('<area href="/a" rel="nofollow">', ["/a"]),
        # A link is held back only when every occurrence says nofollow.
        ('<a href="/a" rel="nofollow"><a href="/a">', []),
        ('<a href="/a"><a href="/a" rel="nofollow">', []),
        ('<a href="/a" rel="nofollow"><a href="/a#x" rel="nofollow">', ["/a"]),
        # nofollow keeps the order of links.
        ('<a href="/c" rel=nofollow><a href="/b"><a href="/a" rel=nofollow>', ["/c", "/a"]),
    ],
)
def test_rel_nofollow_is_a_token(html: str, nofollow: list[str]) -> None:
    page = parse(html)
    assert page.nofollow == ["http://ex.com" + path for path in nofollow]
    assert set(page.nofollow) <= set(page.links)


@pytest.mark.parametrize(
    ("meta", "all_nofollow"),
    [
        ('<meta name="robots" content="nofollow">', True),
        ('<meta name="robots" content="noindex, nofollow">', True),
        ('<meta name="ROBOTS" content="NOINDEX,NOFOLLOW">', True),
        ('<meta name=" Robots " content="none">', True),
        ('<meta name="robots" content="noindex">', False),
        ('<meta name="robots" content="index, follow">', False),
        ('<meta name="robots" content="nofollowing">', False),
        ('<meta name="googlebot" content="nofollow">', False),
        ('<meta content="nofollow">', False),
        ('<meta name="robots">', False),
        ('<meta charset="utf-8">', False),
        # Two robots tags: either may hold nofollow.
        ('<meta name="robots" content="noarchive"><meta name="robots" content="nofollow">', True),
    ],
)
def test_meta_robots_nofollow_holds_back_every_link(meta: str, all_nofollow: bool) -> None:
    page = parse(f"<head>{meta}</head><body><a href=/a>a</a><a href=/b rel=nofollow>b</a>")
    assert page.links == ["http://ex.com/a", "http://ex.com/b"]
    expected = page.links if all_nofollow else ["http://ex.com/b"]
    assert page.nofollow == expected


def test_meta_robots_in_the_body_counts_too() -> None:
    page = parse('<a href=/a>a</a><meta name="robots" content="nofollow">')
    assert page.nofollow == ["http://ex.com/a"]


# --- --max-url-length ----------------------------------------------------------------


def test_long_links_are_dropped_and_counted_per_occurrence() -> None:
    long_path = "/" + "x" * 100
    link = "http://ex.com" + long_path
    html = (
        f'<a href="{long_path}">1</a><a href="/short">s</a>'
        f'<a href="{long_path}" rel=nofollow>2</a><area href="{long_path}#frag">'
        '<a href="mailto:someone.with.a.very.long.address@example.com">m</a>'
    )
    kept = parse(html, max_url_length=len(link))
    assert kept.links == [link, "http://ex.com/short"]
    assert kept.dropped_links == 0
    dropped = parse(html, max_url_length=len(link) - 1)
    assert dropped.links == ["http://ex.com/short"]
    assert dropped.nofollow == []
    assert dropped.dropped_links == 3


def test_length_is_measured_in_canonical_form() -> None:
    # 3 characters of href, 9 once percent-encoded: "/%C3%A9%C3%A9".
    page = parse('<a href="/éé">x</a>', max_url_length=len("http://ex.com/%C3%A9"))
    assert page.links == []
    assert page.dropped_links == 1


# --- title -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "title"),
    [
        ("<title>Home</title>", "Home"),
        ("<title>  A \n\t B  \r\n C </title>", "A B C"),
        ("<title>Caf&eacute; &amp; bar</title>", "Café & bar"),
        ("<title>&nbsp;Non\u00a0breaking&nbsp;</title>", "Non breaking"),
        ("<title>first</title><title>second</title>", "first"),
        ("<body><title>late</title></body>", "late"),
        ("<title><b>not</b> a tag</title>", "<b>not</b> a tag"),
        ("<title></title>", None),
        ("<title> \n\t </title>", None),
        ("<title>&nbsp;</title>", None),
        ("<html><head></head><body>no title</body></html>", None),
        ("<title>unterminated", "unterminated"),
    ],
)
def test_title_is_collapsed_and_stripped(html: str, title: str | None) -> None:
    assert parse(html).title == title


# --- charsets: BOM, then HTTP charset, then <meta>, then detection -------------------

TITLE = "Café — Привет"


def page_bytes(title: str, encoding: str, head: str = "") -> bytes:
    html = f"<html><head>{head}<title>{title}</title></head><body><a href=/x>x</a></body></html>"
    return html.encode(encoding)


@pytest.mark.parametrize(
    ("body", "http_charset", "title"),
    [
        # BOM beats the HTTP charset and <meta>.
        (codecs.BOM_UTF8 + page_bytes(TITLE, "utf-8", '<meta charset="cp1251">'), "latin-1", TITLE),
        (codecs.BOM_UTF16_LE + page_bytes(TITLE, "utf-16-le"), "utf-8", TITLE),
        (codecs.BOM_UTF16_BE + page_bytes(TITLE, "utf-16-be"), None, TITLE),
        # The HTTP charset beats <meta>.
        (page_bytes("Café", "latin-1", '<meta charset="utf-8">'), "iso-8859-1", "Café"),
        (page_bytes("Привет", "cp1251", '<meta charset="utf-8">'), "windows-1251", "Привет"),
        (page_bytes(TITLE, "utf-8", '<meta charset="cp1251">'), '"UTF-8"', TITLE),
        # A label browsers read as another encoding: latin-1 means windows-1252.
        (page_bytes("“quoted”", "cp1252"), "iso-8859-1", "“quoted”"),
        # Unknown or refused HTTP charset names fall through to <meta>.
        (page_bytes("Привет", "cp1251", '<meta charset="windows-1251">'), "bogus-8", "Привет"),
        (page_bytes("Привет", "cp1251", '<meta charset="windows-1251">'), "utf-7", "Привет"),
        (page_bytes("Привет", "cp1251", '<meta charset="windows-1251">'), "", "Привет"),
        (page_bytes("Привет", "koi8-r", '<meta charset="koi8-r">'), None, "Привет"),
        # <meta http-equiv>.
        (
            page_bytes(
                "Привет",
                "cp1251",
                '<meta http-equiv="Content-Type" content="text/html; charset=windows-1251">',
            ),
            None,
            "Привет",
        ),
        # A bogus <meta> charset falls through to detection (here: valid UTF-8).
        (page_bytes(TITLE, "utf-8", '<meta charset="no-such-charset">'), None, TITLE),
        # <meta> naming UTF-16 in ASCII-compatible bytes means UTF-8 (WHATWG prescan).
        (page_bytes(TITLE, "utf-8", '<meta charset="utf-16">'), None, TITLE),
        # HTTP "utf-16" without BOM is little-endian (WHATWG).
        (page_bytes(TITLE, "utf-16-le"), "utf-16", TITLE),
    ],
)
def test_charset_precedence(body: bytes, http_charset: str | None, title: str) -> None:
    page = parse(body, http_charset=http_charset)
    assert page.title == title
    assert page.links == ["http://ex.com/x"]


RUSSIAN = (
    "Съешь же ещё этих мягких французских булок, да выпей чаю. Широкая электрификация "
    "южных губерний даст мощный толчок подъёму сельского хозяйства."
)
FRENCH = (
    "Les élèves étudient à l'école française près de la rivière; ils préfèrent les "
    "crêpes. Le cœur déçu mais l'âme plutôt naïve, voilà, à côté de l'hôtel."
)
PORTUGUESE = (
    "À noite, vovô Kowalsky vê o ímã cair no pé do pingüim queixoso e vovó põe açúcar "
    "no chá de tâmaras do jabuti feliz."
)


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        (RUSSIAN, "cp1251"),
        (RUSSIAN, "koi8-r"),
        (FRENCH.replace("œ", "oe"), "latin-1"),
        (FRENCH, "cp1252"),
        (PORTUGUESE, "latin-1"),
        (RUSSIAN + FRENCH, "utf-8"),
    ],
)
def test_undeclared_charset_is_detected(text: str, encoding: str) -> None:
    html = f"<html><head><title>{text[:30]}</title></head><body><p>{text}</p></body></html>"
    assert decode_html(html.encode(encoding), None) == html


def test_utf8_cut_inside_a_character_is_still_utf8() -> None:
    # A body stopped at --max-bytes may end in the middle of a character.
    body = f"<title>{FRENCH}</title><p>{RUSSIAN}я".encode()[:-1]
    assert decode_html(body, None) == f"<title>{FRENCH}</title><p>{RUSSIAN}\ufffd"


@pytest.mark.parametrize("http_charset", [None, "utf-8", "ascii", "bogus", "x-user-defined"])
def test_decode_never_raises_on_undecodable_bytes(http_charset: str | None) -> None:
    body = b"<title>\xff\xfe\x80\x81\xc3(</title>" + bytes(range(256))
    assert isinstance(decode_html(body, http_charset), str)


# --- is_html -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("content_type", "body_start", "expected"),
    [
        ("text/html", b"", True),
        ("text/html; charset=utf-8", b"", True),
        ("TEXT/HTML ; charset=utf-8", b"", True),
        ("application/xhtml+xml", b"", True),
        ("text/plain", b"<!doctype html><html>", False),
        ("application/json", b"{}", False),
        ("image/png", b"\x89PNG", False),
        ("text/xml", b"<html>", False),
        # No Content-Type: sniff (WHATWG MIME Sniffing 7.1).
        (None, b"<!DOCTYPE html>\n<html>", True),
        (None, b"<!doctype HTML>", True),
        (None, b"  \r\n\t<html lang=en>", True),
        (None, b"<HTML>", True),
        (None, codecs.BOM_UTF8 + b"<!doctype html>", True),
        (None, b"<head><title>x</title>", True),
        (None, b"<a href=/x>", True),
        (None, b"<p>para", True),
        (None, b"<!-- comment -->", True),
        ("", b"<html>", True),
        (None, b"<htmlx>", False),
        (None, b"<article>", False),
        (None, b"<?xml version='1.0'?><rss>", False),
        (None, b"%PDF-1.4", False),
        (None, b"hello <html>", False),
        (None, b"", False),
        (None, b"<html", False),
    ],
)
def test_is_html(content_type: str | None, body_start: bytes, expected: bool) -> None:
    assert is_html(content_type, body_start) is expected

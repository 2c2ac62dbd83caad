"""Parse an HTML body into a title and its links (docs/contract.md#outjson: links, title).

Pure: bytes in, values out. No I/O, no clock. Only the tags that matter are built
(a SoupStrainer), because parsing is the worker's hottest loop; with --extract the
selectors may name any tag, so the whole tree is built once and serves both.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from bs4 import BeautifulSoup
from bs4.element import Tag
from bs4.filter import SoupStrainer
from charset_normalizer import from_bytes
from w3lib.encoding import (
    html_body_declared_encoding,
    read_bom,
    resolve_encoding,
    to_unicode,
)

from crawler.extract import Extractor, extract
from crawler.urls import InvalidURL, canonicalize

HTML_MEDIA_TYPES = frozenset({"text/html", "application/xhtml+xml"})
# Detection reads a prefix only: its cost grows with the input (~0.2 s for 5 MB) and
# 64 KiB tells encodings apart just as well.
DETECT_SAMPLE_BYTES = 64 * 1024
# WHATWG Encoding: the fallback when nothing is declared and detection has no answer.
FALLBACK_ENCODING = "cp1252"
# The legacy encodings pages actually use. Left to choose among all of them,
# charset_normalizer reads plain French latin-1 as iso8859-10 ("crème" -> "crčme").
_DETECTABLE = (
    "cp1252", "cp1250", "iso8859_2", "cp1251", "koi8_r", "koi8_u", "cp866", "cp1253",
    "iso8859_7", "cp1254", "cp1255", "iso8859_8", "cp1256", "cp1257", "cp1258", "cp874",
    "cp932", "euc_jp", "iso2022_jp", "gb18030", "big5", "cp949",
)  # fmt: skip
# How close (in charset_normalizer's percentage points) a cp1252 reading must come to
# the best one to win: Western text often scores exactly as well as cp1250 or cp1257.
_TIE_POINTS = 0.5

_LINK_TAGS = ("a", "area")
# One regex rule instead of five name rules: the strainer is asked about every tag.
_STRAINER = SoupStrainer(re.compile(r"^(?:a|area|base|title|meta)$"))
# HTML splits attribute token lists on ASCII whitespace only (not on U+00A0).
_ASCII_WS = re.compile(r"[\t\n\f\r ]+")
_ROBOTS_TOKENS = re.compile(r"[\t\n\f\r ,]+")
_FOLLOW_BLOCKERS = frozenset({"nofollow", "none"})
# WHATWG MIME Sniffing 7.1, the "text/html" patterns: each is followed by a space or ">".
_SNIFF_TAGS = (
    b"<!doctype html",
    b"<html",
    b"<head",
    b"<script",
    b"<iframe",
    b"<h1",
    b"<div",
    b"<font",
    b"<table",
    b"<a",
    b"<style",
    b"<title",
    b"<b",
    b"<body",
    b"<br",
    b"<p",
    b"<!--",
)
_SNIFF_END = frozenset(b" >")
_SNIFF_SKIP = b"\t\n\x0c\r "


@dataclass(frozen=True, slots=True)
class ParsedPage:
    """What a 2xx HTML page contributes to its page record and to the frontier."""

    title: str | None  # whitespace collapsed and stripped; None if missing or blank
    links: list[str]  # canonical http(s), each once, in document order, self-links too
    nofollow: list[str]  # the links not to follow (rel or meta robots), in `links` order
    dropped_links: int  # occurrences longer than max_url_length in canonical form
    data: dict[str, list[str]] | None = None  # --extract name -> values; None without
    # The decoded text and the base URL (<base href> honoured) links were resolved
    # against: what a --plugin gets and resolves its `follow` URLs against.
    text: str = field(default="", compare=False, repr=False)
    base: str = field(default="", compare=False, repr=False)


def is_html(content_type: str | None, body_start: bytes = b"") -> bool:
    """Whether a response is HTML, by its Content-Type or, when absent, by sniffing.

    `content_type` may be a whole header value ("text/html; charset=utf-8"). A declared
    type is trusted; only a missing one is sniffed (WHATWG MIME Sniffing 7.1).
    """
    if content_type is not None:
        media_type = content_type.partition(";")[0].strip().lower()
        if media_type:
            return media_type in HTML_MEDIA_TYPES
    return _sniff_html(body_start)


def _sniff_html(body_start: bytes) -> bool:
    data = body_start[:512]
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    data = data.lstrip(_SNIFF_SKIP).lower()
    for tag in _SNIFF_TAGS:
        if data.startswith(tag):
            # "<a" must not accept "<article>", nor "<b" "<button>".
            return len(data) > len(tag) and data[len(tag)] in _SNIFF_END
    return False


def decode_html(body: bytes, http_charset: str | None) -> str:
    """Decode an HTML body: BOM, then HTTP charset, then <meta>, then detection.

    An unknown or bogus charset name at any step falls through to the next one.
    Undecodable bytes become U+FFFD; this never raises.
    """
    bom_encoding, bom = read_bom(body)
    if bom_encoding is not None and bom is not None:
        return to_unicode(body[len(bom) :], bom_encoding)
    encoding = _resolve(http_charset)
    if encoding is not None:
        return to_unicode(body, _http_label_fixup(encoding))
    declared = html_body_declared_encoding(body)
    if declared is not None:
        return to_unicode(body, _meta_label_fixup(declared))
    return to_unicode(body, _detect_encoding(body))


def _resolve(label: str | None) -> str | None:
    if not label:
        return None
    label = label.strip().strip("\"'").strip()
    if not label:
        return None
    # w3lib maps labels the way browsers do (latin-1 -> cp1252) and refuses utf-7.
    return resolve_encoding(label)


def _http_label_fixup(encoding: str) -> str:
    # WHATWG Encoding: the label "utf-16" means UTF-16LE; Python would guess the
    # machine's byte order instead.
    if encoding in ("utf-16", "utf-32"):
        return encoding + "-le"
    return encoding


def _meta_label_fixup(encoding: str) -> str:
    # WHATWG "prescan": a <meta> that an ASCII scan could read cannot be UTF-16/32
    # text, so such a declaration means UTF-8.
    if encoding.startswith(("utf-16", "utf-32")):
        return "utf-8"
    return encoding


def _detect_encoding(body: bytes) -> str:
    # Valid UTF-8 is almost never an accident; checking it first is fast and spares
    # detection its misreadings of short pages. final=False: a body cut at --max-bytes
    # may end inside a character.
    try:
        codecs.getincrementaldecoder("utf-8")().decode(body, final=False)
    except UnicodeDecodeError:
        pass
    else:
        return "utf-8"
    matches = from_bytes(body[:DETECT_SAMPLE_BYTES], cp_isolation=list(_DETECTABLE))
    best = matches.best()
    if best is None:
        return FALLBACK_ENCODING
    for match in matches:
        # On a tie, the web's most common legacy encoding (and WHATWG's default) wins.
        if (
            "cp1252" in match.could_be_from_charset
            and match.percent_chaos <= best.percent_chaos + _TIE_POINTS
            and match.percent_coherence >= best.percent_coherence - _TIE_POINTS
        ):
            return "cp1252"
    return resolve_encoding(best.encoding) or FALLBACK_ENCODING


def parse_page(
    body: bytes,
    *,
    url: str,
    http_charset: str | None,
    max_url_length: int,
    extractors: Sequence[Extractor] = (),
) -> ParsedPage:
    """Title and links of an HTML page fetched from `url` (canonical), and with
    `extractors` its `data`.

    Links longer than `max_url_length` in canonical form are counted per occurrence
    in `dropped_links` and left out. Non-http(s) and unparseable hrefs are skipped.
    """
    text = decode_html(body, http_charset)
    if "<" not in text:
        # No tags, so nothing to find; bs4 would also warn that such short text
        # "looks like a filename".
        data: dict[str, list[str]] | None = None
        if extractors:
            data = {extractor.name: [] for extractor in extractors}
        return ParsedPage(
            title=None, links=[], nofollow=[], dropped_links=0, data=data, text=text, base=url
        )
    markup = text
    if text.startswith("<?xml"):
        # bs4 warns (an error under pytest) about a document that starts with an XML
        # declaration; the charset it names was already applied, and a leading space,
        # which the parser skips, is enough to keep bs4 quiet.
        markup = " " + text
    # multi_valued_attributes=None: rel arrives as a string we split ourselves (and an
    # extracted class attribute as the page wrote it). Without extractors only the tags
    # the links and title need are built; with them the whole tree, parsed once.
    strainer = None if extractors else _STRAINER
    soup = BeautifulSoup(markup, "lxml", parse_only=strainer, multi_valued_attributes=None)
    base = _base_url(soup, url)
    links, dropped = _collect_links(soup, base, max_url_length)
    if _meta_robots_nofollow(soup):
        nofollow = list(links)
    else:
        nofollow = [link for link, followable in links.items() if not followable]
    return ParsedPage(
        title=_title(soup),
        links=list(links),
        nofollow=nofollow,
        dropped_links=dropped,
        data=extract(soup, extractors) if extractors else None,
        text=text,
        base=base,
    )


def _collect_links(
    soup: BeautifulSoup, base: str, max_url_length: int
) -> tuple[dict[str, bool], int]:
    """Canonical link -> followable, in document order; and how many were too long."""
    links: dict[str, bool] = {}  # dicts keep insertion order
    resolved: dict[str, str | None] = {}  # href -> canonical, once per page
    dropped = 0
    for tag in soup.find_all(_LINK_TAGS):
        href = tag.get("href")
        if not isinstance(href, str):
            continue
        if href in resolved:
            link = resolved[href]
        else:
            link = resolved[href] = _canonical_or_none(href, base)
        if link is None:
            continue
        if len(link) > max_url_length:
            dropped += 1
            continue
        # A link is followed if any one of its occurrences lacks rel=nofollow.
        links[link] = links.get(link, False) or not _has_nofollow(tag)
    return links, dropped


def _canonical_or_none(href: str, base: str) -> str | None:
    try:
        return canonicalize(href, base)
    except InvalidURL:
        return None


def _base_url(soup: BeautifulSoup, url: str) -> str:
    # HTML: the document base URL is the first <base> that has an href, wherever it
    # is, itself resolved against the page URL; one we cannot use is ignored.
    base = soup.find("base", href=True)
    if isinstance(base, Tag):
        href = base.get("href")
        if isinstance(href, str):
            resolved = _canonical_or_none(href, url)
            if resolved is not None:
                return resolved
    return url


def _has_nofollow(tag: Tag) -> bool:
    rel = tag.get("rel")
    if not isinstance(rel, str):
        return False
    return "nofollow" in _ASCII_WS.split(rel.lower())


def _meta_robots_nofollow(soup: BeautifulSoup) -> bool:
    for meta in soup.find_all("meta"):
        name = meta.get("name")
        content = meta.get("content")
        if not (isinstance(name, str) and isinstance(content, str)):
            continue
        if name.strip().lower() != "robots":
            continue
        if _FOLLOW_BLOCKERS.intersection(_ROBOTS_TOKENS.split(content.lower())):
            return True
    return False


def _title(soup: BeautifulSoup) -> str | None:
    title = soup.find("title")
    if not isinstance(title, Tag):
        return None
    # Any Unicode whitespace, U+00A0 included: a title of only &nbsp; shows as blank.
    text = " ".join(title.get_text().split())
    return text or None

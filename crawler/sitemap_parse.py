"""What one sitemap file lists (sitemaps.org XML, an index, or plain text; maybe gzip).

Pure: bytes in, a `SitemapContent` out; no I/O. A worker parses each sitemap it fetched
(crawler/worker.py), so the coordinator only gets canonical URLs (and never imports
lxml: see tests/unit/test_startup.py). Hostile files cost an error, never the crawl: a
gzip bomb stops at --max-bytes decoded, XML is parsed without entities, DTDs or network
access and without lxml's huge_tree (a billion-laughs file is an error at once),
malformed XML keeps the URLs before the fault, and a file lists at most
MAX_SITEMAP_URLS entries.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

from lxml import etree

from crawler.messages import Result, SitemapContent
from crawler.sitemaps import BAD_SITEMAP, INDEX, MAX_SITEMAP_URLS, TEXT, TOO_LARGE, URLSET
from crawler.urls import InvalidURL, canonicalize

_GZIP_MAGIC = b"\x1f\x8b"
_FEED_BYTES = 64 * 1024  # XML goes to the parser a block at a time; the tree is pruned
_ENTRY = {"urlset": "url", "sitemapindex": "sitemap"}


def with_sitemap(result: Result, max_bytes: int, max_url_length: int) -> Result:
    """A sitemap fetch's result completed with what the file lists (its body dropped).

    Only a 2xx answer is read, also one cut at --max-bytes (the URLs before the cut
    count; the result keeps its too_large error).
    """
    status = result.status
    readable = result.error_kind in (None, TOO_LARGE) and status is not None
    if not readable or not 200 <= status < 300:  # type: ignore[operator]
        return result._replace(body=b"")
    content = parse_sitemap(result.body, max_bytes, max_url_length)
    return result._replace(body=b"", sitemap=content)


def parse_sitemap(body: bytes, max_bytes: int, max_url_length: int) -> SitemapContent:
    """What a sitemap file lists: canonical URLs (pages, or sitemaps for an index).

    `body` is the answer's decoded body; a gzip file (by its magic bytes, whatever the
    URL or Content-Type say) is decompressed here, at most `max_bytes`. XML if it starts
    with "<" (after a BOM and blanks), else a plain-text sitemap, one URL per line.
    URLs that are not absolute http(s) are left out; canonical ones longer than
    `max_url_length` are dropped and counted.
    """
    error: tuple[str, str] | None = None
    if body.startswith(_GZIP_MAGIC):
        body, error = _gunzip(body, max_bytes)
    start = body.lstrip(b"\xef\xbb\xbf \t\r\n")
    entries: Iterable[str]
    if start.startswith(b"<"):
        kind, entries, xml_error = _xml_entries(body)
    else:
        kind, entries, xml_error = TEXT, _text_entries(body), None
    urls: dict[str, None] = {}
    listed = dropped = 0
    for raw in entries:
        listed += 1
        if listed > MAX_SITEMAP_URLS:
            listed = MAX_SITEMAP_URLS
            error = error or (TOO_LARGE, f"lists more than {MAX_SITEMAP_URLS} entries")
            break
        try:
            url = canonicalize(raw)
        except InvalidURL:
            continue
        if len(url) > max_url_length:
            dropped += 1
        else:
            urls[url] = None
    error = error or xml_error
    if kind == TEXT and listed and not urls and not dropped and error is None:
        error = (BAD_SITEMAP, "neither XML nor lines of URLs")
    return SitemapContent(
        kind=kind,
        urls=tuple(urls),
        listed=listed,
        dropped=dropped,
        error_kind=error[0] if error else None,
        error_message=error[1] if error else None,
    )


def _gunzip(body: bytes, max_bytes: int) -> tuple[bytes, tuple[str, str] | None]:
    """Decompress a gzip file (members one after another), at most `max_bytes` out.

    The decompressor is asked for at most the room left, so a bomb costs max_bytes of
    memory, not its decoded size. What was decoded before a fault is kept.
    """
    parts: list[bytes] = []
    room = max_bytes
    data = body
    try:
        while data:
            stream = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
            chunk = stream.decompress(data, room + 1)
            parts.append(chunk)
            room -= len(chunk)
            if room < 0 or stream.unconsumed_tail:
                parts[-1] = chunk[: len(chunk) + room] if room < 0 else chunk
                return b"".join(parts), (TOO_LARGE, f"gzip decodes past max_bytes={max_bytes}")
            if not stream.eof:
                return b"".join(parts), (BAD_SITEMAP, "gzip data ends early")
            data = stream.unused_data
            if data.strip(b"\x00") == b"":
                break  # padding after the last member, as some servers write
    except zlib.error as exc:
        return b"".join(parts), (BAD_SITEMAP, f"gzip: {exc}")
    return b"".join(parts), None


def _text_entries(body: bytes) -> Iterator[str]:
    """The non-blank lines of a plain-text sitemap."""
    for line in body.decode("utf-8-sig", errors="replace").splitlines():
        line = line.strip()
        if line:
            yield line


def _xml_entries(body: bytes) -> tuple[str, list[str], tuple[str, str] | None]:
    """(kind, <loc> texts, error) of an XML sitemap or index; entries before a fault kept.

    Elements are matched by local name: many sitemaps get the namespace wrong. A <loc>
    holding anything but text (an unresolved entity, an element) is no URL.
    """
    parser = etree.XMLPullParser(
        events=("start", "end"),
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        huge_tree=False,
        remove_comments=True,
        remove_pis=True,
    )
    kind = ""
    entry = ""
    locs: list[str] = []
    try:
        for offset in range(0, len(body), _FEED_BYTES):
            parser.feed(body[offset : offset + _FEED_BYTES])
            for event, element in parser.read_events():
                if not isinstance(element, etree._Element):
                    continue  # only element events were asked for
                name = etree.QName(element).localname
                if not kind:
                    if name not in _ENTRY:
                        return "", [], (BAD_SITEMAP, f"root element <{name}> is no sitemap")
                    kind = URLSET if name == "urlset" else INDEX
                    entry = _ENTRY[name]
                    continue
                if event != "end":
                    continue
                if name == "loc":
                    parent = element.getparent()
                    if parent is not None and etree.QName(parent).localname == entry:
                        if len(element) == 0 and element.text:
                            locs.append(element.text.strip())
                        else:
                            locs.append("")  # listed, but no URL
                        if len(locs) > MAX_SITEMAP_URLS:
                            return kind, locs, None
                elif name == entry:
                    # Prune what was read, so memory stays small whatever the file's size.
                    element.clear()
                    parent = element.getparent()
                    while parent is not None and element.getprevious() is not None:
                        del parent[0]
        parser.close()
    except etree.XMLSyntaxError as exc:
        return kind or "", locs, (BAD_SITEMAP, f"XML: {exc}")
    if not kind:
        return "", [], (BAD_SITEMAP, "no XML element")
    return kind, locs, None

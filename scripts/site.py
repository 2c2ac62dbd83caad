"""The synthetic site for tests, benchmarks and the demo: one deterministic web on 127.0.0.N.

Owns the pure site (`respond`), its ground truth (`expected_records`, `expected_urls`),
a threaded loopback server with a request log (`SiteServer`) and the CLI. The site must
stay deterministic: no clock, no global random state, no hash(); only 127.0.0.0/8 is bound.
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import gzip
import html
import json
import logging
import os
import random
import re
import signal
import socket
import socketserver
import sys
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, Any
from urllib.parse import unquote, urlsplit
from urllib.robotparser import RobotFileParser

from crawler.urls import InvalidURL, canonicalize, host_key

log = logging.getLogger(__name__)

MAX_HOSTS = 254  # 127.0.0.1 .. 127.0.0.254
ROBOTS_TXT = "User-agent: *\nDisallow: /private/\n"
PRIVATE_PATH = "/private/secret"
MISSING_PATH = "/missing"
NOFOLLOW_PATH = "/nofollow-only"
META_NOFOLLOW_PATH = "/meta-nofollow"
OUT_OF_SCOPE_URL = "http://out-of-scope.invalid/x"
MAILTO_URL = "mailto:webmaster@example.invalid"
# In the body of every 404: a crawler that parses non-2xx pages would fetch it.
FROM_404_PATH = "/only-linked-from-404"
HTML_TYPE = "text/html; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
USER_AGENT = "crawler"  # the product token robots.txt groups are matched against
FILLER = "lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor "
QUERY_EVERY = 10  # pages j with j % 10 == 0 also have the URL /p/j?a=1&b=2
BIND_ATTEMPTS = 20
# --sitemaps (SiteConfig.sitemaps): robots.txt names each host's index, which lists an
# XML sitemap, a gzip one and a plain-text one. They list the host's pages but those
# with number % SITEMAP_SKIP_EVERY == SITEMAP_SKIP_AT (linked pages the sitemaps leave
# out), its ORPHANS pages /orphan/k that nothing links to, and PRIVATE_PATH (which
# robots.txt disallows).
SITEMAP_INDEX_PATH = "/sitemap_index.xml"
SITEMAP_XML_PATH = "/sitemaps/pages.xml"
SITEMAP_GZ_PATH = "/sitemaps/pages.xml.gz"
SITEMAP_TEXT_PATH = "/sitemaps/orphans.txt"
SITEMAP_SKIP_EVERY, SITEMAP_SKIP_AT = 4, 2
ORPHANS = 3
XML_TYPE = "application/xml"
GZIP_TYPE = "application/gzip"
KEEPALIVE_IDLE_S = 60.0  # an idle keep-alive connection holds a thread at most this long
STOP_DRAIN_S = 5.0

Response = tuple[int, list[tuple[str, str]], bytes]

_PAGE_RE = re.compile(r"/p/(0|[1-9][0-9]*)")
_ORPHAN_RE = re.compile(r"/orphan/(0|[1-9][0-9]*)")
_REDIRECT_RE = re.compile(r"/r/(0|[1-9][0-9]*)")
_TITLE_RE = re.compile(r"<title>(.*?)</title>", re.S)
_META_ROBOTS_RE = re.compile(r'<meta name="robots" content="([^"]*)">')
_LINK_TAG_RE = re.compile(r"<(?:a|area)\s([^>]*)>")
_ATTR_RE = re.compile(r'([a-z]+)="([^"]*)"')


@dataclass(frozen=True, slots=True)
class SiteConfig:
    """The whole site: the same config always serves the same bytes."""

    pages: int = 100
    links: int = 10  # pseudo-random page links per page, on top of the fixed ones
    hosts: int = 1
    seed: int = 0
    latency_ms: float = 0
    page_bytes: int = 0  # pad each page's body with filler to about this size
    sitemaps: bool = False  # serve sitemaps and orphan pages (see SITEMAP_INDEX_PATH)

    def __post_init__(self) -> None:
        if self.pages < 1:
            raise ValueError("pages must be at least 1")
        if self.links < 0:
            raise ValueError("links must not be negative")
        if not 1 <= self.hosts <= MAX_HOSTS:
            raise ValueError(f"hosts must be in 1..{MAX_HOSTS}")
        if self.latency_ms < 0:
            raise ValueError("latency_ms must not be negative")
        if self.page_bytes < 0:
            raise ValueError("page_bytes must not be negative")


@dataclass(frozen=True, slots=True)
class _Link:
    href: str  # as written in the HTML, before escaping
    rel: str = ""
    tag: str = "a"


@dataclass(frozen=True, slots=True)
class ExpectedRecord:
    """What a correct crawl records for one URL: a page record's deterministic fields."""

    url: str
    final_url: str
    redirects: tuple[str, ...]
    depth: int
    status: int
    title: str | None
    links: tuple[str, ...]


# ---------------------------------------------------------------------------
# The pure site


def host_address(host_index: int) -> str:
    """The loopback address of a host: host 0 is 127.0.0.1."""
    return f"127.0.0.{host_index + 1}"


def make_base_urls(hosts: int, port: int) -> list[str]:
    """One base URL per host, in host order, all on one port."""
    return [f"http://{host_address(h)}:{port}/" for h in range(hosts)]


def page_host(cfg: SiteConfig, page: int) -> int:
    """The host index page `page` lives on."""
    return page % cfg.hosts


def respond(
    cfg: SiteConfig, host_index: int, path: str, base_urls: Sequence[str] | None = None
) -> Response:
    """Answer a request for `path` (the request target, query included) on one host.

    `base_urls` (one per host, e.g. from `make_base_urls`) spells links to other hosts;
    without it they point to port 80. Returns (status, headers, body); the server adds
    Content-Length.
    """
    if not 0 <= host_index < cfg.hosts:
        raise ValueError(f"host_index {host_index} out of range for {cfg.hosts} hosts")
    bases = list(base_urls) if base_urls is not None else make_base_urls(cfg.hosts, 80)
    if len(bases) != cfg.hosts:
        raise ValueError(f"need {cfg.hosts} base URLs, got {len(bases)}")
    # The server ignores queries and fragments: /p/7?a=1 is page 7 under another URL.
    route = unquote(path.partition("?")[0].partition("#")[0])
    if route == "/robots.txt":
        robots = ROBOTS_TXT
        if cfg.sitemaps:
            robots += f"Sitemap: {bases[host_index].rstrip('/')}{SITEMAP_INDEX_PATH}\n"
        return 200, [("Content-Type", TEXT_TYPE)], robots.encode()
    if cfg.sitemaps and (answer := _sitemap_file(cfg, host_index, route, bases)) is not None:
        return answer
    if route == "/":
        return _html(cfg, f"Home {host_index}", _home_links(cfg, host_index, bases))
    if (number := _page_number(cfg, host_index, _PAGE_RE, route)) is not None:
        return _html(cfg, f"Page {number}", _page_links(cfg, number, bases))
    if (number := _page_number(cfg, host_index, _REDIRECT_RE, route)) is not None:
        # A relative Location: RFC 9110 §10.2.2 allows it, so a crawler must resolve it.
        body = b"<!DOCTYPE html>\n<title>Moved</title>\n"
        return 301, [("Location", f"/p/{number}"), ("Content-Type", HTML_TYPE)], body
    if route == PRIVATE_PATH:
        return _html(cfg, "Secret", [])
    if host_index == 0 and route == META_NOFOLLOW_PATH:
        links = [_Link(NOFOLLOW_PATH), _Link("/")]
        return _html(cfg, "\n  Meta   nofollow\n", links, meta_robots="noindex, nofollow")
    if host_index == 0 and route == NOFOLLOW_PATH:
        return _html(cfg, "Nofollow only", [_Link("/")])
    return _not_found()


def _sitemap_file(
    cfg: SiteConfig, host_index: int, route: str, bases: Sequence[str]
) -> Response | None:
    """A sitemap file or an orphan page of the host, if `route` names one."""
    base = bases[host_index].rstrip("/")
    if route == SITEMAP_INDEX_PATH:
        files = (SITEMAP_XML_PATH, SITEMAP_GZ_PATH, SITEMAP_TEXT_PATH)
        entries = "".join(f"<sitemap><loc>{base}{path}</loc></sitemap>" for path in files)
        return 200, [("Content-Type", XML_TYPE)], _sitemap_xml("sitemapindex", entries)
    pages = _sitemap_pages(cfg, host_index, bases)
    if route in (SITEMAP_XML_PATH, SITEMAP_GZ_PATH):
        half = pages[0::2] if route == SITEMAP_XML_PATH else pages[1::2]
        entries = "".join(f"<url><loc>{html.escape(url)}</loc></url>" for url in half)
        body = _sitemap_xml("urlset", entries)
        if route == SITEMAP_XML_PATH:
            return 200, [("Content-Type", XML_TYPE)], body
        return 200, [("Content-Type", GZIP_TYPE)], gzip.compress(body, mtime=0)
    if route == SITEMAP_TEXT_PATH:
        lines = [f"{base}/orphan/{k}" for k in range(ORPHANS)] + [f"{base}{PRIVATE_PATH}"]
        return 200, [("Content-Type", TEXT_TYPE)], "".join(f"{u}\n" for u in lines).encode()
    match = _ORPHAN_RE.fullmatch(route)
    if match is not None and int(match.group(1)) < ORPHANS:
        return _html(cfg, f"Orphan {match.group(1)}", [_Link("/")])
    return None


def _sitemap_xml(root: str, entries: str) -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<{root} xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</{root}>\n'
    ).encode()


def _sitemap_pages(cfg: SiteConfig, host_index: int, bases: Sequence[str]) -> list[str]:
    """The page URLs the host's XML sitemaps list (the even ones, then the odd ones)."""
    base = bases[host_index].rstrip("/")
    return [
        f"{base}/p/{i}"
        for i in range(host_index, cfg.pages, cfg.hosts)
        if i % SITEMAP_SKIP_EVERY != SITEMAP_SKIP_AT
    ]


def sitemap_urls(cfg: SiteConfig, base_urls: Sequence[str]) -> list[str]:
    """Every canonical URL the site's sitemaps list, host by host, in the order a crawl
    reads them: XML, gzip, text ([] without cfg.sitemaps)."""
    if not cfg.sitemaps:
        return []
    urls: list[str] = []
    for h in range(cfg.hosts):
        pages = _sitemap_pages(cfg, h, base_urls)
        base = base_urls[h].rstrip("/")
        orphans = [f"{base}/orphan/{k}" for k in range(ORPHANS)] + [f"{base}{PRIVATE_PATH}"]
        urls.extend(canonicalize(url) for url in pages[0::2] + pages[1::2] + orphans)
    return urls


def _page_number(
    cfg: SiteConfig, host_index: int, pattern: re.Pattern[str], route: str
) -> int | None:
    match = pattern.fullmatch(route)
    if match is None:
        return None
    number = int(match.group(1))
    if number >= cfg.pages or page_host(cfg, number) != host_index:
        return None
    return number


def _not_found() -> Response:
    body = (
        "<!DOCTYPE html>\n<html><head><title>Not found</title></head>\n"
        f'<body><p>Not found. <a href="{FROM_404_PATH}">Somewhere else</a></p></body></html>\n'
    )
    return 404, [("Content-Type", HTML_TYPE)], body.encode()


def _html(cfg: SiteConfig, title: str, links: Iterable[_Link], meta_robots: str = "") -> Response:
    head = f"<title>{html.escape(title)}</title>\n"
    if meta_robots:
        head += f'<meta name="robots" content="{meta_robots}">\n'
    items = []
    for n, link in enumerate(links):
        href = html.escape(link.href)
        rel = f' rel="{link.rel}"' if link.rel else ""
        if link.tag == "area":
            items.append(
                f'<li><map name="m{n}"><area shape="rect" coords="0,0,9,9" href="{href}"{rel}'
                f' alt="link {n}"></map></li>'
            )
        else:
            items.append(f'<li><a href="{href}"{rel}>link {n}</a></li>')
    text = (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        f"{head}</head>\n<body>\n<h1>{html.escape(title.strip())}</h1>\n<ul>\n"
        + "\n".join(items)
        + "\n</ul>\n"
    )
    tail = "</body>\n</html>\n"
    text += _filler(cfg.page_bytes - len(text) - len(tail)) + tail
    return 200, [("Content-Type", HTML_TYPE)], text.encode()


def _filler(size: int) -> str:
    wrapper = '<p class="filler"></p>\n'
    if size <= len(wrapper):
        return ""
    count = size - len(wrapper)
    text = (FILLER * (count // len(FILLER) + 1))[:count]
    return f'<p class="filler">{text}</p>\n'


def _to_host0(from_host: int, bases: Sequence[str], path: str) -> str:
    return path if from_host == 0 else bases[0] + path.lstrip("/")


def _home_links(cfg: SiteConfig, host_index: int, bases: Sequence[str]) -> list[_Link]:
    links = []
    if host_index < cfg.pages:
        # The first page of this host (page h lives on host h); relative to "/".
        links.append(_Link(f"p/{host_index}#top"))
    links.append(_Link(PRIVATE_PATH.lstrip("/")))
    if host_index != 0:
        links.append(_Link(bases[0]))
        return links
    # Host 0's home carries one of each special, so even a tiny site has them all.
    # r/0 after p/0: its target is always seen first, so it is a record of its own.
    links.append(_Link("r/0"))
    links.append(_Link(MISSING_PATH.lstrip("/")))
    links.append(_Link(META_NOFOLLOW_PATH.lstrip("/")))
    links.append(_Link(NOFOLLOW_PATH.lstrip("/"), rel="nofollow"))
    links.extend(_Link(base) for base in bases[1:])
    links.append(_Link(OUT_OF_SCOPE_URL))
    links.append(_Link(MAILTO_URL))
    return links


# How a page on host h writes a link to page j on the same host / another host: several
# spellings of one canonical URL, so dedup only works after canonicalization. The query
# forms are a URL of their own (/p/j?a=1&b=2), serving page j again.
_SAME_HOST_FORMS: tuple[Callable[[int], str], ...] = (
    lambda j: f"/p/{j}",
    lambda j: f"/p/{j}",
    lambda j: f"../p/{j}",
    lambda j: f"{j}#frag",
    lambda j: f"./{j}",
    lambda j: f"/p/{j}?",
    lambda j: f"/x/../p/{j}",
    lambda j: "/%70/" + "".join(f"%{ord(c):02X}" for c in str(j)),
    lambda j: f"/p/{j}?b=2&a=1",
    lambda j: f"/p/{j}?a=1&b=2#q",
)
_OTHER_HOST_FORMS: tuple[Callable[[int, str], str], ...] = (
    lambda j, netloc: f"http://{netloc}/p/{j}",
    lambda j, netloc: f"http://{netloc}/p/{j}",
    lambda j, netloc: f"http://{netloc}/p/{j}#top",
    lambda j, netloc: f"//{netloc}/p/{j}",
    lambda j, netloc: f"HTTP://{netloc}/p/./{j}",
    lambda j, netloc: f"http://{netloc}/p/{j}?b=2&a=1",
)


def _page_href(
    cfg: SiteConfig, rng: random.Random, from_host: int, page: int, bases: Sequence[str]
) -> str:
    to_host = page_host(cfg, page)
    if to_host == from_host:
        href = rng.choice(_SAME_HOST_FORMS)(page)
    else:
        href = rng.choice(_OTHER_HOST_FORMS)(page, urlsplit(bases[to_host]).netloc)
    if "?a=1" in href or "?b=2" in href:
        # Query variants only for every QUERY_EVERY-th page: a few extra records, not 2x.
        if page % QUERY_EVERY != 0:
            return _plain_href(cfg, from_host, page, bases, "p")
    return href


def _plain_href(cfg: SiteConfig, from_host: int, page: int, bases: Sequence[str], kind: str) -> str:
    to_host = page_host(cfg, page)
    path = f"{kind}/{page}"
    return f"/{path}" if to_host == from_host else bases[to_host] + path


def _page_links(cfg: SiteConfig, i: int, bases: Sequence[str]) -> list[_Link]:
    # A string seed: random.Random hashes it with SHA-512, the same in every process.
    rng = random.Random(f"{cfg.seed}:{i}")
    host = page_host(cfg, i)
    links = [_Link(rng.choice(("/", "../")))]
    # i+1, 2i+1, 2i+2: every page is reachable from page 0 in O(log pages) hops.
    fixed = [j for j in (i + 1, 2 * i + 1, 2 * i + 2) if j < cfg.pages]
    random_pages = [rng.randrange(cfg.pages) for _ in range(cfg.links)]
    links.extend(_Link(_page_href(cfg, rng, host, j, bases)) for j in fixed + random_pages)
    if i % 10 == 1:
        j = (5 * i + 2) % cfg.pages
        links.append(_Link(_page_href(cfg, rng, host, j, bases), tag="area"))
    if i % 10 == 3:
        links.append(_Link(PRIVATE_PATH))
    if i % 10 == 5:
        # The redirect's target is linked just before it: the target is seen before the
        # redirect is fetched, so the chain ends there and /p/j is a record of its own.
        j = (3 * i + 1) % cfg.pages
        links.append(_Link(_plain_href(cfg, host, j, bases, "p")))
        links.append(_Link(_plain_href(cfg, host, j, bases, "r")))
    if i % 10 == 7:
        links.append(_Link(_to_host0(host, bases, MISSING_PATH)))
    if i % 10 == 9:
        links.append(_Link(OUT_OF_SCOPE_URL))
        links.append(_Link(MAILTO_URL))
    if i % 25 == 11:
        links.append(_Link(_to_host0(host, bases, NOFOLLOW_PATH), rel="external nofollow"))
    return links


# ---------------------------------------------------------------------------
# Ground truth: a breadth-first crawl of `respond` itself


def expected_urls(
    cfg: SiteConfig, base_urls: Sequence[str], max_depth: int | None = None
) -> set[str]:
    """The canonical `url` of every record a correct crawl makes (see expected_records)."""
    return set(expected_records(cfg, base_urls, max_depth))


def expected_records(
    cfg: SiteConfig, base_urls: Sequence[str], max_depth: int | None = None
) -> dict[str, ExpectedRecord]:
    """Every record a correct crawl makes, by canonical URL.

    The crawl: seeds are every host's base URL (depth 0), robots.txt obeyed for user
    agent "crawler", scope host, breadth-first so a page's depth is its shortest
    distance; redirect hops add no depth. `max_depth=None` means no limit. With
    cfg.sitemaps the crawl has --sitemaps: every URL the sitemaps list is also depth 0,
    all of them seen before any page is fetched (see `sitemap_urls`).
    """
    bases = [canonicalize(base) for base in base_urls]
    if len(bases) != cfg.hosts:
        raise ValueError(f"need {cfg.hosts} base URLs, got {len(bases)}")
    host_of = {host_key(base): h for h, base in enumerate(bases)}
    robots = [_robots_for(cfg, h, bases) for h in range(cfg.hosts)]

    def allowed(url: str) -> bool:
        return robots[host_of[host_key(url)]].can_fetch(USER_AGENT, url)

    seeds = [base for base in dict.fromkeys(bases + sitemap_urls(cfg, bases)) if allowed(base)]
    seen = set(seeds)
    queue = deque((seed, 0) for seed in seeds)
    records: dict[str, ExpectedRecord] = {}
    while queue:
        url, depth = queue.popleft()
        record, follow = _expected_fetch(cfg, bases, host_of, url, depth, seen, allowed)
        records[url] = record
        if max_depth is not None and depth >= max_depth:
            continue
        for link in follow:
            # Scope host: the seeds' hosts, i.e. every host of the site.
            if link in seen or host_key(link) not in host_of or not allowed(link):
                continue
            seen.add(link)
            queue.append((link, depth + 1))
    return records


def _robots_for(cfg: SiteConfig, host_index: int, bases: Sequence[str]) -> RobotFileParser:
    status, _, body = respond(cfg, host_index, "/robots.txt", bases)
    parser = RobotFileParser()
    if status == 200:
        parser.parse(body.decode().splitlines())
    else:
        parser.allow_all = True
    return parser


def _expected_fetch(
    cfg: SiteConfig,
    bases: Sequence[str],
    host_of: dict[str, int],
    url: str,
    depth: int,
    seen: set[str],
    allowed: Callable[[str], bool],
) -> tuple[ExpectedRecord, list[str]]:
    """One record as the redirect rules (docs/contract.md) make it, and its links to follow."""
    redirects: list[str] = []
    current = url
    while True:
        parts = urlsplit(current)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        status, headers, body = respond(cfg, host_of[host_key(current)], target, bases)
        if status not in REDIRECT_STATUSES:
            break
        redirects.append(current)
        location = canonicalize(dict(headers)["Location"], current)
        if host_key(location) not in host_of or location in redirects:
            raise RuntimeError(f"the site redirects {current} out of scope or in a loop")
        if location in seen or not allowed(location):
            # Already seen: the chain ends with no error; the content is in that URL's record.
            record = ExpectedRecord(url, location, tuple(redirects), depth, status, None, ())
            return record, []
        seen.add(location)
        current = location
    if not 200 <= status < 300:
        return ExpectedRecord(url, current, tuple(redirects), depth, status, None, ()), []
    title, links, follow = _parse(body.decode(), current)
    return ExpectedRecord(url, current, tuple(redirects), depth, status, title, links), follow


def _parse(text: str, base: str) -> tuple[str | None, tuple[str, ...], list[str]]:
    """Title, links (canonical, once each, document order) and the links to follow.

    A regex is enough: the HTML is our own, attributes always double-quoted.
    """
    match = _TITLE_RE.search(text)
    title = " ".join(html.unescape(match.group(1)).split()) if match else None
    meta = _META_ROBOTS_RE.search(text)
    meta_tokens = {t.strip().lower() for t in meta.group(1).split(",")} if meta else set()
    page_nofollow = bool(meta_tokens & {"nofollow", "none"})
    links: dict[str, None] = {}
    follow: dict[str, None] = {}
    for attrs_text in _LINK_TAG_RE.findall(text):
        attrs = dict(_ATTR_RE.findall(attrs_text))
        try:
            link = canonicalize(html.unescape(attrs["href"]), base)
        except InvalidURL:
            continue  # mailto: and friends are not http(s) links
        links[link] = None
        if not page_nofollow and "nofollow" not in attrs.get("rel", "").lower().split():
            follow[link] = None
    return title, tuple(links), list(follow)


# ---------------------------------------------------------------------------
# The server


@dataclass(frozen=True, slots=True)
class LoggedRequest:
    """One request as the server saw it; `t` is time.monotonic() on arrival."""

    host_index: int
    method: str
    path: str
    headers: dict[str, str]
    t: float


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every answer has a Content-Length
    timeout = KEEPALIVE_IDLE_S
    server: _HostServer

    def do_GET(self) -> None:
        self._answer(send_body=True)

    def do_HEAD(self) -> None:
        self._answer(send_body=False)

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is `SiteServer.requests` (and --log), not stderr."""

    def _answer(self, send_body: bool) -> None:
        site = self.server.site
        host_index = self.server.host_index
        site._record(host_index, self.command, self.path, dict(self.headers.items()))
        if site.cfg.latency_ms > 0:
            time.sleep(site.cfg.latency_ms / 1000)
        status, headers, body = respond(site.cfg, host_index, self.path, site.base_urls)
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if send_body:
            self.wfile.write(body)


class _HostServer(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 1024  # a crawl opens many connections at once

    def __init__(self, address: tuple[str, int], site: SiteServer, host_index: int) -> None:
        self.site = site
        self.host_index = host_index
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind would call socket.getfqdn(): a reverse DNS lookup.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name, self.server_port = str(host), int(port)

    def process_request(self, request: Any, client_address: Any) -> None:
        # Registered here, in the accept loop, so stop() sees every accepted connection.
        self.site._add_connection(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        try:
            super().shutdown_request(request)
        finally:
            self.site._discard_connection(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        # Peers that hang up mid-answer are normal for a crawler's test site.
        log.debug("error serving %s", client_address, exc_info=True)


class SiteServer:
    """Serve `cfg` on 127.0.0.1 .. 127.0.0.<hosts>, all on one port, and log requests."""

    def __init__(
        self, cfg: SiteConfig, port: int = 0, log_path: str | os.PathLike[str] | None = None
    ) -> None:
        self.cfg = cfg
        self.port = port
        self.base_urls: list[str] = []
        self.requests: list[LoggedRequest] = []
        self._log_path = log_path
        self._log_file: IO[str] | None = None
        self._lock = threading.Lock()
        self._drained = threading.Condition(self._lock)
        self._connections: set[socket.socket] = set()
        self._servers: list[_HostServer] = []
        self._threads: list[threading.Thread] = []

    def start(self) -> list[str]:
        """Bind every host and serve in background threads; return the base URLs."""
        if self._servers:
            raise RuntimeError("SiteServer already started")
        servers = self._bind_all()
        port = servers[0].server_address[1]
        self.base_urls = make_base_urls(self.cfg.hosts, int(port))
        if self._log_path is not None:
            self._log_file = open(self._log_path, "a", encoding="utf-8")
        self._servers = servers
        for server in servers:
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.05},
                name=f"site-{server.host_index}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)
        return list(self.base_urls)

    def stop(self) -> None:
        """Stop accepting, end open connections, wait (bounded) for handlers to finish."""
        servers, self._servers = self._servers, []
        threads, self._threads = self._threads, []
        for server in servers:
            server.shutdown()
        for server in servers:
            server.server_close()
        for thread in threads:
            thread.join(STOP_DRAIN_S)
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            # Wakes a handler blocked on an idle keep-alive read; it then closes the socket.
            with contextlib.suppress(OSError):  # the peer may have closed it already
                connection.shutdown(socket.SHUT_RDWR)
        with self._drained:
            if not self._drained.wait_for(lambda: not self._connections, STOP_DRAIN_S):
                log.warning("%d connections still open after stop", len(self._connections))
            if self._log_file is not None:
                self._log_file.close()
                self._log_file = None

    def __enter__(self) -> SiteServer:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def requests_for(self, path: str, host_index: int | None = None) -> list[LoggedRequest]:
        """The logged requests whose target is exactly `path` (optionally on one host)."""
        with self._lock:
            return [
                r
                for r in self.requests
                if r.path == path and (host_index is None or r.host_index == host_index)
            ]

    def _bind_all(self) -> list[_HostServer]:
        for _ in range(BIND_ATTEMPTS):
            servers: list[_HostServer] = []
            try:
                servers.append(_HostServer((host_address(0), self.port), self, 0))
                port = servers[0].server_address[1]
                for h in range(1, self.cfg.hosts):
                    servers.append(_HostServer((host_address(h), port), self, h))
            except OSError as exc:
                for server in servers:
                    server.server_close()
                # Port 0 gave a port free on 127.0.0.1 only: try another one.
                if self.port != 0 or exc.errno != errno.EADDRINUSE:
                    raise
                continue
            return servers
        raise OSError(errno.EADDRINUSE, f"no port free on all {self.cfg.hosts} hosts")

    def _record(self, host_index: int, method: str, path: str, headers: dict[str, str]) -> None:
        entry = LoggedRequest(host_index, method, path, headers, time.monotonic())
        with self._lock:
            self.requests.append(entry)
            if self._log_file is not None:
                line = {"host": host_index, "path": path, "method": method, "t": entry.t}
                self._log_file.write(json.dumps(line) + "\n")
                self._log_file.flush()

    def _add_connection(self, connection: socket.socket) -> None:
        with self._lock:
            self._connections.add(connection)

    def _discard_connection(self, connection: socket.socket) -> None:
        with self._drained:
            self._connections.discard(connection)
            self._drained.notify_all()


# ---------------------------------------------------------------------------
# CLI


def _parse_args(argv: Sequence[str] | None) -> tuple[argparse.Namespace, SiteConfig]:
    defaults = SiteConfig()
    parser = argparse.ArgumentParser(
        prog="python -m scripts.site",
        description="Serve the deterministic synthetic site on 127.0.0.1..127.0.0.<hosts>.",
    )
    parser.add_argument("--pages", type=int, default=defaults.pages)
    parser.add_argument("--links", type=int, default=defaults.links)
    parser.add_argument("--hosts", type=int, default=defaults.hosts)
    parser.add_argument("--seed", type=int, default=defaults.seed)
    parser.add_argument("--latency-ms", type=float, default=defaults.latency_ms)
    parser.add_argument("--page-bytes", type=int, default=defaults.page_bytes)
    parser.add_argument(
        "--sitemaps",
        action="store_true",
        help="serve sitemaps and orphan pages (robots.txt names them)",
    )
    parser.add_argument("--port", type=int, default=0, help="shared port (default: a free one)")
    parser.add_argument("--log", metavar="FILE", help="append one JSON line per request")
    parser.add_argument("--expected", metavar="FILE", help="write the expected canonical URLs")
    parser.add_argument(
        "--max-depth", type=int, default=None, help="depth limit for --expected (default: none)"
    )
    args = parser.parse_args(argv)
    try:
        cfg = SiteConfig(
            pages=args.pages,
            links=args.links,
            hosts=args.hosts,
            seed=args.seed,
            latency_ms=args.latency_ms,
            page_bytes=args.page_bytes,
            sitemaps=args.sitemaps,
        )
    except ValueError as exc:
        parser.error(str(exc))  # exits 2
    return args, cfg


def _write_lines(path: str, lines: Iterable[str]) -> None:
    # Atomic: a reader never sees half a file.
    temp = Path(f"{path}.tmp")
    temp.write_text("".join(f"{line}\n" for line in lines), encoding="utf-8")
    temp.replace(path)


def main(argv: Sequence[str] | None = None) -> int:
    """Serve until SIGTERM or SIGINT; print the base URLs, host 0's first."""
    args, cfg = _parse_args(argv)
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with SiteServer(cfg, port=args.port, log_path=args.log) as server:
            if args.expected:
                _write_lines(
                    args.expected, sorted(expected_urls(cfg, server.base_urls, args.max_depth))
                )
            for url in server.base_urls:
                print(url, flush=True)
            while not stop.wait(0.5):
                pass
    except OSError as exc:
        print(f"site: {exc}", file=sys.stderr)
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


if __name__ == "__main__":
    sys.exit(main())

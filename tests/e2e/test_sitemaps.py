"""--sitemaps through the real CLI: what the servers saw, in which order, and out.json."""

from __future__ import annotations

import gzip
import json
import re
import signal
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.helpers.crawler_cli import Crawl
from tests.helpers.processes import wait_for

XML = "application/xml"
HTML = "text/html; charset=utf-8"


@dataclass
class Route:
    body: bytes
    status: int = 200
    content_type: str = HTML
    sleep_s: float = 0.0
    headers: dict[str, str] = field(default_factory=dict)


class Site:
    """One loopback server: routes by path (else 404), and a log of (path, time) received."""

    def __init__(self, server: HTTPServer) -> None:
        self.server = server
        self.routes: dict[str, Route] = {}
        self.log: list[tuple[str, float]] = []
        self._lock = threading.Lock()
        server.expect_request(re.compile(".*")).respond_with_handler(self._handle)

    def url(self, path: str = "/") -> str:
        return self.server.url_for(path)

    def page(self, path: str, *hrefs: str, title: str = "T") -> None:
        links = "".join(f'<a href="{h}">{h}</a>' for h in hrefs)
        self.routes[path] = Route(f"<title>{title}</title>{links}".encode())

    def file(self, path: str, body: bytes | str, content_type: str = XML, **kw: object) -> None:
        data = body.encode() if isinstance(body, str) else body
        self.routes[path] = Route(data, content_type=content_type, **kw)  # type: ignore[arg-type]

    def paths(self) -> list[str]:
        with self._lock:
            return [path for path, _ in self.log]

    def _handle(self, request: Request) -> Response:
        path = request.full_path.rstrip("?")
        with self._lock:
            self.log.append((path, time.monotonic()))
        route = self.routes.get(path)
        if route is None:
            return Response(b"no", status=404, content_type="text/plain")
        if route.sleep_s:
            time.sleep(route.sleep_s)
        return Response(
            route.body, status=route.status, content_type=route.content_type, headers=route.headers
        )


@pytest.fixture
def site(httpserver: HTTPServer) -> Site:
    return Site(httpserver)


@pytest.fixture
def other_site() -> Iterator[Site]:
    """A second host: another loopback address."""
    server = HTTPServer(host="127.0.0.2", port=0)
    server.start()
    try:
        yield Site(server)
    finally:
        server.clear()
        if server.is_running():
            server.stop()


def urlset(*urls: str) -> str:
    body = "".join(f"<url><loc>{u}</loc></url>" for u in urls)
    return f'<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</urlset>'


def index(*urls: str) -> str:
    body = "".join(f"<sitemap><loc>{u}</loc></sitemap>" for u in urls)
    return (
        f'<sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{body}</sitemapindex>'
    )


def run(crawl, site: Site, *args: str) -> Crawl:  # type: ignore[no-untyped-def]
    result: Crawl = crawl(
        "--seed", site.url("/"), "--procs", "2", "--threads", "2", "--sitemaps", *args
    )
    assert result.code == 0, result.stderr
    return result


def files(result: Crawl) -> dict[str, dict[str, object]]:
    assert result.out is not None
    return {entry["url"]: entry for entry in result.out["sitemaps"]["files"]}


def first_page_index(paths: list[str], sitemap_paths: set[str]) -> int:
    return min(i for i, p in enumerate(paths) if p != "/robots.txt" and p not in sitemap_paths)


def test_index_gzip_and_orphans_read_before_any_page(crawl, site: Site) -> None:
    site.file(
        "/robots.txt",
        f"User-agent: *\nDisallow: /private\nSitemap: {site.url('/index.xml')}\n",
        "text/plain",
    )
    site.file(
        "/index.xml",
        index(
            site.url("/index.xml"),
            site.url("/s1.xml"),
            site.url("/s2.xml.gz"),
            "http://127.0.0.2:9/x.xml",
        ),
    )
    site.file(
        "/s1.xml",
        urlset(site.url("/"), site.url("/a"), site.url("/orphan"), site.url("/private/p")),
    )
    site.file(
        "/s2.xml.gz", gzip.compress(urlset(site.url("/b?y=2&amp;x=1")).encode()), "application/gzip"
    )
    site.page("/", "/a", "/linked-only")
    site.page("/a")
    site.page("/orphan", "/from-orphan")
    site.page("/from-orphan")
    site.page("/b")
    site.page("/linked-only")
    result = run(crawl, site)

    paths = site.paths()
    assert paths[0] == "/robots.txt"
    sitemap_paths = {"/index.xml", "/s1.xml", "/s2.xml.gz"}
    assert sitemap_paths <= set(paths)
    assert max(paths.index(p) for p in sitemap_paths) < first_page_index(paths, sitemap_paths)
    assert paths.count("/index.xml") == 1  # it lists itself: no loop
    assert "/private/p" not in paths  # robots.txt rules hold for sitemap URLs
    assert result.stats["robots_excluded"] == 1
    assert "disallows the seed" not in result.stderr  # a sitemap's URL is no seed

    entries = files(result)
    # The index first, then its entry on another host; its sitemaps as they answer.
    assert list(entries)[:2] == [site.url("/index.xml"), "http://127.0.0.2:9/x.xml"]
    assert set(entries) == {
        site.url("/index.xml"),
        "http://127.0.0.2:9/x.xml",
        site.url("/s1.xml"),
        site.url("/s2.xml.gz"),
    }
    assert entries[site.url("/index.xml")] == {
        "url": site.url("/index.xml"),
        "status": 200,
        "urls": 4,
        "error": None,
    }
    assert entries[site.url("/s1.xml")]["urls"] == 4
    assert entries[site.url("/s2.xml.gz")] == {
        "url": site.url("/s2.xml.gz"),
        "status": 200,
        "urls": 1,
        "error": None,
    }
    other = entries["http://127.0.0.2:9/x.xml"]
    assert other["status"] is None and other["error"]["kind"] == "other_host"  # type: ignore[index]
    assert result.out is not None
    assert result.out["sitemaps"]["urls"] == 5  # /, /a, /orphan, /private/p, /b?x=1&y=2

    pages = result.by_url()
    orphan = pages[site.url("/orphan")]
    assert orphan["depth"] == 0 and orphan["referrer"] == site.url("/s1.xml")
    assert orphan["in_sitemap"] is True
    assert pages[site.url("/b?x=1&y=2")]["referrer"] == site.url("/s2.xml.gz")
    assert pages[site.url("/")]["in_sitemap"] is True  # the seed, listed too
    assert pages[site.url("/a")]["in_sitemap"] is True  # found by a link, listed too
    assert pages[site.url("/a")]["depth"] == 0
    assert pages[site.url("/linked-only")]["in_sitemap"] is False
    assert pages[site.url("/from-orphan")] == pages[site.url("/from-orphan")] | {
        "depth": 1,
        "in_sitemap": False,
    }
    assert result.out["settings"]["sitemaps"] is True


def test_default_sitemap_xml_when_robots_lists_none_404_costs_nothing(crawl, site: Site) -> None:
    site.file("/robots.txt", "User-agent: *\nDisallow:\n", "text/plain")
    site.page("/", "/a")
    site.page("/a")
    result = run(crawl, site)
    assert site.paths()[:2] == ["/robots.txt", "/sitemap.xml"]
    assert files(result) == {
        site.url("/sitemap.xml"): {
            "url": site.url("/sitemap.xml"),
            "status": 404,
            "urls": 0,
            "error": None,
        }
    }
    assert {p["url"]: p["in_sitemap"] for p in result.pages} == {
        site.url("/"): False,
        site.url("/a"): False,
    }


def test_plain_text_sitemap_and_no_robots_txt(crawl, site: Site) -> None:
    site.file("/sitemap.xml", f"{site.url('/t')}\n\n{site.url('/u')}\n", "text/plain")
    site.page("/")
    site.page("/t")
    site.page("/u")
    result = run(crawl, site)
    assert files(result)[site.url("/sitemap.xml")]["urls"] == 2
    assert sorted(p["url"] for p in result.pages) == [site.url("/"), site.url("/t"), site.url("/u")]


def test_without_the_option_nothing_changes(crawl, site: Site) -> None:
    site.file("/robots.txt", f"Sitemap: {site.url('/s.xml')}\n", "text/plain")
    site.file("/s.xml", urlset(site.url("/orphan")))
    site.page("/")
    site.page("/orphan")
    result: Crawl = crawl("--seed", site.url("/"), "--procs", "1")
    assert site.paths() == ["/robots.txt", "/"]
    assert result.out is not None and "sitemaps" not in result.out
    assert "in_sitemap" not in result.pages[0]


def test_ignore_robots_still_reads_sitemap_lines(crawl, site: Site) -> None:
    site.file(
        "/robots.txt", f"User-agent: *\nDisallow: /\nSitemap: {site.url('/s.xml')}\n", "text/plain"
    )
    site.file("/s.xml", urlset(site.url("/orphan")))
    site.page("/")
    site.page("/orphan")
    result = run(crawl, site, "--ignore-robots")
    paths = site.paths()
    assert paths[:2] == ["/robots.txt", "/s.xml"]
    assert sorted(paths[2:]) == ["/", "/orphan"]
    assert files(result)[site.url("/s.xml")]["urls"] == 1
    assert result.stats["robots_excluded"] == 0


def test_sitemap_robots_disallows_is_not_fetched(crawl, site: Site) -> None:
    site.file(
        "/robots.txt", f"User-agent: *\nDisallow: /s\nSitemap: {site.url('/s.xml')}\n", "text/plain"
    )
    site.file("/s.xml", urlset(site.url("/orphan")))
    site.page("/")
    result = run(crawl, site)
    assert "/s.xml" not in site.paths()
    entry = files(result)[site.url("/s.xml")]
    assert entry["status"] is None and entry["error"]["kind"] == "robots_excluded"  # type: ignore[index]


LOL = '<!ENTITY lol0 "lol">' + "".join(
    f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10}">' for i in range(1, 10)
)


def test_hostile_sitemaps_cost_an_entry_never_the_crawl(
    crawl, site: Site, other_site: Site
) -> None:
    bomb = gzip.compress(b"http://x.test/\n" + bytes(50 << 20), compresslevel=1)
    sitemaps = {
        "/500.xml": Route(b"oops", status=500),
        "/broken.xml": Route(
            urlset(site.url("/ok1")).removesuffix("</urlset>").encode() + b"<url><lo",
            content_type=XML,
        ),
        "/lol.xml": Route(
            f'<?xml version="1.0"?><!DOCTYPE urlset [{LOL}]>'
            f"<urlset><url><loc>{site.url('/')}&lol9;</loc></url></urlset>".encode(),
            content_type=XML,
        ),
        "/bomb.xml.gz": Route(bomb, content_type="application/gzip"),
        # Past --max-bytes: the URLs before the cut count.
        "/huge.xml": Route(f"{site.url('/ok3')}\n".encode() + b" " * (3 << 20), content_type=XML),
        "/self.xml": Route(b"", content_type=XML),
    }
    site.routes.update(sitemaps)
    site.file("/self.xml", index(site.url("/self.xml"), site.url("/ok.xml")))
    site.file("/ok.xml", urlset(site.url("/ok2")))
    # The slow one on a server of its own: the test server answers one request at a time.
    other_site.file("/slow.xml", urlset(site.url("/never")), sleep_s=3.0)
    lines = "".join(f"Sitemap: {site.url(p)}\n" for p in sitemaps)
    lines += f"Sitemap: {other_site.url('/slow.xml')}\n"
    site.file("/robots.txt", f"User-agent: *\nDisallow:\n{lines}", "text/plain")
    site.page("/")
    site.page("/ok1")
    site.page("/ok2")
    site.page("/ok3")
    started = time.monotonic()
    result = run(crawl, site, "--retries", "0", "--timeout", "1", "--max-bytes", str(1 << 20))
    assert time.monotonic() - started < 30
    entries = files(result)
    kinds = {
        url.rsplit("/", 1)[1]: (e["status"], e["error"] and e["error"]["kind"])
        for url, e in entries.items()
    }  # type: ignore[index]
    assert kinds == {
        "500.xml": (500, None),
        "broken.xml": (200, "bad_sitemap"),
        "lol.xml": (200, "bad_sitemap"),
        "bomb.xml.gz": (200, "too_large"),
        "slow.xml": (None, "timeout"),
        "huge.xml": (200, "too_large"),
        "self.xml": (200, None),
        "ok.xml": (200, None),
    }
    assert entries[site.url("/huge.xml")]["urls"] == 1
    assert sorted(p["url"] for p in result.pages) == [
        site.url("/"),
        site.url("/ok1"),
        site.url("/ok2"),
        site.url("/ok3"),
    ]
    assert site.paths().count("/self.xml") == 1
    assert "/never" not in site.paths()


def test_sitemap_on_another_host_asks_that_host_robots_first(
    crawl, site: Site, other_site: Site
) -> None:
    other_site.file("/robots.txt", "User-agent: *\nDisallow: /no\n", "text/plain")
    other_site.file("/s.xml", urlset(site.url("/orphan"), other_site.url("/off-scope")))
    other_site.file("/no/s.xml", urlset(site.url("/never")))
    site.file(
        "/robots.txt",
        f"Sitemap: {other_site.url('/s.xml')}\nSitemap: {other_site.url('/no/s.xml')}\n",
        "text/plain",
    )
    site.page("/")
    site.page("/orphan")
    result = run(crawl, site)
    assert other_site.paths() == ["/robots.txt", "/s.xml"]
    assert sorted(p["url"] for p in result.pages) == [site.url("/"), site.url("/orphan")]
    assert result.stats["out_of_scope"] == 1
    assert files(result)[other_site.url("/no/s.xml")]["error"]["kind"] == "robots_excluded"  # type: ignore[index]


def test_sitemap_on_a_refused_address_is_never_contacted(crawl, site: Site) -> None:
    site.file("/robots.txt", "Sitemap: http://169.254.169.254/latest/sitemap.xml\n", "text/plain")
    site.page("/")
    result = run(crawl, site)
    entry = files(result)["http://169.254.169.254/latest/sitemap.xml"]
    assert entry["status"] is None and entry["error"]["kind"] == "blocked_address"  # type: ignore[index]
    assert [p["url"] for p in result.pages] == [site.url("/")]


def test_sitemap_fetches_obey_the_delay(crawl, site: Site) -> None:
    site.file("/robots.txt", f"Sitemap: {site.url('/i.xml')}\n", "text/plain")
    site.file("/i.xml", index(site.url("/s1.xml"), site.url("/s2.xml")))
    site.file("/s1.xml", urlset(site.url("/a")))
    site.file("/s2.xml", urlset(site.url("/b")))
    site.page("/")
    site.page("/a")
    site.page("/b")
    run(crawl, site, "--delay", "0.3")
    times = [t for _, t in site.log]
    assert len(times) == 7  # robots.txt, 3 sitemaps, 3 pages
    gaps = [b - a for a, b in zip(times, times[1:], strict=False)]
    # Starts are 0.3 s apart at the crawler; arrivals here jitter by a few ms either way.
    assert min(gaps) >= 0.25, gaps


def test_resumed_crawl_reads_sitemaps_again_and_fetches_no_page_twice(
    crawl, site: Site, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    site.file("/robots.txt", f"Sitemap: {site.url('/s.xml')}\n", "text/plain")
    site.file("/s.xml", urlset(site.url("/"), site.url("/orphan")))  # the seed too
    site.page("/")
    site.page("/orphan")
    state = str(tmp_path / "state")
    first = run(crawl, site, "--state", state)
    again = run(crawl, site, "--state", state)
    paths = site.paths()
    assert paths.count("/") == 1 and paths.count("/orphan") == 1
    assert paths.count("/s.xml") == 2
    assert again.pages == first.pages
    assert again.out is not None and again.out["sitemaps"]["urls"] == 2
    # Sitemap URLs seen already (the seed; every URL on the rerun) are no duplicate links.
    assert first.stats["duplicates"] == again.stats["duplicates"] == 0


def test_redirects_on_the_host_are_followed_and_index_levels_stop_at_three(
    crawl, site: Site
) -> None:
    site.file(
        "/robots.txt",
        f"Sitemap: {site.url('/moved.xml')}\nSitemap: {site.url('/away.xml')}\n",
        "text/plain",
    )
    site.routes["/moved.xml"] = Route(b"", status=301, headers={"Location": "/i1.xml"})
    site.routes["/away.xml"] = Route(
        b"", status=302, headers={"Location": "http://127.0.0.2:9/s.xml"}
    )
    site.file("/i1.xml", index(site.url("/i2.xml"), site.url("/s1.xml")))
    site.file("/i2.xml", index(site.url("/i3.xml")))
    site.file("/i3.xml", index(site.url("/i4.xml")))  # level 3: its sitemaps are not read
    site.file("/i4.xml", urlset(site.url("/never")))
    site.file("/s1.xml", urlset(site.url("/a")))
    site.page("/")
    site.page("/a")
    result = run(crawl, site)
    entries = files(result)
    moved = entries[site.url("/moved.xml")]
    assert (moved["status"], moved["urls"], moved["error"]) == (200, 2, None)
    away = entries[site.url("/away.xml")]
    assert away["status"] == 302 and away["error"]["kind"] == "out_of_scope_redirect"  # type: ignore[index]
    assert entries[site.url("/i3.xml")]["error"]["kind"] == "too_deep"  # type: ignore[index]
    assert site.url("/i4.xml") not in entries
    paths = site.paths()
    assert "/i4.xml" not in paths and "/never" not in paths
    assert sorted(p["url"] for p in result.pages) == [site.url("/"), site.url("/a")]
    assert result.by_url()[site.url("/a")]["referrer"] == site.url("/s1.xml")


def test_seed_host_with_unavailable_robots_reads_no_sitemap(crawl, site: Site) -> None:
    site.routes["/robots.txt"] = Route(b"down", status=503)
    site.file("/sitemap.xml", urlset(site.url("/a")))
    result = run(crawl, site, "--retries", "0")
    assert site.paths() == ["/robots.txt"]
    entry = files(result)[site.url("/sitemap.xml")]
    assert entry["status"] is None and entry["error"]["kind"] == "robots_unavailable"  # type: ignore[index]
    (record,) = result.pages
    assert record["error"]["kind"] == "robots_unavailable" and record["in_sitemap"] is False


def test_interrupted_while_a_sitemap_hangs(
    start_crawler, tmp_path, site: Site, other_site: Site
) -> None:  # type: ignore[no-untyped-def]
    other_site.file("/slow.xml", urlset(site.url("/a")), sleep_s=5.0)
    site.file("/robots.txt", f"Sitemap: {other_site.url('/slow.xml')}\n", "text/plain")
    site.page("/")
    proc = start_crawler("--seed", site.url("/"), "--procs", "1", "--sitemaps", "--timeout", "30")
    wait_for(lambda: "/slow.xml" in other_site.paths(), 20, "the sitemap request")
    started = time.monotonic()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=15) == 130
    assert time.monotonic() - started < 10
    out = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert out["complete"] is False
    assert out["sitemaps"] == {"files": [], "urls": 0}
    assert out["pages"] == []  # the seed host was still held: no page started
    assert site.paths() == ["/robots.txt"]

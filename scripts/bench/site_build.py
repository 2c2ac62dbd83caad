"""The synthetic site (scripts/site.py) written out once as static files, and its ground truth.

Only the one-host site can be static: its pages link by path, so the files do not depend
on the port a server later listens on. Serving the files is servers.py's job.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from scripts.site import (
    META_NOFOLLOW_PATH,
    MISSING_PATH,
    NOFOLLOW_PATH,
    PRIVATE_PATH,
    SiteConfig,
    expected_urls,
    respond,
)

# Page bodies are written without knowing the server's port: a one-host site links only
# by path (scripts/site.py), so any base gives the same bytes and the same request targets.
PLACEHOLDER_BASE = "http://127.0.0.1/"
INDEX_FILE = "index.html"
NOT_FOUND_FILE = "404.html"


@dataclass(frozen=True, slots=True)
class BuiltSite:
    cfg: SiteConfig
    www: Path
    expected: frozenset[str]  # request targets of every record a correct crawl makes


def request_target(url: str) -> str:
    """The request target of a URL: path and query, what the server sees."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def static_route(target: str) -> str:
    """The path a static server looks up for a request target: no query, %-decoded."""
    return unquote(target.partition("#")[0].partition("?")[0])


def site_file(route: str) -> str:
    """The file (relative to the document root) that serves a 200 route."""
    return INDEX_FILE if route == "/" else route.lstrip("/")


def build_site(cfg: SiteConfig, www: Path) -> BuiltSite:
    """Write every page the site answers 200 for, plus the 404 body, under `www`."""
    if cfg.hosts != 1:
        raise ValueError("the static site has one host (links of several hosts name the port)")
    routes = ["/", "/robots.txt", PRIVATE_PATH, META_NOFOLLOW_PATH, NOFOLLOW_PATH]
    routes += [f"/p/{i}" for i in range(cfg.pages)]
    for route in routes:
        status, _, body = respond(cfg, 0, route)
        if status != 200:
            raise RuntimeError(f"the site answers {status} for {route}")
        path = www / site_file(route)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    (www / NOT_FOUND_FILE).write_bytes(respond(cfg, 0, MISSING_PATH)[2])
    expected = frozenset(request_target(u) for u in expected_urls(cfg, [PLACEHOLDER_BASE]))
    return BuiltSite(cfg, www, expected)

"""The rules of reading sitemaps (--sitemaps): which sitemaps a seed host has
(robots.txt's `Sitemap:` lines, else /sitemap.xml), which entries of an index may be
read, where a sitemap's redirect may lead, and out.json's entry of one file.

Pure, and without lxml: the coordinator uses these (crawler/sitemap_flow.py); what one
file lists is crawler/sitemap_parse.py's, in the worker processes.
"""

from __future__ import annotations

from typing import NamedTuple
from urllib.parse import urlsplit

from protego import Protego

from crawler.robots import ROBOTS_MAX_BYTES
from crawler.urls import InvalidURL, canonicalize, host_key

# sitemaps.org: a sitemap lists at most 50 000 URLs (an index at most 50 000 sitemaps).
MAX_SITEMAP_URLS = 50_000
# Levels of files: the sitemaps robots.txt lists (or /sitemap.xml) are level 1; an index
# at level 3 lists sitemaps that are not read.
MAX_SITEMAP_LEVELS = 3
# Files (entries of out.json's sitemaps.files) per seed host: an index may list 50 000
# sitemaps of 50 000 URLs each; past this, an index's further entries are not read.
MAX_SITEMAP_FILES = 1000
DEFAULT_SITEMAP_PATH = "/sitemap.xml"

# Error kinds of a sitemaps.files entry beyond a record's fetch kinds (docs/contract.md).
BAD_SITEMAP = "bad_sitemap"  # not a sitemap: malformed XML, another root, bad gzip
ROBOTS_EXCLUDED = "robots_excluded"  # robots.txt disallows it: not fetched
OTHER_HOST = "other_host"  # an index entry not on the index's host: not fetched
TOO_DEEP = "too_deep"  # an index at the last level lists sitemaps: they are not read
TOO_MANY_SITEMAPS = "too_many_sitemaps"  # MAX_SITEMAP_FILES reached: the rest not read
TOO_LARGE = "too_large"  # past --max-bytes decoded, or more than MAX_SITEMAP_URLS entries

URLSET, INDEX, TEXT = "urlset", "index", "text"  # SitemapContent.kind


class Entry(NamedTuple):
    """One entry of out.json's sitemaps.files."""

    url: str
    status: int | None
    urls: int  # entries the file listed (URLs, or sitemaps for an index)
    error_kind: str | None = None
    error_message: str | None = None

    def to_json(self) -> dict[str, object]:
        error = None
        if self.error_kind is not None:
            error = {"kind": self.error_kind, "message": self.error_message or ""}
        return {"url": self.url, "status": self.status, "urls": self.urls, "error": error}


# -- which sitemaps ----------------------------------------------------------------------
def robots_sitemaps(body: bytes) -> list[str]:
    """The canonical URLs of the `Sitemap:` lines of a robots.txt body, each once.

    Lines that are no absolute http(s) URL are left out, as robots.txt parsers do.
    """
    text = body[:ROBOTS_MAX_BYTES].decode("utf-8-sig", errors="replace")
    found: dict[str, None] = {}
    for raw in Protego.parse(text).sitemaps:
        try:
            found[canonicalize(raw)] = None
        except InvalidURL:
            continue
    return list(found)


def default_sitemap(url: str) -> str:
    """/sitemap.xml on the host of a canonical URL: where a site's sitemap usually is."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{host_key(url)}{DEFAULT_SITEMAP_PATH}"


def child_error(index_url: str, child_url: str, child_level: int) -> tuple[str, str] | None:
    """Why an index's entry may not be read (kind, message), or None: it may.

    Children must be on the index's host (sitemaps.org: a sitemap only speaks for its
    own host) and not deeper than MAX_SITEMAP_LEVELS.
    """
    if host_key(child_url) != host_key(index_url):
        return OTHER_HOST, f"listed by {index_url}, not on its host"
    if child_level > MAX_SITEMAP_LEVELS:
        return TOO_DEEP, f"sitemap indexes nest at most {MAX_SITEMAP_LEVELS} levels"
    return None


def redirect_target(
    url: str, location: str | None, chain: list[str], max_redirects: int
) -> str | tuple[str, str]:
    """Where a sitemap's redirect leads, or why it is not followed (kind, message).

    A sitemap speaks for its own host, so a redirect is followed on that host only;
    `chain` lists the URLs that answered 3xx before `url`.
    """
    if not location:
        return "bad_response", "a redirect without Location"
    try:
        target = canonicalize(location, base=url)
    except InvalidURL as exc:
        return "out_of_scope_redirect", f"redirect to {location!r}: {exc}"
    if target == url or target in chain or len(chain) + 1 > max_redirects:
        return "too_many_redirects", f"more than {max_redirects} redirects, or a loop"
    if host_key(target) != host_key(url) or urlsplit(target).scheme != urlsplit(url).scheme:
        return "out_of_scope_redirect", f"redirect to {target}, off the sitemap's host"
    return target

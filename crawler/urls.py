"""Canonical URLs (docs/contract.md#outjson): what counts as the same page, and what a host is.

Pure: no I/O. w3lib does the heavy lifting (IDNA, percent-encoding, dot segments,
query sorting); we add what canonical form needs beyond it (default port dropped, space
in the query as %20, stray '%' escaped, http(s) only).
"""

from __future__ import annotations

import re
from functools import lru_cache
from urllib.parse import urljoin, urlsplit, urlunsplit

from w3lib.url import canonicalize_url, safe_url_string

SCHEMES = frozenset({"http", "https"})
DEFAULT_PORTS = {"http": 80, "https": 443}
# WHATWG URL parsing strips these anywhere in the string; browsers follow such hrefs.
_STRIPPED = re.compile(r"[\t\n\r]")
_STRAY_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_ESCAPE = re.compile(r"%[0-9A-Fa-f]{2}")
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


class InvalidURL(ValueError):
    """The text is not an http(s) URL we can fetch; the message is the reason."""


def canonicalize(url: str, base: str | None = None) -> str:
    """Return the canonical form of `url` (resolved against `base` if given).

    Raises InvalidURL with a short reason for anything that is not an absolute
    http(s) URL with a host.
    """
    text = _STRIPPED.sub("", url).strip(" \x00\x0b\x0c")
    if base is not None:
        if text.startswith("/") and not text.startswith("//"):
            # Root-relative, the commonest href: the base's origin plus the href gives
            # the same URL as urljoin (dot segments are resolved below), and the result
            # then repeats across pages, so the cache below answers it.
            text = _origin(base) + text
        elif not text.startswith(("http://", "https://")):
            try:
                text = urljoin(base, text)
            except ValueError as exc:  # e.g. an invalid IPv6 literal
                raise InvalidURL(f"cannot resolve: {exc}") from None
    return _canonicalize_absolute(text)


@lru_cache(maxsize=1024)
def _origin(base: str) -> str:
    parts = urlsplit(base)
    return f"{parts.scheme}://{parts.netloc}"


@lru_cache(maxsize=65536)
def _canonicalize_absolute(text: str) -> str:
    # Cached: the same links repeat from page to page of one site.
    try:
        parts = urlsplit(text)
    except ValueError as exc:
        raise InvalidURL(str(exc)) from None
    scheme = parts.scheme.lower()
    if not scheme:
        raise InvalidURL("not an absolute URL")
    if scheme not in SCHEMES:
        raise InvalidURL("unsupported scheme")
    if not parts.hostname:
        raise InvalidURL("no host")
    text = _STRAY_PERCENT.sub("%25", text)
    try:
        parts = urlsplit(canonicalize_url(text, keep_fragments=False))
        port = parts.port
        # w3lib re-encodes the query form-style, escaping reserved '=', ';', '+' inside
        # values, which changes what the server sees; canonical form keeps reserved
        # characters as written, so the query is taken from the safe (percent-encoded,
        # UTF-8) original instead.
        query = _normalize_query(urlsplit(safe_url_string(text)).query)
    except (ValueError, UnicodeError) as exc:
        raise InvalidURL(str(exc).splitlines()[0] if str(exc) else "invalid URL") from None
    netloc = parts.netloc
    if port is not None and port == DEFAULT_PORTS[scheme]:
        netloc = netloc.rsplit(":", 1)[0]
    return urlunsplit((scheme, netloc, parts.path or "/", query, ""))


def _normalize_escape(match: re.Match[str]) -> str:
    # RFC 3986 §6.2.2.2: decode escaped unreserved characters, upper-case the rest.
    char = chr(int(match.group(0)[1:], 16))
    return char if char in _UNRESERVED else match.group(0).upper()


def _normalize_query(query: str) -> str:
    """Arguments sorted by name then value (repeats kept, empty ones dropped)."""
    args = []
    for arg in query.split("&"):
        if not arg:
            continue
        arg = _ESCAPE.sub(_normalize_escape, arg)
        name, _, value = arg.partition("=")
        args.append((name, value, arg))
    args.sort()
    return "&".join(arg for _, _, arg in args)


def host_key(url: str) -> str:
    """The host of a canonical URL: host and port, no userinfo ("127.0.0.1:8000").

    By string search, not urlsplit: the coordinator asks this of every link it sees
    (scope, politeness, robots.txt), and urlsplit was a third of its CPU time. A
    canonical URL always has "://" and a path, so its authority is what lies between.
    """
    start = url.find("://") + 3
    end = url.find("/", start)
    if start < 3 or end < 0:  # not canonical: leave it to urlsplit
        return urlsplit(url).netloc.rpartition("@")[2]
    return url[start:end].rpartition("@")[2]


def hostname(url: str) -> str:
    """The host name of a canonical URL, without port or userinfo."""
    return urlsplit(url).hostname or ""

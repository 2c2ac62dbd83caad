"""What crosses the process boundary between the coordinator and a worker process.

Both sides import this module and nothing else goes through the pipes: a `TaskMessage`
to the worker (or `None`, "stop"), one `Result` back per attempt, and with --plugin a
`PluginOutcome` after the Result of each page the plugin was called for. NamedTuples of plain
values: they pickle as a class reference and a tuple (as cheap as the bare tuples they
replace), are read by attribute, and `_replace` completes a result once it is parsed.
Exceptions and response objects stay in the process that made them.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any, NamedTuple


class TaskMessage(NamedTuple):
    """One request for a worker to make."""

    task_id: int
    url: str
    send_headers: bool  # the --header values go with this request (a seed host)
    robots: bool  # a robots.txt fetch: its body comes back, it is not parsed
    # The task whose request this one follows on the same thread (and host slot) the
    # moment that request ends; 0: none, any free thread takes it.
    after: int = 0
    # The record's URL when `url` is a redirect hop of it (what a plugin sees as page.url).
    origin: str | None = None
    sitemap: bool = False  # a sitemap fetch (--sitemaps): the worker parses it as one
    # time.monotonic() after which the request must not start (its host's lease ends on
    # a shared frontier; the coordinator's machine, so the same clock); 0: none.
    deadline: float = 0.0


# The error kind of a Result whose request was not started because its deadline passed:
# the coordinator gives the task back; it never becomes a record.
FENCED = "fenced"


class SitemapContent(NamedTuple):
    """What one sitemap file lists, as the worker parsed it (crawler/sitemap_parse.py);
    it travels in the sitemap fetch's Result."""

    kind: str  # "urlset", "index" (its urls are sitemaps), "text", "" (none of these)
    urls: tuple[str, ...]  # canonical, each once, in file order
    listed: int  # entries the file listed, at most MAX_SITEMAP_URLS
    dropped: int  # canonical URLs left out for --max-url-length
    error_kind: str | None  # why (part of) the file could not be read
    error_message: str | None


class Result(NamedTuple):
    """The outcome of one attempt, as the worker reports it.

    `error_kind` is an error kind's value (a plain str) or None. title, links,
    nofollow and dropped_links are filled in for a 2xx HTML page once it is parsed,
    `data` too when the crawl has --extract; `body` only for robots.txt (its first
    part, what RFC 9309 asks to parse).

    With --plugin, a parsed page's Result comes with `plugin_pending`, sent before the
    plugin is called; its record waits for the PluginOutcome, which the pool merges in
    (`follow`, `plugin_error`, the merged `data`).
    """

    task_id: int
    worker: int | None  # None: no worker attempted it (a record decided beforehand)
    status: int | None
    content_type: str | None
    location: str | None  # the Location header of a 3xx answer
    retry_after: str | None  # the raw Retry-After header
    bytes: int  # decoded body bytes read
    elapsed_ms: float
    fetched_at: float  # epoch seconds when the attempt started
    error_kind: str | None
    error_message: str | None
    title: str | None = None
    links: Sequence[str] = ()
    nofollow: Sequence[str] = ()  # the links not to follow, a subset of `links`
    dropped_links: int = 0  # links left out for --max-url-length
    body: builtins.bytes = b""  # `bytes` is a field name above
    data: dict[str, Any] | None = None  # --extract name -> values, and the plugin's keys
    plugin_pending: bool = False  # the plugin runs: its PluginOutcome follows
    follow: Sequence[str] = ()  # the plugin's links to follow (canonical), not in `links`
    plugin_error: str | None = None  # "Kind: message"
    sitemap: SitemapContent | None = None  # a sitemap's 2xx answer, parsed


class PluginOutcome(NamedTuple):
    """What one plugin call added to a page's Result (sent after that Result)."""

    task_id: int
    data: dict[str, Any]  # the record's whole `data`: --extract values merged with the plugin's
    follow: Sequence[str] = ()  # canonical, not longer than --max-url-length
    error: str | None = None  # "Kind: message"
    dropped_links: int = 0  # `follow` URLs longer than --max-url-length

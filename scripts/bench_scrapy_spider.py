"""The bench's Scrapy contender (scripts/bench/): a plain Spider doing the crawler's job.

Run only by the bench, with the scrapy of the bench's own virtualenv (.bench-venv/):
    scrapy runspider scripts/bench_scrapy_spider.py -a start_url=http://127.0.0.1:PORT/ -O feed.json
Imports nothing of the crawler package: Scrapy and the crawler live in different virtualenvs.
With `-a plugin=MODULE:FUNCTION -a plugin_path=DIR` (the plugin scenario) it calls that
function in its callback on every 2xx HTML page, with the fields of the crawler's `page`
but `soup`, and puts what it returns in the item's `data`, as the crawler's --plugin does.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterator
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import scrapy
from scrapy.http import HtmlResponse, Response
from scrapy.linkextractors import LinkExtractor

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
NOFOLLOW_TOKENS = frozenset({"nofollow", "none"})


class BenchSpider(scrapy.Spider):
    """Follow every in-site link from the start URL; one item per response, like a page record."""

    name = "bench"
    # A fair race: the crawler's concurrency (32 per host), no robots.txt, no throttling,
    # no telnet console; everything else is Scrapy's default.
    custom_settings: dict[str, Any] = {
        "CONCURRENT_REQUESTS": 32,
        "CONCURRENT_REQUESTS_PER_DOMAIN": 32,
        "ROBOTSTXT_OBEY": False,
        "LOG_LEVEL": "WARNING",
        "TELNETCONSOLE_ENABLED": False,
        "AUTOTHROTTLE_ENABLED": False,
        "DEPTH_LIMIT": 0,
        "COOKIES_ENABLED": False,
        # The crawler records a 301 and a 404 as page records of their own; with
        # RedirectMiddleware a redirect to an already-seen page would vanish in the dupefilter
        # and the two outputs could not be checked against the same ground truth. So the
        # spider sees every status and follows Location itself, through the same dupefilter.
        "REDIRECT_ENABLED": False,
        "HTTPERROR_ALLOW_ALL": True,
        "FEED_EXPORT_ENCODING": "utf-8",
    }

    def __init__(
        self,
        start_url: str,
        *args: Any,
        plugin: str | None = None,
        plugin_path: str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.start_urls = [start_url]
        self._plugin = _load(plugin, plugin_path) if plugin else None
        self._netloc = urlsplit(start_url).netloc.lower()
        # canonicalize=True: the crawler canonicalizes every link it records, so does this.
        self._links = LinkExtractor(tags=("a", "area"), attrs=("href",), canonicalize=True)

    def parse(self, response: Response, **kwargs: Any) -> Iterator[Any]:
        item: dict[str, Any] = {
            "url": response.url,
            "status": response.status,
            "title": None,
            "links": [],
        }
        if response.status in REDIRECT_STATUSES and b"Location" in response.headers:
            yield item
            target = response.urljoin(response.headers[b"Location"].decode("latin-1"))
            if self._in_site(target):
                yield scrapy.Request(target, callback=self.parse)
            return
        if not (200 <= response.status < 300 and isinstance(response, HtmlResponse)):
            yield item  # the crawler takes links from 2xx HTML bodies only, so does this
            return
        title = response.xpath("//title/text()").get()
        item["title"] = " ".join(title.split()) if title is not None else None
        links = self._links.extract_links(response)
        item["links"] = [link.url for link in links]
        if self._plugin is not None:
            item["data"] = self._plugin(_page(response))
        yield item
        meta = response.xpath('//meta[@name="robots"]/@content').get() or ""
        if NOFOLLOW_TOKENS & {token.strip().lower() for token in meta.split(",")}:
            return
        for link in links:
            if not link.nofollow and self._in_site(link.url):
                yield scrapy.Request(link.url, callback=self.parse)

    def _in_site(self, url: str) -> bool:
        parts = urlsplit(url)
        return parts.scheme in ("http", "https") and parts.netloc.lower() == self._netloc


def _load(spec: str, path: str | None) -> Callable[[Any], Any]:
    module, _, function = spec.partition(":")
    if path and path not in sys.path:
        sys.path.insert(0, path)
    plugin: Callable[[Any], Any] = getattr(importlib.import_module(module), function)
    return plugin


def _page(response: HtmlResponse) -> SimpleNamespace:
    """The crawler's `page` fields (no soup) for one response."""
    headers = {
        name.decode("latin-1").lower(): b", ".join(values).decode("latin-1")
        for name, values in response.headers.items()
    }
    url = response.request.url if response.request is not None else response.url
    return SimpleNamespace(
        url=url, final_url=response.url, status=response.status, headers=headers, text=response.text
    )

"""Every figure of a crawl, computed from its out.json in one place, for every rendering.

`crawler-summary` (text, JSON, CSV) and `crawler.report` (HTML) show the same Figures
and differ only in how they draw them: totals, statuses, error kinds, broken links with
the pages that link to them, redirects, external links, hosts, depths, the slowest
pages, response times, content types, the crawl over time, and with --sitemaps the
orphan pages (in a sitemap, linked from nowhere) and the unlisted ones (linked, in no
sitemap).

Pure and one pass: records come in one at a time (out.json read as a stream by
crawler.out_reader) and are folded into counters, so a 200 000-record file is never
held whole. "ok" and "failed" are records.Stats' own rule (failed = an error or a
status of 400 and up), so the totals are exactly out.json's stats.
"""

from __future__ import annotations

import heapq
from array import array
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import IO, Any

from crawler.out_reader import read_out_json
from crawler.records import Stats, is_failed, iso_time
from crawler.urls import host_key

TOP_DEFAULT = 10  # entries per list of the text summary; 0: every entry
LINKERS_KEPT = 3  # pages kept per linked URL (the text summary names 3)
# stats counters that the records cannot rebuild, with how a person names them.
NOT_FOLLOWED = (
    ("robots_excluded", "URL", "disallowed by robots.txt"),
    ("out_of_scope", "URL", "out of scope"),
    ("rejected", "URL", "rejected by --accept-ext/--reject-ext"),
    ("dropped_links", "link", "longer than --max-url-length"),
    ("duplicates", "link", "to URLs already seen"),
)
# Response-time histogram: the upper bounds (ms) of its buckets; one more is open-ended.
RESPONSE_TIME_EDGES_MS = (10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000)
PERCENTILES = (50, 90, 99)
TIMELINE_BINS = 60  # the crawl over time: this many equal slices of its span


@dataclass(frozen=True, slots=True)
class LinkedUrl:
    """A URL other recorded pages link to: a broken page, a redirect, an external link."""

    url: str
    status: int | None  # None: no answer, or not fetched (`fetched` says which)
    error_kind: str | None
    links_in: int = 0  # other recorded pages whose links hold it
    linked_from: tuple[str, ...] = ()  # the first `linkers` of them, in out.json's order
    fetched: bool = True
    message: str | None = None  # the error's message
    referrer: str | None = None  # where it was found: shown when no page links to it
    depth: int | None = None
    chain: tuple[str, ...] = ()  # a redirect's URLs, from url to final_url


@dataclass(frozen=True, slots=True)
class HostCounts:
    host: str
    pages: int
    ok: int
    failed: int


@dataclass(frozen=True, slots=True)
class SlowPage:
    url: str
    elapsed_ms: float
    status: int | None
    error_kind: str | None


@dataclass(frozen=True, slots=True)
class Bucket:
    """One bar of a histogram: records whose value is in [low, high) (None: unbounded)."""

    low: float | None
    high: float | None
    count: int


@dataclass(frozen=True, slots=True)
class TimeSlice:
    """Records fetched in [start_s, start_s + width) seconds after the first one."""

    start_s: float
    ok: int
    failed: int


@dataclass(frozen=True, slots=True)
class Timeline:
    started_at: str | None  # the ISO time of the first record's fetched_at
    width_s: float  # of each slice
    slices: list[TimeSlice]


@dataclass(frozen=True, slots=True)
class SitemapFigures:
    """Only when out.json has "sitemaps" (a crawl with --sitemaps)."""

    files: list[dict[str, Any]]  # out.json's sitemaps.files, as they are
    urls: int  # sitemaps.urls: the URLs the sitemaps listed
    listed: int  # records with in_sitemap true
    orphans: list[LinkedUrl]  # records in a sitemap, not seeds, that no recorded page links to
    unlisted: list[LinkedUrl]  # ok, unredirected records pages link to, in no sitemap


@dataclass(frozen=True, slots=True)
class Figures:
    """Everything the renderings show. Lists are complete and sorted, worst first,
    except `slowest`, which holds the `top` slowest pages only (all when top is 0)."""

    top: int
    header: dict[str, Any]  # out.json's top-level fields but "pages"
    stats: Stats  # folded from the records: ok/failed exactly as out.json counts them
    by_depth: dict[int, int]
    broken: list[LinkedUrl]
    redirects: list[LinkedUrl]
    external: list[LinkedUrl]
    external_hosts: int
    hosts: list[HostCounts]
    slowest: list[SlowPage]
    rows: list[tuple[str, int | None, str | None, int | None, str | None, int]] = field(
        default_factory=list
    )  # summary.CSV_COLUMNS, only when asked for
    content_types: dict[str, int] = field(default_factory=dict)  # most first; "" for none
    response_times: list[Bucket] = field(default_factory=list)  # of attempted records
    percentiles_ms: dict[str, float] = field(default_factory=dict)  # "p50", "p90", "p99", "max"
    timeline: Timeline = field(default_factory=lambda: Timeline(None, 0.0, []))
    sitemaps: SitemapFigures | None = None

    @property
    def file_stats(self) -> dict[str, Any]:
        """out.json's own "stats" (the counters the records cannot rebuild are there)."""
        stats = self.header.get("stats")
        return stats if isinstance(stats, dict) else {}

    @property
    def by_status(self) -> dict[str, int]:
        """Records per status, in numeric order."""
        return dict(sorted(self.stats.by_status.items(), key=lambda i: (len(i[0]), i[0])))

    @property
    def by_error(self) -> dict[str, int]:
        """Records per error kind, most first."""
        return dict(sorted(self.stats.by_error.items(), key=lambda i: (-i[1], i[0])))

    @property
    def not_followed(self) -> dict[str, int] | None:
        """out.json's counts of URLs and links not followed (NOT_FOLLOWED); None when
        the file has none of them (a hand-made or foreign file)."""
        stats = self.file_stats
        if not any(isinstance(stats.get(name), int) for name, _, _ in NOT_FOLLOWED):
            return None
        return {
            name: stats[name] for name, _, _ in NOT_FOLLOWED if isinstance(stats.get(name), int)
        }

    @property
    def max_depth(self) -> int | None:
        value = (self.header.get("settings") or {}).get("max_depth")
        return value if isinstance(value, int) else None

    @property
    def beyond_depth(self) -> int | None:
        value = self.file_stats.get("beyond_depth")
        return value if isinstance(value, int) else None


class _Fold:
    """Records in, one at a time; Figures out. Keeps per record only what a figure
    needs: a count per link target, the first few pages linking to each, the outcome
    of each URL (for external links), the records that are broken or redirected, and a
    number or two per record (its time, its response time)."""

    def __init__(self, top: int, keep_rows: bool, linkers: int) -> None:
        self._top = top
        self._keep_rows = keep_rows
        self._linkers_kept = linkers
        self._stats = Stats()
        self._seq = 0
        self._by_depth: Counter[int] = Counter()
        self._hosts: dict[str, list[int]] = {}  # host -> [pages, ok, failed]
        self._root_hosts: set[str] = set()  # of depth-0 records: the seeds, if none listed
        # link target -> [pages linking to it, then the first `linkers` of them]
        self._refs: dict[str, list[Any]] = {}
        self._outcome: dict[str, tuple[int | None, str | None]] = {}
        self._broken: list[LinkedUrl] = []  # links_in and linked_from filled in at the end
        self._redirected: list[LinkedUrl] = []
        self._slowest: list[tuple[float, int, SlowPage]] = []  # a min-heap of `top`
        self._rows: list[tuple[str, int | None, str | None, int | None, str | None]] = []
        self._content_types: Counter[str] = Counter()
        self._elapsed = array("d")  # of the records a worker attempted
        self._times = array("d")  # fetched_at, epoch seconds
        self._time_failed = bytearray()  # 1 where the record at that index failed
        self._second_cache: dict[str, float] = {}
        self._listed = 0  # records with in_sitemap true
        # (url, status, error kind, referrer, depth) of the listed records but seeds, and
        # of the candidates to be unlisted pages: ok, not redirected, not listed.
        self._in_sitemap: list[tuple[str, int | None, str | None, str | None, Any]] = []
        self._unlisted: list[tuple[str, int | None, str | None, str | None, Any]] = []

    def add(self, record: dict[str, Any]) -> None:
        url: str = record["url"]
        # records.Stats decides ok/failed; asking it keeps one rule for both.
        failed_before = self._stats.failed
        self._stats.add(record)
        failed = self._stats.failed != failed_before
        status = record.get("status")
        error = record.get("error")
        kind = error.get("kind") if error else None
        depth = record.get("depth")
        self._outcome[url] = (status, kind)
        host = host_key(url)
        counts = self._hosts.setdefault(host, [0, 0, 0])
        counts[0] += 1
        counts[2 if failed else 1] += 1
        if depth is not None:
            self._by_depth[depth] += 1
        if depth == 0 and record.get("referrer") is None:
            self._root_hosts.add(host)
        redirects = record.get("redirects")
        if failed or redirects:
            entry = _entry(record, status, kind, depth)
            if failed:
                self._broken.append(entry)
            if redirects:
                self._redirected.append(entry)
        self._add_links(url, record.get("final_url"), record.get("links") or ())
        elapsed_ms = record.get("elapsed_ms")
        self._add_timing(url, elapsed_ms, status, kind)
        # A record no worker attempted (worker null: robots_unavailable, blocked_address)
        # has elapsed_ms 0 by contract: it is no response time.
        if isinstance(elapsed_ms, int | float) and not (
            "worker" in record and record["worker"] is None
        ):
            self._elapsed.append(elapsed_ms)
        self._content_types[record.get("content_type") or ""] += 1
        self._add_time(record.get("fetched_at"), failed)
        in_sitemap = record.get("in_sitemap")
        if in_sitemap is not None:
            self._add_sitemap(record, bool(in_sitemap), failed, status, kind, depth)
        if self._keep_rows:
            self._rows.append((url, status, kind, depth, record.get("referrer")))

    def _add_links(self, url: str, final_url: str | None, links: Iterable[str]) -> None:
        # The hottest loop of the fold (20 links a page: millions of lookups for a big
        # crawl): one dict lookup per link, count and first linkers in one list. Counting
        # with Counter.update and finding the links that want linkers with set operations
        # per page was slower (1.1x with 3 linkers, 1.4x with 10, same run, 200 000 pages).
        refs, kept = self._refs, self._linkers_kept
        for link in links:
            if link == url or link == final_url:  # a page linking to itself
                continue
            entry = refs.get(link)
            if entry is None:
                refs[link] = [1, url] if kept else [1]
            else:
                entry[0] += 1
                if len(entry) <= kept:
                    entry.append(url)

    def _add_timing(
        self, url: str, elapsed_ms: float | None, status: int | None, kind: str | None
    ) -> None:
        if elapsed_ms is None:
            return
        self._seq += 1
        # Ties go to the earlier record: the heap's least is the latest of the fastest.
        # The SlowPage is made only for a page that goes in (most do not).
        key = (elapsed_ms, -self._seq)
        if not self._top or len(self._slowest) < self._top:
            heapq.heappush(self._slowest, (*key, SlowPage(url, elapsed_ms, status, kind)))
        elif key > self._slowest[0][:2]:
            heapq.heapreplace(self._slowest, (*key, SlowPage(url, elapsed_ms, status, kind)))

    def _add_time(self, fetched_at: Any, failed: bool) -> None:
        epoch = self._epoch(fetched_at)
        # An `internal` record of a worker death has fetched_at 1970: no time of the crawl.
        if epoch is not None and epoch > 0:
            self._times.append(epoch)
            self._time_failed.append(failed)

    def _epoch(self, text: Any) -> float | None:
        """A time as out.json writes it ("2026-11-28T02:00:01.001Z") in epoch seconds;
        None if it is not such a time.

        Cached per whole second: a crawl records many pages a second, and parsing
        each timestamp whole would be a third of the fold's time."""
        if not isinstance(text, str) or len(text) < 19:
            return None
        second = text[:19]
        base = self._second_cache.get(second)
        if base is None:
            try:
                base = datetime.fromisoformat(second + "+00:00").timestamp()
            except ValueError:
                return None
            self._second_cache[second] = base
        fraction = text[19:].rstrip("Z")
        if fraction.startswith(".") and fraction[1:].isdigit():
            return base + float(fraction)
        return base

    def _add_sitemap(
        self,
        record: dict[str, Any],
        listed: bool,
        failed: bool,
        status: int | None,
        kind: str | None,
        depth: Any,
    ) -> None:
        # Plain tuples: LinkedUrls are made at the end for the few that are shown.
        referrer = record.get("referrer")
        if listed:
            self._listed += 1
            # A seed (no referrer) is where the crawl starts, whatever links to it: only
            # pages found through the sitemaps or links can be orphans.
            if referrer is not None:
                self._in_sitemap.append((record["url"], status, kind, referrer, depth))
        elif not failed and not record.get("redirects"):
            # A sitemap should list the pages a visitor lands on: not errors, not
            # redirects (their target is the page to list).
            self._unlisted.append((record["url"], status, kind, referrer, depth))

    def finish(self, header: dict[str, Any]) -> Figures:
        seeds = header.get("seeds")
        if isinstance(seeds, list) and seeds:
            seed_hosts = {host_key(seed) for seed in seeds if isinstance(seed, str)}
        else:
            seed_hosts = self._root_hosts
        external = [
            self._with_links(
                LinkedUrl(
                    link, *self._outcome.get(link, (None, None)), fetched=link in self._outcome
                )
            )
            for link in self._refs
            if host_key(link) not in seed_hosts
        ]
        return Figures(
            top=self._top,
            header=header,
            stats=self._stats,
            by_depth=dict(sorted(self._by_depth.items())),
            broken=_most_linked(map(self._with_links, self._broken)),
            redirects=_most_linked(map(self._with_links, self._redirected)),
            external=_most_linked(external),
            external_hosts=len({host_key(entry.url) for entry in external}),
            hosts=[
                HostCounts(host, *counts)
                for host, counts in sorted(self._hosts.items(), key=lambda i: (-i[1][0], i[0]))
            ],
            slowest=[item[2] for item in sorted(self._slowest, reverse=True)],
            rows=[(*row, self._links_in(row[0])) for row in self._rows],
            content_types=dict(sorted(self._content_types.items(), key=lambda i: (-i[1], i[0]))),
            response_times=response_time_buckets(self._elapsed),
            percentiles_ms=percentiles(self._elapsed),
            timeline=timeline(self._times, self._time_failed),
            sitemaps=self._sitemaps(header),
        )

    def _sitemaps(self, header: Mapping[str, Any]) -> SitemapFigures | None:
        section = header.get("sitemaps")
        if not isinstance(section, dict):
            return None
        files = [f for f in section.get("files") or () if isinstance(f, dict)]
        urls = section.get("urls")
        linked = self._refs
        orphans = sorted(
            (
                LinkedUrl(url, status, kind, referrer=referrer, depth=depth)
                for url, status, kind, referrer, depth in self._in_sitemap
                if url not in linked
            ),
            # Worst first: an orphan that fails too (a sitemap listing a dead URL).
            key=lambda entry: (not is_failed(entry.status, entry.error_kind), entry.url),
        )
        unlisted = _most_linked(
            self._with_links(LinkedUrl(url, status, kind, referrer=referrer, depth=depth))
            for url, status, kind, referrer, depth in self._unlisted
            if url in linked
        )
        return SitemapFigures(
            files=files,
            urls=urls if isinstance(urls, int) else 0,
            listed=self._listed,
            orphans=orphans,
            unlisted=unlisted,
        )

    def _links_in(self, url: str) -> int:
        entry = self._refs.get(url)
        return entry[0] if entry else 0

    def _with_links(self, entry: LinkedUrl) -> LinkedUrl:
        refs = self._refs.get(entry.url)
        if not refs:
            return entry
        return replace(entry, links_in=refs[0], linked_from=tuple(refs[1:]))


def _entry(record: dict[str, Any], status: int | None, kind: str | None, depth: Any) -> LinkedUrl:
    """What the broken-links and redirects figures keep of a record: not its links."""
    error = record.get("error")
    return LinkedUrl(
        record["url"],
        status,
        kind,
        message=error.get("message") if error else None,
        referrer=record.get("referrer"),
        depth=depth,
        chain=(*(record.get("redirects") or ()), record.get("final_url") or record["url"]),
    )


def human_bytes(count: int) -> str:
    """Bytes for a person: "512 bytes", "1 byte", "12.3 MB" (decimal units); the summary
    and the report show sizes alike."""
    if count < 1000:
        return f"{count} byte" if count == 1 else f"{count} bytes"
    size = count / 1000
    for unit in ("kB", "MB", "GB"):
        if size < 1000:
            return f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"


def _most_linked(entries: Iterable[LinkedUrl]) -> list[LinkedUrl]:
    return sorted(entries, key=lambda entry: (-entry.links_in, entry.url))


def response_time_buckets(elapsed_ms: Iterable[float]) -> list[Bucket]:
    """The response-time histogram over RESPONSE_TIME_EDGES_MS."""
    counts = [0] * (len(RESPONSE_TIME_EDGES_MS) + 1)
    for value in elapsed_ms:
        counts[bisect_right(RESPONSE_TIME_EDGES_MS, value)] += 1
    lows: list[float | None] = [None, *RESPONSE_TIME_EDGES_MS]
    highs: list[float | None] = [*RESPONSE_TIME_EDGES_MS, None]
    return [Bucket(low, high, n) for low, high, n in zip(lows, highs, counts, strict=True)]


def percentiles(values: Iterable[float]) -> dict[str, float]:
    """p50, p90, p99 (nearest rank) and max; empty when there are no values."""
    ordered = sorted(values)
    if not ordered:
        return {}
    found = {f"p{p}": ordered[max(0, -(-p * len(ordered) // 100) - 1)] for p in PERCENTILES}
    found["max"] = ordered[-1]
    return found


def timeline(times: Iterable[float], failed: Iterable[int], bins: int = TIMELINE_BINS) -> Timeline:
    """Records per slice of the crawl's span (first to last fetched_at), ok and failed."""
    pairs = list(zip(times, failed, strict=True))
    if not pairs:
        return Timeline(None, 0.0, [])
    first = min(t for t, _ in pairs)
    span = max(t for t, _ in pairs) - first
    # Whole seconds per slice at least: a short crawl gets fewer slices, not empty ones.
    width = max(1.0, span / bins)
    count = min(bins, int(span // width) + 1)
    ok, bad = [0] * count, [0] * count
    for t, was_failed in pairs:
        index = min(count - 1, int((t - first) // width))
        if was_failed:
            bad[index] += 1
        else:
            ok[index] += 1
    return Timeline(
        iso_time(first), width, [TimeSlice(i * width, ok[i], bad[i]) for i in range(count)]
    )


def from_stream(
    stream: IO[str], top: int = TOP_DEFAULT, keep_rows: bool = False, linkers: int = LINKERS_KEPT
) -> Figures:
    """The figures of the out.json in `stream`, read once, record by record."""
    fold = _Fold(top, keep_rows, linkers)
    header = read_out_json(stream, fold.add)
    return fold.finish(header)


def from_data(
    data: Mapping[str, Any],
    top: int = TOP_DEFAULT,
    keep_rows: bool = False,
    linkers: int = LINKERS_KEPT,
) -> Figures:
    """The figures of an out.json object already in memory."""
    fold = _Fold(top, keep_rows, linkers)
    for record in data.get("pages") or ():
        fold.add(record)
    return fold.finish({key: value for key, value in data.items() if key != "pages"})

"""`crawler-summary out.json`: what a site owner acts on, from a crawl's out.json.

Totals, statuses, error kinds, broken links with the pages that link to them, redirect
chains, external links, per-host counts, depth cut-offs and the slowest pages, as text,
JSON (`--format json`: one object, a key per section) or CSV (`--format csv`: one row
per page record; columns in CSV_COLUMNS).

Read-only, and one pass: out.json is read as a stream, record by record, and each record
is folded into counters, so a 200 000-record file is never held whole. "ok" and "failed"
are records.Stats' own rule (failed = an error or a status of 400 and up), so the figures
are exactly out.json's stats.
"""

from __future__ import annotations

import argparse
import csv
import heapq
import json
import os
import sys
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import IO, Any

from crawler.out_reader import read_out_json
from crawler.records import Stats
from crawler.urls import host_key

TOP_DEFAULT = 10  # entries per list; --top 0 shows every entry
LINKERS_SHOWN = 3  # pages named per broken or external link; the rest is "(+N more)"
FORMATS = ("text", "json", "csv")
# --format csv: one row per page record, in out.json's order.
CSV_COLUMNS = (
    "url",  # the record's url
    "status",  # the HTTP status answered, empty when none
    "error_kind",  # the record's error kind (timeout, dns, ...), empty when none
    "depth",
    "referrer",  # empty for seeds
    "links_in",  # how many other recorded pages link to the url
)
# stats counters that the records cannot rebuild, with how the text names them.
NOT_FOLLOWED = (
    ("robots_excluded", "URL", "disallowed by robots.txt"),
    ("out_of_scope", "URL", "out of scope"),
    ("rejected", "URL", "rejected by --accept-ext/--reject-ext"),
    ("dropped_links", "link", "longer than --max-url-length"),
    ("duplicates", "link", "to URLs already seen"),
)


# ---- the summary's sections ------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LinkedUrl:
    """A URL other recorded pages link to: a broken page, a redirect, an external link."""

    url: str
    status: int | None  # None: no answer, or not fetched (`fetched` says which)
    error_kind: str | None
    links_in: int = 0  # other recorded pages whose links hold it
    linked_from: tuple[str, ...] = ()  # the first LINKERS_SHOWN of them, in out.json's order
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
class Summary:
    """Everything the formats show. Lists are complete and sorted, worst first, except
    `slowest`, which holds the `top` slowest pages only."""

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
    )  # CSV_COLUMNS, only when asked for


class _Fold:
    """Records in, one at a time; a Summary out. Keeps per record only what a section
    needs: a count per link target, the first few pages linking to each, the outcome
    of each URL (for external links), and the records that are broken or redirected."""

    def __init__(self, top: int, keep_rows: bool) -> None:
        self._top = top
        self._keep_rows = keep_rows
        self._stats = Stats()
        self._seq = 0
        self._by_depth: Counter[int] = Counter()
        self._hosts: dict[str, list[int]] = {}  # host -> [pages, ok, failed]
        self._root_hosts: set[str] = set()  # of depth-0 records: the seeds, if none listed
        self._links_in: dict[str, int] = {}
        self._linkers: dict[str, list[str]] = {}
        self._outcome: dict[str, tuple[int | None, str | None]] = {}
        self._broken: list[LinkedUrl] = []  # links_in and linked_from filled in at the end
        self._redirected: list[LinkedUrl] = []
        self._slowest: list[tuple[float, int, SlowPage]] = []  # a min-heap of `top`
        self._rows: list[tuple[str, int | None, str | None, int | None, str | None]] = []

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
        if failed or record.get("redirects"):
            entry = _entry(record, status, kind, depth)
            if failed:
                self._broken.append(entry)
            if record.get("redirects"):
                self._redirected.append(entry)
        self._add_links(url, record.get("final_url"), record.get("links") or ())
        self._add_timing(url, record.get("elapsed_ms"), status, kind)
        if self._keep_rows:
            self._rows.append((url, status, kind, depth, record.get("referrer")))

    def _add_links(self, url: str, final_url: str | None, links: Iterable[str]) -> None:
        links_in, linkers = self._links_in, self._linkers
        for link in links:
            if link == url or link == final_url:  # a page linking to itself
                continue
            seen = links_in.get(link, 0)
            links_in[link] = seen + 1
            if seen < LINKERS_SHOWN:
                linkers.setdefault(link, []).append(url)

    def _add_timing(
        self, url: str, elapsed_ms: float | None, status: int | None, kind: str | None
    ) -> None:
        if elapsed_ms is None:
            return
        self._seq += 1
        # Ties go to the earlier record: the heap's least is the latest of the fastest.
        item = (elapsed_ms, -self._seq, SlowPage(url, elapsed_ms, status, kind))
        if not self._top or len(self._slowest) < self._top:
            heapq.heappush(self._slowest, item)
        elif item[:2] > self._slowest[0][:2]:
            heapq.heapreplace(self._slowest, item)

    def finish(self, header: dict[str, Any]) -> Summary:
        seeds = header.get("seeds")
        if isinstance(seeds, list) and seeds:
            seed_hosts = {host_key(seed) for seed in seeds}
        else:
            seed_hosts = self._root_hosts
        external = [
            self._with_links(
                LinkedUrl(
                    link, *self._outcome.get(link, (None, None)), fetched=link in self._outcome
                )
            )
            for link in self._links_in
            if host_key(link) not in seed_hosts
        ]
        return Summary(
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
            rows=[(*row, self._links_in.get(row[0], 0)) for row in self._rows],
        )

    def _with_links(self, entry: LinkedUrl) -> LinkedUrl:
        return replace(
            entry,
            links_in=self._links_in.get(entry.url, 0),
            linked_from=tuple(self._linkers.get(entry.url, ())),
        )


def _entry(record: dict[str, Any], status: int | None, kind: str | None, depth: Any) -> LinkedUrl:
    """What the broken-links and redirects sections keep of a record: not its links."""
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


def _most_linked(entries: Iterable[LinkedUrl]) -> list[LinkedUrl]:
    return sorted(entries, key=lambda entry: (-entry.links_in, entry.url))


def summarize_stream(stream: IO[str], top: int = TOP_DEFAULT, keep_rows: bool = False) -> Summary:
    """The summary of the out.json in `stream`, read once, record by record."""
    fold = _Fold(top, keep_rows)
    header = read_out_json(stream, fold.add)
    return fold.finish(header)


def summarize(data: Mapping[str, Any], top: int = TOP_DEFAULT, keep_rows: bool = False) -> Summary:
    """The summary of an out.json object already in memory."""
    fold = _Fold(top, keep_rows)
    for record in data.get("pages") or ():
        fold.add(record)
    return fold.finish({key: value for key, value in data.items() if key != "pages"})


# ---- formats -----------------------------------------------------------------------------


def plural(count: int, word: str) -> str:
    """The count and its noun: 1 page, 2 pages, 3 retries."""
    if count == 1:
        return f"{count} {word}"
    if word.endswith("y") and word[-2:-1] not in "aeiou":
        return f"{count} {word[:-1]}ies"
    return f"{count} {word}s"


def to_text(summary: Summary) -> str:
    """The summary for a person, one section after another."""
    lines = [*_overview(summary), ""]
    lines += _broken_text(summary)
    lines += _redirects_text(summary)
    lines += _external_text(summary)
    lines += _hosts_text(summary)
    lines += _slowest_text(summary)
    return "\n".join(lines).rstrip("\n") + "\n"


def _overview(summary: Summary) -> list[str]:
    header, stats = summary.header, summary.stats
    file_stats: dict[str, Any] = header.get("stats") or {}
    state = "complete" if header.get("complete") else "INCOMPLETE (interrupted or still running)"
    parts = [f"crawl: {state}", plural(len(header.get("seeds") or []), "seed")]
    if header.get("started_at"):
        parts.append(f"{header['started_at']} .. {header.get('finished_at') or '?'}")
    elapsed_s, pages_per_s = file_stats.get("elapsed_s"), file_stats.get("pages_per_s")
    if isinstance(elapsed_s, int | float):
        parts.append(f"{elapsed_s:.2f} s")
    if isinstance(pages_per_s, int | float):
        parts.append(f"{pages_per_s:.1f} pages/s")
    lines = [", ".join(parts)]
    lines.append(
        f"pages: {stats.pages}  ok: {stats.ok}  failed: {stats.failed}"
        f"  ({_size(stats.bytes)} read, {plural(stats.retries, 'retry')})"
    )
    lines.append("by status: " + _counts(_by_status(stats), "page"))
    lines.append("by error kind: " + _counts(_by_error(stats), "page"))
    if stats.plugin_errors:  # pages whose --plugin failed (they are not failed pages)
        lines.append(f"plugin errors: {plural(stats.plugin_errors, 'page')}")
    if any(isinstance(file_stats.get(name), int) for name, _, _ in NOT_FOLLOWED):
        not_followed = [
            f"{plural(file_stats[name], noun)} {what}"
            for name, noun, what in NOT_FOLLOWED
            if file_stats.get(name)
        ]
        lines.append("not followed: " + (", ".join(not_followed) or "none"))
    lines.append(_depth_text(summary))
    return lines


def _depth_text(summary: Summary) -> str:
    by_depth = _counts({str(d): n for d, n in summary.by_depth.items()}, "page")
    line = f"by depth: {by_depth}"
    beyond = (summary.header.get("stats") or {}).get("beyond_depth")
    if isinstance(beyond, int):
        max_depth = _max_depth(summary.header)
        limit = f" --max-depth {max_depth}" if max_depth is not None else " --max-depth"
        line += f"; {plural(beyond, 'URL')} not followed beyond{limit}"
    return line


def _max_depth(header: Mapping[str, Any]) -> int | None:
    value = (header.get("settings") or {}).get("max_depth")
    return value if isinstance(value, int) else None


def _by_status(stats: Stats) -> dict[str, int]:
    return dict(sorted(stats.by_status.items(), key=lambda i: (len(i[0]), i[0])))


def _by_error(stats: Stats) -> dict[str, int]:
    return dict(sorted(stats.by_error.items(), key=lambda i: (-i[1], i[0])))


def _counts(counts: Mapping[str, int], noun: str) -> str:
    return ", ".join(f"{name}: {plural(n, noun)}" for name, n in counts.items()) or "none"


def _size(count: int) -> str:
    """Bytes for a person: "512 bytes", "12.3 MB" (decimal units)."""
    if count < 1000:
        return plural(count, "byte")
    size = count / 1000
    for unit in ("kB", "MB", "GB"):
        if size < 1000:
            return f"{size:.1f} {unit}"
        size /= 1000
    return f"{size:.1f} TB"


def _shown(summary: Summary, entries: Sequence[Any]) -> tuple[Sequence[Any], int]:
    """The first `top` entries (all when top is 0) and how many are left out."""
    if not summary.top:
        return entries, 0
    return entries[: summary.top], max(0, len(entries) - summary.top)


def _more(left_out: int) -> list[str]:
    return [f"  (+{left_out} more)"] if left_out else []


def _outcome(status: int | None, kind: str | None, fetched: bool = True) -> str:
    if not fetched:
        return "not fetched"
    if kind and status is not None:
        return f"{kind} (status {status})"
    return kind or str(status)


def _linked_from(entry: LinkedUrl) -> str:
    if not entry.links_in:
        if entry.referrer is None and entry.depth == 0:
            return "a seed: no recorded page links to it"
        if entry.referrer:
            return f"no recorded page links to it; found via {entry.referrer}"
        return "no recorded page links to it"
    more = entry.links_in - len(entry.linked_from)
    shown = ", ".join(entry.linked_from) + (f" (+{more} more)" if more > 0 else "")
    return f"linked from {plural(entry.links_in, 'page')}: {shown}"


def _broken_text(summary: Summary) -> list[str]:
    if not summary.broken:
        return ["broken links: none", ""]
    shown, left_out = _shown(summary, summary.broken)
    lines = [
        f"broken links: {plural(len(summary.broken), 'URL')} failed"
        " (an error or a status >= 400), most linked first"
    ]
    for entry in shown:
        message = f"  ({entry.message})" if entry.message else ""
        lines.append(f"  {_outcome(entry.status, entry.error_kind)}  {entry.url}{message}")
        lines.append(f"      {_linked_from(entry)}")
    return [*lines, *_more(left_out), ""]


def _redirects_text(summary: Summary) -> list[str]:
    if not summary.redirects:
        return ["redirects: none", ""]
    shown, left_out = _shown(summary, summary.redirects)
    lines = [f"redirects: {plural(len(summary.redirects), 'URL')} redirected, most linked first"]
    for entry in shown:
        outcome = _outcome(entry.status, entry.error_kind)
        linked = f"linked from {plural(entry.links_in, 'page')}"
        lines.append(f"  {' -> '.join(entry.chain)}  ({outcome}, {linked})")
    return [*lines, *_more(left_out), ""]


def _external_text(summary: Summary) -> list[str]:
    if not summary.external:
        return ["external links: none", ""]
    shown, left_out = _shown(summary, summary.external)
    lines = [
        f"external links: {plural(len(summary.external), 'URL')} on"
        f" {plural(summary.external_hosts, 'host')} other than the seeds', most linked first"
    ]
    for entry in shown:
        lines.append(f"  {_outcome(entry.status, entry.error_kind, entry.fetched)}  {entry.url}")
        lines.append(f"      {_linked_from(entry)}")
    return [*lines, *_more(left_out), ""]


def _hosts_text(summary: Summary) -> list[str]:
    shown, left_out = _shown(summary, summary.hosts)
    lines = [f"hosts: {plural(len(summary.hosts), 'host')}, most pages first"]
    width = max((len(counts.host) for counts in shown), default=0)
    pages_width = max((len(plural(counts.pages, "page")) for counts in shown), default=0)
    for counts in shown:
        lines.append(
            f"  {counts.host:<{width}}  {plural(counts.pages, 'page'):>{pages_width}}"
            f"  ok: {counts.ok}  failed: {counts.failed}"
        )
    return [*lines, *_more(left_out), ""]


def _slowest_text(summary: Summary) -> list[str]:
    timed = summary.stats.pages
    lines = [f"slowest pages: {len(summary.slowest)} of {plural(timed, 'page')}"]
    for page in summary.slowest:
        outcome = _outcome(page.status, page.error_kind)
        lines.append(f"  {page.elapsed_ms:10.1f} ms  {outcome:<8}  {page.url}")
    return lines


def to_json(summary: Summary) -> dict[str, Any]:
    """The summary as one JSON object, a key per section. Each list section is
    {"total": N, "items": [the first --top]}."""
    header, stats = summary.header, summary.stats
    file_stats: dict[str, Any] = header.get("stats") or {}
    return {
        "crawl": {
            "complete": bool(header.get("complete")),
            "started_at": header.get("started_at"),
            "finished_at": header.get("finished_at"),
            "seeds": header.get("seeds") or [],
            "elapsed_s": file_stats.get("elapsed_s"),
            "pages_per_s": file_stats.get("pages_per_s"),
        },
        "totals": {
            "pages": stats.pages,
            "ok": stats.ok,
            "failed": stats.failed,
            "bytes": stats.bytes,
            "retries": stats.retries,
            "plugin_errors": stats.plugin_errors,
        },
        "by_status": _by_status(stats),
        "by_error": _by_error(stats),
        "not_followed": {
            name: file_stats[name]
            for name, _, _ in NOT_FOLLOWED
            if isinstance(file_stats.get(name), int)
        },
        "depth": {
            "pages_by_depth": {str(depth): n for depth, n in summary.by_depth.items()},
            "max_depth": _max_depth(header),
            "beyond_depth": file_stats.get("beyond_depth"),
        },
        "broken_links": _json_list(summary, summary.broken, _broken_json),
        "redirects": _json_list(summary, summary.redirects, _redirect_json),
        "external_links": {
            "hosts": summary.external_hosts,
            **_json_list(summary, summary.external, _external_json),
        },
        "hosts": _json_list(summary, summary.hosts, _host_json),
        "slowest_pages": {
            "total": stats.pages,
            "items": [
                {
                    "url": page.url,
                    "elapsed_ms": page.elapsed_ms,
                    "status": page.status,
                    "error_kind": page.error_kind,
                }
                for page in summary.slowest
            ],
        },
    }


def _json_list(
    summary: Summary, entries: Sequence[Any], item: Callable[[Any], dict[str, Any]]
) -> dict[str, Any]:
    shown, _ = _shown(summary, entries)
    return {"total": len(entries), "items": [item(entry) for entry in shown]}


def _broken_json(entry: LinkedUrl) -> dict[str, Any]:
    return {
        "url": entry.url,
        "status": entry.status,
        "error_kind": entry.error_kind,
        "message": entry.message,
        "links_in": entry.links_in,
        "linked_from": list(entry.linked_from),
        "referrer": entry.referrer,
    }


def _redirect_json(entry: LinkedUrl) -> dict[str, Any]:
    return {
        "url": entry.url,
        "final_url": entry.chain[-1],
        "chain": list(entry.chain),
        "status": entry.status,
        "error_kind": entry.error_kind,
        "links_in": entry.links_in,
    }


def _external_json(entry: LinkedUrl) -> dict[str, Any]:
    return {
        "url": entry.url,
        "fetched": entry.fetched,
        "status": entry.status,
        "error_kind": entry.error_kind,
        "links_in": entry.links_in,
        "linked_from": list(entry.linked_from),
    }


def _host_json(counts: HostCounts) -> dict[str, Any]:
    return {"host": counts.host, "pages": counts.pages, "ok": counts.ok, "failed": counts.failed}


def write_csv(summary: Summary, out: IO[str]) -> None:
    """One row per page record (summarized with keep_rows=True), CSV_COLUMNS first."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for url, status, kind, depth, referrer, links_in in summary.rows:
        writer.writerow(
            (url, _blank(status), _blank(kind), _blank(depth), _blank(referrer), links_in)
        )


def _blank(value: object) -> object:
    return "" if value is None else value


# ---- command line ------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crawler-summary",
        description="Summarize a crawl's out.json: totals, statuses, error kinds, broken "
        "links and the pages linking to them, redirects, external links, hosts, depth, "
        "slowest pages. Also: python -m crawler.summary.",
    )
    parser.add_argument("path", help="the out.json file, or - for stdin")
    parser.add_argument(
        "--format",
        choices=FORMATS,
        default="text",
        help="text (default); json: one object, a key per section; csv: one row per page "
        "record with the columns " + ",".join(CSV_COLUMNS),
    )
    parser.add_argument(
        "--top",
        type=int,
        default=TOP_DEFAULT,
        metavar="N",
        help=f"entries per list (default {TOP_DEFAULT}; 0: all)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Print the summary of an out.json; exit 2 if it cannot be read or is no out.json."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.top < 0:
        parser.error("--top must be 0 (all) or more")
    keep_rows = args.format == "csv"
    try:
        if args.path == "-":
            summary = summarize_stream(sys.stdin, args.top, keep_rows)
        else:
            with open(args.path, encoding="utf-8") as stream:
                summary = summarize_stream(stream, args.top, keep_rows)
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError too
        print(f"crawler-summary: cannot read {args.path}: {exc}", file=sys.stderr)
        return 2
    try:
        if args.format == "csv":
            write_csv(summary, sys.stdout)
        elif args.format == "json":
            json.dump(to_json(summary), sys.stdout, ensure_ascii=False, indent=2)
            sys.stdout.write("\n")
        else:
            sys.stdout.write(to_text(summary))
        sys.stdout.flush()
    except BrokenPipeError:
        # The reader left (`| head`): no traceback, and none again when Python flushes
        # stdout at exit (the recipe of the signal module's documentation).
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1
    return 0


def console_main() -> None:
    """Entry point of the `crawler-summary` console script."""
    sys.exit(main())


if __name__ == "__main__":
    console_main()

"""`crawler-summary out.json`: what a site owner acts on, from a crawl's out.json.

Totals, statuses, error kinds, broken links with the pages that link to them, redirect
chains, external links, per-host counts, depth cut-offs and the slowest pages, as text,
JSON (`--format json`: one object, a key per section) or CSV (`--format csv`: one row
per page record; columns in CSV_COLUMNS).

The figures are crawler.figures' (read-only, one pass over out.json as a stream, so a
200 000-record file is never held whole; "ok" and "failed" exactly as out.json's stats
count them), the same the HTML report (crawler.report) shows: this module only renders
them.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import IO, Any

from crawler.figures import (
    NOT_FOLLOWED,
    TOP_DEFAULT,
    Figures,
    HostCounts,
    LinkedUrl,
    SlowPage,
    from_data,
    from_stream,
    human_bytes,
)

__all__ = ["HostCounts", "LinkedUrl", "SlowPage", "Summary", "summarize", "summarize_stream"]

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

# The summary is the crawl's figures (crawler.figures, shared with the HTML report).
Summary = Figures


def summarize_stream(stream: IO[str], top: int = TOP_DEFAULT, keep_rows: bool = False) -> Summary:
    """The summary of the out.json in `stream`, read once, record by record."""
    return from_stream(stream, top, keep_rows, LINKERS_SHOWN)


def summarize(data: Mapping[str, Any], top: int = TOP_DEFAULT, keep_rows: bool = False) -> Summary:
    """The summary of an out.json object already in memory."""
    return from_data(data, top, keep_rows, LINKERS_SHOWN)


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
    lines += _sitemaps_text(summary)
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
        f"  ({human_bytes(stats.bytes)} read, {plural(stats.retries, 'retry')})"
    )
    lines.append("by status: " + _counts(summary.by_status, "page"))
    lines.append("by error kind: " + _counts(summary.by_error, "page"))
    if stats.plugin_errors:  # pages whose --plugin failed (they are not failed pages)
        lines.append(f"plugin errors: {plural(stats.plugin_errors, 'page')}")
    counts = summary.not_followed
    if counts is not None:
        not_followed = [
            f"{plural(counts[name], noun)} {what}"
            for name, noun, what in NOT_FOLLOWED
            if counts.get(name)
        ]
        lines.append("not followed: " + (", ".join(not_followed) or "none"))
    lines.append(_depth_text(summary))
    return lines


def _depth_text(summary: Summary) -> str:
    by_depth = _counts({str(d): n for d, n in summary.by_depth.items()}, "page")
    line = f"by depth: {by_depth}"
    beyond = summary.beyond_depth
    if beyond is not None:
        max_depth = summary.max_depth
        limit = f" --max-depth {max_depth}" if max_depth is not None else " --max-depth"
        line += f"; {plural(beyond, 'URL')} not followed beyond{limit}"
    return line


def _counts(counts: Mapping[str, int], noun: str) -> str:
    return ", ".join(f"{name}: {plural(n, noun)}" for name, n in counts.items()) or "none"


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


def _sitemaps_text(summary: Summary) -> list[str]:
    """With --sitemaps: the files read, then the orphan and the unlisted pages."""
    sitemaps = summary.sitemaps
    if sitemaps is None:
        return []
    errors = sum(1 for entry in sitemaps.files if entry.get("error"))
    lines = [
        f"sitemaps: {plural(len(sitemaps.files), 'file')} ({errors} with an error),"
        f" {plural(sitemaps.urls, 'URL')} listed, {plural(sitemaps.listed, 'page')} recorded",
        "",
    ]
    shown, left_out = _shown(summary, sitemaps.orphans)
    lines.append(
        f"orphan pages: {plural(len(sitemaps.orphans), 'page')} in a sitemap"
        " that no recorded page links to" + ("" if shown else ": none")
    )
    for entry in shown:
        lines.append(f"  {_outcome(entry.status, entry.error_kind)}  {entry.url}")
    lines += [*_more(left_out), ""]
    shown, left_out = _shown(summary, sitemaps.unlisted)
    lines.append(
        f"unlisted pages: {plural(len(sitemaps.unlisted), 'page')} linked but in no sitemap"
        + ("" if shown else ": none")
    )
    for entry in shown:
        lines.append(f"  {entry.url}")
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
        "by_status": summary.by_status,
        "by_error": summary.by_error,
        "not_followed": summary.not_followed or {},
        "depth": {
            "pages_by_depth": {str(depth): n for depth, n in summary.by_depth.items()},
            "max_depth": summary.max_depth,
            "beyond_depth": file_stats.get("beyond_depth"),
        },
        "broken_links": _json_list(summary, summary.broken, _broken_json),
        "redirects": _json_list(summary, summary.redirects, _redirect_json),
        "external_links": {
            "hosts": summary.external_hosts,
            **_json_list(summary, summary.external, _external_json),
        },
        "hosts": _json_list(summary, summary.hosts, _host_json),
        **_sitemaps_json(summary),
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


def _sitemaps_json(summary: Summary) -> dict[str, Any]:
    """{"sitemaps": ...} with --sitemaps, else nothing (the key is absent)."""
    sitemaps = summary.sitemaps
    if sitemaps is None:
        return {}

    def page(entry: LinkedUrl) -> dict[str, Any]:
        return {"url": entry.url, "status": entry.status, "error_kind": entry.error_kind}

    return {
        "sitemaps": {
            "files": len(sitemaps.files),
            "file_errors": sum(1 for entry in sitemaps.files if entry.get("error")),
            "urls": sitemaps.urls,
            "listed_pages": sitemaps.listed,
            "orphans": _json_list(summary, sitemaps.orphans, page),
            "unlisted": _json_list(summary, sitemaps.unlisted, page),
        }
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

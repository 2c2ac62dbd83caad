"""`python -m crawler.report out.json -o report.html`: the crawl as one HTML page to act on.

The page is self-contained (inline CSS, inline JavaScript, charts as inline SVG drawn in
Python by crawler.report_charts; a Content-Security-Policy that forbids every fetch), so
it opens from disk or a mail attachment with no server and no network. It shows the
figures of crawler.figures, the same ones `crawler-summary` prints: overview, statuses
and error kinds, broken links with the pages that link to them, redirect chains, the
slowest pages, depth and response-time distributions, the crawl over time, content
types, what was not followed (robots.txt, scope), hosts, external links, and with
--sitemaps the orphan and the unlisted pages. Tables sort and filter in the page.

Big crawls stay small and quick: a list longer than ROW_CAP rows shows its ROW_CAP worst
and says how many more there are. Also what `crawler --report PATH` writes at the end of
a crawl (crawler.crawl), from the out.json it wrote.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from crawler import __version__
from crawler.figures import NOT_FOLLOWED, Figures, LinkedUrl, from_stream, human_bytes
from crawler.records import iso_time
from crawler.report_charts import Bar, Stack, columns, hbars, stacked
from crawler.report_path import report_path_problem

ROW_CAP = 1000  # rows per list; the rest is counted, not shown
LINKERS_SHOWN = 10  # pages named per broken link ("and N more")
LINKERS_SHOWN_OTHER = 3  # per external or unlisted link
TIME_LABELS = 6  # labels under the crawl-over-time chart


@dataclass(frozen=True, slots=True)
class Written:
    path: str
    pages: int
    size: int  # bytes


# ---- the page's content, from the figures ------------------------------------------------


def _outcome(status: int | None, kind: str | None, fetched: bool = True) -> tuple[str, str]:
    """What happened to a URL as shown, and its CSS class (its colour)."""
    if not fetched:
        return "not fetched", "s-none"
    if kind:
        return (f"{kind} ({status})" if status is not None else kind), "s-error"
    if status is None:
        return "-", "s-none"
    return str(status), f"s-{status // 100}xx" if 100 <= status < 600 else "s-error"


def _status_css(status: str) -> str:
    return f"bar s-{status[0]}xx" if status.isdigit() and status[0] in "12345" else "bar s-error"


def _linked_row(entry: LinkedUrl, linkers: int) -> dict[str, Any]:
    text, css = _outcome(entry.status, entry.error_kind, entry.fetched)
    shown = entry.linked_from[:linkers]
    note = ""
    if not entry.links_in:
        if entry.referrer is None and entry.depth == 0:
            note = "a seed: no recorded page links to it"
        elif entry.referrer:
            note = "no recorded page links to it; found via"
        else:
            note = "no recorded page links to it"
    return {
        "url": entry.url,
        "outcome": text,
        "css": css,
        "status": entry.status if entry.status is not None else 0,
        "message": entry.message or "",
        "links_in": entry.links_in,
        "linkers": shown,
        "more": max(0, entry.links_in - len(shown)),
        "note": note,
        "referrer": entry.referrer if not entry.links_in else None,
        "chain": entry.chain,
        "hops": max(0, len(entry.chain) - 1),
        "depth": entry.depth,
    }


def _capped(items: Sequence[Any]) -> tuple[Sequence[Any], int]:
    return items[:ROW_CAP], max(0, len(items) - ROW_CAP)


def _table(entries: Sequence[LinkedUrl], linkers: int) -> dict[str, Any]:
    shown, more = _capped(entries)
    return {
        "total": len(entries),
        "rows": [_linked_row(e, linkers) for e in shown],
        "more": more,
    }


def _ms(value: float) -> str:
    if value >= 1000:
        return f"{value / 1000:.2f} s"
    return f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"


def _short_ms(ms: float) -> str:
    return f"{ms / 1000:g}s" if ms >= 1000 else f"{ms:g}ms"


def _bucket_label(low: float | None, high: float | None) -> str:
    """Under its column: the bucket's upper bound ("<250ms"), or "≥10s" for the last."""
    if high is None:
        return f"\u2265{_short_ms(low or 0)}"
    return f"<{_short_ms(high)}"


def _bucket_range(low: float | None, high: float | None) -> str:
    """In its tooltip: the whole range."""
    if low is None:
        return f"under {_short_ms(high or 0)}"
    if high is None:
        return f"{_short_ms(low)} or more"
    return f"{_short_ms(low)} to {_short_ms(high)}"


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f}s"
    if seconds < 5400:
        return f"{seconds / 60:.0f}m"
    return f"{seconds / 3600:.1f}h"


def _timeline_chart(fig: Figures) -> str:
    slices = fig.timeline.slices
    every = max(1, len(slices) // TIME_LABELS)
    stacks = []
    for i, s in enumerate(slices):
        end = s.start_s + fig.timeline.width_s
        tip = (
            f"+{_duration(s.start_s)} to +{_duration(end)}: {s.ok + s.failed} pages"
            f" ({s.ok} ok, {s.failed} failed)"
        )
        label = f"+{_duration(s.start_s)}" if i % every == 0 else ""
        stacks.append(Stack(label, s.ok, s.failed, tip))
    return stacked(stacks, "pages recorded over the crawl's time", "pages per slice, max")


def _not_followed(fig: Figures) -> list[dict[str, Any]]:
    counts = fig.not_followed or {}
    rows = [
        {"name": name, "count": counts[name], "what": f"{noun}s {what}"}
        for name, noun, what in NOT_FOLLOWED
        if name in counts
    ]
    if fig.beyond_depth is not None:
        limit = f" --max-depth {fig.max_depth}" if fig.max_depth is not None else " --max-depth"
        rows.append(
            {"name": "beyond_depth", "count": fig.beyond_depth, "what": f"URLs beyond{limit}"}
        )
    unavailable = fig.stats.by_error.get("robots_unavailable", 0)
    rows.append(
        {
            "name": "robots_unavailable",
            "count": unavailable,
            "what": "records of hosts whose robots.txt gave no usable answer",
        }
    )
    return rows


def _sitemaps(fig: Figures) -> dict[str, Any] | None:
    found = fig.sitemaps
    if found is None:
        return None
    files = []
    for entry in found.files:
        error = entry.get("error")
        kind = error.get("kind") if isinstance(error, dict) else None
        status = entry.get("status")
        text, css = _outcome(status if isinstance(status, int) else None, kind)
        files.append(
            {
                "url": str(entry.get("url", "")),
                "outcome": text,
                "css": css,
                "status": status if isinstance(status, int) else 0,
                "urls": entry.get("urls") if isinstance(entry.get("urls"), int) else 0,
                "message": error.get("message", "") if isinstance(error, dict) else "",
            }
        )
    return {
        "urls": found.urls,
        "listed": found.listed,
        "files": files,
        "orphans": _table(found.orphans, 0),
        "unlisted": _table(found.unlisted, LINKERS_SHOWN_OTHER),
    }


def view(fig: Figures, source: str) -> dict[str, Any]:
    """Everything the template shows, as plain values (no logic left for the template
    but loops and ifs)."""
    header, stats = fig.header, fig.stats
    file_stats = fig.file_stats
    slowest, slowest_more = _capped(fig.slowest)
    elapsed_s, pages_per_s = file_stats.get("elapsed_s"), file_stats.get("pages_per_s")
    by_status = fig.by_status
    by_error = fig.by_error
    return {
        "version": __version__,
        "source": source,
        "generated_at": iso_time(time.time()),
        "complete": bool(header.get("complete")),
        "started_at": header.get("started_at") or "",
        "finished_at": header.get("finished_at") or "",
        "seeds": [s for s in header.get("seeds") or () if isinstance(s, str)],
        "elapsed": f"{elapsed_s:.1f} s" if isinstance(elapsed_s, int | float) else "",
        "pages_per_s": f"{pages_per_s:.1f}" if isinstance(pages_per_s, int | float) else "",
        "totals": {
            "pages": stats.pages,
            "ok": stats.ok,
            "failed": stats.failed,
            "bytes": stats.bytes,
            "retries": stats.retries,
            "plugin_errors": stats.plugin_errors,
            "broken": len(fig.broken),
            "redirects": len(fig.redirects),
            "hosts": len(fig.hosts),
            "external": len(fig.external),
        },
        "size": human_bytes(stats.bytes),
        "percentiles": {key: _ms(value) for key, value in fig.percentiles_ms.items()},
        "by_status": by_status,
        "by_error": by_error,
        "status_chart": Markup(
            hbars(
                [
                    Bar(code, n, _status_css(code), f"status {code}: {n} pages")
                    for code, n in by_status.items()
                ],
                "records by HTTP status",
            )
        ),
        "error_chart": Markup(
            hbars(
                [Bar(kind, n, "bar s-error", f"{kind}: {n} pages") for kind, n in by_error.items()],
                "records by error kind",
            )
        ),
        "not_followed": _not_followed(fig),
        "broken": _table(fig.broken, LINKERS_SHOWN),
        "redirects": _table(fig.redirects, 0),
        "external": _table(fig.external, LINKERS_SHOWN_OTHER),
        "external_hosts": fig.external_hosts,
        "hosts": fig.hosts[:ROW_CAP],
        "hosts_more": max(0, len(fig.hosts) - ROW_CAP),
        "slowest": [
            {
                "url": page.url,
                "ms": page.elapsed_ms,
                "shown": _ms(page.elapsed_ms),
                "outcome": _outcome(page.status, page.error_kind)[0],
                "css": _outcome(page.status, page.error_kind)[1],
            }
            for page in slowest
        ],
        "slowest_total": stats.pages,
        "slowest_more": slowest_more,
        "depth_chart": Markup(
            columns(
                [Bar(str(d), n, "bar", f"depth {d}: {n} pages") for d, n in fig.by_depth.items()],
                "records by depth",
            )
        ),
        "by_depth": fig.by_depth,
        "max_depth": fig.max_depth,
        "beyond_depth": fig.beyond_depth,
        "time_chart": Markup(
            columns(
                [
                    Bar(
                        _bucket_label(b.low, b.high),
                        b.count,
                        "bar",
                        f"{_bucket_range(b.low, b.high)}: {b.count} pages",
                    )
                    for b in fig.response_times
                ],
                "response times",
            )
            if any(b.count for b in fig.response_times)
            else ""
        ),
        "timeline_chart": Markup(_timeline_chart(fig)),
        "timeline_start": fig.timeline.started_at,
        "timeline_width": _duration(fig.timeline.width_s) if fig.timeline.slices else "",
        "content_types": fig.content_types,
        "type_chart": Markup(
            hbars(
                [
                    Bar(ctype or "(none)", n, "bar", f"{ctype or '(none)'}: {n} pages")
                    for ctype, n in list(fig.content_types.items())[:12]
                ],
                "records by content type",
            )
        ),
        "sitemaps": _sitemaps(fig),
        "row_cap": ROW_CAP,
    }


def _href(url: Any) -> str:
    """A URL as a link target only if it is http(s): a hand-made out.json may hold
    "javascript:" or the like, and a report must never run what it shows."""
    text = str(url)
    return text if text.startswith(("http://", "https://")) else "#"


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("crawler", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["href"] = _href
    env.filters["n"] = lambda value: f"{value:,}".replace(",", "\u202f")
    env.filters["s"] = lambda noun, count: noun if count == 1 else f"{noun}s"
    return env


def render(fig: Figures, source: str) -> str:
    """The report's HTML for these figures; `source` names the out.json in the page."""
    return _environment().get_template("report.html.j2").render(view(fig, source))


# ---- files ------------------------------------------------------------------------------


def figures_of(stream: IO[str]) -> Figures:
    """The figures a report shows, read from an out.json stream."""
    return from_stream(stream, top=ROW_CAP, keep_rows=False, linkers=LINKERS_SHOWN)


def write_report(out_json: str, report: str) -> Written:
    """Read `out_json` (streaming), write the report to `report` atomically (a temporary
    file renamed into place, directories made as needed). OSError if a file cannot be
    read or written, ValueError if `out_json` is no out.json."""
    with open(out_json, encoding="utf-8") as stream:
        fig = figures_of(stream)
    html = render(fig, out_json)
    return Written(report, fig.stats.pages, _write_atomic(report, html))


def _write_atomic(path: str, text: str) -> int:
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o644)  # mkstemp makes 0600; a report is an ordinary file
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return len(data)


# ---- command line ------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="crawler-report",
        description="Write a crawl's out.json as one self-contained HTML report: overview, "
        "statuses, error kinds, broken links and the pages linking to them, redirects, "
        "slowest pages, depth and response times, the crawl over time, content types, "
        "orphan pages (with --sitemaps). Also: python -m crawler.report.",
    )
    parser.add_argument("path", help="the out.json file, or - for stdin")
    parser.add_argument(
        "-o",
        "--out",
        default="report.html",
        metavar="PATH",
        help="the HTML file to write (default: report.html)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Write the report; exit 2 if out.json cannot be read or the report not written."""
    args = build_parser().parse_args(argv)
    name = "crawler-report"
    given = args.path if args.path != "-" else None
    # Looked at before reading: a big out.json takes seconds to read.
    problem = report_path_problem(args.out, [("the input", given)], option="-o")
    if problem is not None:
        print(f"{name}: error: {problem}", file=sys.stderr)
        return 2
    try:
        if args.path == "-":
            fig = figures_of(sys.stdin)
        else:
            with open(args.path, encoding="utf-8") as stream:
                fig = figures_of(stream)
    except (OSError, ValueError) as exc:  # JSONDecodeError and UnicodeDecodeError too
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        print(f"{name}: error: cannot read {args.path}: {reason}", file=sys.stderr)
        return 2
    try:
        size = _write_atomic(args.out, render(fig, args.path))
    except OSError as exc:
        print(f"{name}: error: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    print(f"{name}: {fig.stats.pages} pages -> {args.out} ({size // 1000} kB)", file=sys.stderr)
    return 0


def console_main() -> None:
    """Entry point of the `crawler-report` console script."""
    sys.exit(main())


if __name__ == "__main__":
    console_main()

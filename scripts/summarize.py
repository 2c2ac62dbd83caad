"""A person's summary of a crawl's out.json (docs/contract.md): totals, statuses, errors,
the slowest pages and the broken links with the pages that link to them.

Read-only. Works on partial files (`"complete": false`): any total missing from `stats`
is recomputed from the page records.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections import Counter, defaultdict
from collections.abc import Sequence
from typing import Any

TOP_DEFAULT = 10
REFERRERS_SHOWN = 5  # per broken link; the rest is a count


def summarize(data: dict[str, Any], top: int = TOP_DEFAULT) -> str:
    """The summary of one out.json object as text, `top` entries per list."""
    pages: list[dict[str, Any]] = data.get("pages") or []
    stats: dict[str, Any] = data.get("stats") or {}
    lines = [_header(data), _totals(stats, pages)]
    by_status = stats.get("by_status") or Counter(
        str(p["status"]) for p in pages if p.get("status") is not None
    )
    lines.append("by status: " + _counts(by_status, key=lambda item: int(item[0])))
    by_error = stats.get("by_error") or Counter(p["error"]["kind"] for p in pages if p.get("error"))
    lines.append("by error: " + _counts(by_error, key=lambda item: (-item[1], item[0])))
    other = _other_stats(stats)
    if other:
        lines.append(other)
    lines.extend(_slowest(pages, top))
    lines.extend(_broken(pages, top))
    return "\n".join(lines) + "\n"


def is_broken(page: dict[str, Any]) -> bool:
    """A record that failed: an error, or an answer of 400 and up."""
    status = page.get("status")
    return page.get("error") is not None or (status is not None and status >= 400)


def _header(data: dict[str, Any]) -> str:
    state = "complete" if data.get("complete") else "INCOMPLETE (interrupted or still running)"
    when = ""
    if data.get("started_at"):
        when = f" ({data['started_at']} .. {data.get('finished_at') or '?'})"
    seeds = len(data.get("seeds") or [])
    return f"crawl: {state}{when}, {seeds} seed{'s' if seeds != 1 else ''}"


def _totals(stats: dict[str, Any], pages: list[dict[str, Any]]) -> str:
    count = stats.get("pages", len(pages))
    failed = stats.get("failed", sum(1 for p in pages if is_broken(p)))
    ok = stats.get("ok", count - failed)
    elapsed_s = stats.get("elapsed_s")
    rate = stats.get("pages_per_s")
    if rate is None and elapsed_s:
        rate = count / elapsed_s
    elapsed = f"{elapsed_s:.2f} s" if elapsed_s is not None else "?"
    per_s = f"{rate:.1f}" if rate is not None else "?"
    return f"pages: {count}  ok: {ok}  failed: {failed}  elapsed: {elapsed}  pages/s: {per_s}"


def _counts(counts: dict[str, int], key: Any) -> str:
    if not counts:
        return "none"
    return "  ".join(f"{name}={n}" for name, n in sorted(counts.items(), key=key))


def _other_stats(stats: dict[str, Any]) -> str:
    names = ("retries", "robots_excluded", "out_of_scope", "duplicates", "dropped_links")
    parts = [f"{name.replace('_', ' ')} {stats[name]}" for name in names if name in stats]
    return ("other: " + ", ".join(parts)) if parts else ""


def _slowest(pages: list[dict[str, Any]], top: int) -> list[str]:
    timed = [p for p in pages if p.get("elapsed_ms") is not None]
    timed.sort(key=lambda p: (-p["elapsed_ms"], p["url"]))
    lines = [f"slowest pages (top {min(top, len(timed))} of {len(timed)}):"]
    for page in timed[:top]:
        lines.append(f"  {page['elapsed_ms']:10.1f} ms  {_outcome(page):<8}  {page['url']}")
    return lines


def _outcome(page: dict[str, Any]) -> str:
    if page.get("error"):
        return str(page["error"].get("kind", "error"))
    return str(page.get("status"))


def _broken(pages: list[dict[str, Any]], top: int) -> list[str]:
    broken = sorted((p for p in pages if is_broken(p)), key=lambda p: p["url"])
    linked_from: defaultdict[str, set[str]] = defaultdict(set)
    for page in pages:
        for link in page.get("links") or ():
            if link != page["url"]:
                linked_from[link].add(page["url"])
    lines = [f"broken links ({len(broken)}):"]
    for page in broken[:top]:
        detail = _outcome(page)
        if page.get("error") and page["error"].get("message"):
            detail += f" ({page['error']['message']})"
        lines.append(f"  {page['url']}  {detail}")
        sources = linked_from.get(page["url"], set())
        if page.get("referrer"):
            sources = sources | {page["referrer"]}
        lines.append("      linked from: " + _listing(sorted(sources)))
    if len(broken) > top:
        lines.append(f"  ... and {len(broken) - top} more")
    return lines


def _listing(urls: list[str]) -> str:
    if not urls:
        return "(no record links here: a seed)"
    shown = ", ".join(urls[:REFERRERS_SHOWN])
    rest = len(urls) - REFERRERS_SHOWN
    return shown + (f" (+{rest} more)" if rest > 0 else "")


def main(argv: Sequence[str] | None = None) -> int:
    """Print the summary of an out.json file ("-" reads stdin); exit 2 if it is unreadable."""
    parser = argparse.ArgumentParser(
        prog="python -m scripts.summarize", description="Summarize a crawl's out.json."
    )
    parser.add_argument("path", help="the out.json file, or - for stdin")
    parser.add_argument("--top", type=int, default=TOP_DEFAULT, help="entries per list")
    args = parser.parse_args(argv)
    if args.top < 1:
        parser.error("--top must be at least 1")
    try:
        if args.path == "-":
            data = json.load(sys.stdin)
        else:
            with open(args.path, encoding="utf-8") as file:
                data = json.load(file)
    except (OSError, ValueError) as exc:
        print(f"summarize: cannot read {args.path}: {exc}", file=sys.stderr)
        return 2
    if not isinstance(data, dict):
        print(f"summarize: {args.path} is not an out.json object", file=sys.stderr)
        return 2
    sys.stdout.write(summarize(data, args.top))
    return 0


if __name__ == "__main__":
    sys.exit(main())

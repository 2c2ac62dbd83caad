"""The command line: argv -> Settings -> crawl -> exit code (docs/contract.md#exit-codes).

No crawl logic here. `main(argv)` returns the exit code, read from the error classes;
only this module prints the one-line error of exit code 2 and the summary line, and
nothing else calls sys.exit.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections import Counter
from collections.abc import Mapping
from types import FrameType
from typing import Any

from crawler import __version__
from crawler.crawl import run_crawl
from crawler.errors import CrawlerError, Interrupted, UsageError
from crawler.progress import Progress
from crawler.seeds import parse_seeds, read_seed_lines, shown
from crawler.settings import (
    CONFIG_ENV,
    FIELDS,
    FRONTIER_ENV,
    LOG_LEVELS,
    SCOPES,
    Settings,
    extensions,
    load_settings,
)
from crawler.worker_entry import stop_worker_processes, worker_context

log = logging.getLogger("crawler")

EPILOG = f"""\
examples:
  crawler https://example.com/ -o site.json
  crawler https://example.com/ --delay 0.5 --per-host 2 --max-pages 500
  crawler --seeds seeds.txt --procs 4 --threads 16 --jsonl out.jsonl
  crawler https://example.com/ --report report.html   # also the HTML report
  crawler https://example.com/docs/ --allow /docs/ --reject-ext pdf,zip
  crawler --seeds seeds.txt --state crawl-state   # after Ctrl-C, the same command resumes
  crawler https://example.com/ --warc archive/     # also keep every exchange as WARC
  crawler --seeds seeds.txt --frontier redis://redis-host:6379/0   # on every machine

configuration:
  The defaults shown are built in. A TOML file named by --config PATH or by the
  {CONFIG_ENV} environment variable overrides them (keys are the long options
  with _ for -, e.g. max_depth = 3); options on the command line override both.
  No file is read unless named.

exit codes:
  0    the crawl finished (failed pages are records in the output, not a failed run)
  2    bad usage or input, found before the first request; the last line names it
  130  interrupted (SIGINT/SIGTERM): the output is written with "complete": false
  1    an internal failure, or Redis lost for --redis-timeout; whatever was
       crawled is still written
"""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # Usage line, then the problem as the last stderr line; exit code 2.
        self.print_usage(sys.stderr)
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    """The command line, its options in groups. Every argparse default is SUPPRESS, so
    only options actually typed reach load_settings; the help shows Settings' defaults."""
    p = _Parser(
        prog="crawler",
        usage="%(prog)s [options] [URL ...]",
        description="Crawl the web from seed URLs with worker processes and thread pools,\n"
        "and write every page found to one JSON file.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        argument_default=argparse.SUPPRESS,
    )
    p.add_argument("--version", action="version", version=f"crawler {__version__}")

    g = _Group(p, "what to crawl")
    g.add("urls", nargs="*", metavar="URL", help="seed URLs; they join --seed and --seeds")
    g.add("--seeds", metavar="FILE", help="seed URLs, one per line; '-' reads stdin")
    g.add("--seed", action="append", metavar="URL", help="one more seed URL; repeatable")
    g.add(
        "--scope",
        choices=SCOPES,
        help="hosts links may lead to: the seeds' hosts, also their subdomains, or any",
    )
    g.add(
        "--allow",
        action="append",
        metavar="REGEX",
        help="follow only URLs matching one; repeatable",
    )
    g.add(
        "--deny",
        action="append",
        metavar="REGEX",
        help="never follow URLs matching one; repeatable",
    )
    g.add(
        "--accept-ext",
        type=_extensions,
        action="extend",
        metavar="LIST",
        help="follow only links with these file extensions (e.g. html,php) or with none",
    )
    g.add(
        "--reject-ext",
        type=_extensions,
        action="extend",
        metavar="LIST",
        help="never follow links with these file extensions (e.g. pdf,zip,tar.gz)",
    )
    g.add("--max-depth", type=int, metavar="N", help="follow links up to N steps from a seed")
    g.add(
        "--allow-private",
        action="store_true",
        help="let links and redirects reach loopback and private addresses",
    )
    g.add(
        "--sitemaps",
        action="store_true",
        help="read the seed hosts' sitemaps (robots.txt's Sitemap: lines, else "
        "/sitemap.xml) first; their URLs enter at depth 0",
    )

    g = _Group(p, "limits")
    g.add("--max-pages", type=int, metavar="N", help="at most N pages, 0 for no limit")
    g.add(
        "--max-pages-per-host",
        type=int,
        metavar="N",
        help="at most N pages per host, 0 for no limit",
    )
    g.add("--max-bytes", type=int, metavar="N", help="body size limit per page, decoded")
    g.add("--max-redirects", type=int, metavar="N", help="longest redirect chain followed")
    g.add("--max-url-length", type=int, metavar="N", help="drop longer links")
    g.add("--timeout", type=float, metavar="SECONDS", help="total deadline of one attempt")
    g.add("--retries", type=int, metavar="N", help="retry a failed attempt up to N times")

    g = _Group(p, "politeness")
    g.add("--delay", type=float, metavar="SECONDS", help="wait between request starts to one host")
    g.add("--per-host", type=int, metavar="N", help="most requests in flight to one host")
    g.add("--ignore-robots", action="store_true", help="do not fetch or obey robots.txt")
    g.add("--user-agent", metavar="STR", help="its product token selects robots.txt rules")
    g.add(
        "--header",
        action="append",
        metavar="'NAME: VALUE'",
        help="extra request header, to the seeds' hosts only; repeatable",
    )

    g = _Group(p, "speed")
    g.add("--procs", type=int, metavar="N", help="worker processes")
    g.add("--threads", type=int, metavar="N", help="fetch threads per worker process")

    g = _Group(p, "output")
    g.add("-o", "--out", metavar="PATH", help="the JSON result, written at the end")
    g.add("--jsonl", metavar="PATH", help="also append each page record as a JSON line")

    g = _Group(p, "extraction (in the worker processes)")
    g.add(
        "--report",
        metavar="PATH",
        help="also write the HTML report there at the end (as python -m crawler.report does)",
    )
    g.add(
        "--extract",
        action="append",
        metavar="NAME=SELECTOR",
        help="add to each 2xx HTML record's data NAME: the text of every match of the CSS "
        "SELECTOR, or an attribute's values with SELECTOR@attr; repeatable",
    )
    g.add(
        "--plugin",
        metavar="MODULE:FUNCTION",
        help="call FUNCTION(page) of MODULE (found from the current directory too) on each "
        "2xx HTML page; a dict it returns joins the record's data, its 'follow' URLs are "
        "followed",
    )
    g.add(
        "--plugin-timeout",
        type=float,
        metavar="SECONDS",
        help="longest one plugin call may take; past it its worker process is replaced",
    )

    g.add(
        "--warc",
        metavar="DIR",
        help="also archive every HTTP exchange (pages, redirects, retries, robots.txt, "
        "sitemaps) as "
        "WARC files in DIR",
    )
    g.add("--warc-max-size", type=int, metavar="BYTES", help="start a new WARC file past this size")

    g = _Group(p, "state and configuration")
    g.add("--state", metavar="DIR", help="checkpoint the crawl here; the same command resumes")
    g.add("--config", metavar="PATH", help=f"TOML settings (default: ${CONFIG_ENV}, else none)")

    g = _Group(p, "many machines (one crawl shared through Redis)")
    g.add(
        "--frontier",
        metavar="URL",
        help=f"'memory', or redis://[:password@]host[:port][/db]: every machine running "
        f"the same command shares the crawl (also ${FRONTIER_ENV})",
    )
    g.add("--crawl", metavar="NAME", help="the crawl's name in Redis")
    g.add("--lease-ttl", type=float, metavar="SECONDS", help="a host stays owned this long")
    g.add(
        "--redis-timeout",
        type=float,
        metavar="SECONDS",
        help="stop (exit 1) after this long without Redis",
    )

    g = _Group(p, "logging")
    g.add("--log-level", metavar="LEVEL", help=", ".join(LOG_LEVELS))
    g.add("--progress", action=argparse.BooleanOptionalAction, help="live progress bar")
    return p


class _Group:
    """An argparse group whose options' help ends with their built-in default."""

    def __init__(self, parser: argparse.ArgumentParser, title: str) -> None:
        self._group = parser.add_argument_group(title)

    def add(self, *names: str, help: str, **options: Any) -> None:
        default = _shown_default(names[-1].lstrip("-").replace("-", "_"))
        if default is not None:
            help = f"{help} (default: {default})"
        self._group.add_argument(*names, help=help, **options)


def _shown_default(key: str) -> str | None:
    """A setting's built-in default as the help shows it, read from Settings; None for
    what has none to show (seeds, positional URLs, --config)."""
    field = FIELDS.get(key)
    if field is None or key in ("seeds", "seed"):
        return None
    if key == "procs":
        return "the number of CPUs"  # a default_factory: it follows the machine
    if key == "progress":
        return "on when stderr is a terminal"  # None in Settings
    if key == "crawl":
        return "derived from the seeds, --scope, --allow and --deny"
    value = field.default
    if value is None or value == ():
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)


def _extensions(text: str) -> list[str]:
    """One --accept-ext / --reject-ext value as settings.extensions() reads it; none is an error."""
    found = list(extensions([text]))
    if not found:
        raise argparse.ArgumentTypeError(f"expected comma-separated file extensions: {text!r}")
    return found


def main(argv: list[str] | None = None) -> int:
    # SIGTERM, like Ctrl-C, must unwind through the cleanup below (temporary files,
    # worker processes) whenever the coordinator's own handler is not installed.
    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, _raise_interrupt) if in_main_thread else None
    try:
        return _main(argv)
    except KeyboardInterrupt:
        # Before the crawl started, or a second interrupt during it: leave at once.
        # out.json is only ever replaced by rename, so it stays the previous whole file;
        # --state keeps everything committed, and the same command resumes.
        print("crawler: interrupted: no output written", file=sys.stderr)
        return Interrupted.exit_code
    except Exception:  # a bug, or out.json could not be written: say so, exit 1
        log.exception("internal error")
        return CrawlerError.exit_code
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        # Every process the crawl started is gone when the command returns.
        stop_worker_processes()


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def _main(argv: list[str] | None) -> int:
    try:
        settings, seeds, rejected = _prepare(argv)
        progress = Progress(settings.progress, settings.max_pages or None)
        try:
            outcome = run_crawl(settings, seeds, rejected, progress)
        finally:
            progress.close()
    except UsageError as exc:
        print(f"crawler: error: {exc}", file=sys.stderr)
        return exc.exit_code
    print(summary_line(outcome.stats, outcome.out_path, outcome.complete), file=sys.stderr)
    if outcome.failed:
        return CrawlerError.exit_code
    if outcome.interrupted:
        return Interrupted.exit_code
    return 0


def parse_command_line(argv: list[str] | None) -> dict[str, Any]:
    """The options actually typed, keyed like Settings' fields; URLs given as arguments
    join the --seed values (after them)."""
    given = vars(build_parser().parse_intermixed_args(argv))
    urls = given.pop("urls", [])
    if urls:
        given["seed"] = [*given.get("seed", []), *urls]
    return given


def _prepare(argv: list[str] | None) -> tuple[Settings, list[str], list[dict[str, Any]]]:
    given = parse_command_line(argv)
    config_path = given.pop("config", None)
    settings = load_settings(given, config_path, os.environ)
    logging.basicConfig(
        level=settings.log_level,
        format="%(levelname)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    # The workers' forkserver imports requests, bs4 and lxml while we read the seeds.
    worker_context()
    if settings.plugin is not None:
        _check_plugin(settings.plugin)
    file_lines = read_seed_lines(settings.seeds) if settings.seeds is not None else []
    seeds, rejected = parse_seeds(file_lines + list(settings.seed))
    for bad in rejected:
        # A file's line by its number; a seed given as a URL or --seed by itself.
        where = f"{settings.seeds}:{bad['line']}: " if bad["line"] <= len(file_lines) else ""
        log.warning("%srejected seed %s: %s", where, shown(bad["text"]), bad["reason"])
    if not seeds:
        sources = [f"in {settings.seeds}"] if settings.seeds is not None else []
        sources += ["on the command line"] if settings.seed else []
        raise UsageError(f"no valid seed {' nor '.join(sources)}")
    return settings, seeds, rejected


def _check_plugin(spec: str) -> None:
    """Import the plugin here once, so that a typo is exit 2 before the first request
    rather than a plugin_error on every record (each worker imports it again)."""
    from crawler.plugin import PluginLoadError, load_plugin

    try:
        load_plugin(spec)
    except PluginLoadError as exc:
        raise UsageError(f"--plugin: {exc}") from None


def summary_line(stats: Mapping[str, Any], out: str | None, complete: bool) -> str:
    """The one line that ends a crawl, in out.json's words: `failed` is its
    stats.failed (an error or a status of 400 or more), with the reasons."""
    failed = stats["failed"]
    reasons = f": {_failure_reasons(stats)}" if failed else ""
    return (
        f"crawler: {'done' if complete else 'INCOMPLETE'}: {_count(stats['pages'], 'page')} "
        f"({stats['ok']} ok, {failed} failed{reasons}) in {stats['elapsed_s']:.1f} s, "
        f"{stats['pages_per_s']} pages/s -> {out or 'no output written'}"
    )


def _failure_reasons(stats: Mapping[str, Any]) -> str:
    """Why pages failed, adding up to stats.failed: '2 HTTP 4xx, 1 timeout'.

    Every record with an error failed (by_error); the other failed records are those
    with a status of 400 or more, shown by class. A record with both (too_large on a
    404) is in by_error and by_status alike: then the statuses are not split by class.
    """
    by_error: Mapping[str, int] = stats["by_error"]
    parts: list[str] = []
    by_status_only = stats["failed"] - sum(by_error.values())
    if by_status_only:
        classes: Counter[str] = Counter()
        for status, count in stats["by_status"].items():
            if int(status) >= 400:
                classes[f"HTTP {int(status) // 100}xx"] += count
        if sum(classes.values()) != by_status_only:
            classes = Counter({"HTTP >= 400": by_status_only})
        parts += [f"{count} {name}" for name, count in sorted(classes.items())]
    ranked = sorted(by_error.items(), key=lambda item: (-item[1], item[0]))
    parts += [f"{count} {kind}" for kind, count in ranked]
    return ", ".join(parts)


def _count(n: int, noun: str) -> str:
    """'1 page', '2 pages'."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"


def console_main() -> None:
    """Entry point of the `crawler` console script."""
    sys.exit(main())

"""The command line: argv -> Settings -> crawl -> exit code (docs/contract.md#exit-codes).

No crawl logic here. `main(argv)` returns the exit code, read from the error classes;
only this module prints the one-line error of exit code 2, and nothing else calls
sys.exit.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from types import FrameType
from typing import Any

from crawler import __version__
from crawler.crawl import run_crawl
from crawler.errors import CrawlerError, Interrupted, UsageError
from crawler.progress import Progress
from crawler.seeds import parse_seeds, read_seed_lines
from crawler.settings import Settings, load_settings
from crawler.worker_entry import stop_worker_processes, worker_context

log = logging.getLogger("crawler")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        # Usage line, then the problem as the last stderr line; exit code 2.
        self.print_usage(sys.stderr)
        raise UsageError(message)


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="crawler",
        description="Crawl seed URLs with worker processes and thread pools; write out.json.",
        argument_default=argparse.SUPPRESS,  # only options actually typed reach Settings
    )
    add = p.add_argument
    add("--seeds", metavar="FILE", help="one URL per line; '-' reads stdin")
    add("--seed", metavar="URL", action="append", help="a seed URL (repeatable)")
    add("--procs", type=int, metavar="N", help="worker processes (default: number of CPUs)")
    add("--threads", type=int, metavar="N", help="fetch threads per worker (default 8)")
    add("--out", metavar="PATH", help="the JSON result (default out.json)")
    add("--jsonl", metavar="PATH", help="also stream each page record as a JSON line")
    add("--config", metavar="PATH", help="TOML settings (default config/default.toml)")
    add("--max-depth", type=int, metavar="N", help="seeds are depth 0 (default 5)")
    add("--max-pages", type=int, metavar="N", help="at most N records (0: no limit)")
    add("--scope", choices=("host", "domain", "any"), help="which hosts to follow (default host)")
    add("--allow", action="append", metavar="REGEX", help="follow only URLs matching (repeatable)")
    add("--deny", action="append", metavar="REGEX", help="never follow URLs matching (repeatable)")
    add("--delay", type=float, metavar="SECONDS", help="min time between request starts per host")
    add("--per-host", type=int, metavar="N", help="max requests in flight per host (default 8)")
    add("--timeout", type=float, metavar="SECONDS", help="total deadline per attempt (default 10)")
    add("--retries", type=int, metavar="N", help="at most N+1 attempts (default 2)")
    add("--max-bytes", type=int, metavar="N", help="decoded body limit (default 10485760)")
    add("--max-redirects", type=int, metavar="N", help="longest redirect chain (default 10)")
    add("--max-pages-per-host", type=int, metavar="N", help="at most N records per host")
    add("--max-url-length", type=int, metavar="N", help="drop longer links (default 2048)")
    add("--user-agent", metavar="STR", help="User-Agent; its product token matches robots.txt")
    add("--header", action="append", metavar="'Name: value'", help="sent to the seeds' hosts only")
    add("--ignore-robots", action="store_true", help="do not fetch or obey robots.txt")
    add(
        "--allow-private",
        action="store_true",
        help="let links and redirects reach loopback and private addresses",
    )
    add("--state", metavar="DIR", help="checkpoint directory; the same command resumes")
    add("--log-level", metavar="LEVEL", help="DEBUG, INFO, WARNING, ERROR (default INFO)")
    add("--progress", action=argparse.BooleanOptionalAction, help="live progress bar on stderr")
    add("--version", action="version", version=f"crawler {__version__}")
    return p


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
        print("crawler: interrupted, out.json not written", file=sys.stderr)
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
    _print_summary(outcome.stats, settings.out, outcome.complete)
    if outcome.failed:
        return CrawlerError.exit_code
    if outcome.interrupted:
        return Interrupted.exit_code
    return 0


def _prepare(argv: list[str] | None) -> tuple[Settings, list[str], list[dict[str, Any]]]:
    given = vars(build_parser().parse_args(argv))
    config_path = given.pop("config", None)
    settings = load_settings(given, config_path)
    logging.basicConfig(
        level=settings.log_level,
        format="%(levelname)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    # The workers' forkserver imports requests, bs4 and lxml while we read the seeds.
    worker_context()
    lines = list(settings.seed)
    source = "--seed"
    if settings.seeds is not None:
        lines = read_seed_lines(settings.seeds) + lines
        source = settings.seeds
    seeds, rejected = parse_seeds(lines)
    for bad in rejected:
        log.warning("%s:%d: rejected seed %r: %s", source, bad["line"], bad["text"], bad["reason"])
    if not seeds:
        raise UsageError(f"no valid seed in {source}")
    return settings, seeds, rejected


def _print_summary(stats: dict[str, Any], out: str, complete: bool) -> None:
    errors = ", ".join(f"{k} {v}" for k, v in stats["by_error"].items()) or "none"
    print(
        f"crawler: {'done' if complete else 'INCOMPLETE'}: {stats['pages']} pages "
        f"({stats['ok']} ok, {stats['failed']} failed; errors: {errors}) in "
        f"{stats['elapsed_s']:.1f} s, {stats['pages_per_s']} pages/s -> {out}",
        file=sys.stderr,
    )


def console_main() -> None:
    """Entry point of the `crawler` console script."""
    sys.exit(main())

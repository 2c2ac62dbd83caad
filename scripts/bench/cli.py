"""`python -m scripts.bench`: options -> scenarios -> runs in alternation -> report.

Holds no measuring and no formatting of its own; returns the exit code: 0 after a whole
run, 2 for a missing nginx, 130 when interrupted (SIGINT or SIGTERM).
"""

from __future__ import annotations

import argparse
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from types import FrameType

from scripts.bench import ROOT
from scripts.bench.measure import become_subreaper
from scripts.bench.report import machine_line
from scripts.bench.runs import run_scenario
from scripts.bench.servers import find_nginx, serve_latency
from scripts.bench.site_build import BuiltSite, build_site
from scripts.bench.variants import CRAWLER, ensure_scrapy, scenarios
from scripts.site import SiteConfig

LINKS = 30
PAGE_BYTES = 10_000
FAST_PAGES = 20_000
# The fast scenario's site (built once for both): at ~300 pages/s a run lasts ~80 s, so
# start-up (~0.3 s) weighs on the rate as little as it does in the fast scenario.
LATENCY_PAGES = FAST_PAGES
QUICK_PAGES = 2_000
MIN_PAGES = 20  # the server self-check asks for /p/10 and /r/5
LATENCY_MS = 50.0
# The plugin scenario: ~10 ms of CPU per page holds one process near 100 pages/s.
PLUGIN_PAGES = 3_000


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m scripts.bench",
        description="Benchmark the crawler against Scrapy on the synthetic site.",
    )
    p.add_argument(
        "--scenario",
        choices=("fast", "latency", "scaling", "plugin", "all"),
        default="fast",
        help="all: fast, latency and scaling; plugin: --plugin with ~10 ms of CPU per page",
    )
    p.add_argument("--rounds", type=int, help="alternating rounds (default 3; --quick: 1)")
    p.add_argument("--pages", type=int, help=f"site pages, fast/scaling (default {FAST_PAGES})")
    p.add_argument(
        "--latency-pages", type=int, help=f"site pages, latency (default {LATENCY_PAGES})"
    )
    p.add_argument("--plugin-pages", type=int, help=f"site pages, plugin (default {PLUGIN_PAGES})")
    p.add_argument("--latency-ms", type=float, default=LATENCY_MS, help="added per response")
    p.add_argument("--quick", action="store_true", help=f"smoke run: {QUICK_PAGES} pages, 1 round")
    p.add_argument(
        "--baseline",
        metavar="DIR",
        type=Path,
        help=f"another checkout of this repository (e.g. a git worktree): its crawler runs "
        f"too, as {CRAWLER}@<name of DIR>, alternating with the others",
    )
    p.add_argument(
        "--no-scrapy",
        dest="scrapy",
        action="store_false",
        help="leave Scrapy out (quick A/B runs); ratios are then against the baseline",
    )
    p.add_argument(
        "--crawler-args",
        metavar="ARGS",
        default="",
        help="extra arguments for this checkout's crawler only (split like a shell line); "
        "with --baseline naming this checkout, the same code runs with and without them",
    )
    p.add_argument("--serve-latency", metavar="DIR", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    # --quick changes the defaults only: options given explicitly still win.
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.pages = args.pages or (QUICK_PAGES if args.quick else FAST_PAGES)
    args.latency_pages = args.latency_pages or (QUICK_PAGES if args.quick else LATENCY_PAGES)
    args.plugin_pages = args.plugin_pages or (QUICK_PAGES if args.quick else PLUGIN_PAGES)
    if args.rounds < 1 or min(args.pages, args.latency_pages, args.plugin_pages) < MIN_PAGES:
        p.error(f"--rounds must be >= 1 and page counts >= {MIN_PAGES}")
    if args.baseline is not None:
        args.baseline = args.baseline.resolve()
        if not (args.baseline / "crawler" / "__main__.py").is_file():
            p.error(f"--baseline {args.baseline}: no checkout of the crawler there")
    return args


def _commit(checkout: Path) -> str:
    """The short commit a checkout is at, for the record; "unknown" without git."""
    try:
        done = subprocess.run(
            ["git", "-C", str(checkout), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    return done.stdout.strip() or "unknown"


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds through the finally blocks that stop every process


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.serve_latency:
        serve_latency(Path(args.serve_latency), args.latency_ms)
        return 0
    names = ["fast", "latency", "scaling"] if args.scenario == "all" else [args.scenario]
    nginx = find_nginx()
    if nginx is None and set(names) & {"fast", "scaling"}:
        print(
            "bench: nginx not found; install it (Debian/Ubuntu: sudo apt-get install nginx)",
            file=sys.stderr,
        )
        return 2
    signal.signal(signal.SIGTERM, _on_sigterm)
    subreaper = become_subreaper()
    if not subreaper:
        print("bench: no PR_SET_CHILD_SUBREAPER; CPU of orphaned processes is polled only")
    if args.scrapy:
        ensure_scrapy()
    print(f"Machine: {machine_line(args.scrapy)}")
    if args.baseline is not None:
        print(
            f"Baseline: {CRAWLER}@{args.baseline.name} is {args.baseline} at commit "
            f"{_commit(args.baseline)}; {CRAWLER} is {ROOT} at commit {_commit(ROOT)}"
        )
    sites: dict[int, BuiltSite] = {}
    work = Path(tempfile.mkdtemp(prefix="crawler-bench-"))
    try:
        chosen = scenarios(
            names,
            args.pages,
            args.latency_pages,
            args.baseline,
            args.scrapy,
            shlex.split(args.crawler_args),
            args.plugin_pages,
        )
        for scenario in chosen:
            if scenario.pages not in sites:
                cfg = SiteConfig(pages=scenario.pages, links=LINKS, hosts=1, page_bytes=PAGE_BYTES)
                started = time.monotonic()
                sites[scenario.pages] = build_site(cfg, work / f"www-{scenario.pages}")
                print(f"built the {scenario.pages}-page site in {time.monotonic() - started:.1f} s")
            run_scenario(
                scenario,
                sites[scenario.pages],
                args.rounds,
                work,
                nginx,
                args.latency_ms,
                subreaper,
            )
    except KeyboardInterrupt:
        print("bench: interrupted", file=sys.stderr)
        return 130
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0

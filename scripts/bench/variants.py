"""The contenders and the scenarios they race in: which commands run, in what order.

A variant is one column of the report: this checkout's crawler, an earlier checkout's
(--baseline), Scrapy, or requests alone (scripts/bench_ceiling.py, the most a crawler
built on requests can get from the latency server). Everything here is pure but for
`ensure_scrapy`, which installs Scrapy into a virtualenv of its own.
"""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from scripts.bench import ROOT

BENCH_VENV = ROOT / ".bench-venv"  # Scrapy's own virtualenv; not in git
SCRAPY_VERSION = "2.19.0"
SPIDER_PATH = ROOT / "scripts" / "bench_scrapy_spider.py"
LATENCY_PER_HOST = 16
SCRAPY = "Scrapy"
CEILING = "requests alone"  # scripts/bench_ceiling.py: the latency scenario's upper bound
CRAWLER = "crawler"  # the name of this checkout's crawler, and the start of every variant of it
# The plugin scenario's user function (~10 ms of pure-Python CPU per page), which the
# crawler runs with --plugin and the Scrapy spider in its callback.
BENCH_PLUGIN = "scripts.bench_plugin:work"
PLUGIN_ONE = f"{CRAWLER} p1 t8"
PLUGIN_TWO = f"{CRAWLER} p2 t4"

Kind = Literal["crawler", "scrapy", "ceiling"]


@dataclass(frozen=True, slots=True)
class Variant:
    name: str  # the table's column heading
    kind: Kind
    procs: int = 2
    threads: int = 8
    per_host: int = 32
    first_round_only: bool = False  # the scaling scenario's Scrapy anchor runs once
    checkout: Path | None = None  # a crawler from another checkout (--baseline); None: ours
    extra_args: tuple[str, ...] = ()  # --crawler-args: for this checkout's crawler only
    plugin: str | None = None  # MODULE:FUNCTION called on every 2xx HTML page


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    pages: int
    server: Literal["nginx", "latency"]
    variants: tuple[Variant, ...]  # run in this order, round after round
    ratios: tuple[tuple[str, str], ...] = ()  # (variant, anchor): the table's ratio columns


@dataclass(frozen=True, slots=True)
class Command:
    argv: tuple[str, ...]
    cwd: Path
    env: dict[str, str] | None = None  # None: the bench's own environment


def baseline_twin(variant: Variant, checkout: Path) -> Variant:
    """The same crawler variant run from `checkout`: "crawler p2" -> "crawler@old p2".

    It never gets --crawler-args: with --baseline naming this very checkout, the two
    columns are one code with and without those arguments.
    """
    name = variant.name.replace(CRAWLER, f"{CRAWLER}@{checkout.name}", 1)
    return dataclasses.replace(variant, name=name, checkout=checkout, extra_args=())


def scenarios(
    names: Sequence[str],
    pages: int,
    latency_pages: int,
    baseline: Path | None = None,
    scrapy: bool = True,
    crawler_args: Sequence[str] = (),
    plugin_pages: int = 0,
) -> list[Scenario]:
    """The named scenarios; with `baseline`, each crawler variant gets a twin from that
    checkout right after it; without `scrapy`, Scrapy is left out; `crawler_args` go to
    this checkout's crawler variants."""
    crawler_fast = Variant(CRAWLER, "crawler", procs=2, threads=8, per_host=32)
    scrapy_variant = Variant(SCRAPY, "scrapy")
    known: dict[str, tuple[int, Literal["nginx", "latency"], tuple[Variant, ...]]] = {
        "fast": (pages, "nginx", (crawler_fast, scrapy_variant)),
        "latency": (
            latency_pages,
            "latency",
            (
                Variant(CRAWLER, "crawler", procs=2, threads=8, per_host=LATENCY_PER_HOST),
                scrapy_variant,
                # The same 16 connections with nothing but requests: what the server allows.
                Variant(CEILING, "ceiling", procs=2, threads=LATENCY_PER_HOST // 2),
            ),
        ),
        "scaling": (
            pages,
            "nginx",
            (
                *(Variant(f"{CRAWLER} p{n}", "crawler", procs=n, per_host=32) for n in (1, 2, 4)),
                Variant(SCRAPY, "scrapy", first_round_only=True),
            ),
        ),
        "plugin": (
            plugin_pages or pages,
            "nginx",
            (
                Variant(PLUGIN_ONE, "crawler", procs=1, threads=8, plugin=BENCH_PLUGIN),
                Variant(PLUGIN_TWO, "crawler", procs=2, threads=4, plugin=BENCH_PLUGIN),
                Variant(SCRAPY, "scrapy", plugin=BENCH_PLUGIN),
            ),
        ),
    }
    chosen = [_scenario(name, *known[name], baseline, scrapy) for name in names]
    chosen = [
        # Two processes against one: what the worker processes buy a CPU-bound plugin.
        dataclasses.replace(s, ratios=(*s.ratios, (PLUGIN_TWO, PLUGIN_ONE)))
        if s.name == "plugin"
        else s
        for s in chosen
    ]
    if not crawler_args:
        return chosen
    extra = tuple(crawler_args)
    return [
        dataclasses.replace(
            scenario,
            variants=tuple(
                dataclasses.replace(v, extra_args=extra)
                if v.kind == "crawler" and v.checkout is None
                else v
                for v in scenario.variants
            ),
        )
        for scenario in chosen
    ]


def _scenario(
    name: str,
    pages: int,
    server: Literal["nginx", "latency"],
    variants: Sequence[Variant],
    baseline: Path | None,
    scrapy: bool,
) -> Scenario:
    """Ratios are against Scrapy; without it, each crawler against its baseline twin."""
    chosen: list[Variant] = []
    twins: list[tuple[str, str]] = []
    for variant in variants:
        if variant.kind == "scrapy" and not scrapy:
            continue
        chosen.append(variant)
        if baseline is not None and variant.kind == "crawler":
            twin = baseline_twin(variant, baseline)
            chosen.append(twin)
            twins.append((variant.name, twin.name))
    anchors = [v.name for v in chosen if v.kind == "scrapy"]
    if anchors:
        ratios = tuple((v.name, anchors[0]) for v in chosen if v.name != anchors[0])
    else:
        ratios = tuple(twins)
    return Scenario(name, pages, server, tuple(chosen), ratios)


def crawler_command(
    variant: Variant, base: str, out: Path, environ: Mapping[str, str] = os.environ
) -> Command:
    """`python -m crawler` on the site; a baseline runs from its checkout, with its code."""
    argv = (
        sys.executable,
        "-m",
        "crawler",
        "--seed",
        base,
        "--procs",
        str(variant.procs),
        "--threads",
        str(variant.threads),
        "--per-host",
        str(variant.per_host),
        "--max-depth",
        "1000",
        "--out",
        str(out),
        "--no-progress",
        "--log-level",
        "WARNING",
        *(("--plugin", variant.plugin) if variant.plugin else ()),
        *variant.extra_args,
    )
    if variant.checkout is None:
        return Command(argv, ROOT)
    # python -m puts the working directory first on sys.path; PYTHONPATH too, so that the
    # processes the crawler starts import the checkout's code as well, never this one's.
    return Command(argv, variant.checkout, {**environ, "PYTHONPATH": str(variant.checkout)})


def ceiling_command(variant: Variant, base: str, targets: Path, feed: Path) -> Command:
    argv = (
        sys.executable,
        "-m",
        "scripts.bench_ceiling",
        "--base",
        base,
        "--targets",
        str(targets),
        "--out",
        str(feed),
        "--procs",
        str(variant.procs),
        "--threads",
        str(variant.threads),
    )
    return Command(argv, ROOT)


def scrapy_command(base: str, feed: Path, work: Path, plugin: str | None = None) -> Command:
    scrapy = BENCH_VENV / "bin" / "scrapy"
    argv: tuple[str, ...] = (str(scrapy), "runspider", str(SPIDER_PATH), "-a", f"start_url={base}")
    if plugin:
        argv += ("-a", f"plugin={plugin}", "-a", f"plugin_path={ROOT}")
    return Command((*argv, "-O", str(feed)), work)


def ensure_scrapy() -> None:
    """Install Scrapy into .bench-venv/ the first time (not into the project's .venv)."""
    stamp = BENCH_VENV / f".scrapy-{SCRAPY_VERSION}"
    if stamp.exists() and (BENCH_VENV / "bin" / "scrapy").exists():
        return
    print(f"bench: installing Scrapy {SCRAPY_VERSION} into {BENCH_VENV} (first run only)")
    subprocess.run([sys.executable, "-m", "venv", str(BENCH_VENV)], check=True)
    pip = [str(BENCH_VENV / "bin" / "python"), "-m", "pip", "install", "-q"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, f"scrapy=={SCRAPY_VERSION}"], check=True)
    stamp.touch()

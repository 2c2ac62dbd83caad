"""What a scenario's runs come to: a line per run, medians, the Markdown table, the targets.

The targets for the fast scenario (medians of one run of the bench): at least 3x Scrapy's
pages/s, at most 3.5 ms of CPU per page, and a peak PSS at most 2x Scrapy's. For the latency
scenario: pages/s at least 95 % of what the connections allow (per-host limit / latency).
"""

from __future__ import annotations

import os
import platform
import statistics
from collections.abc import Mapping, Sequence

from scripts.bench.results import RunResult
from scripts.bench.variants import (
    CEILING,
    CRAWLER,
    LATENCY_PER_HOST,
    SCRAPY,
    SCRAPY_VERSION,
    Scenario,
)
from scripts.proctree import read_text

FAST_TARGET_SPEEDUP = 3.0
FAST_TARGET_CPU_MS_PER_PAGE = 3.5
FAST_TARGET_PSS_RATIO = 2.0
LATENCY_TARGET_FRACTION = 0.95  # of per_host / latency: the pipeline is kept full
OTHER_LOAD_WARN = 0.15  # other processes using more than this share of a core: say so

METRICS: tuple[tuple[str, str, str], ...] = (
    # (key, row label, number format)
    ("pages_per_s", "pages/s", "{:.1f}"),
    ("wall_s", "wall s", "{:.2f}"),
    ("cpu_s", "CPU s (process tree)", "{:.2f}"),
    ("cpu_ms_per_page", "CPU ms/page", "{:.2f}"),
    ("peak_pss_mb", "peak PSS MB (summed)", "{:.1f}"),
)


def format_ratio(value: float, anchor: float) -> str:
    if anchor == 0:
        return "n/a"
    return f"{value / anchor:.2f}x"


def format_table(
    medians: Mapping[str, Mapping[str, float]],
    variants: Sequence[str],
    ratios: Sequence[tuple[str, str]],
    notes: Mapping[str, str] | None = None,
) -> str:
    """A Markdown table: one row per metric, a column per variant, then one per ratio
    (variant, anchor), headed "variant / anchor"."""
    header = ["metric", *variants, *(f"{v} / {anchor}" for v, anchor in ratios)]
    lines = [
        "| " + " | ".join(header) + " |",
        "| --- |" + " ---: |" * (len(header) - 1),
    ]
    for key, label, fmt in METRICS:
        cells = [fmt.format(medians[v][key]) for v in variants]
        cells += [format_ratio(medians[v][key], medians[anchor][key]) for v, anchor in ratios]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    if notes:
        cells = [notes.get(v, "") for v in variants] + [""] * len(ratios)
        lines.append("| found every page | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def medians_of(runs: Sequence[RunResult]) -> dict[str, float]:
    return {key: statistics.median(getattr(r, key) for r in runs) for key, _, _ in METRICS}


def cpu_model(cpuinfo: str) -> str:
    """The CPU model of /proc/cpuinfo (x86 "model name", else a few other spellings)."""
    for key in ("model name", "Model", "cpu model", "Hardware"):
        for line in cpuinfo.splitlines():
            name, sep, value = line.partition(":")
            if sep and name.strip() == key and value.strip():
                return value.strip()
    return "unknown"


def machine_line(scrapy: bool = True) -> str:
    model = cpu_model(read_text("/proc/cpuinfo") or "")
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{cpus} CPUs ({model}), Linux {platform.release()}, "
        f"Python {platform.python_version()}"
        f"{f', Scrapy {SCRAPY_VERSION}' if scrapy else ''}"
    )


def describe_run(result: RunResult, server_name: str) -> str:
    """One run on one line (and its CPU by process on the next), trouble marked with !!!."""
    m, c = result.measurement, result.coverage
    found = f"found {c.found}/{c.expected}"
    if c.extra:
        # Scrapy runs with ROBOTSTXT_OBEY False, so /private/secret is expected here.
        found += f", +{len(c.extra)} not in ground truth: {', '.join(c.extra[:3])}"
    if c.records > c.distinct:
        found += f", {c.records - c.distinct} duplicate records"
    if not c.complete:
        found = f"!!! MISSING {c.expected - c.found} of {c.expected} pages !!!"
    if result.odd:
        found += ", " + ", ".join(f"{what} x{n}" for what, n in result.odd.most_common(4))
    if result.server_errors:
        found += f", !!! {server_name} logged {len(result.server_errors)} errors !!!"
    procs = ", ".join(
        f"{role} {cpu:.1f}s/{100 * cpu / m.wall_s:.0f}%"
        for role, cpu in m.per_process
        if cpu >= 0.05
    )
    return (
        f"  {result.variant:<16} r{result.round}  wall {m.wall_s:7.2f} s  "
        f"{c.records} rec ({found})  {result.pages_per_s:7.1f} p/s  "
        f"cpu {m.cpu_s:6.2f} s (polled {m.cpu_polled_s:.2f})  "
        f"{result.cpu_ms_per_page:5.2f} ms/p  pss {result.peak_pss_mb:6.1f} MB  "
        f"{server_name} {100 * m.server_cpu_s / m.wall_s:.0f}% of a core  "
        f"bench {100 * m.bench_cpu_s / m.wall_s:.0f}%  others {100 * m.other_cpu_s / m.wall_s:.0f}%"
        f"{' !!! BUSY MACHINE !!!' if m.other_cpu_s > OTHER_LOAD_WARN * m.wall_s else ''}"
        f"{'' if result.ok else '  !!! FAILED RUN !!!'}\n      cpu by process: {procs}"
    )


def _found_note(runs: Sequence[RunResult]) -> str:
    worst = min(runs, key=lambda r: r.coverage.found)
    c = worst.coverage
    trouble = " (server errors!)" if any(r.server_errors for r in runs) else ""
    if c.complete and all(r.ok for r in runs):
        return f"yes ({c.expected}){trouble}"
    return f"**NO**: {c.found}/{c.expected}{trouble}"


def report(
    scenario: Scenario, results: Mapping[str, Sequence[RunResult]], rounds: int, latency_ms: float
) -> None:
    """Print the scenario's medians as a table, warnings about its runs, and its targets."""
    names = [v.name for v in scenario.variants]
    medians = {name: medians_of(results[name]) for name in names}
    notes = {name: _found_note(results[name]) for name in names}
    expected = results[names[0]][0].coverage.expected
    print(
        f"\n### {scenario.name}: medians of {rounds} round(s), "
        f"{scenario.pages} pages ({expected} records)\n"
    )
    print(format_table(medians, names, scenario.ratios, notes))
    print(f"\nMachine: {machine_line(SCRAPY in medians)}.")
    for name in names:
        for run in results[name]:
            m = run.measurement
            if m.other_cpu_s > OTHER_LOAD_WARN * m.wall_s:
                print(
                    f"!!! {name} round {run.round} shared the machine: other processes used "
                    f"{100 * m.other_cpu_s / m.wall_s:.0f}% of a core; rerun on a quiet machine"
                )
            if not run.coverage.complete:
                sample = ", ".join(run.coverage.missing[:5])
                print(
                    f"!!! {name} round {run.round} MISSED {len(run.coverage.missing)} pages, "
                    f"e.g. {sample}"
                )
    if scenario.name == "fast":
        _print_fast_targets(medians[CRAWLER], medians.get(SCRAPY))
    if scenario.name == "latency":
        _print_latency_target(medians[CRAWLER], medians.get(CEILING), latency_ms)


def _print_fast_targets(crawler: Mapping[str, float], scrapy: Mapping[str, float] | None) -> None:
    """The targets of the module docstring; those against Scrapy only when it ran."""
    checks = [
        (
            f"CPU ms/page <= {FAST_TARGET_CPU_MS_PER_PAGE}",
            f"{crawler['cpu_ms_per_page']:.2f}",
            crawler["cpu_ms_per_page"] <= FAST_TARGET_CPU_MS_PER_PAGE,
        ),
    ]
    if scrapy is not None:
        speedup = crawler["pages_per_s"] / scrapy["pages_per_s"]
        pss_ratio = crawler["peak_pss_mb"] / scrapy["peak_pss_mb"]
        checks.insert(
            0,
            (
                f"pages/s >= {FAST_TARGET_SPEEDUP:g}x Scrapy",
                f"{speedup:.2f}x",
                speedup >= FAST_TARGET_SPEEDUP,
            ),
        )
        checks.append(
            (
                f"peak PSS <= {FAST_TARGET_PSS_RATIO:g}x Scrapy",
                f"{pss_ratio:.2f}x",
                pss_ratio <= FAST_TARGET_PSS_RATIO,
            )
        )
    print("\nTargets:")
    for label, value, met in checks:
        print(f"- {label}: {value} -> {'met' if met else 'NOT met'}")
    if scrapy is None:
        print("- pages/s and peak PSS against Scrapy: not checked (Scrapy left out)")


def _print_latency_target(
    crawler: Mapping[str, float], ceiling: Mapping[str, float] | None, latency_ms: float
) -> None:
    ideal = LATENCY_PER_HOST / (latency_ms / 1000)
    target = LATENCY_TARGET_FRACTION * ideal
    met = crawler["pages_per_s"] >= target
    print(
        f"\nTarget: crawler pages/s >= {target:.0f} ({LATENCY_TARGET_FRACTION:.0%} of "
        f"{LATENCY_PER_HOST} / {latency_ms / 1000:g} s = {ideal:.0f}): "
        f"{crawler['pages_per_s']:.1f} -> {'met' if met else 'NOT met'}"
    )
    if ceiling:
        print(
            f"The same server with requests alone on {LATENCY_PER_HOST} connections (no parsing, "
            f"no scheduling): {ceiling['pages_per_s']:.1f} pages/s; the crawler reaches "
            f"{crawler['pages_per_s'] / ceiling['pages_per_s']:.1%} of it."
        )

"""The report's performance figures (docs/performance.md): for an out.json of N pages,
how long `python -m crawler.report` takes and how big the page is, and how soon
headless Chromium has it loaded and interactive.

    python -m scripts.measure_report --pages 200000 [--rounds 3] [--keep DIR]

The out.json comes from scripts/make_out_json.py (with --sitemaps: every section
filled). The report runs as its own process, timed from outside: wall time, its CPU
time and its peak memory. Chromium opens the file from disk (scripts/chromium.py);
the figures are the Navigation Timing ones: DOMContentLoaded (the tables' sorting and
filtering are set up by then: report.js runs on it) and the load event. Medians of
the rounds; on a shared machine the CPU time is the steadier figure.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from scripts import chromium

ROOT = Path(__file__).resolve().parent.parent


def _child_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


# `python -m crawler.report` that also prints its own peak memory (KiB) last: the
# children's peak as this process sees it would include the out.json generator's.
_REPORT_WITH_PEAK = (
    "import resource, sys\n"
    "from crawler.report import main\n"
    "code = main(sys.argv[1:])\n"
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def _write_report(out_json: Path, report: Path) -> dict[str, float]:
    cpu = _child_cpu_s()
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _REPORT_WITH_PEAK, str(out_json), "-o", str(report)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    )
    wall = time.perf_counter() - started
    peak_mb = int(done.stderr.split()[-1]) / 1024
    return {"wall_s": wall, "cpu_s": _child_cpu_s() - cpu, "peak_rss_mb": peak_mb}


def _figures(values: list[float], digits: int) -> str:
    """ "median (each round)"."""
    rounds = ", ".join(f"{v:.{digits}f}" for v in values)
    return f"median {statistics.median(values):.{digits}f} ({rounds})"


def _open(driver: Any, report: Path) -> dict[str, float]:
    driver.get("about:blank")
    driver.get(report.as_uri())
    timing = driver.execute_script(
        "const n = performance.getEntriesByType('navigation')[0];"
        "return {dcl: n.domContentLoadedEventEnd, load: n.loadEventEnd,"
        " ready: document.documentElement.dataset.ready,"
        " rows: document.querySelectorAll('tbody tr').length,"
        " nodes: document.getElementsByTagName('*').length};"
    )
    assert timing["ready"] == "1", "report.js did not run"
    problems = chromium.console_problems(driver)
    assert not problems, problems
    return {
        "dcl_ms": timing["dcl"],
        "load_ms": timing["load"],
        "rows": timing["rows"],
        "nodes": timing["nodes"],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--keep", metavar="DIR", help="keep out.json and report.html there")
    args = parser.parse_args(argv)
    missing = chromium.missing()
    with tempfile.TemporaryDirectory() as scratch:
        where = Path(args.keep or scratch)
        where.mkdir(parents=True, exist_ok=True)
        out_json, report = where / "out.json", where / "report.html"
        started = time.perf_counter()
        subprocess.run(
            [sys.executable, "-m", "scripts.make_out_json", "--pages", str(args.pages)]
            + ["--sitemaps", "-o", str(out_json)],
            cwd=ROOT,
            check=True,
        )
        made = time.perf_counter() - started
        print(
            f"out.json: {args.pages} pages, {out_json.stat().st_size / 1e6:.0f} MB ({made:.1f} s)"
        )
        writes = [_write_report(out_json, report) for _ in range(args.rounds)]
        size = report.stat().st_size
        for key in ("wall_s", "cpu_s", "peak_rss_mb"):
            values = [w[key] for w in writes]
            print(f"report {key}: {_figures(values, 2)}")
        print(f"report size: {size} bytes ({size / 1e6:.2f} MB)")
        if missing:
            print(f"browser: skipped: {missing}")
            return 0
        with chromium.chromium() as driver:
            opens = [_open(driver, report) for _ in range(args.rounds)]
        for key in ("dcl_ms", "load_ms"):
            values = [o[key] for o in opens]
            print(f"chromium {key}: {_figures(values, 0)}")
        print(f"chromium: {opens[0]['rows']} table rows, {opens[0]['nodes']} elements")
    return 0


if __name__ == "__main__":
    sys.exit(main())

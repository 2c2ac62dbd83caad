"""A scenario's rounds: the site served, every variant run in alternation, each run checked.

Alternation (A B A B ...) spreads the machine's drift over all variants alike. A run that
failed or missed pages leaves its output and log in a temporary directory of its own.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from scripts.bench.measure import measure
from scripts.bench.report import describe_run, report
from scripts.bench.results import RunResult, coverage, odd_outcomes
from scripts.bench.servers import Server, latency_server, nginx_server, serious_log_lines
from scripts.bench.site_build import BuiltSite
from scripts.bench.variants import (
    Scenario,
    Variant,
    ceiling_command,
    crawler_command,
    scrapy_command,
)
from scripts.proctree import read_text


def _read_records(variant: Variant, path: Path) -> tuple[list[dict[str, object]], bool]:
    """Every record of the output, and whether the output says it is whole."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return [], False
    if variant.kind == "crawler":
        return data["pages"], bool(data.get("complete"))
    return data, True


def run_variant(
    variant: Variant, round_no: int, server: Server, site: BuiltSite, work: Path, subreaper: bool
) -> RunResult:
    out = work / ("out.json" if variant.kind == "crawler" else "feed.json")
    out.unlink(missing_ok=True)
    if variant.kind == "crawler":
        _fresh_redis(variant.extra_args)
        command = crawler_command(variant, server.base, out)
    elif variant.kind == "ceiling":
        targets = work / "targets.txt"
        targets.write_text("\n".join(sorted(site.expected)) + "\n", encoding="utf-8")
        command = ceiling_command(variant, server.base, targets, out)
    else:
        command = scrapy_command(server.base, out, work, variant.plugin)
    log_path = work / f"{variant.kind}.log"
    log_offset = _file_size(server.error_log)
    measurement = measure(command.argv, command.cwd, log_path, [server.pid], subreaper, command.env)
    server_errors = tuple(serious_log_lines(_read_from(server.error_log, log_offset)))
    records, whole = _read_records(variant, out)
    cov = coverage([str(record["url"]) for record in records], site.expected)
    ok = measurement.returncode == 0 and whole
    if not ok:
        tail = (read_text(str(log_path)) or "").splitlines()[-20:]
        print(f"bench: {variant.name} exited {measurement.returncode}; log tail:")
        print("\n".join(f"    {line}" for line in tail))
    if not (ok and cov.complete):
        # Kept for whoever debugs it: the work dir is removed at the end.
        keep = Path(tempfile.mkdtemp(prefix="crawler-bench-failed-"))
        for path in (out, log_path):
            if path.exists():
                shutil.copy2(path, keep / path.name)
        print(f"bench: output and log of this run kept in {keep}")
    odd = odd_outcomes(records)
    out.unlink(missing_ok=True)  # tens of MB each; the next run writes its own
    return RunResult(variant.name, round_no, measurement, cov, ok, odd, server_errors)


def _fresh_redis(args: tuple[str, ...]) -> None:
    """With `--frontier redis://…` in --crawler-args, empty that database before each run:
    every round is then a new crawl, not a rerun of a finished one (which fetches nothing)."""
    for flag, value in zip(args, args[1:], strict=False):
        if flag == "--frontier" and value.startswith(("redis://", "rediss://")):
            import redis  # only the crawler's venv has it, and only this option needs it

            with redis.Redis.from_url(value) as client:
                client.flushdb()


def _file_size(path: Path | None) -> int:
    try:
        return path.stat().st_size if path is not None else 0
    except OSError:
        return 0


def _read_from(path: Path | None, offset: int) -> str:
    if path is None:
        return ""
    try:
        with open(path, "rb") as f:
            f.seek(offset)
            return f.read().decode("utf-8", "replace")
    except OSError:
        return ""


def run_scenario(
    scenario: Scenario,
    site: BuiltSite,
    rounds: int,
    work: Path,
    nginx: str | None,
    latency_ms: float,
    subreaper: bool,
) -> None:
    print(f"\n## {scenario.name}: {len(site.expected)} records expected, {rounds} round(s)")
    if scenario.server == "nginx":
        assert nginx is not None
        server_cm = nginx_server(nginx, site, work / "nginx")
    else:
        server_cm = latency_server(site, latency_ms)
    results: dict[str, list[RunResult]] = {v.name: [] for v in scenario.variants}
    with server_cm as server:
        print(f"serving {server.base} ({server.name}, pid {server.pid})")
        for round_no in range(1, rounds + 1):
            for variant in scenario.variants:  # alternation: A B A B ...
                if variant.first_round_only and round_no > 1:
                    continue
                result = run_variant(variant, round_no, server, site, work, subreaper)
                results[variant.name].append(result)
                print(describe_run(result, server.name), flush=True)
                for line in result.server_errors[:3]:
                    print(f"      !!! {line}")
    report(scenario, results, rounds, latency_ms)

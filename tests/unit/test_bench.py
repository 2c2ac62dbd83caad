"""The pure helpers of the bench (scripts/bench/) and of scripts/proctree.py: /proc parsing,
the process tree, routes, scenarios and variants, tables.

The benchmark itself is not a test (nothing timed belongs in the suite); these need no
network and no sleeping. The /proc readers run on a directory laid out like /proc, and
once on the real one with a zombie child of the test's own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from scripts.bench import ROOT
from scripts.bench.cli import parse_args
from scripts.bench.measure import Measurement, process_role
from scripts.bench.report import cpu_model, format_ratio, format_table, medians_of
from scripts.bench.results import Coverage, RunResult, coverage, odd_outcomes
from scripts.bench.servers import nginx_config, serious_log_lines
from scripts.bench.site_build import request_target, site_file, static_route
from scripts.bench.variants import (
    CEILING,
    LATENCY_PER_HOST,
    SCRAPY,
    Variant,
    crawler_command,
    scenarios,
)
from scripts.proctree import (
    descendants,
    parse_cpu_busy_ticks,
    parse_pss_kb,
    parse_stat,
    pids_below,
    processes_in_group,
)

# A real line's shape: 52 fields; ppid 4, pgrp 5, utime 14, stime 15, cutime 16, cstime 17,
# starttime 22.
STAT_TAIL = "0 -1 4194304 5000 0 0 0 250 30 7 3 20 0 9 0 123456 1000 200"


def _stat_line(pid: int, comm: str, ppid: int = 100, pgrp: int = 4242, state: str = "S") -> str:
    head = f"{pid} ({comm}) {state} {ppid} {pgrp} {pgrp} {STAT_TAIL}"
    return f"{head} 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"


def test_parse_stat_reads_the_fields_by_position() -> None:
    stat = parse_stat(_stat_line(4242, "python"))
    assert (stat.pid, stat.comm, stat.state, stat.ppid) == (4242, "python", "S", 100)
    assert stat.pgrp == 4242
    assert (stat.utime, stat.stime, stat.cutime, stat.cstime) == (250, 30, 7, 3)
    assert stat.starttime == 123456
    assert stat.cpu_ticks == 280


def test_parse_stat_comm_may_hold_spaces_and_parentheses() -> None:
    stat = parse_stat(_stat_line(7, "a) b (c"))
    assert stat.comm == "a) b (c"
    assert (stat.ppid, stat.utime) == (100, 250)


def test_parse_stat_rejects_a_short_line() -> None:
    with pytest.raises(ValueError):
        parse_stat("7 (x) S 1 2 3")


def test_parse_pss_kb_takes_pss_not_its_breakdown() -> None:
    text = (
        "55d0c0000000-7ffd00000000 ---p 00000000 00:00 0    [rollup]\n"
        "Rss:               20480 kB\n"
        "Pss:               12345 kB\n"
        "Pss_Anon:           9000 kB\n"
        "Pss_File:           3345 kB\n"
    )
    assert parse_pss_kb(text) == 12345
    assert parse_pss_kb("") == 0  # a zombie's smaps_rollup is empty


def test_pids_below_walks_the_tree_and_skips_excluded_subtrees() -> None:
    parents = {
        10: 1,  # the bench
        20: 10,  # the measured main process
        21: 20,
        22: 21,  # grandchild: a forkserver worker
        30: 10,  # nginx master, excluded
        31: 30,  # nginx worker, excluded with it
        40: 10,  # an orphan re-parented to the bench
        99: 1,  # not ours
    }
    assert pids_below(parents, 10, exclude=[30]) == [20, 21, 22, 40]
    assert pids_below(parents, 20) == [21, 22]
    assert pids_below(parents, 99) == []


def _fake_proc(root: Path, stats: dict[str, str | None]) -> str:
    """A directory laid out like /proc: <pid>/stat for each entry, None for no stat file."""
    for name, text in stats.items():
        (root / name).mkdir()
        if text is not None:
            (root / name / "stat").write_text(text, encoding="utf-8")
    return str(root)


def test_proc_readers_skip_processes_that_vanish_mid_scan(tmp_path: Path) -> None:
    proc = _fake_proc(
        tmp_path,
        {
            "1": _stat_line(1, "init", ppid=0, pgrp=1),
            "10": _stat_line(10, "shell", ppid=1, pgrp=10),
            "20": _stat_line(20, "crawler", ppid=10, pgrp=20),
            "21": _stat_line(21, "worker", ppid=20, pgrp=20),
            "22": _stat_line(22, "worker", ppid=20, pgrp=20, state="Z"),  # a zombie
            "23": None,  # exited between the listing and the read
            "24": "",  # exited as its stat was opened
            "25": "25 (torn) S 20",  # cut short
            "26": _stat_line(26, "elsewhere", ppid=1, pgrp=20),  # same group, not a child
            "self": None,  # not a pid
        },
    )
    assert processes_in_group(20, proc) == [20, 21, 22, 26]
    assert processes_in_group(99, proc) == []
    assert descendants(10, proc) == [20, 21, 22]
    assert descendants(21, proc) == []


def test_proc_readers_see_a_zombie_child_on_the_real_proc() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        # Wait for its exit without reaping it: a zombie for as long as we look.
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)
        assert child.pid in descendants(os.getpid())
        assert child.pid in processes_in_group(os.getpgrp())  # children inherit the group
        assert os.getpid() in processes_in_group(os.getpgrp())
    finally:
        child.wait()
    assert child.pid not in descendants(os.getpid())


def test_process_role_names_the_crawlers_processes() -> None:
    forkserver = "python -c from multiprocessing.forkserver import main; main(5, 6, ...)"
    assert process_role(20, 20, "python -m crawler --seed x", None, "python") == "main"
    assert process_role(21, 20, forkserver, "main", "python") == "forkserver"
    assert process_role(22, 20, forkserver, "forkserver", "python") == "worker"
    tracker = "python -c from multiprocessing.resource_tracker import main;main(8)"
    assert process_role(23, 20, tracker, "main", "python") == "resource_tracker"
    assert process_role(24, 20, "/bin/sh -c true", "main", "sh") == "sh"


def test_request_target_and_static_route() -> None:
    assert request_target("http://127.0.0.1:8080/p/10?a=1&b=2") == "/p/10?a=1&b=2"
    assert request_target("http://127.0.0.1:8080/") == "/"
    # A static server ignores the query (nginx's $uri) and decodes escapes.
    assert static_route("/p/10?a=1&b=2") == "/p/10"
    assert static_route("/%70/12") == "/p/12"
    assert site_file("/") == "index.html"
    assert site_file("/p/3") == "p/3"


def test_nginx_config_has_the_benchmark_settings() -> None:
    conf = nginx_config(Path("/tmp/b/www"), Path("/tmp/b/ng"), 8123, as_root=True)
    for directive in (
        "daemon off;",
        "master_process on;",
        "worker_processes 1;",
        "user root;",
        "pid /tmp/b/ng/nginx.pid;",
        "error_log /tmp/b/ng/error.log warn;",
        "access_log off;",
        "keepalive_requests 100000;",
        "listen 127.0.0.1:8123",
        "root /tmp/b/www;",
        "location ~ ^/r/([0-9]+)$ { return 301 /p/$1; }",
        "try_files $uri =404;",
    ):
        assert directive in conf
    assert conf.count("{") == conf.count("}")
    assert "user " not in nginx_config(Path("/w"), Path("/n"), 1, as_root=False)


def test_coverage_counts_canonical_targets_against_the_ground_truth() -> None:
    expected = frozenset({"/", "/p/1", "/p/10?a=1&b=2", "/r/5"})
    urls = [
        "http://127.0.0.1:9/",
        "http://127.0.0.1:9/%70/1",  # the same page as /p/1 once canonical
        "http://127.0.0.1:9/p/1",
        "http://127.0.0.1:9/p/10?b=2&a=1",
        "http://127.0.0.1:9/private/secret",
    ]
    cov = coverage(urls, expected)
    assert (cov.records, cov.distinct, cov.found, cov.expected) == (5, 4, 3, 4)
    assert cov.missing == ("/r/5",)
    assert cov.extra == ("/private/secret",)
    assert not cov.complete


def _run(variant: str, wall_s: float, cpu_s: float, pss_kb: int, records: int) -> RunResult:
    measurement = Measurement(
        wall_s=wall_s,
        cpu_s=cpu_s,
        cpu_polled_s=cpu_s,
        peak_pss_kb=pss_kb,
        server_cpu_s=0.0,
        per_process=(("main", cpu_s),),
        returncode=0,
    )
    cov = Coverage(records, records, records, records, (), ())
    return RunResult(variant, 1, measurement, cov, ok=True)


def test_medians_and_the_markdown_table() -> None:
    crawler = [
        _run("crawler", 10.0, 30.0, 200 * 1024, 1000),
        _run("crawler", 20.0, 40.0, 100 * 1024, 1000),
        _run("crawler", 40.0, 50.0, 300 * 1024, 1000),
    ]
    scrapy = [_run("Scrapy", 40.0, 80.0, 100 * 1024, 1000)]
    medians = {"crawler": medians_of(crawler), "Scrapy": medians_of(scrapy)}
    assert medians["crawler"] == {
        "pages_per_s": 50.0,
        "wall_s": 20.0,
        "cpu_s": 40.0,
        "cpu_ms_per_page": 40.0,
        "peak_pss_mb": 200.0,
    }
    ratios = [("crawler", "Scrapy")]
    table = format_table(medians, ["crawler", "Scrapy"], ratios, {"crawler": "yes (1000)"})
    assert table.splitlines() == [
        "| metric | crawler | Scrapy | crawler / Scrapy |",
        "| --- | ---: | ---: | ---: |",
        "| pages/s | 50.0 | 25.0 | 2.00x |",
        "| wall s | 20.00 | 40.00 | 0.50x |",
        "| CPU s (process tree) | 40.00 | 80.00 | 0.50x |",
        "| CPU ms/page | 40.00 | 80.00 | 0.50x |",
        "| peak PSS MB (summed) | 200.0 | 100.0 | 2.00x |",
        "| found every page | yes (1000) |  |  |",
    ]


def test_format_ratio_without_an_anchor() -> None:
    assert format_ratio(3.0, 0.0) == "n/a"
    assert format_ratio(1.0, 4.0) == "0.25x"


def test_cpu_model_from_cpuinfo() -> None:
    cpuinfo = "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13\n"
    assert cpu_model(cpuinfo) == "AMD EPYC 7B13"
    assert cpu_model("processor : 0\n") == "unknown"


def test_serious_log_lines_picks_crit_alert_emerg() -> None:
    log = (
        "2026/11/28 05:17:46 [crit] 2832#2832: accept4() failed (24: Too many open files)\n"
        "2026/11/28 05:17:47 [warn] 2832#2832: something harmless\n"
        "2026/11/28 05:17:48 [alert] 2832#2832: worker process exited on signal 9\n"
    )
    assert [line.split()[2] for line in serious_log_lines(log)] == ["[crit]", "[alert]"]
    assert serious_log_lines("") == []


def test_odd_outcomes_counts_what_the_site_never_answers() -> None:
    records: list[dict[str, object]] = [
        {"status": 200, "error": None},
        {"status": 301, "error": None},
        {"status": 404, "error": None},
        {"status": 500, "error": None},
        {"status": 500},  # a Scrapy item has no error field
        {"status": None, "error": {"kind": "connect", "message": "refused"}},
    ]
    assert odd_outcomes(records) == {"status 500": 2, "error connect": 1}


def test_parse_cpu_busy_ticks_leaves_out_idle_and_iowait() -> None:
    proc_stat = "cpu  100 5 50 9000 40 3 2 1 0 0\ncpu0 50 2 25 4500 20 1 1 0 0 0\nintr 12345\n"
    assert parse_cpu_busy_ticks(proc_stat) == 100 + 5 + 50 + 3 + 2 + 1
    with pytest.raises(ValueError):
        parse_cpu_busy_ticks("intr 1\n")


def test_latency_scenario_measures_requests_alone_on_as_many_connections() -> None:
    (latency,) = scenarios(["latency"], 100, 100)
    by_kind = {v.kind: v for v in latency.variants}
    assert set(by_kind) == {"crawler", "scrapy", "ceiling"}
    crawler, ceiling = by_kind["crawler"], by_kind["ceiling"]
    assert crawler.per_host == LATENCY_PER_HOST
    assert ceiling.procs * ceiling.threads == LATENCY_PER_HOST


def _names(
    names: list[str], baseline: Path | None = None, scrapy: bool = True
) -> list[tuple[list[str], list[tuple[str, str]]]]:
    """(variant names, ratio columns) of each scenario built with these options."""
    built = scenarios(names, 100, 100, baseline, scrapy)
    return [([v.name for v in s.variants], list(s.ratios)) for s in built]


def test_scenarios_without_a_baseline_are_the_crawler_against_scrapy() -> None:
    assert _names(["fast", "latency", "scaling"]) == [
        (["crawler", SCRAPY], [("crawler", SCRAPY)]),
        (["crawler", SCRAPY, CEILING], [("crawler", SCRAPY), (CEILING, SCRAPY)]),
        (
            ["crawler p1", "crawler p2", "crawler p4", SCRAPY],
            [("crawler p1", SCRAPY), ("crawler p2", SCRAPY), ("crawler p4", SCRAPY)],
        ),
    ]


def test_a_baseline_runs_beside_each_crawler_variant_and_ratios_stay_against_scrapy() -> None:
    old = Path("/src/old")
    crawlers = [f"crawler{at} p{n}" for n in (1, 2, 4) for at in ("", "@old")]
    assert crawlers[:2] == ["crawler p1", "crawler@old p1"]
    assert _names(["fast", "scaling"], baseline=old) == [
        (["crawler", "crawler@old", SCRAPY], [("crawler", SCRAPY), ("crawler@old", SCRAPY)]),
        ([*crawlers, SCRAPY], [(name, SCRAPY) for name in crawlers]),
    ]
    (latency,) = scenarios(["latency"], 100, 100, baseline=old)
    ours, twin = latency.variants[:2]
    assert (ours.checkout, twin.checkout) == (None, old)
    assert (twin.kind, twin.procs, twin.threads, twin.per_host) == (
        ours.kind,
        ours.procs,
        ours.threads,
        ours.per_host,
    )
    (scaling,) = scenarios(["scaling"], 100, 100, baseline=old)
    assert [v.name for v in scaling.variants if v.first_round_only] == [SCRAPY]


def test_without_scrapy_ratios_are_against_the_baseline_if_any() -> None:
    old = Path("/src/old")
    assert _names(["fast", "latency"], baseline=old, scrapy=False) == [
        (["crawler", "crawler@old"], [("crawler", "crawler@old")]),
        (["crawler", "crawler@old", CEILING], [("crawler", "crawler@old")]),
    ]
    assert _names(["scaling"], baseline=old, scrapy=False)[0][1] == [
        ("crawler p1", "crawler@old p1"),
        ("crawler p2", "crawler@old p2"),
        ("crawler p4", "crawler@old p4"),
    ]
    assert _names(["fast"], scrapy=False) == [(["crawler"], [])]


def test_a_baseline_crawler_runs_from_its_checkout_with_the_same_arguments() -> None:
    ours = Variant("crawler", "crawler", procs=2, threads=8, per_host=16)
    old = Variant("crawler@old", "crawler", procs=2, threads=8, per_host=16, checkout=Path("/o"))
    environ = {"PATH": "/usr/bin", "PYTHONPATH": str(ROOT)}
    mine = crawler_command(ours, "http://127.0.0.1:9/", Path("/w/out.json"), environ)
    theirs = crawler_command(old, "http://127.0.0.1:9/", Path("/w/out.json"), environ)
    assert mine.argv == theirs.argv
    assert mine.argv[:3] == (sys.executable, "-m", "crawler")
    assert "--per-host" in mine.argv and mine.argv[mine.argv.index("--per-host") + 1] == "16"
    assert (mine.cwd, mine.env) == (ROOT, None)
    assert (theirs.cwd, theirs.env) == (Path("/o"), {"PATH": "/usr/bin", "PYTHONPATH": "/o"})


def test_the_table_with_a_baseline_column_and_without_ratios() -> None:
    medians = {
        "crawler": medians_of([_run("crawler", 10.0, 20.0, 100 * 1024, 1000)]),
        "crawler@old": medians_of([_run("crawler@old", 20.0, 30.0, 100 * 1024, 1000)]),
    }
    table = format_table(medians, ["crawler", "crawler@old"], [("crawler", "crawler@old")])
    assert table.splitlines()[:3] == [
        "| metric | crawler | crawler@old | crawler / crawler@old |",
        "| --- | ---: | ---: | ---: |",
        "| pages/s | 100.0 | 50.0 | 2.00x |",
    ]
    alone = format_table({"crawler": medians["crawler"]}, ["crawler"], [], {"crawler": "yes"})
    assert alone.splitlines()[0] == "| metric | crawler |"
    assert alone.splitlines()[1] == "| --- | ---: |"
    assert alone.splitlines()[-1] == "| found every page | yes |"


def test_options_baseline_and_no_scrapy(tmp_path: Path) -> None:
    defaults = parse_args([])
    assert (defaults.baseline, defaults.scrapy, defaults.rounds) == (None, True, 3)
    checkout = tmp_path / "old"
    (checkout / "crawler").mkdir(parents=True)
    (checkout / "crawler" / "__main__.py").write_text("", encoding="utf-8")
    args = parse_args(["--baseline", str(tmp_path / "old" / ".." / "old"), "--no-scrapy"])
    assert (args.baseline, args.scrapy) == (checkout.resolve(), False)
    with pytest.raises(SystemExit) as exc:
        parse_args(["--baseline", str(tmp_path)])  # no crawler there
    assert exc.value.code == 2


def test_crawler_args_go_to_this_checkouts_crawler_only() -> None:
    extra = ["--extract", "title=title", "--extract", "links=a@href"]
    (fast,) = scenarios(["fast"], 100, 100, baseline=ROOT, scrapy=False, crawler_args=extra)
    ours, twin = fast.variants
    assert ours.extra_args == tuple(extra) and twin.extra_args == ()
    mine = crawler_command(ours, "http://127.0.0.1:9/", Path("/w/out.json"))
    theirs = crawler_command(twin, "http://127.0.0.1:9/", Path("/w/out.json"))
    assert mine.argv[-4:] == tuple(extra) and "--extract" not in theirs.argv
    assert fast.ratios == (("crawler", f"crawler@{ROOT.name}"),)
    assert parse_args(["--crawler-args", "--extract 'a b=c'"]).crawler_args == "--extract 'a b=c'"

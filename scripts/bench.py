"""The benchmark of issue 4: the crawler against Scrapy on the synthetic site, side by side.

Builds the site (scripts/site.py) as static files, serves them with nginx (scenarios fast,
scaling) or with a 50 ms-latency asyncio server of its own (latency), runs the crawler and
Scrapy in alternation, checks that each found every page, and prints medians and ratios as
a Markdown table. Timing lives here and never in the test suite; only the pure helpers
(/proc parsing, tree walking, tables) are unit-tested.

    .venv/bin/python -m scripts.bench [--scenario fast|latency|scaling|all] [--rounds 3]
        [--pages 20000] [--latency-pages 20000] [--quick]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import http.client
import json
import os
import platform
import re
import resource
import select
import selectors
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import Literal
from urllib.parse import unquote, urlsplit

from crawler.urls import InvalidURL, canonicalize
from scripts.site import (
    META_NOFOLLOW_PATH,
    MISSING_PATH,
    NOFOLLOW_PATH,
    PRIVATE_PATH,
    SiteConfig,
    expected_urls,
    respond,
)

ROOT = Path(__file__).resolve().parent.parent
BENCH_VENV = ROOT / ".bench-venv"  # Scrapy's own virtualenv; not in git
SCRAPY_VERSION = "2.19.0"
SPIDER_PATH = Path(__file__).resolve().parent / "bench_scrapy_spider.py"

LINKS = 30
PAGE_BYTES = 10_000
FAST_PAGES = 20_000
# The fast scenario's site (built once for both): at ~300 pages/s a run lasts ~80 s, so
# start-up (~0.3 s) weighs on the rate as little as it does in the fast scenario.
LATENCY_PAGES = FAST_PAGES
QUICK_PAGES = 2_000
MIN_PAGES = 20  # the server self-check asks for /p/10 and /r/5
LATENCY_MS = 50.0
LATENCY_PER_HOST = 16
LATENCY_TARGET_FRACTION = 0.95  # of per_host / latency: the pipeline is kept full
# Issue 4's targets for the fast scenario (medians of one run of the bench).
FAST_TARGET_SPEEDUP = 3.0
FAST_TARGET_CPU_MS_PER_PAGE = 3.5
FAST_TARGET_PSS_RATIO = 2.0

SAMPLE_INTERVAL_S = 0.1
OTHER_LOAD_WARN = 0.15  # other processes using more than this share of a core: say so
RUN_TIMEOUT_S = 1800.0
REAP_TIMEOUT_S = 15.0  # orphans (forkserver, resource tracker) exit once the main one has
TERM_GRACE_S = 10.0  # SPEC: an interrupted crawl is gone within 10 s
SERVER_START_TIMEOUT_S = 10.0
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
# Page bodies are written without knowing the server's port: a one-host site links only
# by path (scripts/site.py), so any base gives the same bytes and the same request targets.
PLACEHOLDER_BASE = "http://127.0.0.1/"
INDEX_FILE = "index.html"
NOT_FOUND_FILE = "404.html"
HTML_TYPE = "text/html; charset=utf-8"
TEXT_TYPE = "text/plain; charset=utf-8"
SCRAPY = "Scrapy"
CEILING = "requests alone"  # scripts/bench_ceiling.py: the latency scenario's upper bound

_REDIRECT_ROUTE = re.compile(r"/r/([0-9]+)")

Kind = Literal["crawler", "scrapy", "ceiling"]
METRICS: tuple[tuple[str, str, str], ...] = (
    # (key, row label, number format)
    ("pages_per_s", "pages/s", "{:.1f}"),
    ("wall_s", "wall s", "{:.2f}"),
    ("cpu_s", "CPU s (process tree)", "{:.2f}"),
    ("cpu_ms_per_page", "CPU ms/page", "{:.2f}"),
    ("peak_pss_mb", "peak PSS MB (summed)", "{:.1f}"),
)


# ---------------------------------------------------------------------------
# Pure helpers: /proc parsing, the process tree, site routes, tables


@dataclass(frozen=True, slots=True)
class ProcStat:
    """The fields of /proc/<pid>/stat the bench uses; times in clock ticks."""

    pid: int
    comm: str
    state: str
    ppid: int
    utime: int
    stime: int
    cutime: int
    cstime: int
    starttime: int

    @property
    def cpu_ticks(self) -> int:
        return self.utime + self.stime


def parse_stat(text: str) -> ProcStat:
    """Parse one /proc/<pid>/stat line (proc(5))."""
    # comm (field 2) may itself hold spaces and ')': it ends at the last ')'.
    head, _, rest = text.rpartition(")")
    pid_text, _, comm = head.partition(" (")
    fields = rest.split()  # fields[0] is field 3 (state): field n is fields[n - 3]
    if len(fields) < 20:
        raise ValueError(f"short /proc stat line: {text!r}")
    return ProcStat(
        pid=int(pid_text),
        comm=comm,
        state=fields[0],
        ppid=int(fields[1]),
        utime=int(fields[11]),
        stime=int(fields[12]),
        cutime=int(fields[13]),
        cstime=int(fields[14]),
        starttime=int(fields[19]),
    )


def parse_cpu_busy_ticks(proc_stat: str) -> int:
    """Busy clock ticks of all CPUs from /proc/stat: everything but idle and iowait."""
    for line in proc_stat.splitlines():
        fields = line.split()
        if fields and fields[0] == "cpu":
            # user nice system idle iowait irq softirq steal [guest guest_nice]; guest time
            # is already inside user and nice.
            values = [int(v) for v in fields[1:9]]
            return sum(values) - values[3] - values[4]
    raise ValueError("no aggregate cpu line in /proc/stat")


def parse_pss_kb(text: str) -> int:
    """The Pss of /proc/<pid>/smaps_rollup in kB; 0 when absent (a zombie has none)."""
    for line in text.splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    return 0


def descendants(parents: Mapping[int, int], root: int, exclude: Iterable[int] = ()) -> list[int]:
    """Every pid below `root` in the pid -> ppid map, skipping the subtrees of `exclude`."""
    children: dict[int, list[int]] = {}
    for pid, ppid in parents.items():
        children.setdefault(ppid, []).append(pid)
    skip = set(exclude)
    found: list[int] = []
    stack = [root]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in skip and child != root:
                found.append(child)
                stack.append(child)
    return sorted(found)


def process_role(pid: int, root: int, cmdline: str, parent_role: str | None, comm: str) -> str:
    """A short name for a process of a measured tree: main, forkserver, worker, ..."""
    if pid == root:
        return "main"
    if "multiprocessing.forkserver" in cmdline:
        # Forkserver children are forked from it and keep its command line.
        return "worker" if parent_role in ("forkserver", "worker") else "forkserver"
    if "resource_tracker" in cmdline:
        return "resource_tracker"
    if parent_role == "main" and "multiprocessing" in cmdline:
        return "worker"
    return comm


def request_target(url: str) -> str:
    """The request target of a URL: path and query, what the server sees."""
    parts = urlsplit(url)
    return parts.path + (f"?{parts.query}" if parts.query else "")


def static_route(target: str) -> str:
    """The path a static server looks up for a request target: no query, %-decoded."""
    return unquote(target.partition("#")[0].partition("?")[0])


def site_file(route: str) -> str:
    """The file (relative to the document root) that serves a 200 route."""
    return INDEX_FILE if route == "/" else route.lstrip("/")


def nginx_config(www: Path, work: Path, port: int, as_root: bool) -> str:
    """An nginx.conf serving the static site on 127.0.0.1:<port> from `www`."""
    # As root, nginx would drop to user "nobody", group "nobody": Debian has no such group.
    user = "user root;\n" if as_root else ""
    temp_paths = "".join(
        f"    {name}_temp_path {work}/{name}_temp;\n"
        for name in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return (
        "daemon off;\n"
        "master_process on;\n"
        # One worker: nginx is far from the limit at ~0.05 ms a request, and the two cores
        # stay for the crawlers (its CPU share is printed for every run).
        "worker_processes 1;\n"
        f"{user}"
        f"pid {work}/nginx.pid;\n"
        f"error_log {work}/error.log warn;\n"
        "events { worker_connections 4096; }\n"
        "http {\n"
        "    access_log off;\n"
        f"{temp_paths}"
        "    sendfile on;\n"
        "    tcp_nodelay on;\n"
        "    keepalive_timeout 65s;\n"
        "    keepalive_requests 100000;\n"
        # No open_file_cache: it holds a descriptor per cached file, and 20 000 pages
        # exhaust the worker's RLIMIT_NOFILE (accept4() then fails, the server stalls).
        "    server_tokens off;\n"
        "    types { text/html html; text/plain txt; }\n"
        "    default_type text/html;\n"  # /p/N files have no extension
        "    charset utf-8;\n"
        "    server {\n"
        f"        listen 127.0.0.1:{port} backlog=4096;\n"
        f"        root {www};\n"
        "        absolute_redirect off;\n"  # Location: /p/N, as scripts/site.py answers
        f"        error_page 404 /{NOT_FOUND_FILE};\n"
        f"        location = /{NOT_FOUND_FILE} {{ internal; }}\n"
        f"        location = / {{ try_files /{INDEX_FILE} =404; }}\n"
        "        location ~ ^/r/([0-9]+)$ { return 301 /p/$1; }\n"
        # $uri has no query: /p/10?a=1&b=2 is the file p/10, like the site's server.
        "        location / { try_files $uri =404; }\n"
        "    }\n"
        "}\n"
    )


def serious_log_lines(text: str) -> list[str]:
    """The lines of an nginx error log at level crit, alert or emerg."""
    return [line for line in text.splitlines() if re.search(r"\[(crit|alert|emerg)\]", line)]


def odd_outcomes(records: Iterable[Mapping[str, object]]) -> Counter[str]:
    """Records other than the site's 200, 301 and 404: server trouble or crawler errors."""
    odd: Counter[str] = Counter()
    for record in records:
        error = record.get("error")
        if isinstance(error, Mapping):
            odd[f"error {error.get('kind')}"] += 1
        elif record.get("status") not in (200, 301, 404):
            odd[f"status {record.get('status')}"] += 1
    return odd


def format_ratio(value: float, anchor: float) -> str:
    if anchor == 0:
        return "n/a"
    return f"{value / anchor:.2f}x"


def format_table(
    medians: Mapping[str, Mapping[str, float]],
    variants: Sequence[str],
    anchor: str,
    notes: Mapping[str, str] | None = None,
) -> str:
    """A Markdown table: one row per metric, a column per variant, then variant/anchor."""
    others = [v for v in variants if v != anchor]
    header = ["metric", *variants, *(f"{v} / {anchor}" for v in others)]
    lines = [
        "| " + " | ".join(header) + " |",
        "| --- |" + " ---: |" * (len(header) - 1),
    ]
    for key, label, fmt in METRICS:
        cells = [fmt.format(medians[v][key]) for v in variants]
        cells += [format_ratio(medians[v][key], medians[anchor][key]) for v in others]
        lines.append(f"| {label} | " + " | ".join(cells) + " |")
    if notes:
        cells = [notes.get(v, "") for v in variants] + [""] * len(others)
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


# ---------------------------------------------------------------------------
# Results


@dataclass(frozen=True, slots=True)
class Coverage:
    """How a crawl's records compare with the site's ground truth (request targets)."""

    records: int
    distinct: int
    found: int
    expected: int
    missing: tuple[str, ...]
    extra: tuple[str, ...]

    @property
    def complete(self) -> bool:
        return self.found == self.expected


def coverage(urls: Sequence[str], expected: frozenset[str]) -> Coverage:
    targets: set[str] = set()
    for url in urls:
        try:
            targets.add(request_target(canonicalize(url)))
        except InvalidURL:
            targets.add(url)
    return Coverage(
        records=len(urls),
        distinct=len(targets),
        found=len(targets & expected),
        expected=len(expected),
        missing=tuple(sorted(expected - targets)),
        extra=tuple(sorted(targets - expected)),
    )


@dataclass(frozen=True, slots=True)
class Measurement:
    """One process tree's run: wall time, CPU, memory, and what each process spent."""

    wall_s: float
    cpu_s: float  # getrusage(RUSAGE_CHILDREN) delta: every descendant, reaped by us or theirs
    cpu_polled_s: float  # the last /proc sample of each process: a cross-check, a lower bound
    peak_pss_kb: int
    server_cpu_s: float
    per_process: tuple[tuple[str, float], ...]  # (role, cpu s), by CPU descending
    returncode: int
    # CPU the machine spent on anything else meanwhile (other users' jobs): it distorts.
    other_cpu_s: float = 0.0
    bench_cpu_s: float = 0.0  # this script's own sampling, on the same two cores


@dataclass(frozen=True, slots=True)
class RunResult:
    variant: str
    round: int
    measurement: Measurement
    coverage: Coverage
    ok: bool  # exit code 0 (and, for the crawler, "complete": true)
    odd: Counter[str] = field(default_factory=Counter)  # see odd_outcomes
    server_errors: tuple[str, ...] = ()  # serious lines nginx logged during the run

    @property
    def wall_s(self) -> float:
        return self.measurement.wall_s

    @property
    def pages_per_s(self) -> float:
        return self.coverage.records / self.wall_s if self.wall_s else 0.0

    @property
    def cpu_s(self) -> float:
        return self.measurement.cpu_s

    @property
    def cpu_ms_per_page(self) -> float:
        return 1000 * self.cpu_s / self.coverage.records if self.coverage.records else 0.0

    @property
    def peak_pss_mb(self) -> float:
        return self.measurement.peak_pss_kb / 1024


# ---------------------------------------------------------------------------
# Measuring a process tree


def _read_text(path: str) -> str | None:
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return None  # the process exited between listing and reading


def _read_all_stats() -> dict[int, ProcStat]:
    stats: dict[int, ProcStat] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            text = _read_text(f"/proc/{entry.name}/stat")
            if text:
                with contextlib.suppress(ValueError):
                    stats[int(entry.name)] = parse_stat(text)
    return stats


def _cmdline(pid: int) -> str:
    return (_read_text(f"/proc/{pid}/cmdline") or "").replace("\0", " ").strip()


def _become_subreaper() -> bool:
    """Orphans of the measured tree (the forkserver once the coordinator exits) are
    re-parented to us instead of init, so we reap them and their CPU reaches
    RUSAGE_CHILDREN."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False


@dataclass
class _TreeSampler:
    """Polls /proc for every descendant of this process but the servers' trees."""

    exclude: frozenset[int]
    root: int = 0
    cpu_ticks: dict[tuple[int, int], int] = field(default_factory=dict)  # (pid, start) ->
    roles: dict[tuple[int, int], str] = field(default_factory=dict)
    peak_pss_kb: int = 0
    server_ticks_first: int | None = None
    server_ticks_last: int = 0

    def sample(self) -> list[ProcStat]:
        stats = _read_all_stats()
        parents = {pid: s.ppid for pid, s in stats.items()}
        me = os.getpid()
        tree = [stats[pid] for pid in descendants(parents, me, self.exclude) if pid in stats]
        pss_kb = 0
        for proc in tree:
            # pid and start time: a reused pid is another process.
            key = (proc.pid, proc.starttime)
            self.cpu_ticks[key] = proc.cpu_ticks
            if key not in self.roles:
                parent = stats.get(proc.ppid)
                parent_role = self.roles.get((parent.pid, parent.starttime)) if parent else None
                self.roles[key] = process_role(
                    proc.pid, self.root, _cmdline(proc.pid), parent_role, proc.comm
                )
            if proc.state != "Z":
                pss_kb += parse_pss_kb(_read_text(f"/proc/{proc.pid}/smaps_rollup") or "")
        self.peak_pss_kb = max(self.peak_pss_kb, pss_kb)
        # The server's own CPU (nginx master and worker): is it anywhere near a limit?
        server_pids = [root for root in self.exclude if root in stats]
        server_pids += [p for root in server_pids for p in descendants(parents, root)]
        server_ticks = sum(stats[p].cpu_ticks for p in server_pids if p in stats)
        if self.server_ticks_first is None:
            self.server_ticks_first = server_ticks
        self.server_ticks_last = server_ticks
        return tree

    def per_process(self) -> tuple[tuple[str, float], ...]:
        rows = [(self.roles[key], ticks / CLK_TCK) for key, ticks in self.cpu_ticks.items()]
        return tuple(sorted(rows, key=lambda row: -row[1]))


def _wait_for_exit(proc: subprocess.Popen[bytes], pidfd: int | None, timeout_s: float) -> bool:
    """Wait up to timeout_s for proc to exit; True once it has (and is reaped)."""
    if pidfd is not None:
        # A pidfd wakes us the moment the process exits: wall time to the millisecond.
        select.select([pidfd], [], [], timeout_s)
        return proc.poll() is not None
    try:
        proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        return False
    return True


def _reap_orphans(tree: list[ProcStat], main_pid: int) -> None:
    """Reap the tree's processes re-parented to us (we are their subreaper)."""
    me = os.getpid()
    for proc in tree:
        if proc.ppid == me and proc.pid != main_pid:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(proc.pid, os.WNOHANG)


def _signal_pids(pids: Iterable[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _stop_tree(proc: subprocess.Popen[bytes], sampler: _TreeSampler) -> None:
    """SIGTERM the main process (the crawler then ends its workers), then SIGKILL stragglers."""
    if proc.poll() is None:
        _signal_pids([proc.pid], signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(TERM_GRACE_S)
    deadline = time.monotonic() + REAP_TIMEOUT_S
    while time.monotonic() < deadline:
        tree = sampler.sample()
        if not tree:
            break
        _signal_pids([p.pid for p in tree if p.state != "Z"], signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(0.1)
        _reap_orphans(tree, proc.pid)
        time.sleep(0.05)


def measure(
    cmd: Sequence[str], cwd: Path, log_path: Path, exclude: Iterable[int], subreaper: bool
) -> Measurement:
    """Run cmd to its end while sampling its whole process tree every SAMPLE_INTERVAL_S."""
    sampler = _TreeSampler(frozenset(exclude))
    sampler.sample()  # the servers' CPU counter at the start
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    self_before = resource.getrusage(resource.RUSAGE_SELF)
    busy_before = parse_cpu_busy_ticks(_read_text("/proc/stat") or "")
    with open(log_path, "wb") as log_file:
        started = time.monotonic()
        # A session of its own: Ctrl-C reaches the bench only, which then stops the run.
        proc = subprocess.Popen(
            list(cmd), cwd=cwd, stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
    sampler.root = proc.pid
    pidfd: int | None = None
    with contextlib.suppress(OSError, AttributeError):
        pidfd = os.pidfd_open(proc.pid)
    try:
        while True:
            sampler.sample()
            if _wait_for_exit(proc, pidfd, SAMPLE_INTERVAL_S):
                wall_s = time.monotonic() - started
                break
            if time.monotonic() - started > RUN_TIMEOUT_S:
                raise TimeoutError(f"{cmd[0]} ran longer than {RUN_TIMEOUT_S:.0f} s")
        # The main process is gone; its orphans (forkserver, resource tracker) follow.
        deadline = time.monotonic() + REAP_TIMEOUT_S
        while tree := sampler.sample():
            _reap_orphans(tree, proc.pid)
            if time.monotonic() > deadline:
                print(f"bench: {len(tree)} processes outlived the run; killing them")
                _stop_tree(proc, sampler)
                break
            time.sleep(0.02)
    except BaseException:
        _stop_tree(proc, sampler)
        raise
    finally:
        if pidfd is not None:
            os.close(pidfd)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    self_after = resource.getrusage(resource.RUSAGE_SELF)
    busy_s = (parse_cpu_busy_ticks(_read_text("/proc/stat") or "") - busy_before) / CLK_TCK
    rusage_s = (after.ru_utime + after.ru_stime) - (before.ru_utime + before.ru_stime)
    polled_s = sum(sampler.cpu_ticks.values()) / CLK_TCK
    server_s = (sampler.server_ticks_last - (sampler.server_ticks_first or 0)) / CLK_TCK
    self_s = (self_after.ru_utime + self_after.ru_stime) - (
        self_before.ru_utime + self_before.ru_stime
    )
    return Measurement(
        wall_s=wall_s,
        # Without the subreaper an orphan may be reaped by init, outside our rusage.
        cpu_s=rusage_s if subreaper else max(rusage_s, polled_s),
        cpu_polled_s=polled_s,
        peak_pss_kb=sampler.peak_pss_kb,
        server_cpu_s=server_s,
        per_process=sampler.per_process(),
        returncode=proc.returncode,
        # Kernel threads (softirq of loopback traffic, ...) land here too: a few percent.
        other_cpu_s=max(0.0, busy_s - rusage_s - server_s - self_s),
        bench_cpu_s=self_s,
    )


# ---------------------------------------------------------------------------
# The site: built once as files, served by nginx or by our own latency server


@dataclass(frozen=True, slots=True)
class Server:
    name: str
    base: str
    pid: int
    error_log: Path | None = None  # nginx's; read after each run for trouble


@dataclass(frozen=True, slots=True)
class BuiltSite:
    cfg: SiteConfig
    www: Path
    expected: frozenset[str]  # request targets of every record a correct crawl makes


def build_site(cfg: SiteConfig, www: Path) -> BuiltSite:
    """Write every page the site answers 200 for, plus the 404 body, under `www`."""
    if cfg.hosts != 1:
        raise ValueError("the static site has one host (links of several hosts name the port)")
    routes = ["/", "/robots.txt", PRIVATE_PATH, META_NOFOLLOW_PATH, NOFOLLOW_PATH]
    routes += [f"/p/{i}" for i in range(cfg.pages)]
    for route in routes:
        status, _, body = respond(cfg, 0, route)
        if status != 200:
            raise RuntimeError(f"the site answers {status} for {route}")
        path = www / site_file(route)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(body)
    (www / NOT_FOUND_FILE).write_bytes(respond(cfg, 0, MISSING_PATH)[2])
    expected = frozenset(request_target(u) for u in expected_urls(cfg, [PLACEHOLDER_BASE]))
    return BuiltSite(cfg, www, expected)


def check_server(base_url: str, cfg: SiteConfig) -> None:
    """A few requests compared with scripts/site.py: the server serves the same site."""
    parts = urlsplit(base_url)
    conn = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    try:
        for target in ("/", "/robots.txt", "/p/1", "/p/10?a=1&b=2", "/r/5", MISSING_PATH):
            conn.request("GET", target)
            answer = conn.getresponse()
            body = answer.read()
            status, headers, want = respond(cfg, 0, target)
            same = answer.status == status
            if status == 200:
                same = same and body == want
            if status == 301:
                same = same and answer.getheader("Location") == dict(headers)["Location"]
            if not same:
                raise RuntimeError(f"server at {base_url} answers {target} unlike the site")
    finally:
        conn.close()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_for_port(port: int, proc: subprocess.Popen[bytes]) -> bool:
    deadline = time.monotonic() + SERVER_START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.5):
            return True
        time.sleep(0.05)
    return False


def find_nginx() -> str | None:
    # /usr/sbin is not on a normal user's PATH.
    return shutil.which("nginx") or shutil.which("nginx", path="/usr/sbin:/usr/local/sbin")


def _stop_server(proc: subprocess.Popen[bytes], sig: signal.Signals) -> None:
    if proc.poll() is None:
        _signal_pids([proc.pid], sig)
        try:
            proc.wait(TERM_GRACE_S)
        except subprocess.TimeoutExpired:
            _signal_pids([proc.pid], signal.SIGKILL)
            proc.wait()


@contextlib.contextmanager
def nginx_server(nginx: str, site: BuiltSite, work: Path) -> Iterator[Server]:
    """Serve the site with nginx on 127.0.0.1 until the block ends."""
    work.mkdir(parents=True, exist_ok=True)
    for attempt in range(5):
        port = _free_port()
        conf = work / "nginx.conf"
        conf.write_text(nginx_config(site.www, work, port, os.geteuid() == 0), encoding="utf-8")
        # -e: the startup error log too goes to the temp dir, not /var/log/nginx.
        cmd = [nginx, "-p", f"{work}/", "-c", str(conf), "-e", str(work / "error.log")]
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, start_new_session=True)
        try:
            if _wait_for_port(port, proc):
                base = f"http://127.0.0.1:{port}/"
                check_server(base, site.cfg)
                yield Server("nginx", base, proc.pid, work / "error.log")
                return
            log_text = _read_text(str(work / "error.log")) or ""
            if "Address already in use" not in log_text or attempt == 4:
                raise RuntimeError(f"nginx did not start:\n{log_text}")
        finally:
            # SIGQUIT: graceful, but keep-alive connections are idle by now anyway.
            _stop_server(proc, signal.SIGQUIT)


@contextlib.contextmanager
def latency_server(site: BuiltSite, latency_ms: float) -> Iterator[Server]:
    """Serve the site with this module's asyncio server in a process of its own."""
    cmd = [sys.executable, "-m", "scripts.bench", "--serve-latency", str(site.www)]
    cmd += ["--latency-ms", str(latency_ms)]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, start_new_session=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().strip()
        if not line.isdigit():
            raise RuntimeError("the latency server did not start")
        base = f"http://127.0.0.1:{line}/"
        check_server(base, site.cfg)
        yield Server("server", base, proc.pid)
    finally:
        _stop_server(proc, signal.SIGTERM)
        if proc.stdout is not None:
            proc.stdout.close()


def _http_head(status: int, reason: str, content_type: str, length: int, extra: str = "") -> bytes:
    return (
        f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n{extra}"
        f"Content-Length: {length}\r\n\r\n"
    ).encode("latin-1")


def _load_responses(www: Path) -> tuple[dict[str, tuple[bytes, bytes]], tuple[bytes, bytes]]:
    """Every 200 answer, head and body rendered once, by route; and the 404 answer."""
    answers: dict[str, tuple[bytes, bytes]] = {}
    not_found = (b"", b"")
    for path in www.rglob("*"):
        if not path.is_file():
            continue
        rel = path.relative_to(www).as_posix()
        body = path.read_bytes()
        if rel == NOT_FOUND_FILE:
            not_found = (_http_head(404, "Not Found", HTML_TYPE, len(body)), body)
            continue
        content_type = TEXT_TYPE if rel.endswith(".txt") else HTML_TYPE
        route = "/" if rel == INDEX_FILE else f"/{rel}"
        answers[route] = (_http_head(200, "OK", content_type, len(body)), body)
    return answers, not_found


MAX_HEAD_BYTES = 64 * 1024  # a request head longer than this is not HTTP we serve
AnswerFor = Callable[[str], tuple[bytes, bytes]]  # request target -> (head, body)


class _LatencyConnection(asyncio.Protocol):
    """One keep-alive connection: each request answered `latency_s` after its head came.

    A timer per answer, not a coroutine per connection: the server's own work stays a
    few microseconds per request, so at 16..64 connections it adds no queueing of its
    own. Answers leave in request order (pipelined requests wait their turn).
    """

    def __init__(
        self, loop: asyncio.AbstractEventLoop, latency_s: float, answer_for: AnswerFor
    ) -> None:
        self._loop = loop
        self._latency_s = latency_s
        self._answer_for = answer_for
        self._transport: asyncio.Transport | None = None
        self._buffer = bytearray()
        self._due: deque[tuple[float, bytes, bool]] = deque()  # (when, answer, then close)
        self._timer: asyncio.TimerHandle | None = None
        self._last_request = False  # a `Connection: close` came: read no further

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self._transport = transport

    def data_received(self, data: bytes) -> None:
        arrived = self._loop.time()
        if self._last_request:
            return
        self._buffer += data
        while (end := self._buffer.find(b"\r\n\r\n")) >= 0:
            head = bytes(self._buffer[:end])
            del self._buffer[: end + 4]
            try:
                method, target, version = head.split(b"\r\n", 1)[0].split(b" ", 2)
            except ValueError:
                self._drop()  # not HTTP
                return
            lowered = head.lower()
            close = b"connection: close" in lowered or (
                version == b"HTTP/1.0" and b"connection: keep-alive" not in lowered
            )
            answer_head, body = self._answer_for(target.decode("latin-1"))
            answer = answer_head if method == b"HEAD" else answer_head + body
            self._due.append((arrived + self._latency_s, answer, close))
            if close:
                self._last_request = True
                break
        if len(self._buffer) > MAX_HEAD_BYTES:
            self._drop()
            return
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._due.clear()

    def _arm(self) -> None:
        if self._timer is None and self._due:
            self._timer = self._loop.call_at(self._due[0][0], self._answer)

    def _answer(self) -> None:
        self._timer = None
        _, answer, close = self._due.popleft()
        assert self._transport is not None
        if self._transport.is_closing():
            return
        self._transport.write(answer)
        if close:
            self._transport.close()  # after the buffered answer is sent
            return
        self._arm()

    def _drop(self) -> None:
        self._due.clear()
        assert self._transport is not None
        self._transport.close()


def _latency_loop() -> asyncio.AbstractEventLoop:
    # select() sleeps to the microsecond; epoll and poll round every timeout up to a
    # whole millisecond, which added ~0.5 ms to each 50 ms answer. The bench opens at
    # most a few dozen connections, far below select's 1024-descriptor limit.
    return asyncio.SelectorEventLoop(selectors.SelectSelector())


async def _serve_latency(www: Path, latency_s: float) -> None:
    answers, not_found = _load_responses(www)

    def answer_for(target: str) -> tuple[bytes, bytes]:
        route = static_route(target)
        if match := _REDIRECT_ROUTE.fullmatch(route):
            body = b"<!DOCTYPE html>\n<title>Moved</title>\n"
            location = f"Location: /p/{match.group(1)}\r\n"
            return _http_head(301, "Moved Permanently", HTML_TYPE, len(body), location), body
        return answers.get(route, not_found)

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    # A deep backlog: the crawlers open their 16..32 keep-alive connections at once.
    server = await loop.create_server(
        lambda: _LatencyConnection(loop, latency_s, answer_for), "127.0.0.1", 0, backlog=4096
    )
    print(server.sockets[0].getsockname()[1], flush=True)
    async with server:
        await stop.wait()


# ---------------------------------------------------------------------------
# The contenders


@dataclass(frozen=True, slots=True)
class Variant:
    name: str  # the table's column heading
    kind: Kind
    procs: int = 2
    threads: int = 8
    per_host: int = 32
    first_round_only: bool = False  # the scaling scenario's Scrapy anchor runs once


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    pages: int
    server: Literal["nginx", "latency"]
    variants: tuple[Variant, ...]


def _crawler_cmd(variant: Variant, base: str, out: Path) -> list[str]:
    return [
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
    ]


def _ceiling_cmd(variant: Variant, base: str, targets: Path, feed: Path) -> list[str]:
    return [
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
    ]


def _scrapy_cmd(base: str, feed: Path) -> list[str]:
    scrapy = BENCH_VENV / "bin" / "scrapy"
    return [str(scrapy), "runspider", str(SPIDER_PATH), "-a", f"start_url={base}", "-O", str(feed)]


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
        cmd, cwd = _crawler_cmd(variant, server.base, out), ROOT
    elif variant.kind == "ceiling":
        targets = work / "targets.txt"
        targets.write_text("\n".join(sorted(site.expected)) + "\n", encoding="utf-8")
        cmd, cwd = _ceiling_cmd(variant, server.base, targets, out), ROOT
    else:
        cmd, cwd = _scrapy_cmd(server.base, out), work
    log_path = work / f"{variant.kind}.log"
    log_offset = _file_size(server.error_log)
    measurement = measure(cmd, cwd, log_path, [server.pid], subreaper)
    server_errors = tuple(serious_log_lines(_read_from(server.error_log, log_offset)))
    records, whole = _read_records(variant, out)
    cov = coverage([str(record["url"]) for record in records], site.expected)
    ok = measurement.returncode == 0 and whole
    if not ok:
        tail = (_read_text(str(log_path)) or "").splitlines()[-20:]
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


def _describe_run(result: RunResult, server_name: str) -> str:
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


# ---------------------------------------------------------------------------
# Scenarios


def scenarios(names: Sequence[str], pages: int, latency_pages: int) -> list[Scenario]:
    crawler_fast = Variant("crawler", "crawler", procs=2, threads=8, per_host=32)
    scrapy = Variant(SCRAPY, "scrapy")
    known = {
        "fast": Scenario("fast", pages, "nginx", (crawler_fast, scrapy)),
        "latency": Scenario(
            "latency",
            latency_pages,
            "latency",
            (
                Variant("crawler", "crawler", procs=2, threads=8, per_host=LATENCY_PER_HOST),
                scrapy,
                # The same 16 connections with nothing but requests: what the server allows.
                Variant(CEILING, "ceiling", procs=2, threads=LATENCY_PER_HOST // 2),
            ),
        ),
        "scaling": Scenario(
            "scaling",
            pages,
            "nginx",
            (
                *(Variant(f"crawler p{n}", "crawler", procs=n, per_host=32) for n in (1, 2, 4)),
                Variant(SCRAPY, "scrapy", first_round_only=True),
            ),
        ),
    }
    return [known[name] for name in names]


def machine_line() -> str:
    model = cpu_model(_read_text("/proc/cpuinfo") or "")
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return (
        f"{cpus} CPUs ({model}), Linux {platform.release()}, "
        f"Python {platform.python_version()}, Scrapy {SCRAPY_VERSION}"
    )


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
                print(_describe_run(result, server.name), flush=True)
                for line in result.server_errors[:3]:
                    print(f"      !!! {line}")
    _report(scenario, results, rounds, latency_ms)


def _report(
    scenario: Scenario, results: Mapping[str, Sequence[RunResult]], rounds: int, latency_ms: float
) -> None:
    names = [v.name for v in scenario.variants]
    medians = {name: medians_of(results[name]) for name in names}
    notes = {name: _found_note(results[name]) for name in names}
    expected = results[names[0]][0].coverage.expected
    print(
        f"\n### {scenario.name}: medians of {rounds} round(s), "
        f"{scenario.pages} pages ({expected} records)\n"
    )
    print(format_table(medians, names, SCRAPY, notes))
    print(f"\nMachine: {machine_line()}.")
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
        _print_fast_targets(medians["crawler"], medians[SCRAPY])
    if scenario.name == "latency":
        _print_latency_target(medians["crawler"], medians.get(CEILING), latency_ms)


def _print_fast_targets(crawler: Mapping[str, float], scrapy: Mapping[str, float]) -> None:
    speedup = crawler["pages_per_s"] / scrapy["pages_per_s"]
    pss_ratio = crawler["peak_pss_mb"] / scrapy["peak_pss_mb"]
    checks = [
        (
            f"pages/s >= {FAST_TARGET_SPEEDUP:g}x Scrapy",
            f"{speedup:.2f}x",
            speedup >= FAST_TARGET_SPEEDUP,
        ),
        (
            f"CPU ms/page <= {FAST_TARGET_CPU_MS_PER_PAGE}",
            f"{crawler['cpu_ms_per_page']:.2f}",
            crawler["cpu_ms_per_page"] <= FAST_TARGET_CPU_MS_PER_PAGE,
        ),
        (
            f"peak PSS <= {FAST_TARGET_PSS_RATIO:g}x Scrapy",
            f"{pss_ratio:.2f}x",
            pss_ratio <= FAST_TARGET_PSS_RATIO,
        ),
    ]
    print("\nTargets (issue 4):")
    for label, value, met in checks:
        print(f"- {label}: {value} -> {'met' if met else 'NOT met'}")


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


# ---------------------------------------------------------------------------
# CLI


def _parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="python -m scripts.bench",
        description="Benchmark the crawler against Scrapy on the synthetic site (issue 4).",
    )
    p.add_argument("--scenario", choices=("fast", "latency", "scaling", "all"), default="fast")
    p.add_argument("--rounds", type=int, help="alternating rounds (default 3; --quick: 1)")
    p.add_argument("--pages", type=int, help=f"site pages, fast/scaling (default {FAST_PAGES})")
    p.add_argument(
        "--latency-pages", type=int, help=f"site pages, latency (default {LATENCY_PAGES})"
    )
    p.add_argument("--latency-ms", type=float, default=LATENCY_MS, help="added per response")
    p.add_argument("--quick", action="store_true", help=f"smoke run: {QUICK_PAGES} pages, 1 round")
    p.add_argument("--serve-latency", metavar="DIR", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    # --quick changes the defaults only: options given explicitly still win.
    args.rounds = args.rounds or (1 if args.quick else 3)
    args.pages = args.pages or (QUICK_PAGES if args.quick else FAST_PAGES)
    args.latency_pages = args.latency_pages or (QUICK_PAGES if args.quick else LATENCY_PAGES)
    if args.rounds < 1 or min(args.pages, args.latency_pages) < MIN_PAGES:
        p.error(f"--rounds must be >= 1 and page counts >= {MIN_PAGES}")
    return args


def _on_sigterm(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # unwinds through the finally blocks that stop every process


def main(argv: Sequence[str] | None = None) -> int:
    args = _parse_args(argv)
    if args.serve_latency:
        with asyncio.Runner(loop_factory=_latency_loop) as runner:
            runner.run(_serve_latency(Path(args.serve_latency), args.latency_ms / 1000))
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
    subreaper = _become_subreaper()
    if not subreaper:
        print("bench: no PR_SET_CHILD_SUBREAPER; CPU of orphaned processes is polled only")
    ensure_scrapy()
    print(f"Machine: {machine_line()}")
    sites: dict[int, BuiltSite] = {}
    work = Path(tempfile.mkdtemp(prefix="crawler-bench-"))
    try:
        for scenario in scenarios(names, args.pages, args.latency_pages):
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


if __name__ == "__main__":
    sys.exit(main())

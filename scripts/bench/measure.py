"""Running one command to its end while sampling its whole process tree: wall, CPU, PSS.

CPU comes from getrusage(RUSAGE_CHILDREN), which counts every descendant once it is
reaped: by us, or by a descendant. With PR_SET_CHILD_SUBREAPER the tree's orphans
(the forkserver once the crawler's main process exits) are re-parented to this process,
so nothing escapes to init. Sampling /proc every SAMPLE_INTERVAL_S gives the peak PSS,
the CPU by process, and a cross-check of the CPU. The servers' trees are left out.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import resource
import select
import signal
import subprocess
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from scripts.proctree import (
    CLK_TCK,
    ProcStat,
    parse_cpu_busy_ticks,
    pids_below,
    read_all_stats,
    read_cmdline,
    read_pss_kb,
    read_text,
    signal_pids,
)

SAMPLE_INTERVAL_S = 0.1
RUN_TIMEOUT_S = 1800.0
REAP_TIMEOUT_S = 15.0  # orphans (forkserver, resource tracker) exit once the main one has
TERM_GRACE_S = 10.0  # the crawler's contract: an interrupted crawl is gone within 10 s
PR_SET_CHILD_SUBREAPER = 36  # linux/prctl.h


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


def become_subreaper() -> bool:
    """Orphans of the measured tree (the forkserver once the coordinator exits) are
    re-parented to us instead of init, so we reap them and their CPU reaches
    RUSAGE_CHILDREN."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
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
        stats = read_all_stats()
        parents = {pid: s.ppid for pid, s in stats.items()}
        me = os.getpid()
        tree = [stats[pid] for pid in pids_below(parents, me, self.exclude) if pid in stats]
        pss_kb = 0
        for proc in tree:
            # pid and start time: a reused pid is another process.
            key = (proc.pid, proc.starttime)
            self.cpu_ticks[key] = proc.cpu_ticks
            if key not in self.roles:
                parent = stats.get(proc.ppid)
                parent_role = self.roles.get((parent.pid, parent.starttime)) if parent else None
                self.roles[key] = process_role(
                    proc.pid, self.root, read_cmdline(proc.pid), parent_role, proc.comm
                )
            if proc.state != "Z":
                pss_kb += read_pss_kb(proc.pid)
        self.peak_pss_kb = max(self.peak_pss_kb, pss_kb)
        # The server's own CPU (nginx master and worker): is it anywhere near a limit?
        server_pids = [root for root in self.exclude if root in stats]
        server_pids += [p for root in server_pids for p in pids_below(parents, root)]
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


def _stop_tree(proc: subprocess.Popen[bytes], sampler: _TreeSampler) -> None:
    """SIGTERM the main process (the crawler then ends its workers), then SIGKILL stragglers."""
    if proc.poll() is None:
        signal_pids([proc.pid], signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(TERM_GRACE_S)
    deadline = time.monotonic() + REAP_TIMEOUT_S
    while time.monotonic() < deadline:
        tree = sampler.sample()
        if not tree:
            break
        signal_pids([p.pid for p in tree if p.state != "Z"], signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            proc.wait(0.1)
        _reap_orphans(tree, proc.pid)
        time.sleep(0.05)


def measure(
    cmd: Sequence[str],
    cwd: Path,
    log_path: Path,
    exclude: Iterable[int],
    subreaper: bool,
    env: Mapping[str, str] | None = None,
) -> Measurement:
    """Run cmd to its end while sampling its whole process tree every SAMPLE_INTERVAL_S.

    `exclude`: the servers' pids, whose trees are not measured; `env`: None for ours.
    """
    sampler = _TreeSampler(frozenset(exclude))
    sampler.sample()  # the servers' CPU counter at the start
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    self_before = resource.getrusage(resource.RUSAGE_SELF)
    busy_before = parse_cpu_busy_ticks(read_text("/proc/stat") or "")
    with open(log_path, "wb") as log_file:
        started = time.monotonic()
        # A session of its own: Ctrl-C reaches the bench only, which then stops the run.
        proc = subprocess.Popen(
            list(cmd),
            cwd=cwd,
            env=env,
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
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
    busy_s = (parse_cpu_busy_ticks(read_text("/proc/stat") or "") - busy_before) / CLK_TCK
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

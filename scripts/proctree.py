"""Processes as Linux's /proc shows them: parsing its files, walking the process tree.

The parsers are pure (text in, values out) and unit-tested; the readers around them
tolerate a process that exits between listing /proc and reading its files. Nothing here
starts, waits for or reaps a process; `signal_pids` only sends a signal to pids that may
already be gone.
"""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

PROC = "/proc"  # tests hand the readers a directory laid out the same way
CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True, slots=True)
class ProcStat:
    """The fields of /proc/<pid>/stat the scripts use; times in clock ticks."""

    pid: int
    comm: str
    state: str
    ppid: int
    pgrp: int
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
        pgrp=int(fields[2]),
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


def pids_below(parents: Mapping[int, int], root: int, exclude: Iterable[int] = ()) -> list[int]:
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


def read_text(path: str) -> str | None:
    """A whole text file, or None when it cannot be read (its process has exited)."""
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except OSError:
        return None


def read_all_stats(proc: str = PROC) -> dict[int, ProcStat]:
    """The stat of every process now in /proc, zombies included, by pid.

    A process that exits while /proc is listed is left out, whether its stat could not be
    opened or came back empty or torn.
    """
    stats: dict[int, ProcStat] = {}
    for entry in os.scandir(proc):
        if entry.name.isdigit():
            text = read_text(f"{proc}/{entry.name}/stat")
            if text:
                with contextlib.suppress(ValueError):
                    stats[int(entry.name)] = parse_stat(text)
    return stats


def read_cmdline(pid: int) -> str:
    """The command line of `pid`, arguments joined by spaces; "" once it has exited."""
    return (read_text(f"/proc/{pid}/cmdline") or "").replace("\0", " ").strip()


def read_pss_kb(pid: int) -> int:
    """The proportional set size of `pid` in kB; 0 for a zombie or a process gone."""
    return parse_pss_kb(read_text(f"/proc/{pid}/smaps_rollup") or "")


def descendants(pid: int, proc: str = PROC) -> list[int]:
    """Every process now below `pid` (children, their children, ...), sorted."""
    return pids_below({p: s.ppid for p, s in read_all_stats(proc).items()}, pid)


def processes_in_group(pgid: int, proc: str = PROC) -> list[int]:
    """Every process, zombies included, whose process group is `pgid`, sorted."""
    return sorted(pid for pid, stat in read_all_stats(proc).items() if stat.pgrp == pgid)


def signal_pids(pids: Iterable[int], sig: signal.Signals) -> None:
    """Send `sig` to each pid; one that has already exited is skipped."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)

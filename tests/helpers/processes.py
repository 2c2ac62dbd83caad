"""Waiting for a condition, and the crawler's processes as /proc shows them.

Built on scripts.proctree; everything here only looks (and polls): it never signals.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TypeVar

from scripts.proctree import descendants, parse_stat, read_cmdline, read_text

T = TypeVar("T")
POLL_S = 0.05


def wait_for(predicate: Callable[[], T], timeout: float, what: str) -> T:
    """Poll `predicate` until it returns something true, and return that; fail after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(POLL_S)


def worker_pids(crawler_pid: int) -> list[int]:
    """The crawler's worker processes: children of its forkserver, with none of their own.

    The forkserver is the coordinator's child and runs the same command line; the
    workers it forks do too, but only the forkserver has children.
    """
    return [
        pid
        for pid in descendants(crawler_pid)
        if "forkserver" in read_cmdline(pid) and not descendants(pid)
    ]


def has_exited(pid: int) -> bool:
    """The process is gone, or a zombie waiting to be reaped (it runs no more code)."""
    stat = read_text(f"/proc/{pid}/stat")
    return not stat or parse_stat(stat).state == "Z"

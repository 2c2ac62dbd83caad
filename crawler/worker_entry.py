"""How worker processes start, without importing what they run, and where they run.

The coordinator imports this, not crawler.worker: requests, bs4 and lxml (~0.2 s of
imports) load once, in the forkserver that preloads crawler.worker and forks every
worker, and the forkserver is started early enough that those imports overlap the
coordinator's own start-up instead of delaying the first request.

Each worker runs on one CPU of those the crawler may use. A worker's threads share one
interpreter lock, and lxml hands it back and forth for every few parse events: with the
threads on several CPUs each hand-over wakes a thread on another CPU (a context switch,
often two). Measured on 2 CPUs, 10 000 pages on nginx: with one worker (a CPU free
beside it) ~330 context switches and 5.7 CPU ms per page unpinned, 2.3 pinned, 2.3x the
pages per second; with two workers +18 %.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.forkserver
import os
from collections.abc import Sequence
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # importing this module must stay cheap: see crawler/__main__.py
    from crawler.addresses import AddressGuard
    from crawler.settings import Settings
    from crawler.warc_files import ArchivePlan

WORKER_MODULE = "crawler.worker"


def worker_context() -> ForkServerContext:
    """The forkserver context, its server started (or already running) with the preload.

    Forking from a server that has imported the worker's libraries starts each worker in
    milliseconds, also a replacement for one that died; starting the server costs
    the caller ~25 ms (a fork and exec); its imports then run in the background.
    """
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload([WORKER_MODULE])
    multiprocessing.forkserver.ensure_running()
    return ctx


def stop_worker_processes() -> None:
    """Stop the forkserver and the resource tracker, if this process started them.

    Left alone they exit on their own only once they notice that this process is gone,
    ~1.7 s later, reparented to init: a supervisor waiting for the crawl would see
    processes left, and their CPU time would never reach its accounting. Both are
    stopped the way multiprocessing's own tests do it (closing the pipe that keeps them
    alive, then reaping them). Call it once no worker runs; a later worker_context()
    starts a new forkserver.
    """
    from multiprocessing import resource_tracker

    for helper in (multiprocessing.forkserver._forkserver, resource_tracker._resource_tracker):
        stop = getattr(helper, "_stop", None)
        if stop is not None:  # private API: present in CPython 3.8 to 3.13
            stop()


def allowed_cpus() -> list[int]:
    """The CPUs this process may run on (as narrowed by taskset or a cpuset), or [] if unknown."""
    try:
        return sorted(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        return []


def worker_cpu(index: int, cpus: Sequence[int], offset: int) -> int | None:
    """The CPU for worker `index`: the allowed CPUs in turn, starting at `offset`.

    None with fewer than two CPUs (nothing to choose). The offset (the coordinator's pid)
    keeps two crawls on one machine from putting their first workers on the same CPUs.
    """
    if len(cpus) < 2:
        return None
    return cpus[(offset + index) % len(cpus)]


def run_worker(
    index: int,
    settings: Settings,
    tasks: Connection,
    results: Connection,
    cpu: int | None,
    guard: AddressGuard,
    archive: ArchivePlan | None = None,
) -> None:
    """A worker process's target: crawler.worker.worker_main (preloaded, so no import here)."""
    from crawler.worker import worker_main

    worker_main(index, settings, tasks, results, cpu=cpu, guard=guard, archive=archive)

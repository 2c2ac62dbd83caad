"""One crawl, from effective settings to out.json, whatever happens on the way.

Builds the frontier, the worker pool and the recorder, runs the coordinator, and writes
what was crawled: also after an interrupt (complete false) or an internal error. Only a
second interrupt leaves at once (KeyboardInterrupt), with out.json untouched.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from crawler.coordinator import Coordinator
from crawler.memory_frontier import MemoryFrontier
from crawler.pool import WorkerPool
from crawler.progress import Progress
from crawler.recorder import Recorder
from crawler.resolve import seed_guard
from crawler.settings import Settings
from crawler.spill import SpillOverflow
from crawler.worker_entry import worker_context

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    complete: bool  # out.json's "complete"
    interrupted: bool  # by SIGINT/SIGTERM
    failed: bool  # an internal error ended the crawl early
    stats: dict[str, Any]  # out.json's "stats"


def run_crawl(
    settings: Settings,
    seeds: Sequence[str],
    rejected_seeds: Sequence[dict[str, Any]],
    progress: Progress,
) -> Outcome:
    """Crawl and write out.json; UsageError (before any request) if an output cannot be used."""
    started_at = time.time()
    recorder = Recorder.open(settings, seeds, rejected_seeds)
    overflow = SpillOverflow()
    try:
        loaded = recorder.resume()
        frontier = MemoryFrontier(
            delay_s=settings.delay,
            per_host=settings.per_host,
            clock=time.monotonic,
            overflow=overflow,
        )
        guard = seed_guard(seeds, settings.allow_private, settings.timeout)
        pool = WorkerPool(settings, worker_context(), guard)
        coordinator = Coordinator(settings, seeds, frontier, pool, recorder)
        complete = interrupted = failed = False
        try:
            result = coordinator.run(progress, loaded)
            complete, interrupted = result.complete, result.interrupted
        except Exception:  # not KeyboardInterrupt: a second interrupt leaves at once
            log.exception("internal error; writing what was crawled")
            failed = True
        progress.close()  # before the summary and any log line of the write
        header = recorder.header(complete=complete, started_at=started_at, finished_at=time.time())
        recorder.write(header)
    finally:
        overflow.close()
        recorder.close()
    return Outcome(complete, interrupted, failed, header["stats"])

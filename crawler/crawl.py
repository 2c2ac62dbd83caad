"""One crawl, from effective settings to out.json, whatever happens on the way.

Builds the frontier, the worker pool and the recorder, runs the coordinator, and writes
what was crawled: also after an interrupt (complete false) or an internal error. Only a
second interrupt leaves at once (KeyboardInterrupt), with out.json untouched. When out.json
itself cannot be written (a full disk, its directory removed), the same document goes to a
fallback file, named in one error line, and the run counts as failed (exit 1).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from crawler.coordinator import Coordinator
from crawler.errors import UsageError
from crawler.memory_frontier import MemoryFrontier
from crawler.pool import WorkerPool
from crawler.progress import Progress
from crawler.recorder import Recorder
from crawler.report_path import report_path_problem
from crawler.resolve import seed_guard
from crawler.settings import Settings
from crawler.spill import SpillOverflow
from crawler.warc_files import forget_archive, plan_archive
from crawler.worker_entry import worker_context

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Outcome:
    complete: bool  # out.json's "complete"
    interrupted: bool  # by SIGINT/SIGTERM
    failed: bool  # an internal error ended the crawl early, or out.json was not written
    stats: dict[str, Any]  # out.json's "stats"
    # Where the result is: --out, the fallback file when --out could not be written
    # (then `failed` too), or None when neither could be written.
    out_path: str | None = None


def run_crawl(
    settings: Settings,
    seeds: Sequence[str],
    rejected_seeds: Sequence[dict[str, Any]],
    progress: Progress,
) -> Outcome:
    """Crawl and write out.json; UsageError (before any request) if an output cannot be used."""
    started_at = time.time()
    if settings.report is not None:
        _check_report_path(settings)
    archive = plan_archive(settings, started_at)  # --warc DIR made, or exit 2
    try:
        recorder = Recorder.open(settings, seeds, rejected_seeds)
    except UsageError:
        forget_archive(archive)  # a refusal leaves nothing behind
        raise
    overflow = SpillOverflow()
    try:
        loaded = recorder.resume()
        progress.start(resumed=recorder.stats.pages)
        frontier = MemoryFrontier(
            delay_s=settings.delay,
            per_host=settings.per_host,
            clock=time.monotonic,
            overflow=overflow,
        )
        guard = seed_guard(seeds, settings.allow_private, settings.timeout)
        pool = WorkerPool(settings, worker_context(), guard, archive)
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
        if coordinator.sitemaps is not None:
            header["sitemaps"] = coordinator.sitemaps.to_json()
        out_path = _write_result(recorder, header, settings)
    finally:
        overflow.close()
        recorder.close()
    failed = failed or out_path != settings.out
    if settings.report is not None and out_path is not None:
        try:
            failed = not _write_report(out_path, settings.report) or failed
        except KeyboardInterrupt:  # a second interrupt: the result is written, not the report
            log.error(
                "interrupted: --report %s not written (the result is in %s)",
                settings.report,
                out_path,
            )
            interrupted = True
    return Outcome(complete, interrupted, failed, header["stats"], out_path)


def _check_report_path(settings: Settings) -> None:
    others = [("--out", settings.out), ("--jsonl", settings.jsonl)]
    problem = report_path_problem(settings.report or "", others)
    if problem is not None:
        raise UsageError(problem)


def _write_report(out_path: str, report: str) -> bool:
    """--report: the HTML report of the out.json just written (also of an interrupted
    crawl), read back from that file. False, with one error line, if it cannot be
    written: out.json is there all the same, and the run counts as failed (exit 1)."""
    # Imported here: Jinja2 is needed at the end of a crawl that asks for a report only.
    from crawler.report import write_report

    try:
        written = write_report(out_path, report)
    except (OSError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        log.error("cannot write --report %s: %s", report, reason)
        return False
    log.info("report: %s (%d pages, %d kB)", written.path, written.pages, written.size // 1000)
    return True


def _write_result(recorder: Recorder, header: dict[str, Any], settings: Settings) -> str | None:
    """Write out.json, or failing that the fallback copy; where the result is, if anywhere.

    A failure here is expected, not a bug: one error line, no traceback.
    """
    try:
        recorder.write(header)
        return settings.out
    except OSError as exc:
        problem = f"cannot write --out {settings.out}: {exc.strerror or exc}"
    try:
        fallback = recorder.write_fallback(header)
    except OSError as exc:
        kept = f"; the records are kept in --state {settings.state}" if settings.state else ""
        where = exc.filename or "a temporary file"
        log.error(
            "%s, nor a copy to %s: %s; the result is lost%s", problem, where, exc.strerror, kept
        )
        return None
    log.error("%s; the whole result was written to %s instead", problem, fallback)
    return str(fallback)

"""One crawl, from effective settings to out.json, whatever happens on the way.

Builds the frontier, the worker pool and the recorder, runs the coordinator, and writes
what was crawled: also after an interrupt (complete false) or an internal error. Only a
second interrupt leaves at once (KeyboardInterrupt), with out.json untouched. When out.json
itself cannot be written (a full disk, its directory removed), the same document goes to a
fallback file, named in one error line, and the run counts as failed (exit 1).
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from crawler import cluster
from crawler.cluster_records import ClusterRecords, machine_name
from crawler.coordinator import Coordinator
from crawler.errors import UsageError
from crawler.frontier import Frontier
from crawler.memory_frontier import MemoryFrontier
from crawler.pool import WorkerPool
from crawler.progress import Progress
from crawler.recorder import Recorder
from crawler.redis_budget import RedisBudget
from crawler.redis_frontier import RedisFrontier, RedisLost, connect
from crawler.report_path import report_path_problem
from crawler.resolve import seed_guard
from crawler.settings import Settings, masked_url
from crawler.spill import SpillOverflow
from crawler.warc_files import forget_archive, plan_archive
from crawler.worker_entry import worker_context

log = logging.getLogger(__name__)

# The longest one Redis call may wait for an answer.
CALL_TIMEOUT_S = 5.0


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
    """Crawl and write out.json; UsageError (before any request) if an output cannot be used
    or, with a shared frontier, Redis cannot be reached or holds another crawl."""
    started_at = time.time()
    if settings.report is not None:
        _check_report_path(settings)
    shared: RedisFrontier | None = None
    machine = None
    if settings.shared:
        settings, shared, machine = _join(settings, seeds, rejected_seeds)
    records = None
    if shared is not None:
        assert settings.crawl is not None and machine is not None  # _join named them
        # Every record also goes to Redis (with "machine"), for python -m crawler.export.
        records = ClusterRecords(shared.client, settings.crawl, machine, call=shared.call)
    archive = plan_archive(settings, started_at)  # --warc DIR made, or exit 2
    try:
        recorder = Recorder.open(
            settings, seeds, rejected_seeds, cluster=records, started_at=started_at
        )
    except UsageError:
        forget_archive(archive)  # a refusal leaves nothing behind
        raise
    if shared is not None and records is not None:
        # The records go first in each of the frontier's pipelines, before the finishes
        # of their tasks (docs/design.md: no kill between the two loses a record).
        shared.attach_records(records.script, recorder.cluster_pending)
        recorder.cluster_piggybacked = True
        recorder.gate = shared.still_own
    overflow = SpillOverflow()
    try:
        loaded = recorder.resume()
        progress.start(resumed=recorder.stats.pages)
        frontier: Frontier = shared or MemoryFrontier(
            delay_s=settings.delay,
            per_host=settings.per_host,
            clock=time.monotonic,
            overflow=overflow,
        )
        guard = seed_guard(seeds, settings.allow_private, settings.timeout)
        pool = WorkerPool(settings, worker_context(), guard, archive)
        budget = None
        if shared is not None:
            budget = RedisBudget(
                shared.client,
                shared.prefix,
                settings.max_pages,
                settings.max_pages_per_host,
                call=shared.call,
            )
        coordinator = Coordinator(
            settings, seeds, frontier, pool, recorder, shared=shared, budget=budget
        )
        complete = interrupted = failed = False
        try:
            result = coordinator.run(progress, loaded)
            complete, interrupted = result.complete, result.interrupted
        except RedisLost as exc:
            log.error("%s; writing what was fetched; run the same command again to resume", exc)
            failed = True
        except Exception:  # not KeyboardInterrupt: a second interrupt leaves at once
            log.exception("internal error; writing what was crawled")
            failed = True
        progress.close()  # before the summary and any log line of the write
        if shared is not None:
            log.debug(
                "Redis: %d round trips; %d links answered by the seen cache",
                shared.round_trips,
                shared.seen_cached,
            )
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


def _join(
    settings: Settings, seeds: Sequence[str], rejected_seeds: Sequence[dict[str, Any]]
) -> tuple[Settings, RedisFrontier, str]:
    """Join (or start) the crawl in Redis: the settings with its name, the frontier, and
    this machine's name. UsageError if Redis is unreachable or holds another crawl."""
    name = settings.crawl or cluster.crawl_name(cluster.identity(settings, seeds))
    settings = dataclasses.replace(settings, crawl=name)
    # One call waits at most this long; a longer outage is retried up to --redis-timeout.
    client = connect(settings.frontier, min(CALL_TIMEOUT_S, settings.redis_timeout))
    joined = cluster.join(
        client, name, cluster.document(settings, seeds, rejected_seeds), settings.frontier
    )
    machine = machine_name()
    log.info(
        "crawl %s on %s: %s as %s",
        name,
        masked_url(settings.frontier),
        joined,
        machine,
    )
    frontier = RedisFrontier(
        client,
        crawl=name,
        owner=machine,
        delay_s=settings.delay,
        per_host=settings.per_host,
        lease_ttl_s=settings.lease_ttl,
        timeout_s=settings.redis_timeout,
    )
    if joined == cluster.REOPENED:
        log.info("%d URLs held back by the earlier limits go on", frontier.requeue_held())
    return settings, frontier, machine


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

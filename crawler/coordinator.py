"""The coordinator: owns the crawl state and schedules work across the worker processes.

It reads nothing from the network itself. It keeps the frontier (seen set, per-host
queues, politeness), robots.txt decisions, the limits and the decision that the crawl
is finished; it hands each ready URL to the least-loaded worker with a free thread,
follows redirect chains and retries hop by hop through the same politeness gate, and
merges the records into the output. Every process it starts, it joins.
"""

from __future__ import annotations

import json
import logging
import os
import random
import signal
import time
from collections import Counter
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.process import BaseProcess
from types import FrameType
from typing import Any

from crawler.backoff import is_retryable, retry_delay_s
from crawler.checkpoint import CrawlState, Loaded
from crawler.errors import ErrorKind
from crawler.frontier import MemoryFrontier, Task
from crawler.output import RecordSink, dumps
from crawler.progress import Progress
from crawler.records import Stats, build_record, error_info, iso_time
from crawler.robots import RobotsPolicy, robots_url
from crawler.scope import Scope
from crawler.settings import Settings
from crawler.spill import SpillOverflow
from crawler.urls import InvalidURL, canonicalize, host_key
from crawler.worker_entry import allowed_cpus, run_worker, worker_context, worker_cpu

log = logging.getLogger(__name__)

# RFC 9309 §2.3.1.2: follow at least five consecutive redirects for robots.txt.
ROBOTS_MAX_REDIRECTS = 5
# SIGINT/SIGTERM: how long in-flight requests may still finish before they are abandoned.
GRACE_S = 2.0
# How often the loop wakes with nothing to do (notices dead workers, signals).
IDLE_WAKE_S = 0.2
JOIN_TIMEOUT_S = 3.0
# Fetched answers waiting for breadth-first order, beyond which only the lowest open
# depth is dispatched (each holds a page's links: this bounds their memory).
MAX_DEFERRED = 2000
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(slots=True, eq=False)  # compared and hashed by identity
class _Worker:
    index: int
    process: BaseProcess
    tasks: Connection  # coordinator -> worker
    results: Connection  # worker -> coordinator
    in_flight: dict[int, Task] = field(default_factory=dict)  # sent, no result yet
    # The tasks holding a host slot, one per busy thread: a task sent as the successor
    # of another takes its slot (and its thread) over; so the last of a chain holds it.
    slots: set[int] = field(default_factory=set)
    successor: dict[int, int] = field(default_factory=dict)  # task id -> its successor's


@dataclass(slots=True)
class CrawlResult:
    complete: bool
    interrupted: bool
    stats: Stats
    elapsed_s: float


class Coordinator:
    def __init__(
        self,
        settings: Settings,
        seeds: list[str],
        sink: RecordSink,
        *,
        state: CrawlState | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.seeds = seeds
        self.sink = sink
        self.state = state
        self._dirty = False  # something to commit to the state
        self.elapsed_before_s = 0.0  # of earlier runs of a resumed crawl
        self.scope = Scope.build(seeds, settings.scope, settings.allow, settings.deny)
        self._overflow = SpillOverflow()
        self.frontier = MemoryFrontier(
            delay_s=settings.delay, per_host=settings.per_host, overflow=self._overflow
        )
        self.stats = Stats()
        self._rng = rng or random.Random()
        self._robots: dict[str, RobotsPolicy] = {}
        self._robots_asked: set[str] = set()
        self._workers: list[_Worker] = []
        self._task_ids = 0
        self._last_worker: dict[str, int] = {}  # host -> worker index (warm connection)
        self._started_records = 0
        self._started_per_host: Counter[str] = Counter()
        # Breadth-first order: a page's links are followed only once every record of a
        # lower depth is finished, so depth is the shortest distance from a seed whatever
        # order the answers arrive in. Answers that come early wait here, fetched already.
        self._open_by_depth: Counter[int] = Counter()
        self._deferred: dict[int, list[tuple[Task, dict[str, Any]]]] = {}
        self._deferred_count = 0
        self._signals = 0
        self._ctx = worker_context()
        self._cpus = allowed_cpus()  # each worker runs on one of them: see worker_entry

    # -- the crawl ------------------------------------------------------------------
    def run(self, progress: Progress) -> CrawlResult:
        started = time.monotonic()
        if self.state is not None and self.state.resumed:
            self._restore(self.state.load())
        else:
            for seed in self.seeds:
                if self.frontier.mark_seen(seed):
                    self._push_new(Task(url=seed, depth=0))
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        interrupted = False
        try:
            for index in range(self.settings.procs):
                self._workers.append(self._start_worker(index))
            interrupted = self._loop(progress)
        finally:
            self._stop_workers()
            self._overflow.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        elapsed = time.monotonic() - started
        self._checkpoint(complete=not interrupted, force=True, elapsed_s=elapsed)
        return CrawlResult(
            complete=not interrupted, interrupted=interrupted, stats=self.stats, elapsed_s=elapsed
        )

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._signals += 1
        if self._signals > 1:
            # A second interrupt: leave at once; out.json stays the previous whole file.
            raise KeyboardInterrupt
        log.warning(
            "%s: finishing in-flight requests, then writing partial output",
            signal.Signals(signum).name,
        )

    def in_flight(self) -> int:
        return sum(len(w.in_flight) for w in self._workers)

    def is_finished(self) -> bool:
        """The crawl is done: nothing queued, nothing in flight, no answer waiting."""
        return self.frontier.queued() == 0 and self.in_flight() == 0 and not self._deferred

    def _loop(self, progress: Progress) -> bool:
        """Run until finished; True if interrupted."""
        grace_until: float | None = None
        while True:
            now = time.monotonic()
            if self._signals:
                if grace_until is None:
                    grace_until = now + GRACE_S
                # No new work once interrupted: what is queued is dropped, and answers
                # waiting for breadth-first order are written now.
                for task in self.frontier.drain():
                    log.debug("not fetched (interrupted): %s", task.url)
                self._flush_deferred(force=True)
            else:
                self._dispatch(now)
                self._flush_deferred()
            if self.is_finished():
                return grace_until is not None
            if grace_until is not None and now >= grace_until:
                log.warning("abandoning %d in-flight requests", self.in_flight())
                return True
            self._wait_for_results(self._wait_timeout(now, grace_until))
            self._checkpoint()
            progress.update(self.stats.pages, self.stats.failed, self.frontier.queued())

    def _wait_timeout(self, now: float, grace_until: float | None) -> float:
        timeout = IDLE_WAKE_S
        wake = self.frontier.next_wakeup()
        if wake is not None and self._has_free_thread():
            timeout = min(timeout, max(0.0, wake - now))
        if grace_until is not None:
            timeout = min(timeout, max(0.0, grace_until - now))
        return timeout

    def _wait_for_results(self, timeout: float) -> None:
        by_conn = {w.results: w for w in self._workers}
        sentinels = {w.process.sentinel: w for w in self._workers}
        ready = wait([*by_conn, *sentinels], timeout)
        dead: list[_Worker] = []
        for obj in ready:
            if obj in by_conn:
                worker = by_conn[obj]  # type: ignore[index]
                try:
                    while worker.results.poll():
                        self._on_result(worker, worker.results.recv())
                except (EOFError, OSError):
                    dead.append(worker)
            else:
                dead.append(sentinels[obj])  # type: ignore[index]
        for worker in dict.fromkeys(dead):
            self._replace_worker(worker)

    # -- workers --------------------------------------------------------------------
    def _start_worker(self, index: int) -> _Worker:
        task_r, task_w = self._ctx.Pipe(duplex=False)
        result_r, result_w = self._ctx.Pipe(duplex=False)
        cpu = worker_cpu(index, self._cpus, os.getpid())
        process = self._ctx.Process(
            target=run_worker,
            args=(index, self.settings, task_r, result_w, cpu),
            name=f"crawler-worker-{index}",
            daemon=True,
        )
        process.start()
        # Close our copies of the child's ends, so a dead child reads as EOF here.
        task_r.close()
        result_w.close()
        return _Worker(index, process, task_w, result_r)

    def _replace_worker(self, worker: _Worker) -> None:
        """A worker died: start another with the same index, requeue its unfinished URLs."""
        if worker not in self._workers:
            return
        worker.process.join(0.5)
        log.error(
            "worker %d died (exit code %s); restarting it, requeueing %d URLs",
            worker.index,
            worker.process.exitcode,
            len(worker.in_flight),
        )
        now = time.monotonic()
        for task_id, task in worker.in_flight.items():
            if task_id in worker.slots:
                self.frontier.finish(task.host, now)
            self.frontier.push(task, front=True)
        worker.tasks.close()
        worker.results.close()
        position = self._workers.index(worker)
        self._workers[position] = self._start_worker(worker.index)

    def _stop_workers(self) -> None:
        for worker in self._workers:
            try:
                worker.tasks.send(None)
            except OSError:
                pass  # already gone
        deadline = time.monotonic() + JOIN_TIMEOUT_S
        for worker in self._workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
        for worker in self._workers:
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(JOIN_TIMEOUT_S)
            worker.tasks.close()
            worker.results.close()

    def _has_free_thread(self) -> bool:
        return any(len(w.slots) < self.settings.threads for w in self._workers)

    def _choose_worker(self, host: str) -> _Worker | None:
        """The least-loaded worker with a free thread; among equals, the host's last one."""
        best: _Worker | None = None
        warm = self._last_worker.get(host)
        for worker in self._workers:
            load = len(worker.slots)
            if load >= self.settings.threads:
                continue
            if (
                best is None
                or load < len(best.slots)
                or (load == len(best.slots) and worker.index == warm)
            ):
                best = worker
        return best

    # -- dispatch -------------------------------------------------------------------
    def _depth_limit(self) -> int | None:
        """Bounded memory: while many fetched answers wait for breadth-first order,
        fetch only pages of the lowest open depth, the ones that release them."""
        if self._deferred_count >= MAX_DEFERRED and self._open_by_depth:
            return min(self._open_by_depth)
        return None

    def _dispatch(self, now: float) -> None:
        while self._has_free_thread():
            task = self.frontier.pop_ready(now, self._admit, self._depth_limit())
            if task is None:
                return
            worker = self._choose_worker(task.host)
            assert worker is not None  # _has_free_thread() said so
            task_id = self._send(worker, task, after=0)
            worker.slots.add(task_id)
            self._send_successor(worker, task_id, task, now)

    def _send(self, worker: _Worker, task: Task, after: int) -> int:
        self._task_ids += 1
        worker.in_flight[self._task_ids] = task
        send_headers = bool(self.settings.header) and self.scope.is_seed_host(task.url)
        worker.tasks.send((self._task_ids, task.url, send_headers, task.robots, after))
        return self._task_ids

    def _send_successor(self, worker: _Worker, task_id: int, task: Task, now: float) -> None:
        """Queue the host's next task on the thread of `task_id`, to start as its request ends.

        It takes that request's host slot over, so the host never has more requests in
        flight, and the slot is not idle for a round trip through this process between
        two requests. Only for hosts without a delay (Frontier.pop_next decides).
        """
        if task.robots or self._signals:
            return
        successor = self.frontier.pop_next(task.host, now, self._admit, self._depth_limit())
        if successor is None:
            return
        successor_id = self._send(worker, successor, after=task_id)
        worker.successor[task_id] = successor_id
        worker.slots.discard(task_id)
        worker.slots.add(successor_id)

    def _admit(self, task: Task) -> bool:
        """Last checks before a task's request starts; False drops it (and counts why)."""
        if task.robots:
            return True
        policy = self._robots.get(task.host)
        if policy is not None and not policy.allowed(task.url):
            self.stats.robots_excluded += 1
            if task.origin is not None:
                # A redirect hop robots.txt disallows ends the chain with no error; the
                # record is the previous hop's 3xx answer, pointing at this URL.
                self._emit(task, task.last_attempt or {})
            else:
                self._close(task)
                if self.state is not None:
                    self.state.mark_done([task.url])
                    self._dirty = True
            return False
        if not task.counted:
            limit, per_host = self.settings.max_pages, self.settings.max_pages_per_host
            if limit and self._started_records >= limit:
                self._close(task)
                return False
            if per_host and self._started_per_host[task.host] >= per_host:
                self._close(task)
                return False
            task.counted = True
            self._started_records += 1
            self._started_per_host[task.host] += 1
        return True

    def _push_new(self, task: Task, *, restored: bool = False) -> None:
        """Queue a new page record, asking for its host's robots.txt first if the host is new."""
        if self.state is not None and not restored:
            self.state.add_pending(task.url, task.depth, task.referrer)
            self._dirty = True
        if self._signals:
            return  # interrupted: no new work now; --state keeps it for the next run
        self._open_by_depth[task.depth] += 1
        self._ensure_robots(task.url)
        self.frontier.push(task)

    def _close(self, task: Task) -> None:
        """A page record is finished (written) or dropped."""
        self._open_by_depth[task.depth] -= 1
        if not self._open_by_depth[task.depth]:
            del self._open_by_depth[task.depth]

    def _flush_deferred(self, force: bool = False) -> None:
        """Handle waiting answers whose depth is now the lowest still open."""
        while self._deferred:
            depth = min(self._deferred)
            if not force and self._open_by_depth and min(self._open_by_depth) < depth:
                return
            batch = self._deferred.pop(depth)
            self._deferred_count -= len(batch)
            for task, result in batch:
                self._on_page_result(task, result, time.monotonic())

    def _ensure_robots(self, url: str) -> None:
        if self.settings.ignore_robots:
            return
        host = host_key(url)
        if host in self._robots_asked:
            return
        self._robots_asked.add(host)
        self.frontier.hold(host)
        self.frontier.push(Task(url=robots_url(url), depth=0, robots=True, robots_for=host))

    # -- results --------------------------------------------------------------------
    def _on_result(self, worker: _Worker, result: dict[str, Any]) -> None:
        task_id = result["id"]
        task = worker.in_flight.pop(task_id, None)
        if task is None:
            return  # a late answer for a task already requeued elsewhere
        now = time.monotonic()
        successor_id = worker.successor.pop(task_id, None)
        if task_id in worker.slots:
            worker.slots.discard(task_id)
            self.frontier.finish(task.host, now)
        elif successor_id in worker.slots:
            # The successor is on this thread now: give it a successor in turn.
            self._send_successor(worker, successor_id, worker.in_flight[successor_id], now)
        self._last_worker[task.host] = worker.index
        if task.robots:
            if not self._retry_if_needed(task, result, now):
                self._on_robots(task, result, now)
        elif self._open_by_depth and min(self._open_by_depth) < task.depth:
            self._deferred.setdefault(task.depth, []).append((task, result))
            self._deferred_count += 1
        else:
            self._on_page_result(task, result, now)

    def _on_page_result(self, task: Task, result: dict[str, Any], now: float) -> None:
        if self._retry_if_needed(task, result, now):
            return
        if (
            result["error_kind"] is None
            and result["status"] in REDIRECT_STATUSES
            and (result["location"])
        ):
            self._on_redirect(task, result)
        else:
            self._emit(task, result)

    def _retry_if_needed(self, task: Task, result: dict[str, Any], now: float) -> bool:
        if task.hop_retries >= self.settings.retries:
            return False
        if not is_retryable(result["status"], result["error_kind"]):
            return False
        if self._signals:
            # Interrupted: not a finished record; --state keeps the URL pending.
            return True
        task.retries += 1
        task.hop_retries += 1
        delay = retry_delay_s(task.hop_retries, result["retry_after"], time.time(), self._rng)
        log.debug("retry %d of %s in %.2fs", task.hop_retries, task.url, delay)
        self.frontier.push(task, front=True, not_before=now + delay)
        return True

    def _on_robots(self, task: Task, result: dict[str, Any], now: float) -> None:
        host = task.robots_for or task.host
        status = result["status"]
        if status in REDIRECT_STATUSES and result["location"]:
            hops = len(task.redirects) + 1
            try:
                target = canonicalize(result["location"], base=task.url)
            except InvalidURL:
                target = None
            if target is not None and hops <= ROBOTS_MAX_REDIRECTS:
                self.frontier.push(
                    Task(
                        url=target,
                        depth=0,
                        robots=True,
                        robots_for=host,
                        redirects=[*task.redirects, task.url],
                    ),
                    front=True,
                )
                return
        usable = result["error_kind"] in (None, ErrorKind.TOO_LARGE)
        policy = RobotsPolicy.from_response(
            status if usable else None, result.get("body", b""), self.settings.user_agent
        )
        log.debug("robots.txt for %s: status %s, error %s", host, status, result["error_kind"])
        self._robots[host] = policy
        self.frontier.release(host, policy.delay_s(), now)

    def _on_redirect(self, task: Task, result: dict[str, Any]) -> None:
        """Follow one redirect hop: canonicalize, check loop, length, scope, seen, robots."""
        chain = [*task.redirects, task.url]
        try:
            target = canonicalize(result["location"], base=task.url)
        except InvalidURL as exc:
            self._emit(
                task,
                result,
                redirects=chain,
                error=error_info(
                    ErrorKind.OUT_OF_SCOPE_REDIRECT, f"redirect to {result['location']!r}: {exc}"
                ),
            )
            return
        if target in chain:
            self._emit(
                task,
                result,
                redirects=chain,
                final_url=target,
                error=error_info(ErrorKind.TOO_MANY_REDIRECTS, f"redirect loop back to {target}"),
            )
            return
        if len(chain) > self.settings.max_redirects:
            self._emit(
                task,
                result,
                redirects=chain,
                final_url=target,
                error=error_info(
                    ErrorKind.TOO_MANY_REDIRECTS,
                    f"more than {self.settings.max_redirects} redirects",
                ),
            )
            return
        if not self.scope.allows(target):
            self._emit(
                task,
                result,
                redirects=chain,
                final_url=target,
                error=error_info(
                    ErrorKind.OUT_OF_SCOPE_REDIRECT, f"redirect out of scope to {target}"
                ),
            )
            return
        if not self.frontier.mark_seen(target):
            # Its content is (or will be) in the record that fetched that URL.
            self._emit(task, result, redirects=chain, final_url=target)
            return
        hop = Task(
            url=target,
            depth=task.depth,
            referrer=task.referrer,
            origin=task.record_url,
            redirects=chain,
            retries=task.retries,
            last_attempt=result,
            counted=True,
        )
        self._ensure_robots(target)
        self.frontier.push(hop, front=True)

    def _emit(
        self,
        task: Task,
        result: dict[str, Any],
        *,
        redirects: list[str] | None = None,
        final_url: str | None = None,
        error: dict[str, str] | None = None,
    ) -> None:
        """Finish a page record: write it, fold it into stats, queue its links."""
        record = build_record(
            url=task.record_url,
            final_url=final_url or task.url,
            redirects=task.redirects if redirects is None else redirects,
            depth=task.depth,
            referrer=task.referrer,
            attempt=result,
            retries=task.retries,
            error=error,
        )
        self._close(task)
        self.stats.add(record)
        self.stats.dropped_links += result.get("dropped_links", 0)
        if self.state is None:
            self.sink.add(record)
        else:
            # The URLs this record used up; a chain that ended at a URL seen elsewhere
            # leaves that one to its own record.
            done = [record["url"], *record["redirects"]]
            if record["final_url"] == task.url:
                done.append(task.url)
            self.state.add_record(record, dumps(record), dict.fromkeys(done))
            self._dirty = True
        if record["links"]:
            self._follow_links(task, record["links"], result.get("nofollow") or ())

    def _follow_links(self, task: Task, links: list[str], nofollow: Any) -> None:
        """Dedup, scope and depth for the links of one page (the hot path per page)."""
        skip = set(nofollow)
        depth = task.depth + 1
        referrer = task.record_url
        allows = self.scope.allows
        mark_seen = self.frontier.mark_seen
        for link in links:
            if link in skip:
                continue
            if not allows(link):
                if mark_seen(link):
                    self.stats.out_of_scope += 1
                    if self.state is not None:
                        self.state.mark_done([link])
                continue
            if depth > self.settings.max_depth:
                continue
            if not mark_seen(link):
                self.stats.duplicates += 1
                continue
            self._push_new(Task(url=link, depth=depth, referrer=referrer))

    # -- checkpoint ---------------------------------------------------------------------
    def _restore(self, loaded: Loaded) -> None:
        """Start from a checkpoint: seen set, finished records' stats, pending URLs."""
        assert self.state is not None
        for url in loaded.seen:
            self.frontier.mark_seen(url)
        for line in self.state.iter_records():
            self.stats.add(json.loads(line))
        counters = loaded.counters
        self.stats.robots_excluded = counters.get("robots_excluded", 0)
        self.stats.out_of_scope = counters.get("out_of_scope", 0)
        self.stats.duplicates = counters.get("duplicates", 0)
        self.stats.dropped_links = counters.get("dropped_links", 0)
        self.elapsed_before_s = float(counters.get("elapsed_s", 0.0))
        self._started_records = loaded.records
        self._started_per_host.update(loaded.records_per_host)
        for url, depth, referrer in loaded.pending:
            self._push_new(Task(url=url, depth=depth, referrer=referrer), restored=True)
        log.info(
            "resuming from %s: %d records, %d URLs seen, %d pending",
            self.state.directory,
            loaded.records,
            len(loaded.seen),
            len(loaded.pending),
        )

    def _checkpoint(
        self, *, complete: bool = False, force: bool = False, elapsed_s: float | None = None
    ) -> None:
        """Commit what changed since the last turn; stream the committed records to --jsonl."""
        if self.state is None or not (self._dirty or force):
            return
        counters: dict[str, Any] = {
            "robots_excluded": self.stats.robots_excluded,
            "out_of_scope": self.stats.out_of_scope,
            "duplicates": self.stats.duplicates,
            "dropped_links": self.stats.dropped_links,
        }
        if elapsed_s is not None:
            counters["elapsed_s"] = self.elapsed_before_s + elapsed_s
        else:
            counters["elapsed_s"] = self.elapsed_before_s  # until this run ends
        self.sink.append_jsonl(self.state.commit(counters, complete=complete))
        self._dirty = False

    # -- output -----------------------------------------------------------------------
    def header(
        self,
        *,
        complete: bool,
        started_at: float,
        finished_at: float,
        elapsed_s: float,
        rejected_seeds: list[dict[str, Any]],
    ) -> dict[str, Any]:
        return {
            "version": 1,
            "complete": complete,
            "started_at": iso_time(started_at),
            "finished_at": iso_time(finished_at),
            "settings": self.settings.to_json(),
            "seeds": self.seeds,
            "rejected_seeds": rejected_seeds,
            "stats": self.stats.to_json(elapsed_s),
        }

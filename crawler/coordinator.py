"""The coordinator: the loop that moves work between the frontier, the workers and the recorder.

It reads nothing from the network itself and holds no rule of its own: each decision is
a pure function or object of the core (admission, redirects, follow, depth_order,
budgets, robots, backoff), and the coordinator acts on its answer. It hands each ready
task to the least-loaded worker with a free thread, follows redirect chains and retries
hop by hop through the same politeness gate, and hands finished records to the recorder.
"""

from __future__ import annotations

import logging
import random
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import FrameType

from crawler.admission import Verdict, admit
from crawler.backoff import is_retryable, retry_delay_s
from crawler.budgets import PageBudget
from crawler.checkpoint import Loaded
from crawler.depth_order import BreadthFirst
from crawler.follow import plan_links
from crawler.frontier import Frontier, Task
from crawler.messages import Result
from crawler.pool import Finished, Orphan, Worker, WorkerPool
from crawler.progress import Progress
from crawler.recorder import Recorder
from crawler.records import ErrorInfo, build_record
from crawler.redirects import Follow, is_redirect, next_hop
from crawler.robots import RobotsBook, robots_next_hop, robots_url
from crawler.scope import Scope
from crawler.settings import Settings
from crawler.urls import host_key

log = logging.getLogger(__name__)

# SIGINT/SIGTERM: how long in-flight requests may still finish before they are abandoned.
GRACE_S = 2.0
# How often the loop wakes with nothing to do (notices dead workers, signals).
IDLE_WAKE_S = 0.2


@dataclass(frozen=True, slots=True)
class RunResult:
    complete: bool  # every queued URL was handled
    interrupted: bool  # by SIGINT/SIGTERM


class Coordinator:
    def __init__(
        self,
        settings: Settings,
        seeds: Sequence[str],
        frontier: Frontier,
        pool: WorkerPool,
        recorder: Recorder,
        *,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.seeds = list(seeds)
        self.frontier = frontier
        self.pool = pool
        self.recorder = recorder
        self.scope = Scope.build(seeds, settings.scope, settings.allow, settings.deny)
        self.robots = RobotsBook(settings.user_agent, ignore=settings.ignore_robots)
        self.budget = PageBudget(settings.max_pages, settings.max_pages_per_host)
        self.order: BreadthFirst[tuple[Task, Result]] = BreadthFirst()
        self._rng = rng or random.Random()
        self._signals = 0

    # -- the crawl ------------------------------------------------------------------
    def run(self, progress: Progress, loaded: Loaded | None = None) -> RunResult:
        """Crawl until finished or interrupted; `loaded`: the checkpoint to resume from."""
        started = time.monotonic()
        if loaded is not None:
            self._restore(loaded)
        else:
            self._queue([Task(url=seed, depth=0) for seed in self.seeds])
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            self.pool.start()
            interrupted = self._loop(progress)
        finally:
            self.pool.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.recorder.commit(
            force=True, complete=not interrupted, elapsed_s=time.monotonic() - started
        )
        return RunResult(complete=not interrupted, interrupted=interrupted)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._signals += 1
        if self._signals > 1:
            # A second interrupt: leave at once; out.json stays the previous whole file.
            raise KeyboardInterrupt
        log.warning(
            "%s: finishing in-flight requests, then writing partial output",
            signal.Signals(signum).name,
        )

    def is_finished(self) -> bool:
        """Nothing in flight and no answer waiting; and nothing queued, unless interrupted
        (an interrupted crawl starts nothing new: --state keeps the queue for the next run)."""
        idle = self.pool.in_flight() == 0 and not self.order.has_waiting()
        return idle and (self._signals > 0 or self.frontier.queued() == 0)

    def _loop(self, progress: Progress) -> bool:
        """Run until finished; True if interrupted."""
        grace_until: float | None = None
        while True:
            now = time.monotonic()
            if self._signals and grace_until is None:
                grace_until = now + GRACE_S
            if not self._signals:
                self._dispatch()
            self._handle_waiting(force=self._signals > 0)
            if self.is_finished():
                return grace_until is not None
            if grace_until is not None and now >= grace_until:
                log.warning("abandoning %d in-flight requests", self.pool.in_flight())
                return True
            self._receive(self._wait_timeout(now, grace_until))
            self.recorder.commit()
            stats = self.recorder.stats
            progress.update(stats.pages, stats.failed, self.frontier.queued())

    def _wait_timeout(self, now: float, grace_until: float | None) -> float:
        timeout = IDLE_WAKE_S
        wait_s = self.frontier.wait_s()
        if wait_s is not None and self.pool.free_threads():
            timeout = min(timeout, wait_s)
        if grace_until is not None:
            timeout = min(timeout, max(0.0, grace_until - now))
        return timeout

    def _receive(self, timeout_s: float) -> None:
        results, dead = self.pool.receive(timeout_s)
        for worker, result in results:
            done = self.pool.finish(worker, result)
            if done is not None:
                self._on_finished(done)
        for worker in dead:
            self._requeue(self.pool.replace(worker))

    def _requeue(self, orphans: Sequence[Orphan]) -> None:
        """A dead worker's unfinished tasks go back to the front of their hosts' queues."""
        for orphan in orphans:
            if orphan.held_slot:
                self.frontier.finish(orphan.task.host)
        self.frontier.push([orphan.task for orphan in orphans], front=True)

    # -- dispatch -------------------------------------------------------------------
    def _dispatch(self) -> None:
        """Start ready tasks on free threads, each with its host's next task to follow it."""
        while free := self.pool.free_threads():
            tasks = self.frontier.take(free, self.order.depth_limit())
            if not tasks:
                return
            for task in tasks:
                if not self._admit(task):
                    self.frontier.cancel(task.host)
                    continue
                worker = self.pool.choose(task.host)
                assert worker is not None  # take() gave no more tasks than free threads
                task_id = self.pool.send(worker, task, self._send_headers(task))
                self._send_successor(worker, task_id, task)

    def _send_successor(self, worker: Worker, task_id: int, task: Task) -> None:
        """Queue the host's next task on the thread of `task_id`, to start as its request ends.

        It takes that request's host slot over, so the host never has more requests in
        flight, and the slot is not idle for a round trip through this process between
        two requests. Only for hosts without a delay (Frontier.take_next decides).
        """
        if task.robots or self._signals:
            return
        while (
            successor := self.frontier.take_next(task.host, self.order.depth_limit())
        ) is not None:
            if self._admit(successor):
                self.pool.send_successor(worker, task_id, successor, self._send_headers(successor))
                return

    def _send_headers(self, task: Task) -> bool:
        return bool(self.settings.header) and self.scope.is_seed_host(task.url)

    def _admit(self, task: Task) -> bool:
        """Act on admission's verdict; True if the task's request starts."""
        verdict = admit(task, self.robots.allowed(task.host, task.url), self.budget)
        if verdict is Verdict.START:
            if not task.robots and not task.counted:
                task.counted = True
                self.budget.spend(task.host)
            return True
        if verdict is Verdict.ROBOTS_EXCLUDED:
            self.recorder.stats.robots_excluded += 1
            if task.last_attempt is not None:
                # A redirect hop robots.txt disallows ends the chain with no error: the
                # record is the previous hop's 3xx answer, pointing at this URL.
                self._emit(task, task.last_attempt)
                return False
            self.recorder.given_up([task.url])
        self.order.close(task.depth)
        return False

    # -- results --------------------------------------------------------------------
    def _on_finished(self, done: Finished) -> None:
        task, result = done.task, done.result
        if done.freed_slot:
            self.frontier.finish(task.host)
        elif done.chain_id is not None:
            # The successor is on this thread now: give it a successor in turn.
            self._send_successor(done.worker, done.chain_id, done.worker.in_flight[done.chain_id])
        if task.robots:
            if not self._retry(task, result):
                self._on_robots(task, result)
        elif self.order.must_wait(task.depth):
            self.order.wait(task.depth, (task, result))
        else:
            self._on_page_result(task, result)

    def _handle_waiting(self, *, force: bool) -> None:
        """Answers that waited for breadth-first order and whose turn has come."""
        while batch := self.order.take_ready(force=force):
            for task, result in batch:
                self._on_page_result(task, result)

    def _on_page_result(self, task: Task, result: Result) -> None:
        if self._retry(task, result):
            return
        if result.error_kind is None and is_redirect(result.status, result.location):
            self._on_redirect(task, result)
        else:
            self._emit(task, result)

    def _retry(self, task: Task, result: Result) -> bool:
        """Queue the task again if its attempt is to be retried; True if it was."""
        if task.hop_retries >= self.settings.retries:
            return False
        if not is_retryable(result.status, result.error_kind):
            return False
        if self._signals:
            return True  # interrupted: no record; --state keeps the URL pending
        task.retries += 1
        task.hop_retries += 1
        delay_s = retry_delay_s(task.hop_retries, result.retry_after, time.time(), self._rng)
        log.debug("retry %d of %s in %.2fs", task.hop_retries, task.url, delay_s)
        self.frontier.push([task], front=True, delay_s=delay_s)
        return True

    def _on_robots(self, task: Task, result: Result) -> None:
        host = task.robots_for or task.host
        if is_redirect(result.status, result.location):
            target = robots_next_hop(task.url, result.location, len(task.redirects))
            if target is not None:
                hop = Task(
                    url=target,
                    depth=0,
                    robots=True,
                    robots_for=host,
                    redirects=[*task.redirects, task.url],
                )
                self.frontier.push([hop], front=True)
                return
        policy = self.robots.learn(host, result.status, result.error_kind, result.body)
        log.debug("robots.txt for %s: status %s, error %s", host, result.status, result.error_kind)
        self.frontier.release(host, policy.delay_s())

    def _on_redirect(self, task: Task, result: Result) -> None:
        """Follow one redirect hop, or end the record's chain where the decision says."""
        assert result.location is not None  # is_redirect() said so
        hop = next_hop(
            task.url, result.location, task.redirects, self.settings.max_redirects, self.scope
        )
        if not isinstance(hop, Follow):
            self._emit(task, result, redirects=hop.chain, final_url=hop.final_url, error=hop.error)
            return
        follow = Task(
            url=hop.target,
            depth=task.depth,
            referrer=task.referrer,
            origin=task.record_url,
            redirects=hop.chain,
            retries=task.retries,
            last_attempt=result,
            counted=True,
        )
        if not self.frontier.add([follow], front=True)[0]:
            # Seen elsewhere: its content is (or will be) in the record that fetched it.
            self._emit(task, result, redirects=hop.chain, final_url=hop.target)
            return
        self._ask_robots([hop.target])

    def _emit(
        self,
        task: Task,
        result: Result,
        *,
        redirects: list[str] | None = None,
        final_url: str | None = None,
        error: ErrorInfo | None = None,
    ) -> None:
        """Finish a page record: hand it to the recorder, queue its links."""
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
        self.order.close(task.depth)
        # The URLs this record used up; a chain that ended at a URL seen elsewhere
        # leaves that one to its own record.
        used = [record["url"], *record["redirects"]]
        if record["final_url"] == task.url:
            used.append(task.url)
        self.recorder.add(record, used, result.dropped_links)
        if record["links"]:
            self._follow(task, record["links"], result.nofollow)

    def _follow(self, task: Task, links: Sequence[str], nofollow: Sequence[str]) -> None:
        """Queue the links of one page that are to be followed and not seen yet."""
        depth = task.depth + 1
        plan = plan_links(links, nofollow, depth, self.settings.max_depth, self.scope)
        stats = self.recorder.stats
        if plan.out_of_scope:
            marked = self.frontier.mark_seen(plan.out_of_scope)
            new = [url for url, is_new in zip(plan.out_of_scope, marked, strict=True) if is_new]
            stats.out_of_scope += len(new)
            self.recorder.given_up(new)
        if plan.follow:
            referrer = task.record_url
            queued = self._queue(
                [Task(url=link, depth=depth, referrer=referrer) for link in plan.follow]
            )
            stats.duplicates += len(plan.follow) - queued

    def _queue(self, tasks: Sequence[Task]) -> int:
        """Queue new page records (unless seen already); how many were new."""
        added = self.frontier.add(tasks)
        new = [task for task, is_new in zip(tasks, added, strict=True) if is_new]
        for task in new:
            self.recorder.queued(task.url, task.depth, task.referrer)
            self.order.open(task.depth)
        self._ask_robots([task.url for task in new])
        return len(new)

    def _ask_robots(self, urls: Sequence[str]) -> None:
        """Fetch robots.txt of each new host first; its other tasks wait meanwhile."""
        for url in urls:
            host = host_key(url)
            if self.robots.needs_fetch(host):
                self.frontier.hold(host)
                self.frontier.push(
                    [Task(url=robots_url(url), depth=0, robots=True, robots_for=host)]
                )

    # -- resume ---------------------------------------------------------------------
    def _restore(self, loaded: Loaded) -> None:
        """Start from a checkpoint: seen set, records per host, pending URLs."""
        self.frontier.mark_seen(loaded.seen)
        self.budget.restore(loaded.records_per_host)
        pending = [Task(url=url, depth=depth, referrer=ref) for url, depth, ref in loaded.pending]
        self.frontier.push(pending)
        for task in pending:
            self.order.open(task.depth)
        self._ask_robots([task.url for task in pending])

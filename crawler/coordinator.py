"""The coordinator: the loop that moves work between the frontier, the workers and the recorder.

It reads nothing from the network itself and holds no rule of its own: each decision is
a pure function or object of the core (admission, depth_order, budgets, robots), and the
coordinator acts on its answer. It hands each ready task to the least-loaded worker with
a free thread, with its host's next task to follow on the same thread, and passes each
answer, in breadth-first order, to `Answers` (retries, redirect hops, records, links).
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
from crawler.answers import Answers
from crawler.budgets import PageBudget
from crawler.checkpoint import Loaded
from crawler.depth_order import BreadthFirst
from crawler.errors import ErrorKind
from crawler.frontier import Frontier, Task
from crawler.messages import Result
from crawler.pool import JOIN_TIMEOUT_S, Finished, Orphan, Worker, WorkerPool
from crawler.progress import Progress
from crawler.recorder import Recorder
from crawler.records import internal_result
from crawler.robots import RobotsBook
from crawler.scope import Scope
from crawler.settings import Settings
from crawler.sitemap_flow import SitemapReader

log = logging.getLogger(__name__)

# SIGINT/SIGTERM: how long in-flight requests may still finish before they are abandoned.
GRACE_S = 2.0
# How often the loop wakes with nothing to do (notices dead workers, signals).
IDLE_WAKE_S = 0.2
# A task in flight at this many worker deaths is not handed out again.
MAX_DEATHS = 2


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
        self.answers = Answers(
            settings,
            self.scope,
            frontier,
            recorder,
            self.robots,
            self.order,
            rng or random.Random(),
        )
        self.sitemaps: SitemapReader | None = None
        if settings.sitemaps:
            self.sitemaps = SitemapReader(settings, seeds, frontier, self.robots, self.answers)
            self.answers.sitemaps = self.sitemaps
        self._signals = 0

    # -- the crawl ------------------------------------------------------------------
    def run(self, progress: Progress, loaded: Loaded | None = None) -> RunResult:
        """Crawl until finished or interrupted; `loaded`: the checkpoint to resume from."""
        started = time.monotonic()
        if loaded is not None:
            self._restore(loaded)
        else:
            self.answers.queue([Task(url=seed, depth=0) for seed in self.seeds])
        if self.sitemaps is not None:
            self.sitemaps.start()
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGINT, signal.SIGTERM)
        }
        try:
            self.pool.start()
            interrupted = self._loop(progress)
        finally:
            # After a second interrupt (KeyboardInterrupt on its way out), no waiting for
            # requests in flight: the workers are killed at once.
            self.pool.stop(grace_s=0.0 if self._signals > 1 else JOIN_TIMEOUT_S)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        self.recorder.commit(
            force=True, complete=not interrupted, elapsed_s=time.monotonic() - started
        )
        return RunResult(complete=not interrupted, interrupted=interrupted)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._signals += 1
        self.answers.interrupted = True
        if self._signals > 1:
            # A second interrupt: leave at once; out.json stays the previous whole file.
            raise KeyboardInterrupt
        resume = (
            "run the same command again to resume"
            if self.settings.state
            else "with --state DIR a crawl can be resumed"
        )
        log.warning(
            "%s: finishing in-flight requests (up to %.0f s), then writing out.json; "
            "press Ctrl-C again to quit at once; %s",
            signal.Signals(signum).name,
            GRACE_S,
            resume,
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
            progress.update(stats.pages, stats.failed, self.frontier.queued(), stats.plugin_errors)

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
            orphans, ended = self.pool.replace(worker)
            self._requeue(orphans)
            for done in ended:  # pages whose plugin call died with the worker
                self._on_finished(done)

    def _requeue(self, orphans: Sequence[Orphan]) -> None:
        """A dead worker's unfinished tasks go back to the front of their hosts' queues.

        Not a third time: a task in flight at two worker deaths may be what kills them
        (a page that crashes its parser), so it ends there, as an `internal` record.
        """
        again = []
        for orphan in orphans:
            task = orphan.task
            if orphan.held_slot:
                self.frontier.finish(task.host)
            task.deaths += orphan.counts_death
            if task.deaths < MAX_DEATHS:
                again.append(task)
                continue
            message = f"in flight when {task.deaths} worker processes died; not tried again"
            log.error("%s: %s", task.url, message)
            if task.robots:
                self._on_robots(task, internal_result(message))
            else:
                self.answers.refuse(task, ErrorKind.INTERNAL, message)
        self.frontier.push(again, front=True)

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
        refusal = self.robots.refusal(task.host)
        robots_allowed = self.robots.allowed(task.host, task.url)
        verdict = admit(task, robots_allowed, self.budget, refusal is not None)
        if verdict is Verdict.START or verdict is Verdict.HOST_REFUSED:
            if not task.robots and not task.counted:
                task.counted = True
                self.budget.spend(task.host)
        if verdict is Verdict.START:
            # Also a robots.txt request (a redirect) to a refused host: the fetcher's
            # guard refuses it, and it is no page record to write here.
            return True
        if verdict is Verdict.HOST_REFUSED:
            assert refusal is not None  # admit() said so
            kind, message = refusal
            self.answers.refuse(task, ErrorKind(kind), message)
            return False
        if verdict is Verdict.ROBOTS_EXCLUDED:
            self.recorder.stats.robots_excluded += 1
            if task.last_attempt is not None:
                # A redirect hop robots.txt disallows ends the chain with no error: the
                # record is the previous hop's 3xx answer, pointing at this URL.
                self.answers.emit(task, task.last_attempt)
                return False
            if task.depth == 0 and task.referrer is None:  # a sitemap's URL has one
                log.warning("robots.txt disallows the seed %s: not fetched", task.url)
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
        if done.held:
            return  # its plugin runs: the record waits for the outcome (crawler/pool.py)
        if task.robots:
            if not self.answers.retry(task, result):
                self._on_robots(task, result)
        elif self.order.must_wait(task.depth):
            self.order.wait(task.depth, (task, result))
        else:
            self.answers.on_page(task, result)

    def _on_robots(self, task: Task, result: Result) -> None:
        """The last answer of a robots.txt or sitemap fetch (no page record either way)."""
        if task.sitemap_for is not None and self.sitemaps is not None:
            self.sitemaps.on_answer(task, result)
        else:
            self.answers.on_robots(task, result)

    def _handle_waiting(self, *, force: bool) -> None:
        """Answers that waited for breadth-first order and whose turn has come."""
        while batch := self.order.take_ready(force=force):
            for task, result in batch:
                self.answers.on_page(task, result)

    # -- resume ---------------------------------------------------------------------
    def _restore(self, loaded: Loaded) -> None:
        """Start from a checkpoint: seen set, records per host, pending URLs."""
        self.frontier.mark_seen(loaded.seen)
        self.budget.restore(loaded.records_per_host)
        pending = [Task(url=url, depth=depth, referrer=ref) for url, depth, ref in loaded.pending]
        self.frontier.push(pending)
        for task in pending:
            self.order.open(task.depth)
        self.answers.ask_robots([task.url for task in pending])

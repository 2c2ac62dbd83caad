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
from crawler.budgets import Budget, PageBudget
from crawler.checkpoint import Loaded
from crawler.cluster import SharedFrontier
from crawler.depth_order import BreadthFirst, Unordered
from crawler.errors import ErrorKind
from crawler.frontier import Frontier, Task
from crawler.messages import FENCED, Result
from crawler.pool import JOIN_TIMEOUT_S, Finished, Orphan, Worker, WorkerPool
from crawler.progress import Progress
from crawler.recorder import Recorder
from crawler.records import internal_result
from crawler.redis_frontier import RedisLost
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
        shared: SharedFrontier | None = None,
        budget: Budget | None = None,
    ) -> None:
        self.settings = settings
        # A shared frontier (one crawl on many machines): leases to renew, requests
        # fenced by their lease, robots.txt answers from Redis, no successor chains, and
        # breadth-first order only as the host queues give it (answers of other machines
        # cannot be waited for).
        self.shared = shared
        self.seeds = list(seeds)
        self.frontier = frontier
        self.pool = pool
        self.recorder = recorder
        self.scope = Scope.build(seeds, settings.scope, settings.allow, settings.deny)
        self.robots = RobotsBook(settings.user_agent, ignore=settings.ignore_robots)
        self.budget: Budget = budget or PageBudget(settings.max_pages, settings.max_pages_per_host)
        self.order: BreadthFirst[tuple[Task, Result]] = (
            Unordered() if shared is not None else BreadthFirst()
        )
        self.answers = Answers(
            settings,
            self.scope,
            frontier,
            recorder,
            self.robots,
            self.order,
            rng or random.Random(),
            shared=shared,
        )
        self.sitemaps: SitemapReader | None = None
        if settings.sitemaps:
            self.sitemaps = SitemapReader(settings, seeds, frontier, self.robots, self.answers)
            self.answers.sitemaps = self.sitemaps
        self._signals = 0
        # Task ids whose slot freed while their plugin ran: finished with the outcome.
        self._finish_later: set[int] = set()

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
        lost: RedisLost | None = None
        interrupted = True
        try:
            self.pool.start()
            interrupted = self._loop(progress)
        except RedisLost as exc:
            lost = exc
        finally:
            # After a second interrupt (KeyboardInterrupt on its way out), no waiting for
            # requests in flight: the workers are killed at once.
            self.pool.stop(grace_s=0.0 if self._signals > 1 else JOIN_TIMEOUT_S)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        if self.shared is not None and lost is None:
            if interrupted:
                # What was taken and not done goes back now, not when its lease runs out.
                self.shared.leave()
            else:
                self.shared.mark_finished()
        if lost is not None and self.shared is not None:
            self.shared.abort = True  # Redis is gone: the last commit does not wait again
        try:
            self.recorder.commit(
                force=True, complete=not interrupted, elapsed_s=time.monotonic() - started
            )
        except RedisLost:
            if lost is None:
                raise
        if lost is not None and not self._signals:
            raise lost
        return RunResult(complete=not interrupted, interrupted=interrupted)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._signals += 1
        self.answers.interrupted = True
        if self.shared is not None:
            self.shared.abort = True  # no more waiting for a Redis that is gone
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
        """Nothing in flight and no answer waiting; and nothing queued (nor, on a shared
        frontier, in flight on another machine), unless interrupted (an interrupted crawl
        starts nothing new: --state or Redis keeps the queue for the next run)."""
        idle = self.pool.in_flight() == 0 and not self.order.has_waiting()
        return idle and (self._signals > 0 or self.frontier.settled())

    def _loop(self, progress: Progress) -> bool:
        """Run until finished; True if interrupted."""
        grace_until: float | None = None
        while True:
            now = time.monotonic()
            if self._signals and grace_until is None:
                grace_until = now + GRACE_S
            if self.shared is not None:
                self.shared.maintain()
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
            if progress.enabled:  # queued() may be a round trip to Redis
                stats = self.recorder.stats
                progress.update(
                    stats.pages, stats.failed, self.frontier.queued(), stats.plugin_errors
                )

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
        for orphan in orphans:
            task = orphan.task
            task.deaths += orphan.counts_death
            if task.deaths < MAX_DEATHS:
                self.frontier.give_back(task, held_slot=orphan.held_slot)
                continue
            self._end_dead(task, "worker processes")
            if orphan.held_slot:
                self.frontier.finish(task.host, task)

    def _end_dead(self, task: Task, what: str) -> None:
        """A task in flight at MAX_DEATHS deaths (of worker processes, or on a shared
        frontier of machines too) becomes an internal record, not another try."""
        message = f"in flight when {task.deaths} {what} died; not tried again"
        log.error("%s: %s", task.url, message)
        if task.robots:
            self._on_robots(task, internal_result(message))
        else:
            self.answers.refuse(task, ErrorKind.INTERNAL, message)

    # -- dispatch -------------------------------------------------------------------
    def _dispatch(self) -> None:
        """Start ready tasks on free threads, each with its host's next task to follow it."""
        while free := self.pool.free_threads():
            tasks = self.frontier.take(free, self.order.depth_limit())
            if not tasks:
                return
            more = len(tasks) == free  # fewer: no more is ready now
            if self.shared is not None:
                self._learn_robots(tasks)
            for task in tasks:
                if task.deaths >= MAX_DEATHS:  # taken over from machines that died
                    self._end_dead(task, "machines or worker processes")
                    self.frontier.finish(task.host, task)
                    continue
                verdict = self._admit(task)
                if verdict is Verdict.OVER_BUDGET and self.shared is not None:
                    # Kept in Redis: a rerun with a higher limit goes on with it.
                    self.shared.hold_back(task)
                    continue
                if verdict is not Verdict.START:
                    self.frontier.cancel(task.host, task)
                    continue
                worker = self.pool.choose(task.host)
                assert worker is not None  # take() gave no more tasks than free threads
                deadline = 0.0 if self.shared is None else self.shared.deadline(task.host)
                task_id = self.pool.send(worker, task, self._send_headers(task), deadline)
                self._send_successor(worker, task_id, task)
            if not more:
                return

    def _learn_robots(self, tasks: Sequence[Task]) -> None:
        """The robots.txt answers of hosts another machine asked, from Redis (their pages
        were held until the answer was stored there)."""
        unknown = sorted({t.host for t in tasks if not t.robots and not self.robots.knows(t.host)})
        if not unknown:
            return
        assert self.shared is not None
        found = self.shared.robots_answers(unknown)
        for host in unknown:
            answer = found.get(host)
            if answer is None:
                log.warning("no robots.txt answer in Redis for %s: its URLs are allowed", host)
                continue
            self.robots.learn(
                host,
                answer["status"],
                answer["error_kind"],
                answer["body"],
                answer["blocked"],
                answer["error_message"],
            )

    def _send_successor(self, worker: Worker, task_id: int, task: Task) -> None:
        """Queue the host's next task on the thread of `task_id`, to start as its request ends.

        It takes that request's host slot over, so the host never has more requests in
        flight, and the slot is not idle for a round trip through this process between
        two requests. Only for hosts without a delay (Frontier.take_next decides).
        """
        if task.robots or self._signals or self.shared is not None:
            return
        while (
            successor := self.frontier.take_next(task.host, self.order.depth_limit())
        ) is not None:
            if self._admit(successor) is Verdict.START:
                self.pool.send_successor(worker, task_id, successor, self._send_headers(successor))
                return

    def _send_headers(self, task: Task) -> bool:
        return bool(self.settings.header) and self.scope.is_seed_host(task.url)

    def _admit(self, task: Task) -> Verdict:
        """Act on admission's verdict (START: the task's request starts)."""
        refusal = self.robots.refusal(task.host)
        robots_allowed = self.robots.allowed(task.host, task.url)
        verdict = admit(task, robots_allowed, self.budget, refusal is not None)
        if verdict is Verdict.START or verdict is Verdict.HOST_REFUSED:
            if not task.robots and not task.counted:
                # Checked and spent in one step: a shared budget may have been spent by
                # another machine since admit() looked.
                if self.budget.try_spend(task.host):
                    task.counted = True
                else:
                    verdict = Verdict.OVER_BUDGET
        if verdict is Verdict.START:
            # Also a robots.txt request (a redirect) to a refused host: the fetcher's
            # guard refuses it, and it is no page record to write here.
            return verdict
        if verdict is Verdict.HOST_REFUSED:
            assert refusal is not None  # admit() said so
            kind, message = refusal
            self.answers.refuse(task, ErrorKind(kind), message)
            return verdict
        if verdict is Verdict.ROBOTS_EXCLUDED:
            self.recorder.stats.robots_excluded += 1
            if task.last_attempt is not None:
                # A redirect hop robots.txt disallows ends the chain with no error: the
                # record is the previous hop's 3xx answer, pointing at this URL.
                self.answers.emit(task, task.last_attempt)
                return verdict
            if task.depth == 0 and task.referrer is None:  # a sitemap's URL has one
                log.warning("robots.txt disallows the seed %s: not fetched", task.url)
            self.recorder.given_up([task.url])
        self.order.close(task.depth)
        return verdict

    # -- results --------------------------------------------------------------------
    def _on_finished(self, done: Finished) -> None:
        task, result = done.task, done.result
        if result.error_kind == FENCED:
            # Not started: its lease ran out here. It goes back unless the next owner of
            # the host has it already.
            log.debug("fenced: %s not started, its host's lease ended", task.url)
            self.frontier.give_back(task, held_slot=done.freed_slot)
            return
        if not done.freed_slot and done.chain_id is not None:
            # The successor is on this thread now: give it a successor in turn.
            self._send_successor(done.worker, done.chain_id, done.worker.in_flight[done.chain_id])
        if done.held:
            # Its plugin runs: the record waits for the outcome (crawler/pool.py). The
            # slot is free; a shared frontier hears so with the outcome, once its links
            # are queued.
            if done.freed_slot:
                if self.shared is None:
                    self.frontier.finish(task.host, task)
                else:
                    self._finish_later.add(result.task_id)
            return
        if task.robots:
            if not self.answers.retry(task, result):
                self._on_robots(task, result)
        elif self.order.must_wait(task.depth):
            self.order.wait(task.depth, (task, result))
        else:
            self.answers.on_page(task, result)
        if done.freed_slot or result.task_id in self._finish_later:
            # After the answer is handled: its links and retry are queued before the
            # frontier counts it done (a shared frontier must never look idle between).
            self._finish_later.discard(result.task_id)
            self.frontier.finish(task.host, task)

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

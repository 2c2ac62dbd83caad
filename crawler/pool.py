"""The worker processes as the coordinator sees them: pipes, busy threads, tasks in flight.

Starts each worker (from the forkserver, on a CPU of its own), sends it TaskMessages,
reads its Results, notices its death and starts a replacement with the same index, and
stops them all at the end, every one joined. It decides nothing about the crawl: which
task goes where is the coordinator's call (`choose` only says which worker is least
loaded), and it hands back what a finished or dead worker leaves to reschedule.

With --plugin it also holds each page whose Result came marked `plugin_pending` until
its PluginOutcome arrives, and enforces --plugin-timeout: a worker with a call past its
deadline is killed here (a call stuck in C code holding the interpreter lock would
outlast any watchdog inside the worker; see docs/design.md). Its held pages become
records with a plugin_error and are not fetched again; its other tasks go back to the
coordinator as orphans, with no death counted against them (the cause is known).
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from multiprocessing.connection import Connection, wait
from multiprocessing.context import ForkServerContext
from multiprocessing.process import BaseProcess

from crawler.addresses import AddressGuard
from crawler.frontier import Task
from crawler.messages import PluginOutcome, Result, TaskMessage
from crawler.plugin_rules import error_text
from crawler.settings import Settings
from crawler.warc_files import ArchivePlan, trim_files_of
from crawler.worker_entry import allowed_cpus, run_worker, worker_cpu

log = logging.getLogger(__name__)

Message = Result | PluginOutcome  # what a worker sends back

JOIN_TIMEOUT_S = 3.0
DEAD_JOIN_TIMEOUT_S = 0.5


@dataclass(slots=True, eq=False)  # compared and hashed by identity
class Worker:
    index: int
    process: BaseProcess
    tasks: Connection  # coordinator -> worker
    results: Connection  # worker -> coordinator
    in_flight: dict[int, Task] = field(default_factory=dict)  # sent, no result yet
    # The tasks holding a host slot, one per busy thread: a task sent as the successor
    # of another takes its slot (and its thread) over; so the last of a chain holds it.
    slots: set[int] = field(default_factory=set)
    successor: dict[int, int] = field(default_factory=dict)  # task id -> its successor's
    # Fetched pages whose plugin call runs: their records wait for its outcome.
    held: dict[int, Held] = field(default_factory=dict)
    # The held tasks whose call ran past --plugin-timeout when this worker was killed
    # for it; empty: not killed by us.
    overdue: set[int] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class Held:
    """A page's Result (marked plugin_pending) waiting for the plugin's outcome."""

    task: Task
    result: Result
    since: float  # monotonic: when the Result arrived, just before the call started
    deadline: float  # monotonic: past it the worker is killed
    busy_thread: bool  # the call keeps its thread (no successor took the thread over)


@dataclass(frozen=True, slots=True)
class Finished:
    """A task whose result arrived, and what that means for its host slot."""

    task: Task
    result: Result
    worker: Worker
    freed_slot: bool  # the host has one request fewer in flight
    # A successor of this task that now holds the slot (and the thread): it may be
    # given a successor in turn.
    chain_id: int | None
    # The page's plugin runs: its record waits (the pool holds it) for the outcome,
    # which comes back as a Finished of its own.
    held: bool = False


@dataclass(frozen=True, slots=True)
class Orphan:
    """A dead worker's unfinished task."""

    task: Task
    held_slot: bool  # its host counted it as in flight
    # False when the worker was killed for another task's plugin timeout: this task is
    # not what killed it.
    counts_death: bool = True


class WorkerPool:
    def __init__(
        self,
        settings: Settings,
        ctx: ForkServerContext,
        guard: AddressGuard,
        archive: ArchivePlan | None = None,
    ) -> None:
        self._settings = settings
        self._guard = guard  # which addresses the workers may connect to
        self._archive = archive  # --warc: each worker writes its own files
        self._threads = settings.threads
        self._ctx = ctx
        self._cpus = allowed_cpus()  # each worker runs on one of them: see worker_entry
        self._workers: list[Worker] = []
        self._task_ids = 0
        self._last_worker: dict[str, int] = {}  # host -> worker index (warm connection)

    # -- processes ------------------------------------------------------------------
    def start(self) -> None:
        for index in range(self._settings.procs):
            self._workers.append(self._start(index))

    def _start(self, index: int) -> Worker:
        task_r, task_w = self._ctx.Pipe(duplex=False)
        result_r, result_w = self._ctx.Pipe(duplex=False)
        cpu = worker_cpu(index, self._cpus, os.getpid())
        process = self._ctx.Process(
            target=run_worker,
            args=(index, self._settings, task_r, result_w, cpu, self._guard, self._archive),
            name=f"crawler-worker-{index}",
            daemon=True,
        )
        process.start()
        # Close our copies of the child's ends, so a dead child reads as EOF here.
        task_r.close()
        result_w.close()
        return Worker(index, process, task_w, result_r)

    def replace(self, worker: Worker) -> tuple[list[Orphan], list[Finished]]:
        """A worker died (or was killed for a plugin timeout): start another with the
        same index. Its unfinished tasks, and its held pages, finished with a plugin_error."""
        if worker not in self._workers:
            return [], []
        worker.process.join(DEAD_JOIN_TIMEOUT_S)
        if worker.overdue:
            log.error(
                "worker %d stopped (a plugin call ran past --plugin-timeout); restarting it, "
                "requeueing %d URLs",
                worker.index,
                len(worker.in_flight),
            )
        else:
            log.error(
                "worker %d died (exit code %s); restarting it, requeueing %d URLs",
                worker.index,
                worker.process.exitcode,
                len(worker.in_flight),
            )
        orphans = [
            Orphan(task, task_id in worker.slots, counts_death=not worker.overdue)
            for task_id, task in worker.in_flight.items()
        ]
        ended = [self._ended(worker, task_id, held) for task_id, held in worker.held.items()]
        worker.tasks.close()
        worker.results.close()
        self._trim_archive(worker)
        self._workers[self._workers.index(worker)] = self._start(worker.index)
        return orphans, ended

    def _ended(self, worker: Worker, task_id: int, held: Held) -> Finished:
        """A held page whose plugin call died with its worker: its record, as reported
        before the call, with a plugin_error saying why (it is not fetched again)."""
        timeout = self._settings.plugin_timeout
        ran = time.monotonic() - held.since
        if task_id in worker.overdue:
            error = error_text(
                "Timeout",
                f"the plugin call ran past --plugin-timeout {timeout:g} s; "
                "its worker process was killed and replaced",
            )
        elif worker.overdue:
            error = error_text(
                "Killed",
                f"the plugin call was stopped after {ran:.1f} s: its worker process was "
                f"killed because another call ran past --plugin-timeout {timeout:g} s",
            )
        else:
            error = error_text(
                "WorkerDied",
                f"the worker process died (exit code {worker.process.exitcode}) "
                f"{ran:.1f} s into the plugin call",
            )
        result = held.result._replace(plugin_pending=False, plugin_error=error)
        return Finished(held.task, result, worker, freed_slot=False, chain_id=None)

    def _trim_archive(self, worker: Worker) -> None:
        # A worker killed inside a write leaves a partial record at the end of its file.
        if self._archive is not None and worker.process.pid is not None:
            trim_files_of(self._archive, worker.process.pid)

    def stop(self, grace_s: float = JOIN_TIMEOUT_S) -> None:
        """Tell every worker to stop, join them; kill those not gone within `grace_s`."""
        for worker in self._workers:
            try:
                worker.tasks.send(None)
            except OSError:
                pass  # already gone
        deadline = time.monotonic() + grace_s
        for worker in self._workers:
            worker.process.join(max(0.0, deadline - time.monotonic()))
        for worker in self._workers:
            if worker.process.is_alive():
                worker.process.kill()
                worker.process.join(JOIN_TIMEOUT_S)
                self._trim_archive(worker)
            worker.tasks.close()
            worker.results.close()

    # -- load -----------------------------------------------------------------------
    def in_flight(self) -> int:
        """Tasks sent and not finished: also the pages whose plugin call runs."""
        return sum(len(w.in_flight) + len(w.held) for w in self._workers)

    def free_threads(self) -> int:
        return sum(max(0, self._threads - _load(w)) for w in self._workers)

    def choose(self, host: str) -> Worker | None:
        """The least-loaded worker with a free thread; among equals, the host's last one."""
        best: Worker | None = None
        warm = self._last_worker.get(host)
        for worker in self._workers:
            load = _load(worker)
            if load >= self._threads:
                continue
            if best is None or load < _load(best) or (load == _load(best) and worker.index == warm):
                best = worker
        return best

    # -- messages -------------------------------------------------------------------
    def send(self, worker: Worker, task: Task, send_headers: bool, deadline: float = 0.0) -> int:
        """Send a task to a free thread of `worker`; it takes a host slot. Its id.

        `deadline`: the time.monotonic() after which it must not start (0: none).
        """
        task_id = self._send(worker, task, send_headers, after=0, deadline=deadline)
        worker.slots.add(task_id)
        return task_id

    def send_successor(self, worker: Worker, after: int, task: Task, send_headers: bool) -> int:
        """Send a task to start on the thread of task `after` as that request ends.

        It takes that request's host slot over. Its id.
        """
        task_id = self._send(worker, task, send_headers, after=after)
        worker.successor[after] = task_id
        worker.slots.discard(after)
        worker.slots.add(task_id)
        return task_id

    def _send(
        self, worker: Worker, task: Task, send_headers: bool, after: int, deadline: float = 0.0
    ) -> int:
        self._task_ids += 1
        worker.in_flight[self._task_ids] = task
        sitemap = task.sitemap_for is not None and task.sitemap_level > 0
        message = TaskMessage(
            self._task_ids,
            task.url,
            send_headers,
            task.robots,
            after,
            task.origin,
            sitemap,
            deadline,
        )
        try:
            worker.tasks.send(message)
        except OSError:
            # The worker died since it was chosen: the task stays in flight, and replace()
            # hands it back with the others once receive() sees the death.
            pass
        return self._task_ids

    def receive(self, timeout_s: float) -> tuple[list[tuple[Worker, Message]], list[Worker]]:
        """Messages that arrived within `timeout_s`, in order, and the workers that died
        (or were killed here: a plugin call past its deadline).

        Hand each message to finish() before the next (a result may end the request
        that a later one's successor chain depends on), then each dead one to replace().
        """
        deadline = self._next_deadline()
        if deadline is not None:
            timeout_s = min(timeout_s, max(0.0, deadline - time.monotonic()))
        by_conn = {w.results: w for w in self._workers}
        sentinels = {w.process.sentinel: w for w in self._workers}
        results: list[tuple[Worker, Message]] = []
        dead: list[Worker] = []
        for ready in wait([*by_conn, *sentinels], timeout_s):
            if isinstance(ready, int):
                dead.append(sentinels[ready])
                continue
            worker = by_conn[ready]  # type: ignore[index]  # wait() returns what it was given
            try:
                while worker.results.poll():
                    results.append((worker, worker.results.recv()))
            except (EOFError, OSError):
                dead.append(worker)
        if deadline is not None:
            dead += self._kill_overdue(results)
        return results, list(dict.fromkeys(dead))

    def _next_deadline(self) -> float | None:
        deadlines = [held.deadline for w in self._workers for held in w.held.values()]
        return min(deadlines) if deadlines else None

    def _kill_overdue(self, arrived: list[tuple[Worker, Message]]) -> list[Worker]:
        """Kill each worker with a plugin call past its deadline (whose outcome did not
        just arrive); the workers killed."""
        now = time.monotonic()
        answered = {
            (id(worker), message.task_id)
            for worker, message in arrived
            if isinstance(message, PluginOutcome)
        }
        killed = []
        for worker in self._workers:
            late = {
                task_id
                for task_id, held in worker.held.items()
                if held.deadline <= now and (id(worker), task_id) not in answered
            }
            if not late or worker.overdue:
                continue
            for task_id in late:
                log.warning(
                    "worker %d: the plugin call on %s ran past --plugin-timeout %g s; "
                    "killing the worker",
                    worker.index,
                    worker.held[task_id].task.url,
                    self._settings.plugin_timeout,
                )
            worker.overdue = late
            worker.process.kill()
            killed.append(worker)
        return killed

    def finish(self, worker: Worker, message: Message) -> Finished | None:
        """Take a result's task off its worker; None for a late answer to a requeued task.

        A Result marked plugin_pending is held (Finished.held) until its PluginOutcome,
        whose Finished carries the completed Result and frees no slot (the Result did).
        """
        if isinstance(message, PluginOutcome):
            return self._outcome(worker, message)
        result = message
        task = worker.in_flight.pop(result.task_id, None)
        if task is None:
            return None
        successor_id = worker.successor.pop(result.task_id, None)
        freed = result.task_id in worker.slots
        chain_id = None
        if freed:
            worker.slots.discard(result.task_id)
        elif successor_id in worker.slots:
            chain_id = successor_id
        self._last_worker[task.host] = worker.index
        held = result.plugin_pending
        if held:
            now = time.monotonic()
            deadline = now + self._settings.plugin_timeout
            worker.held[result.task_id] = Held(task, result, now, deadline, busy_thread=freed)
        return Finished(task, result, worker, freed, chain_id, held)

    def _outcome(self, worker: Worker, outcome: PluginOutcome) -> Finished | None:
        held = worker.held.pop(outcome.task_id, None)
        if held is None:
            return None
        result = held.result._replace(
            plugin_pending=False,
            data=outcome.data,
            follow=outcome.follow,
            plugin_error=outcome.error,
            dropped_links=held.result.dropped_links + outcome.dropped_links,
        )
        return Finished(held.task, result, worker, freed_slot=False, chain_id=None)


def _load(worker: Worker) -> int:
    """Busy threads: a request in flight (or waiting for one), or a plugin call after its
    request ended (the host slot is free, the thread is not: a task sent to it would wait
    and start later than the politeness clock counted). Without --plugin, `held` is empty."""
    return len(worker.slots) + sum(held.busy_thread for held in worker.held.values())

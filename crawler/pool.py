"""The worker processes as the coordinator sees them: pipes, busy threads, tasks in flight.

Starts each worker (from the forkserver, on a CPU of its own), sends it TaskMessages,
reads its Results, notices its death and starts a replacement with the same index, and
stops them all at the end, every one joined. It decides nothing about the crawl: which
task goes where is the coordinator's call (`choose` only says which worker is least
loaded), and it hands back what a finished or dead worker leaves to reschedule.
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
from crawler.messages import Result, TaskMessage
from crawler.settings import Settings
from crawler.warc_files import ArchivePlan, trim_files_of
from crawler.worker_entry import allowed_cpus, run_worker, worker_cpu

log = logging.getLogger(__name__)

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


@dataclass(frozen=True, slots=True)
class Orphan:
    """A dead worker's unfinished task."""

    task: Task
    held_slot: bool  # its host counted it as in flight


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

    def replace(self, worker: Worker) -> list[Orphan]:
        """A worker died: start another with the same index; its unfinished tasks."""
        if worker not in self._workers:
            return []
        worker.process.join(DEAD_JOIN_TIMEOUT_S)
        log.error(
            "worker %d died (exit code %s); restarting it, requeueing %d URLs",
            worker.index,
            worker.process.exitcode,
            len(worker.in_flight),
        )
        orphans = [
            Orphan(task, task_id in worker.slots) for task_id, task in worker.in_flight.items()
        ]
        worker.tasks.close()
        worker.results.close()
        self._trim_archive(worker)
        self._workers[self._workers.index(worker)] = self._start(worker.index)
        return orphans

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
        return sum(len(w.in_flight) for w in self._workers)

    def free_threads(self) -> int:
        return sum(max(0, self._threads - len(w.slots)) for w in self._workers)

    def choose(self, host: str) -> Worker | None:
        """The least-loaded worker with a free thread; among equals, the host's last one."""
        best: Worker | None = None
        warm = self._last_worker.get(host)
        for worker in self._workers:
            load = len(worker.slots)
            if load >= self._threads:
                continue
            if (
                best is None
                or load < len(best.slots)
                or (load == len(best.slots) and worker.index == warm)
            ):
                best = worker
        return best

    # -- messages -------------------------------------------------------------------
    def send(self, worker: Worker, task: Task, send_headers: bool) -> int:
        """Send a task to a free thread of `worker`; it takes a host slot. Its id."""
        task_id = self._send(worker, task, send_headers, after=0)
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

    def _send(self, worker: Worker, task: Task, send_headers: bool, after: int) -> int:
        self._task_ids += 1
        worker.in_flight[self._task_ids] = task
        try:
            worker.tasks.send(
                TaskMessage(self._task_ids, task.url, send_headers, task.robots, after)
            )
        except OSError:
            # The worker died since it was chosen: the task stays in flight, and replace()
            # hands it back with the others once receive() sees the death.
            pass
        return self._task_ids

    def receive(self, timeout_s: float) -> tuple[list[tuple[Worker, Result]], list[Worker]]:
        """Results that arrived within `timeout_s`, in order, and the workers that died.

        Hand each result to finish() before the next (a result may end the request
        that a later one's successor chain depends on), then each dead one to replace().
        """
        by_conn = {w.results: w for w in self._workers}
        sentinels = {w.process.sentinel: w for w in self._workers}
        results: list[tuple[Worker, Result]] = []
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
        return results, list(dict.fromkeys(dead))

    def finish(self, worker: Worker, result: Result) -> Finished | None:
        """Take a result's task off its worker; None for a late answer to a requeued task."""
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
        return Finished(task, result, worker, freed, chain_id)

"""The worker pool with real worker processes: a worker that dies between being chosen
and being sent a task."""

from __future__ import annotations

import os
import signal

from crawler.addresses import GUARD_DEFAULT
from crawler.frontier import Task
from crawler.pool import WorkerPool
from crawler.settings import Settings
from crawler.worker_entry import worker_context
from tests.helpers.processes import wait_for


def test_a_task_sent_to_a_dead_worker_is_handed_back_when_its_death_is_seen() -> None:
    pool = WorkerPool(
        Settings(seed=("http://127.0.0.1:1/",), procs=1, threads=2), worker_context(), GUARD_DEFAULT
    )
    pool.start()
    try:
        worker = pool.choose("127.0.0.1:1")
        assert worker is not None
        pid = wait_for(lambda: worker.process.pid, 10, "the worker to start")
        os.kill(pid, signal.SIGKILL)
        worker.process.join(10)
        task = Task("http://127.0.0.1:1/a", depth=0)
        first = pool.send(worker, task, send_headers=False)  # its pipe is broken: no error
        pool.send_successor(worker, first, Task("http://127.0.0.1:1/b", depth=0), False)
        _, dead = wait_for(lambda: (r := pool.receive(0.1))[1] and r, 10, "the death")
        assert dead == [worker]
        orphans, ended = pool.replace(worker)
        assert ended == []
        assert [o.task.url for o in orphans] == ["http://127.0.0.1:1/a", "http://127.0.0.1:1/b"]
        assert [o.held_slot for o in orphans] == [False, True]
    finally:
        pool.stop()

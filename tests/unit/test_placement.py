"""Where workers run: one CPU each, the allowed CPUs in turn."""

from __future__ import annotations

import os
import threading

import pytest

from crawler.worker import pin_to_cpu
from crawler.worker_entry import allowed_cpus, worker_cpu


def test_workers_take_the_allowed_cpus_in_turn_from_the_offset() -> None:
    cpus = [0, 1, 2, 3]
    assert [worker_cpu(i, cpus, offset=0) for i in range(6)] == [0, 1, 2, 3, 0, 1]
    assert [worker_cpu(i, cpus, offset=7) for i in range(4)] == [3, 0, 1, 2]


def test_only_the_allowed_cpus_are_used_even_when_not_contiguous() -> None:
    cpus = [2, 5, 7]
    assert {worker_cpu(i, cpus, offset=11) for i in range(9)} == {2, 5, 7}


def test_with_fewer_than_two_cpus_workers_are_left_to_the_os() -> None:
    assert worker_cpu(0, [3], offset=5) is None
    assert worker_cpu(1, [], offset=5) is None


def test_allowed_cpus_are_this_process_affinity() -> None:
    assert allowed_cpus() == sorted(os.sched_getaffinity(0))


def _in_a_thread(cpu: int) -> tuple[bool, set[int], set[int]]:
    """pin_to_cpu in a new thread (the affinity is per thread): its answer, the affinity
    after it, and that of a thread the pinned one started."""
    seen: list[tuple[bool, set[int], set[int]]] = []

    def run() -> None:
        pinned = pin_to_cpu(cpu)
        child: list[set[int]] = []
        started = threading.Thread(target=lambda: child.append(os.sched_getaffinity(0)))
        started.start()
        started.join()
        seen.append((pinned, os.sched_getaffinity(0), child[0]))

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return seen[0]


@pytest.mark.skipif(len(os.sched_getaffinity(0)) < 2, reason="needs two CPUs to choose from")
def test_a_pinned_thread_and_the_threads_it_starts_run_on_that_cpu_only() -> None:
    before = os.sched_getaffinity(0)
    cpu = max(before)
    assert _in_a_thread(cpu) == (True, {cpu}, {cpu})
    assert os.sched_getaffinity(0) == before  # the test's own thread is untouched


def test_a_cpu_that_cannot_be_had_leaves_the_affinity_as_it_was() -> None:
    before = os.sched_getaffinity(0)
    assert _in_a_thread(1 << 20) == (False, before, before)

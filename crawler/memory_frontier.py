"""The in-process frontier: one coordinator's seen set, host queues and politeness gates.

Pure: the clock is passed in (the coordinator gives time.monotonic, tests a fake one).
Long host queues spill their tail to an `Overflow` (a SQLite temporary database in the
shell), which only this implementation needs.
"""

from __future__ import annotations

import heapq
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from crawler.frontier import Overflow, Task, fingerprint
from crawler.politeness import HostGate

Clock = Callable[[], float]


class ListOverflow:
    """An in-memory Overflow, for tests and for callers that need no spill to disk."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[tuple[str, int, str | None]]] = {}

    def put(self, host: str, url: str, depth: int, referrer: str | None) -> None:
        self._queues.setdefault(host, deque()).append((url, depth, referrer))

    def take(self, host: str, count: int) -> list[tuple[str, int, str | None]]:
        queue = self._queues.get(host, deque())
        return [queue.popleft() for _ in range(min(count, len(queue)))]

    def waiting(self, host: str) -> int:
        return len(self._queues.get(host, ()))


@dataclass(slots=True)
class _Host:
    gate: HostGate
    queue: deque[Task] = field(default_factory=deque)
    # robots.txt fetches go before any page of the host, also while it is held.
    robots: deque[Task] = field(default_factory=deque)
    held: bool = False
    scheduled: bool = False  # in the ready heap at most once
    spilled: int = 0  # new tasks waiting in the overflow, after everything in `queue`


class MemoryFrontier:
    """The in-process Frontier.

    Hosts with queued work sit in a heap keyed by the time their gate opens; each
    host is in the heap at most once, and is put back whenever its state changes.
    A host keeps at most `host_memory` new tasks in memory; the rest wait, in order,
    in `overflow` and come back as the queue drains.
    """

    def __init__(
        self,
        *,
        delay_s: float,
        per_host: int,
        clock: Clock,
        host_memory: int = 10_000,
        overflow: Overflow | None = None,
    ) -> None:
        self._delay_s = delay_s
        self._per_host = per_host
        self._clock = clock
        self._host_memory = max(2, host_memory)
        self._overflow: Overflow = overflow or ListOverflow()
        self._seen: set[int] = set()  # fingerprints, not URLs: ~70 bytes per URL
        self._hosts: dict[str, _Host] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._seq = 0
        self._queued = 0
        # Retries wait here until their backoff ends, so they do not block the host.
        self._delayed: list[tuple[float, int, Task]] = []
        # Hosts set aside by take(max_depth=...): their next task is too deep.
        self._parked: list[str] = []
        self._asked: set[str] = set()  # hosts whose robots.txt was asked for
        self._parked_at: int | None = None

    # -- seen set ---------------------------------------------------------------
    def add(self, tasks: Sequence[Task], *, front: bool = False) -> list[bool]:
        seen = self._seen
        added = []
        for task in tasks:
            key = fingerprint(task.url)
            new = key not in seen
            if new:
                seen.add(key)
                self._queued += 1
                self._enqueue(task, front)
            added.append(new)
        return added

    def mark_seen(self, urls: Sequence[str]) -> list[bool]:
        seen = self._seen
        added = []
        for url in urls:
            key = fingerprint(url)
            new = key not in seen
            if new:
                seen.add(key)
            added.append(new)
        return added

    def seen(self, urls: Sequence[str]) -> list[bool]:
        return [fingerprint(url) in self._seen for url in urls]

    # -- queues -----------------------------------------------------------------
    def _host(self, host: str) -> _Host:
        state = self._hosts.get(host)
        if state is None:
            state = _Host(HostGate(self._delay_s, self._per_host))
            self._hosts[host] = state
        return state

    def push(self, tasks: Sequence[Task], *, front: bool = False, delay_s: float = 0.0) -> None:
        self._queued += len(tasks)
        if delay_s > 0.0:
            not_before = self._clock() + delay_s
            for task in tasks:
                self._seq += 1
                heapq.heappush(self._delayed, (not_before, self._seq, task))
            return
        for task in tasks:
            self._enqueue(task, front)

    def _enqueue(self, task: Task, front: bool) -> None:
        host = task.host
        state = self._host(host)
        if task.robots:
            state.robots.append(task)
        elif front:
            state.queue.appendleft(task)
        elif state.spilled or len(state.queue) >= self._host_memory:
            # Only a new task can spill: it is fully described by url, depth, referrer.
            self._overflow.put(host, task.url, task.depth, task.referrer)
            state.spilled += 1
        else:
            state.queue.append(task)
        self._schedule(host, state)

    def _refill(self, host: str, state: _Host) -> None:
        if state.spilled and len(state.queue) < self._host_memory // 2:
            for url, depth, referrer in self._overflow.take(host, self._host_memory // 2):
                state.queue.append(Task(url=url, depth=depth, referrer=referrer))
                state.spilled -= 1

    def hold(self, host: str) -> None:
        self._host(host).held = True

    def release(self, host: str, delay_s: float | None) -> None:
        state = self._host(host)
        state.held = False
        if delay_s is not None and delay_s > state.gate.delay_s:
            state.gate.delay_s = delay_s
        self._schedule(host, state)

    def finish(self, host: str, task: Task | None = None) -> None:
        state = self._hosts[host]
        state.gate.finish()
        self._schedule(host, state)

    def give_back(self, task: Task, *, held_slot: bool = True) -> None:
        self.push([task], front=True)
        if held_slot:
            self.finish(task.host)

    def ask_robots(self, task: Task) -> bool:
        host = task.robots_for or task.host
        if host in self._asked:
            return False
        self._asked.add(host)
        self.hold(host)
        self.push([task])
        return True

    def cancel(self, host: str, task: Task | None = None) -> None:
        state = self._hosts[host]
        state.gate.cancel()
        # The host may be due earlier than its heap entry says: add one at the right time
        # (take() checks every entry it pops against the gate, so the old one is harmless).
        state.scheduled = False
        self._schedule(host, state)

    def _ready_time(self, state: _Host) -> float | None:
        """When this host's first queued task may start, None if it cannot for now."""
        if state.gate.is_full() or not (state.robots or (state.queue and not state.held)):
            return None
        return state.gate.next_start()

    def _schedule(self, host: str, state: _Host) -> None:
        if state.scheduled:
            return
        when = self._ready_time(state)
        if when is None:
            return
        state.scheduled = True
        self._seq += 1
        heapq.heappush(self._heap, (when, self._seq, host))

    def take(self, count: int, max_depth: int | None = None) -> list[Task]:
        now = self._clock()
        while self._delayed and self._delayed[0][0] <= now:
            self._queued -= 1
            self.push([heapq.heappop(self._delayed)[2]], front=True)
        if self._parked and max_depth != self._parked_at:
            parked, self._parked = self._parked, []
            for host in parked:
                self._schedule(host, self._hosts[host])
        tasks: list[Task] = []
        while len(tasks) < count and self._heap and self._heap[0][0] <= now:
            _, _, host = heapq.heappop(self._heap)
            state = self._hosts[host]
            state.scheduled = False
            if (
                max_depth is not None
                and not state.robots
                and state.queue
                and state.queue[0].depth > max_depth
            ):
                self._parked.append(host)
                self._parked_at = max_depth
                continue
            when = self._ready_time(state)
            if when is not None and when <= now:
                # A heap entry may be stale (its queue emptied by take_next): check again.
                tasks.append(state.robots.popleft() if state.robots else state.queue.popleft())
                self._queued -= 1
                self._refill(host, state)
                state.gate.start(now)
            self._schedule(host, state)
        return tasks

    def take_next(self, host: str, max_depth: int | None = None) -> Task | None:
        """See Frontier.take_next. Only with no delay: the next request starts whenever
        the current one ends, which a delay between starts would not allow. The host's
        heap entry, if any, stays; take() copes with a queue emptied here."""
        state = self._hosts.get(host)
        if state is None or state.held or state.robots or state.gate.delay_s > 0:
            return None
        if not state.gate.in_flight or not state.queue:
            return None  # no request of the host to follow, or nothing to follow it
        now = self._clock()
        if self._other_host_ready(host, now):
            return None
        if max_depth is not None and state.queue[0].depth > max_depth:
            return None
        task = state.queue.popleft()
        self._queued -= 1
        self._refill(host, state)
        state.gate.hand_over(now)
        return task

    def _other_host_ready(self, host: str, now: float) -> bool:
        # The heap's smallest entry is [0]; the next smallest is [1] or [2].
        return any(when <= now and other != host for when, _, other in self._heap[:3])

    def wait_s(self) -> float | None:
        times = [h[0][0] for h in (self._heap, self._delayed) if h]
        if not times:
            return None
        return max(0.0, min(times) - self._clock())

    def queued(self) -> int:
        return self._queued

    def settled(self) -> bool:
        return self._queued == 0

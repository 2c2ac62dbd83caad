"""The frontier: seen set, per-host queues and the politeness clock, behind one interface.

Pure: the clock comes in as `now`. `Frontier` is the narrow protocol the coordinator
uses, so a shared multi-machine frontier (hosts sharded across machines) can replace
`MemoryFrontier` without touching fetching or parsing.
"""

from __future__ import annotations

import hashlib
import heapq
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from crawler.politeness import HostGate
from crawler.urls import host_key


def fingerprint(url: str) -> int:
    """A 60-bit fingerprint of a canonical URL for the seen set.

    blake2b, not hash(): stable across processes and runs. 60 bits keep the int in two
    30-bit digits (32 bytes); at 10 million URLs the chance that any two collide is
    about 4e-5, far below SPEC's one wrong "seen" in 10 million.
    """
    digest = hashlib.blake2b(url.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 4


@dataclass(slots=True)
class Task:
    """One request to make. A page record's redirect hops and retries are the same Task.

    `url` is what to request now; `origin` is the record's URL while a redirect chain
    is followed (None before the first hop); `redirects` lists the URLs that answered
    3xx so far. A robots task fetches robots.txt and makes no page record.
    """

    url: str
    depth: int
    referrer: str | None = None
    origin: str | None = None
    redirects: list[str] = field(default_factory=list)
    retries: int = 0  # of the whole record, all hops
    hop_retries: int = 0  # of the current URL only: at most --retries
    robots: bool = False
    robots_for: str | None = None  # the host whose robots.txt this chain fetches
    last_attempt: dict[str, Any] | None = None  # the 3xx answer that led to this hop
    counted: bool = False  # already counted against --max-pages / --max-pages-per-host

    @property
    def host(self) -> str:
        return host_key(self.url)

    @property
    def record_url(self) -> str:
        return self.origin or self.url


class Frontier(Protocol):
    """What the coordinator needs from a frontier; nothing about fetching or parsing."""

    def mark_seen(self, url: str) -> bool:
        """Add a canonical URL to the seen set; False if it was already there."""
        ...

    def is_seen(self, url: str) -> bool: ...

    def push(self, task: Task, *, front: bool = False, not_before: float = 0.0) -> None:
        """Queue a task on its host (at the front for retries and redirect hops)."""
        ...

    def pop_ready(self, now: float, admit: Callable[[Task], bool]) -> Task | None:
        """A task whose host may start a request now, its request counted as started.

        Tasks `admit` refuses are dropped without using the host's politeness slot.
        """
        ...

    def pop_next(
        self, host: str, now: float, admit: Callable[[Task], bool], max_depth: int | None = None
    ) -> Task | None:
        """A task of `host` to start the moment one of its requests ends, on that slot.

        None unless the host has no delay between request starts and no other host is
        ready now (threads go round the hosts first).
        """
        ...

    def finish(self, host: str, now: float) -> None:
        """A request to `host` ended (answer, error or abandoned)."""
        ...

    def hold(self, host: str) -> None:
        """Only robots tasks of `host` may start until release()."""
        ...

    def release(self, host: str, delay_s: float | None, now: float) -> None:
        """End a hold; raise the host delay to `delay_s` (Crawl-delay) if larger."""
        ...

    def next_wakeup(self) -> float | None:
        """Earliest time a queued task may become ready, None when nothing waits on time."""
        ...

    def queued(self) -> int:
        """Tasks queued (not in flight)."""
        ...

    def drain(self) -> Iterator[Task]:
        """Remove and yield every queued task (at the end of a limited crawl)."""
        ...


class Overflow(Protocol):
    """Where the tail of a long host queue waits, so memory stays bounded (FIFO per host)."""

    def put(self, host: str, url: str, depth: int, referrer: str | None) -> None: ...

    def take(self, host: str, count: int) -> list[tuple[str, int, str | None]]: ...


class ListOverflow:
    """An in-memory Overflow, for tests and for callers that need no spill to disk."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[tuple[str, int, str | None]]] = {}

    def put(self, host: str, url: str, depth: int, referrer: str | None) -> None:
        self._queues.setdefault(host, deque()).append((url, depth, referrer))

    def take(self, host: str, count: int) -> list[tuple[str, int, str | None]]:
        queue = self._queues.get(host, deque())
        return [queue.popleft() for _ in range(min(count, len(queue)))]


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
    """The in-process frontier.

    Hosts with queued work sit in a heap keyed by the time their gate opens; each
    host is in the heap at most once, and is put back whenever its state changes.
    A host keeps at most `host_memory` new tasks in memory; the rest wait, in order,
    in `overflow` (a spill file in the shell) and come back as the queue drains.
    """

    def __init__(
        self,
        *,
        delay_s: float,
        per_host: int,
        host_memory: int = 10_000,
        overflow: Overflow | None = None,
    ) -> None:
        self._delay_s = delay_s
        self._per_host = per_host
        self._host_memory = max(2, host_memory)
        self._overflow = overflow or ListOverflow()
        self._seen: set[int] = set()  # fingerprints, not URLs: ~70 bytes per URL
        self._hosts: dict[str, _Host] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._seq = 0
        self._queued = 0
        # Retries wait here until their backoff ends, so they do not block the host.
        self._delayed: list[tuple[float, int, Task]] = []
        # Hosts set aside by pop_ready(max_depth=...): their next task is too deep.
        self._parked: list[str] = []
        self._parked_at: int | None = None

    # -- seen set ---------------------------------------------------------------
    def mark_seen(self, url: str) -> bool:
        key = fingerprint(url)
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    def is_seen(self, url: str) -> bool:
        return fingerprint(url) in self._seen

    def seen_count(self) -> int:
        return len(self._seen)

    # -- queues -----------------------------------------------------------------
    def _host(self, host: str) -> _Host:
        state = self._hosts.get(host)
        if state is None:
            state = _Host(HostGate(self._delay_s, self._per_host))
            self._hosts[host] = state
        return state

    def push(self, task: Task, *, front: bool = False, not_before: float = 0.0) -> None:
        self._queued += 1
        if not_before > 0.0:
            self._seq += 1
            heapq.heappush(self._delayed, (not_before, self._seq, task))
            return
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

    def release(self, host: str, delay_s: float | None, now: float) -> None:
        state = self._host(host)
        state.held = False
        if delay_s is not None and delay_s > state.gate.delay_s:
            state.gate.delay_s = delay_s
        self._schedule(host, state)

    def finish(self, host: str, now: float) -> None:
        state = self._hosts[host]
        state.gate.finish()
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

    def pop_ready(
        self, now: float, admit: Callable[[Task], bool], max_depth: int | None = None
    ) -> Task | None:
        """See Frontier.pop_ready; with `max_depth`, hosts whose next page is deeper wait."""
        while self._delayed and self._delayed[0][0] <= now:
            self._enqueue(heapq.heappop(self._delayed)[2], front=True)
        if self._parked and max_depth != self._parked_at:
            parked, self._parked = self._parked, []
            for host in parked:
                self._schedule(host, self._hosts[host])
        while self._heap and self._heap[0][0] <= now:
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
            task = self._pop_admitted(host, state, now, admit)
            if task is None:
                self._schedule(host, state)
                continue
            state.gate.start(now)
            self._schedule(host, state)
            return task
        return None

    def pop_next(
        self, host: str, now: float, admit: Callable[[Task], bool], max_depth: int | None = None
    ) -> Task | None:
        """See Frontier.pop_next: the slot stays in flight, passed on to the task returned.

        Only with no delay: the next request starts whenever the current one ends, which
        a delay between starts would not allow. The host's heap entry, if any, stays;
        pop_ready copes with a queue emptied here.
        """
        state = self._hosts.get(host)
        if state is None or state.held or state.robots or state.gate.delay_s > 0:
            return None
        if not state.gate.in_flight:
            return None  # no request of the host to follow
        if self._other_host_ready(host, now):
            return None
        while state.queue:
            if max_depth is not None and state.queue[0].depth > max_depth:
                return None
            task = state.queue.popleft()
            self._queued -= 1
            self._refill(host, state)
            if admit(task):
                state.gate.hand_over(now)
                return task
        return None

    def _other_host_ready(self, host: str, now: float) -> bool:
        # The heap's smallest entry is [0]; the next smallest is [1] or [2].
        return any(when <= now and other != host for when, _, other in self._heap[:3])

    def _pop_admitted(
        self, host: str, state: _Host, now: float, admit: Callable[[Task], bool]
    ) -> Task | None:
        while True:
            when = self._ready_time(state)
            if when is None or when > now:
                return None
            task = state.robots.popleft() if state.robots else state.queue.popleft()
            self._queued -= 1
            self._refill(host, state)
            if admit(task):
                return task

    def next_wakeup(self) -> float | None:
        times = [h[0][0] for h in (self._heap, self._delayed) if h]
        return min(times) if times else None

    def queued(self) -> int:
        return self._queued

    def drain(self) -> Iterator[Task]:
        while self._delayed:
            self._queued -= 1
            yield heapq.heappop(self._delayed)[2]
        for host, state in self._hosts.items():
            while state.robots or state.queue:
                self._queued -= 1
                yield state.robots.popleft() if state.robots else state.queue.popleft()
                self._refill(host, state)
        self._heap.clear()
        self._parked.clear()
        for state in self._hosts.values():
            state.scheduled = False

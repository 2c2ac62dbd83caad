"""Breadth-first order: a page's depth is its shortest distance from a seed.

Pure. Answers arrive in any order (threads, processes, slow servers), so the links of a
page are followed only once every record of a lower depth is finished: otherwise a
deep page answering early would claim, at too great a depth, a URL that a shallower
page also links to. Answers that come early wait here, already fetched.
"""

from __future__ import annotations

from collections import Counter
from typing import Generic, TypeVar

T = TypeVar("T")

# Answers waiting for their turn, beyond which only the lowest open depth is started
# (each holds a page's links: this bounds their memory).
MAX_WAITING = 2000


class BreadthFirst(Generic[T]):
    """Open records per depth, and the answers waiting for the depths below them."""

    def __init__(self, max_waiting: int = MAX_WAITING) -> None:
        self._max_waiting = max_waiting
        self._open: Counter[int] = Counter()  # records queued or in flight, per depth
        self._waiting: dict[int, list[T]] = {}
        self._waiting_count = 0

    def open(self, depth: int) -> None:
        """A record of `depth` is queued."""
        self._open[depth] += 1

    def close(self, depth: int) -> None:
        """A record of `depth` is written, or dropped without one."""
        self._open[depth] -= 1
        if not self._open[depth]:
            del self._open[depth]

    def must_wait(self, depth: int) -> bool:
        """Must an answer of `depth` wait (a record of a lower depth is still open)?"""
        return bool(self._open) and min(self._open) < depth

    def wait(self, depth: int, item: T) -> None:
        self._waiting.setdefault(depth, []).append(item)
        self._waiting_count += 1

    def take_ready(self, *, force: bool = False) -> list[T]:
        """The waiting answers of the lowest waiting depth, if their turn has come.

        Handling them may open and close records, so call again until it gives [].
        `force` (an interrupted crawl) gives them whatever is still open.
        """
        if not self._waiting:
            return []
        depth = min(self._waiting)
        if not force and self.must_wait(depth):
            return []
        batch = self._waiting.pop(depth)
        self._waiting_count -= len(batch)
        return batch

    def depth_limit(self) -> int | None:
        """The deepest depth that may start now; None: any.

        While many answers wait, only the lowest open depth starts: those are the
        records that let the waiting ones go.
        """
        if self._waiting_count >= self._max_waiting and self._open:
            return min(self._open)
        return None

    def has_waiting(self) -> bool:
        return self._waiting_count > 0


class Unordered(BreadthFirst[T]):
    """No waiting: every answer is handled as it comes (one crawl on many machines, where
    the records still open are on other machines too). Host queues are first in, first
    out, so the crawl is still breadth-first approximately."""

    def open(self, depth: int) -> None:
        pass

    def close(self, depth: int) -> None:
        pass

    def must_wait(self, depth: int) -> bool:
        return False

    def depth_limit(self) -> int | None:
        return None

"""Page budgets: --max-pages and --max-pages-per-host.

A record uses its budget when its first request starts (its redirect hops and retries
are part of it and use none), so a limited crawl writes at most the limit's records
whatever answers arrive, and a URL that is never started costs nothing.

`Budget` is what the coordinator needs; `PageBudget` is the pure in-process one, and
crawler/redis_budget.py the one shared by every machine of a crawl (its check-and-spend
one atomic step in Redis). Both pass the same tests.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from typing import Protocol


class Budget(Protocol):
    """How many records may still start, in all and per host; a limit of 0 is none."""

    def has_room(self, host: str) -> bool:
        """May one more record of `host` start? (Changes nothing.)"""
        ...

    def try_spend(self, host: str) -> bool:
        """Spend one record of `host` if there is room, in one atomic step; whether it was."""
        ...

    def spend(self, host: str) -> None:
        """A record of `host` started (whatever the limits)."""
        ...

    def restore(self, records_per_host: Mapping[str, int]) -> None:
        """Count the records an earlier run of a resumed crawl wrote."""
        ...

    @property
    def started(self) -> int: ...


class PageBudget:
    """The in-process Budget."""

    __slots__ = ("max_pages", "max_per_host", "_started", "_per_host")

    def __init__(self, max_pages: int = 0, max_per_host: int = 0) -> None:
        self.max_pages = max_pages
        self.max_per_host = max_per_host
        self._started = 0
        self._per_host: Counter[str] = Counter()

    def has_room(self, host: str) -> bool:
        if self.max_pages and self._started >= self.max_pages:
            return False
        return not (self.max_per_host and self._per_host[host] >= self.max_per_host)

    def try_spend(self, host: str) -> bool:
        if not self.has_room(host):
            return False
        self.spend(host)
        return True

    def spend(self, host: str) -> None:
        self._started += 1
        self._per_host[host] += 1

    def restore(self, records_per_host: Mapping[str, int]) -> None:
        for host, count in records_per_host.items():
            self._started += count
            self._per_host[host] += count

    @property
    def started(self) -> int:
        return self._started

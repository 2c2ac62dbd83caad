"""The per-host politeness gate: may a request to this host start at `now`?

Pure: the clock comes in as an argument. One gate per host holds the minimum time
between request starts (--delay, raised by Crawl-delay) and the in-flight cap
(--per-host). Every request to the host goes through it: pages, redirect hops,
retries and robots.txt.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(slots=True)
class HostGate:
    delay_s: float
    per_host: int
    in_flight: int = 0
    last_start: float | None = None
    previous_start: float | None = None  # what cancel() restores

    def is_full(self) -> bool:
        return self.in_flight >= self.per_host

    def next_start(self) -> float:
        """Earliest time the next request may start by the delay alone."""
        if self.last_start is None:
            return float("-inf")
        return self.last_start + self.delay_s

    def may_start(self, now: float) -> bool:
        return not self.is_full() and now >= self.next_start()

    def start(self, now: float) -> None:
        if not self.may_start(now):
            raise RuntimeError("politeness gate: request started too early")
        self.in_flight += 1
        self.previous_start, self.last_start = self.last_start, now

    def cancel(self) -> None:
        """The request of the last start() will not be made after all.

        Its slot is free again and its start no longer times the next one (with a
        delay, one host starts one request per delay, so it was the last start).
        """
        if self.in_flight <= 0:
            raise RuntimeError("politeness gate: cancel without start")
        self.in_flight -= 1
        self.last_start = self.previous_start

    def hand_over(self, now: float) -> None:
        """The next request will start on the slot of one in flight, as soon as it ends.

        The in-flight count does not change. Only without a delay, which would need
        the next start timed by the clock instead.
        """
        if self.in_flight <= 0 or self.delay_s > 0:
            raise RuntimeError("politeness gate: nothing to hand over")
        self.last_start = now

    def finish(self) -> None:
        if self.in_flight <= 0:
            raise RuntimeError("politeness gate: finish without start")
        self.in_flight -= 1

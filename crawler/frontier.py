"""The frontier interface: the seen set, per-host queues and the politeness clock.

The coordinator depends on `Frontier` alone, so another implementation (a shared one in
Redis, for a crawl on many machines) can replace the in-process `MemoryFrontier`
(crawler/memory_frontier.py) without touching fetching, parsing or the coordinator's
rules. The protocol is shaped for that: calls come in batches (a page's links in one
call, several ready tasks in one call: one round trip each), times are durations from
now (the frontier keeps its own clock, which may be a server's), and nothing in it
needs the frontier to live in the coordinator's process. Every implementation passes
the same contract tests (tests/net/test_frontier_contract.py).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from crawler.messages import Result
from crawler.urls import host_key


def fingerprint(url: str) -> int:
    """A 60-bit fingerprint of a canonical URL for the seen set.

    blake2b, not hash(): stable across processes and runs. 60 bits keep the int in two
    30-bit digits (32 bytes); at 10 million URLs the chance that any two collide is
    about 4e-5.
    """
    digest = hashlib.blake2b(url.encode("utf-8", "surrogatepass"), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 4


# The shared seen set (a frontier in Redis) files each URL under one of 2**SEEN_BUCKET_BITS
# small hashes by the first bits of a wider fingerprint, the next 64 bits being the field:
# 84 bits in all. At 10 million URLs the chance that any two share a slot is about
# n**2 / 2**85 = 3e-12, and the small hashes stay in Redis's compact listpack encoding
# (fewer than 128 entries each up to ~80 million URLs).
SEEN_BUCKET_BITS = 20
SEEN_FIELD_BYTES = 8


def seen_slot(url: str) -> tuple[int, bytes]:
    """The (bucket, field) of a canonical URL in a bucketed seen set."""
    digest = hashlib.blake2b(url.encode("utf-8", "surrogatepass"), digest_size=16).digest()
    bucket = int.from_bytes(digest[:4], "big") >> (32 - SEEN_BUCKET_BITS)
    return bucket, digest[4 : 4 + SEEN_FIELD_BYTES]


@dataclass(slots=True)
class Task:
    """One request to make. A page record's redirect hops and retries are the same Task.

    `url` is what to request now; `origin` is the record's URL while a redirect chain
    is followed (None before the first hop); `redirects` lists the URLs that answered
    3xx so far. A robots task fetches robots.txt and makes no page record; so does a
    sitemap task (--sitemaps), which is also a robots task for the frontier: it goes
    before the host's pages, also while the host is held.
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
    last_attempt: Result | None = None  # the 3xx answer that led to this hop
    counted: bool = False  # already counted against --max-pages / --max-pages-per-host
    deaths: int = 0  # worker processes that died while this task was in flight
    # --sitemaps: the seed host whose sitemaps this fetch reads (None: not one), and the
    # level: 0 robots.txt read for its Sitemap: lines only (--ignore-robots), 1..3 a file.
    sitemap_for: str | None = None
    sitemap_level: int = 0

    @property
    def host(self) -> str:
        return host_key(self.url)

    @property
    def record_url(self) -> str:
        return self.origin or self.url


class Frontier(Protocol):
    """What the coordinator needs from a frontier; nothing about fetching or parsing.

    Each host's tasks start in order (robots.txt first, then tasks put at the front,
    then the rest first in, first out), no more than `per_host` at once and with the
    host's delay between starts. `take` and `take_next` count a start; `cancel`
    (refused before it started) or `finish` (ended) give the slot back.
    """

    def add(self, tasks: Sequence[Task], *, front: bool = False) -> list[bool]:
        """Add each task's URL to the seen set and queue the tasks whose URL was new.

        One atomic step per task, so a URL is queued once whoever adds it. Returns,
        per task, whether it was new (and so queued).
        """
        ...

    def mark_seen(self, urls: Sequence[str]) -> list[bool]:
        """Add URLs to the seen set without queueing them; per URL, whether it was new."""
        ...

    def seen(self, urls: Sequence[str]) -> list[bool]:
        """Per URL, whether it is in the seen set (changes nothing)."""
        ...

    def push(self, tasks: Sequence[Task], *, front: bool = False, delay_s: float = 0.0) -> None:
        """Queue tasks whose URLs are accounted for already: robots.txt fetches, retries
        (at the front, not before `delay_s` from now), a dead worker's unfinished tasks."""
        ...

    def take(self, count: int, max_depth: int | None = None) -> list[Task]:
        """Up to `count` tasks whose hosts may start a request now; each start counted.

        With `max_depth`, hosts whose next task is deeper wait (robots.txt does not).
        """
        ...

    def take_next(self, host: str, max_depth: int | None = None) -> Task | None:
        """A task of `host` to start on the slot of one of its requests, when that ends.

        None unless the host has a request in flight, no delay between request starts,
        no robots.txt pending, and no other host is ready now (threads go round the
        hosts first). The slot passes on: if the task is refused, nothing is given back.
        """
        ...

    def cancel(self, host: str, task: Task | None = None) -> None:
        """A task from `take` will not start (refused): its slot back, its start uncounted.

        `task` (the coordinator always gives it) lets a shared frontier drop it from the
        host's tasks in flight.
        """
        ...

    def finish(self, host: str, task: Task | None = None) -> None:
        """A request to `host` ended (answer, error or abandoned); called once its answer
        is handled (links queued, retry pushed), so a shared frontier never looks idle
        while an answer is on its way to the queue."""
        ...

    def give_back(self, task: Task, *, held_slot: bool = True) -> None:
        """A task taken whose request did not end normally (its worker died, or it was
        fenced) goes back to the front of its host's queue; `held_slot`: it held a host
        slot (a successor does not). A shared frontier gives it back only if it is still
        this coordinator's (a lapsed lease has given it to the next owner already)."""
        ...

    def ask_robots(self, task: Task) -> bool:
        """Hold the host of a robots.txt task (only robots.txt may start there until
        release()) and queue the task, once per host whoever asks; True if now."""
        ...

    def hold(self, host: str) -> None:
        """Only robots.txt tasks of `host` may start until release()."""
        ...

    def release(self, host: str, delay_s: float | None) -> None:
        """End a hold; raise the host's delay to `delay_s` (Crawl-delay) if larger."""
        ...

    def wait_s(self) -> float | None:
        """Seconds until a queued task may become ready by time; None if none waits on time."""
        ...

    def queued(self) -> int:
        """Tasks queued (not in flight)."""
        ...

    def settled(self) -> bool:
        """Nothing queued here, nor (a shared frontier) in flight on any machine."""
        ...


class Overflow(Protocol):
    """Where the tail of a long host queue waits, so memory stays bounded (FIFO per host)."""

    def put(self, host: str, url: str, depth: int, referrer: str | None) -> None: ...

    def take(self, host: str, count: int) -> list[tuple[str, int, str | None]]: ...

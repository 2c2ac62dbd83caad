"""The Frontier protocol's behaviour, run against every implementation.

A new implementation is added to `IMPLEMENTATIONS` and must pass all of these unchanged.
Each test drives the frontier only through the protocol, with a clock the test moves by
hand: no sleeps. The Redis frontier runs against a real redis-server (the `redis_url`
fixture starts one on loopback, or skips saying why).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from crawler.frontier import Frontier, Task
from crawler.memory_frontier import MemoryFrontier
from crawler.redis_frontier import RedisFrontier


@dataclass
class FakeClock:
    now: float = 100.0

    def __call__(self) -> float:
        return self.now


MakeFrontier = Callable[..., Frontier]


def _memory(clock: FakeClock, *, delay_s: float = 0.0, per_host: int = 8) -> Frontier:
    return MemoryFrontier(delay_s=delay_s, per_host=per_host, clock=clock)


def _memory_tiny_memory(clock: FakeClock, *, delay_s: float = 0.0, per_host: int = 8) -> Frontier:
    # Host queues of 2 in memory: everything else goes through the overflow.
    return MemoryFrontier(delay_s=delay_s, per_host=per_host, clock=clock, host_memory=2)


def _redis(clock: FakeClock, *, delay_s: float = 0.0, per_host: int = 8, url: str) -> Frontier:
    return RedisFrontier.from_url(
        url, crawl="contract", owner="test", delay_s=delay_s, per_host=per_host, clock=clock
    )


IMPLEMENTATIONS = {"memory": _memory, "memory-spilling": _memory_tiny_memory, "redis": _redis}
NEEDS_REDIS = {"redis"}


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(params=sorted(IMPLEMENTATIONS))
def make(request: pytest.FixtureRequest, clock: FakeClock) -> MakeFrontier:
    factory = IMPLEMENTATIONS[request.param]
    extra = {"url": request.getfixturevalue("redis_url")} if request.param in NEEDS_REDIS else {}
    made = 0

    def make_frontier(*, delay_s: float = 0.0, per_host: int = 8) -> Frontier:
        nonlocal made
        made += 1  # two frontiers in one test are two crawls
        if extra:
            return RedisFrontier.from_url(
                extra["url"],
                crawl=f"contract{made}",
                owner="test",
                delay_s=delay_s,
                per_host=per_host,
                clock=clock,
            )
        return factory(clock, delay_s=delay_s, per_host=per_host)

    return make_frontier


def task(url: str, depth: int = 0, **kwargs: object) -> Task:
    return Task(url=url, depth=depth, **kwargs)  # type: ignore[arg-type]


def urls(tasks: list[Task]) -> list[str]:
    return [t.url for t in tasks]


def take_all(frontier: Frontier) -> list[str]:
    """Take and finish tasks until none is ready now."""
    got: list[str] = []
    while batch := frontier.take(100):
        for t in batch:
            got.append(t.url)
            frontier.finish(t.host, t)
    return got


# -- the seen set ---------------------------------------------------------------------


def test_add_queues_each_url_once(make: MakeFrontier) -> None:
    f = make()
    assert f.add([task("http://a.test/1"), task("http://a.test/2"), task("http://a.test/1")]) == [
        True,
        True,
        False,
    ]
    assert f.add([task("http://a.test/2")]) == [False]
    assert f.queued() == 2
    assert take_all(f) == ["http://a.test/1", "http://a.test/2"]


def test_mark_seen_only_marks(make: MakeFrontier) -> None:
    f = make()
    assert f.mark_seen(["http://a.test/x", "http://a.test/x", "http://a.test/y"]) == [
        True,
        False,
        True,
    ]
    assert f.queued() == 0 and f.take(10) == []
    assert f.add([task("http://a.test/x"), task("http://a.test/z")]) == [False, True]


def test_seen_only_looks(make: MakeFrontier) -> None:
    f = make()
    f.add([task("http://a.test/queued")])
    f.mark_seen(["http://a.test/marked"])
    urls = ["http://a.test/queued", "http://a.test/marked", "http://a.test/new"]
    assert f.seen(urls) == [True, True, False]
    assert f.seen(urls) == [True, True, False]  # still not marked
    assert f.seen([]) == []
    assert f.add([task("http://a.test/new")]) == [True]


def test_push_queues_without_the_seen_set(make: MakeFrontier) -> None:
    f = make()
    f.add([task("http://a.test/1")])
    f.push([task("http://a.test/1")], front=True)  # e.g. a dead worker's task
    assert f.queued() == 2
    assert take_all(f) == ["http://a.test/1", "http://a.test/1"]


# -- per-host order and the politeness gate --------------------------------------------


def test_fifo_per_host_and_in_flight_cap(make: MakeFrontier) -> None:
    f = make(per_host=2)
    f.add([task(f"http://a.test/{n}") for n in range(3)])
    assert urls(f.take(10)) == ["http://a.test/0", "http://a.test/1"]
    assert f.take(10) == []  # two in flight: the host is full
    f.finish("a.test")
    assert urls(f.take(10)) == ["http://a.test/2"]
    assert f.queued() == 0


def test_take_gives_at_most_count(make: MakeFrontier) -> None:
    f = make()
    f.add([task(f"http://h{n}.test/") for n in range(5)])
    assert len(f.take(3)) == 3
    assert len(f.take(3)) == 2
    assert f.take(3) == []


def test_front_goes_before_the_queue(make: MakeFrontier) -> None:
    f = make(per_host=1)
    f.add([task("http://a.test/1"), task("http://a.test/2")])
    f.add([task("http://a.test/hop", origin="http://a.test/r")], front=True)
    assert take_all(f) == ["http://a.test/hop", "http://a.test/1", "http://a.test/2"]


def test_delay_between_starts(make: MakeFrontier, clock: FakeClock) -> None:
    f = make(delay_s=1.5)
    f.add([task("http://a.test/1"), task("http://a.test/2")])
    assert urls(f.take(10)) == ["http://a.test/1"]
    f.finish("a.test")
    assert f.take(10) == []
    assert f.wait_s() == pytest.approx(1.5)
    clock.now += 1.4
    assert f.take(10) == []
    assert f.wait_s() == pytest.approx(0.1)
    clock.now += 0.1
    assert urls(f.take(10)) == ["http://a.test/2"]
    assert f.wait_s() is None  # nothing queued


def test_hosts_do_not_wait_for_each_other(make: MakeFrontier) -> None:
    f = make(delay_s=5, per_host=1)
    f.add([task("http://a.test/1"), task("http://a.test/2"), task("http://b.test/1")])
    assert sorted(urls(f.take(10))) == ["http://a.test/1", "http://b.test/1"]


def test_cancel_gives_the_slot_and_the_start_back(make: MakeFrontier) -> None:
    # A task refused at admission: the next one of its host may start at once.
    f = make(delay_s=10, per_host=1)
    f.add([task("http://a.test/private"), task("http://a.test/public")])
    assert urls(f.take(10)) == ["http://a.test/private"]
    f.cancel("a.test")
    assert urls(f.take(10)) == ["http://a.test/public"]
    assert f.queued() == 0


def test_the_start_before_a_cancelled_one_still_times_the_next(
    make: MakeFrontier, clock: FakeClock
) -> None:
    f = make(delay_s=10, per_host=2)
    f.add([task(f"http://a.test/{n}") for n in range(4)])
    assert urls(f.take(10)) == ["http://a.test/0"]  # at 100
    f.finish("a.test")
    clock.now += 10
    assert urls(f.take(10)) == ["http://a.test/1"]  # at 110
    f.cancel("a.test")
    assert urls(f.take(10)) == ["http://a.test/2"]  # still at 110: the slot came back
    f.finish("a.test")
    clock.now += 5
    assert f.take(10) == []  # /2 started at 110: the next one waits until 120
    assert f.wait_s() == pytest.approx(5.0)


# -- retries ----------------------------------------------------------------------------


def test_retry_waits_without_blocking_its_host(make: MakeFrontier, clock: FakeClock) -> None:
    f = make()
    f.push([task("http://a.test/retry")], front=True, delay_s=5.0)
    f.add([task("http://a.test/next")])
    assert f.queued() == 2
    assert take_all(f) == ["http://a.test/next"]
    assert f.wait_s() == pytest.approx(5.0)
    clock.now += 5.0
    assert take_all(f) == ["http://a.test/retry"]
    assert f.queued() == 0


def test_a_due_retry_goes_before_the_rest_of_its_host(make: MakeFrontier, clock: FakeClock) -> None:
    f = make(per_host=1)
    f.push([task("http://a.test/retry")], front=True, delay_s=1.0)
    clock.now += 1.0
    f.add([task("http://a.test/new")])
    assert take_all(f) == ["http://a.test/retry", "http://a.test/new"]


# -- robots.txt: hold and release ------------------------------------------------------


def test_hold_lets_only_robots_through_until_release(make: MakeFrontier, clock: FakeClock) -> None:
    f = make()
    f.add([task("http://a.test/page")])
    f.hold("a.test")
    f.push([task("http://a.test/robots.txt", robots=True, robots_for="a.test")])
    assert urls(f.take(10)) == ["http://a.test/robots.txt"]
    f.finish("a.test")
    assert f.take(10) == []  # held until robots.txt is known
    f.release("a.test", delay_s=3.0)  # Crawl-delay raises the host's delay
    assert f.take(10) == []
    assert f.wait_s() == pytest.approx(3.0)
    clock.now += 3.0
    assert urls(f.take(10)) == ["http://a.test/page"]


def test_release_never_lowers_the_delay(make: MakeFrontier, clock: FakeClock) -> None:
    f = make(delay_s=2.0)
    f.hold("a.test")
    f.push([task("http://a.test/robots.txt", robots=True, robots_for="a.test")])
    assert len(f.take(10)) == 1
    f.finish("a.test")
    f.release("a.test", delay_s=0.5)
    f.add([task("http://a.test/1")])
    assert f.take(10) == [] and f.wait_s() == pytest.approx(2.0)


def test_robots_goes_first_even_before_a_hop_pushed_to_the_front(make: MakeFrontier) -> None:
    f = make()
    f.hold("b.test")
    f.push([task("http://b.test/robots.txt", robots=True, robots_for="b.test")])
    f.add([task("http://b.test/hop", 1, origin="http://a.test/r")], front=True)
    assert urls(f.take(10)) == ["http://b.test/robots.txt"]
    assert f.take(10) == []
    f.finish("b.test")
    f.release("b.test", None)
    assert urls(f.take(10)) == ["http://b.test/hop"]


# -- depth limit ------------------------------------------------------------------------


def test_max_depth_holds_deeper_hosts_back_until_lifted(make: MakeFrontier) -> None:
    f = make()
    f.add([task("http://deep.test/1", 3), task("http://shallow.test/1", 2)])
    assert urls(f.take(10, max_depth=2)) == ["http://shallow.test/1"]
    assert f.take(10, max_depth=2) == []
    assert urls(f.take(10)) == ["http://deep.test/1"]


def test_max_depth_does_not_hold_robots_back(make: MakeFrontier) -> None:
    f = make()
    f.add([task("http://a.test/deep", 4)])
    f.hold("a.test")
    f.push([task("http://a.test/robots.txt", robots=True, robots_for="a.test")])
    assert urls(f.take(10, max_depth=1)) == ["http://a.test/robots.txt"]


# -- take_next: a task to follow on the same slot ----------------------------------------


def test_take_next_follows_on_the_same_slot(make: MakeFrontier) -> None:
    f = make(per_host=1)
    f.add([task(f"http://a.test/{n}") for n in range(3)])
    assert urls(f.take(10)) == ["http://a.test/0"]
    assert f.take(10) == []  # the one slot is taken
    following = f.take_next("a.test")
    assert following is not None and following.url == "http://a.test/1"
    assert f.take(10) == []  # still one request in flight
    f.finish("a.test")  # the chain's last request ends
    assert urls(f.take(10)) == ["http://a.test/2"]
    assert f.queued() == 0


def test_take_next_needs_a_request_in_flight_and_no_delay(make: MakeFrontier) -> None:
    f = make(per_host=2)
    f.add([task("http://a.test/1")])
    assert f.take_next("a.test") is None  # nothing of a.test in flight
    assert f.take_next("unknown.test") is None
    slow = make(delay_s=0.5, per_host=2)
    slow.add([task(f"http://a.test/{n}") for n in range(2)])
    assert len(slow.take(1)) == 1
    assert slow.take_next("a.test") is None  # the delay times each start


def test_take_next_leaves_threads_to_other_ready_hosts_first(make: MakeFrontier) -> None:
    f = make(per_host=4)
    f.add([task("http://a.test/0"), task("http://a.test/1")])
    assert urls(f.take(1)) == ["http://a.test/0"]
    f.add([task("http://b.test/0")])
    assert f.take_next("a.test") is None  # b.test is ready and waiting
    assert urls(f.take(1)) == ["http://b.test/0"]
    following = f.take_next("a.test")
    assert following is not None and following.url == "http://a.test/1"


def test_take_next_respects_hold_robots_and_depth_limit(make: MakeFrontier) -> None:
    f = make(per_host=4)
    f.add([task("http://a.test/0"), task("http://a.test/deep", 3)])
    assert len(f.take(1)) == 1
    assert f.take_next("a.test", max_depth=2) is None  # deep waits for its depth
    assert f.queued() == 1
    f.hold("a.test")
    f.push([task("http://a.test/robots.txt", robots=True, robots_for="a.test")])
    assert f.take_next("a.test") is None  # robots.txt goes first
    assert urls(f.take(10)) == ["http://a.test/robots.txt"]
    f.finish("a.test")
    f.release("a.test", None)
    following = f.take_next("a.test")
    assert following is not None and following.url == "http://a.test/deep"
    # The host's ready entry outlives its queue, emptied by take_next: take() copes.
    assert f.take(10) == []
    assert f.queued() == 0


# -- many tasks -------------------------------------------------------------------------


def test_a_long_host_queue_comes_back_in_order(make: MakeFrontier) -> None:
    f = make(per_host=1000)
    f.add([task(f"http://a.test/{n}", 1) for n in range(50)])
    assert f.queued() == 50
    assert take_all(f) == [f"http://a.test/{n}" for n in range(50)]
    assert f.queued() == 0


def test_queued_counts_every_kind_of_task(make: MakeFrontier) -> None:
    f = make()
    f.add([task("http://a.test/1")])
    f.push([task("http://a.test/robots.txt", robots=True, robots_for="a.test")])
    f.push([task("http://a.test/r")], front=True, delay_s=9.0)
    assert f.queued() == 3
    assert len(f.take(10)) == 2
    assert f.queued() == 1

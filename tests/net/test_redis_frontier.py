"""What only a shared frontier does: coordinators sharing one crawl through Redis.

Two RedisFrontier objects with different owners stand for two machines. Everything else
the frontier does is in test_frontier_contract.py, which runs against Redis too.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
import redis

from crawler.frontier import Task
from crawler.messages import Result
from crawler.redis_frontier import RedisFrontier

TTL_S = 30.0


@dataclass
class FakeClock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


Machines = Callable[..., tuple[RedisFrontier, RedisFrontier]]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def machines(redis_url: str, clock: FakeClock) -> Machines:
    def make(*, delay_s: float = 0.0, per_host: int = 8) -> tuple[RedisFrontier, RedisFrontier]:
        def one(owner: str) -> RedisFrontier:
            return RedisFrontier.from_url(
                redis_url,
                crawl="shared",
                owner=owner,
                delay_s=delay_s,
                per_host=per_host,
                lease_ttl_s=TTL_S,
                clock=clock,
            )

        return one("a"), one("b")

    return make


def urls(tasks: list[Task]) -> list[str]:
    return [t.url for t in tasks]


def test_a_url_is_queued_once_whoever_adds_it(machines: Machines) -> None:
    a, b = machines()
    assert a.add([Task("http://x.test/1", 1)]) == [True]
    assert b.add([Task("http://x.test/1", 1), Task("http://x.test/2", 1)]) == [False, True]
    assert b.mark_seen(["http://x.test/2", "http://x.test/3"]) == [False, True]
    assert a.queued() == b.queued() == 2


def test_a_host_has_one_owner_while_its_lease_runs(machines: Machines, clock: FakeClock) -> None:
    a, b = machines()
    a.add([Task(f"http://x.test/{n}", 1) for n in range(3)] + [Task("http://y.test/1", 1)])
    assert urls(a.take(1)) == ["http://x.test/0"]
    # x.test is a's: b gets only the other host, although x.test has room and work.
    assert urls(b.take(10)) == ["http://y.test/1"]
    assert b.take_next("x.test") is None
    clock.now += TTL_S - 1
    assert b.take(10) == []
    a.finish("x.test")  # a's work on the host renews its lease
    clock.now += TTL_S - 1
    assert b.take(10) == []
    assert len(a.take(10)) == 2


def test_a_lapsed_lease_lets_another_owner_take_the_host(
    machines: Machines, clock: FakeClock
) -> None:
    a, b = machines()
    a.add([Task(f"http://x.test/{n}", 1) for n in range(2)])
    assert urls(a.take(1)) == ["http://x.test/0"]
    clock.now += TTL_S + 1  # a is gone (or paused) past its lease
    assert urls(b.take(10)) == ["http://x.test/1"]
    assert urls(a.take(10)) == []  # and now it is b's


def test_an_idle_host_is_let_go_at_once(machines: Machines) -> None:
    a, b = machines()
    a.add([Task("http://x.test/1", 1)])
    assert len(a.take(10)) == 1
    a.finish("x.test")  # nothing of x.test queued or in flight: no owner any more
    b.add([Task("http://x.test/2", 1)])
    assert urls(b.take(10)) == ["http://x.test/2"]


def test_politeness_holds_across_owners(machines: Machines, clock: FakeClock) -> None:
    a, b = machines(delay_s=2.0, per_host=1)
    a.add([Task(f"http://x.test/{n}", 1) for n in range(3)])
    assert len(a.take(10)) == 1
    a.finish("x.test")
    clock.now += TTL_S + 1  # b takes over; the delay from a's last start still counts
    assert len(b.take(10)) == 1
    b.finish("x.test")
    clock.now += 1.0
    assert b.take(10) == [] and b.wait_s() == pytest.approx(1.0)
    clock.now += 1.0
    assert len(b.take(10)) == 1


def test_the_robots_hold_and_crawl_delay_are_shared(machines: Machines, clock: FakeClock) -> None:
    a, b = machines()
    a.hold("x.test")
    a.push([Task("http://x.test/robots.txt", 0, robots=True, robots_for="x.test")])
    b.add([Task("http://x.test/page", 1)])
    assert urls(a.take(10)) == ["http://x.test/robots.txt"]
    a.finish("x.test")
    a.release("x.test", 5.0)  # Crawl-delay, learnt by a, binds b
    clock.now += TTL_S + 1
    assert urls(b.take(10)) == ["http://x.test/page"]
    b.push([Task("http://x.test/again", 1)], front=True)
    b.finish("x.test")
    assert b.take(10) == [] and b.wait_s() == pytest.approx(5.0)


def test_a_redirect_hop_keeps_its_answer_through_redis(machines: Machines) -> None:
    a, _ = machines()
    # Lists, not the default tuples: what JSON gives back.
    lists = {"links": [], "nofollow": [], "follow": []}
    answer = Result(1, 0, 301, "text/html", "/b", None, 0, 1.5, 10.0, None, None, **lists)
    hop = Task(
        url="http://x.test/b",
        depth=2,
        referrer="http://x.test/",
        origin="http://x.test/a",
        redirects=["http://x.test/a"],
        retries=1,
        hop_retries=0,
        last_attempt=answer,
        counted=True,
    )
    assert a.add([hop], front=True) == [True]
    (back,) = a.take(1)
    assert back == hop


def test_keys_live_under_the_crawl_name(machines: Machines, redis_url: str) -> None:
    a, _ = machines()
    a.add([Task("http://x.test/1", 1)])
    keys = redis.Redis.from_url(redis_url).keys("*")
    assert keys and all(key.startswith(b"crawler:shared:") for key in keys)

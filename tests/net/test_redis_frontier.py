"""What only a shared frontier does: coordinators sharing one crawl through Redis.

Two RedisFrontier objects with different owners stand for two machines. Everything else
the frontier does is in test_frontier_contract.py, which runs against Redis too.
"""

from __future__ import annotations

import time
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


def test_a_url_beyond_the_depth_limit_counts_once_in_the_cluster(machines: Machines) -> None:
    """stats.beyond_depth counts distinct URLs: summed over machines by the export, so
    each URL is counted by the first machine that finds it, and never once it is seen."""
    a, b = machines()
    answers: dict[str, list[bool]] = {}
    deep, other, queued = "http://x.test/deep", "http://x.test/other", "http://x.test/q"
    a.add([Task(queued, 1)])
    a.beyond_later([deep, queued], lambda new: answers.__setitem__("a", new))
    a.flush()
    b.beyond_later([deep, other], lambda new: answers.__setitem__("b", new))
    b.flush()
    a.beyond_later([deep, other], lambda new: answers.__setitem__("a again", new))
    a.flush()
    assert answers == {"a": [True, False], "b": [False, True], "a again": [False, False]}


def test_a_host_has_one_owner_while_its_lease_runs(machines: Machines, clock: FakeClock) -> None:
    a, b = machines()
    a.add([Task(f"http://x.test/{n}", 1) for n in range(4)] + [Task("http://y.test/1", 1)])
    (first,) = a.take(1)
    assert first.url == "http://x.test/0"
    # x.test is a's: b gets only the other host, although x.test has room and work.
    (other,) = b.take(10)
    assert other.url == "http://y.test/1"
    b.finish("y.test", other)
    assert b.take_next("x.test") is None
    clock.now += TTL_S - 1
    assert b.take(10) == []
    assert a.renew() == ["x.test"]  # a renews its lease of x.test
    clock.now += TTL_S - 1
    assert b.take(10) == []
    a.finish("x.test", first)
    a.flush()  # a finish goes with the machine's next call (its loop never stops)
    # Nothing of a's in flight there: the host goes to whoever has a free thread.
    assert urls(b.take(1)) == ["http://x.test/1"]
    assert a.take(10) == []


def test_a_lapsed_lease_lets_another_owner_take_the_host(
    machines: Machines, clock: FakeClock
) -> None:
    a, b = machines()
    a.add([Task(f"http://x.test/{n}", 1) for n in range(2)])
    (lost,) = a.take(1)
    clock.now += TTL_S + 1  # a is gone (or paused) past its lease
    # b takes the host over: a's task in flight first, one death more, then the rest.
    again, rest = b.take(10)
    assert (again.url, again.deaths, rest.url) == ("http://x.test/0", 1, "http://x.test/1")
    assert urls(a.take(10)) == []  # and now it is b's
    a.finish("x.test", lost)  # a's late answer changes nothing: the task is b's now
    assert b.queued() == 0 and not b.settled()
    b.finish("x.test", again)
    b.finish("x.test", rest)
    assert b.settled()
    assert b.counts() == {"takeovers": 1, "taken_back": 1}


def test_an_idle_host_is_let_go_at_once(machines: Machines) -> None:
    a, b = machines()
    a.add([Task("http://x.test/1", 1)])
    (only,) = a.take(10)
    a.finish("x.test", only)  # nothing of x.test queued or in flight: no owner any more
    a.flush()
    b.add([Task("http://x.test/2", 1)])
    assert urls(b.take(10)) == ["http://x.test/2"]


def test_politeness_holds_across_owners(machines: Machines, clock: FakeClock) -> None:
    a, b = machines(delay_s=2.0, per_host=1)
    a.add([Task(f"http://x.test/{n}", 1) for n in range(3)])
    (one,) = a.take(10)
    a.finish("x.test", one)
    clock.now += TTL_S + 1  # b takes over; the delay from a's last start still counts
    (two,) = b.take(10)
    b.finish("x.test", two)
    clock.now += 1.0
    assert b.take(10) == [] and b.wait_s() == pytest.approx(1.0)
    clock.now += 1.0
    assert len(b.take(10)) == 1


def test_the_robots_hold_and_crawl_delay_are_shared(machines: Machines, clock: FakeClock) -> None:
    a, b = machines()
    a.hold("x.test")
    a.push([Task("http://x.test/robots.txt", 0, robots=True, robots_for="x.test")])
    b.add([Task("http://x.test/page", 1)])
    (robots,) = a.take(10)
    assert robots.url == "http://x.test/robots.txt"
    a.release("x.test", 5.0)  # Crawl-delay, learnt by a, binds b
    a.finish("x.test", robots)
    a.flush()
    clock.now += TTL_S + 1
    (page,) = b.take(10)
    assert page.url == "http://x.test/page"
    b.push([Task("http://x.test/again", 1)], front=True)
    b.finish("x.test", page)
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


def test_robots_txt_is_asked_once_per_crawl_and_its_answer_shared(machines: Machines) -> None:
    a, b = machines()
    robots = Task("http://x.test/robots.txt", 0, robots=True, robots_for="x.test")
    assert a.ask_robots(robots) is True
    assert b.ask_robots(robots) is False  # b found the host too: no second fetch
    b.add([Task("http://x.test/page", 1)])
    assert urls(b.take(10)) == ["http://x.test/robots.txt"]  # the page waits behind it
    answer = {"status": 200, "error_kind": None, "body": b"\xffDisallow: /", "blocked": None,
              "error_message": None}  # fmt: skip
    b.store_robots("x.test", answer)
    assert a.robots_answers(["x.test", "y.test"]) == {"x.test": answer}


def test_a_task_goes_back_only_while_it_is_its_owners(machines: Machines, clock: FakeClock) -> None:
    a, b = machines()
    a.add([Task("http://x.test/1", 1), Task("http://y.test/1", 1)])
    one, other = a.take(10)
    a.give_back(one)  # fenced, say: back at the front, the slot free
    assert a.queued() == 1 and urls(a.take(10)) == [one.url]
    clock.now += TTL_S + 1
    taken = b.take(10)  # a's leases ran out: b has both tasks now
    assert sorted(urls(taken)) == sorted([one.url, other.url])
    a.give_back(other)  # too late: b has it, nothing is queued twice
    a.finish("x.test", one)
    assert b.queued() == 0
    for task in taken:
        b.finish(task.host, task)
    assert b.settled()


def test_leaving_gives_back_what_was_in_flight_at_once(machines: Machines) -> None:
    a, b = machines()
    a.add([Task("http://x.test/1", 1)])
    (task,) = a.take(10)
    assert a.leave() == 1  # an interrupted machine: no wait for its lease
    (again,) = b.take(10)
    assert (again.url, again.deaths) == (task.url, 0)


def test_a_task_held_back_by_a_limit_waits_in_redis(machines: Machines) -> None:
    a, b = machines()
    a.add([Task("http://x.test/1", 1), Task("http://x.test/2", 1)])
    first, second = a.take(10)
    a.finish("x.test", first)
    a.hold_back(second)  # over --max-pages: not fetched, not lost
    assert a.queued() == 0 and a.settled()
    assert b.requeue_held() == 1  # a rerun with a higher limit
    assert urls(b.take(10)) == [second.url]


def test_hosts_of_another_owner_do_not_hide_a_free_one(
    machines: Machines, clock: FakeClock
) -> None:
    a, b = machines()
    a.add([Task(f"http://x{n}.test/0", 1) for n in range(30)])
    assert len(a.take(30)) == 30  # one of each host in flight: a owns them all
    a.add([Task(f"http://x{n}.test/1", 1) for n in range(30)])  # and each has more
    b.add([Task("http://z.test/1", 1), Task("http://z.test/2", 1)])
    clock.now += 1
    (first,) = b.take(1)
    b.finish("z.test", first)  # z.test is ready after a's hosts now
    clock.now += 1
    got = b.take(1) or b.take(1)  # a's busy hosts are skipped, then out of the way
    assert urls(got) == ["http://z.test/2"]


def test_a_call_sent_again_after_its_answer_was_lost_does_not_run_twice(
    machines: Machines,
) -> None:
    a, _ = machines()
    a._request_ids = iter([7, 7, 8, 8])  # as when the answer of a call was lost
    a.push([Task("http://x.test/1", 1)])
    a.push([Task("http://x.test/1", 1)])  # the same request again: nothing queued twice
    assert a.queued() == 1
    first = a.take(10)
    again = a.take(10)  # the same request again: the same task, none taken more
    assert urls(first) == urls(again) == ["http://x.test/1"]
    assert a.queued() == 0
    a.finish("x.test", first[0])
    assert a.settled()


def test_a_url_found_nearer_a_seed_before_it_is_fetched_takes_that_depth(
    machines: Machines,
) -> None:
    a, b = machines()
    assert a.add([Task("http://x.test/deep", 4, referrer="http://x.test/3")]) == [True]
    assert b.add([Task("http://x.test/deep", 1, referrer="http://x.test/")]) == [False]
    assert b.add([Task("http://x.test/deep", 2)]) == [False]  # never raised again
    (task,) = a.take(10)
    assert (task.depth, task.referrer) == (1, "http://x.test/3")


def test_links_added_later_come_back_as_the_same_tasks(machines: Machines) -> None:
    a, b = machines()
    links = [Task(f"http://x.test/p/{n}?a=1&b=%2F", 2, referrer="http://x.test/") for n in range(3)]
    news: list[list[bool]] = []
    a.add_later(links, news.append)
    b.add([Task("http://x.test/p/1?a=1&b=%2F", 1)])  # another machine's, and shallower
    a.flush()
    assert news == [[True, False, True]]
    seeds: list[list[bool]] = []
    a.add_later([Task("http://y.test/", 0)], seeds.append)
    taken = sorted(a.take(10) + a.take(10), key=lambda t: t.url)
    assert seeds == [[True]]
    assert [t.url for t in taken] == [
        "http://x.test/p/0?a=1&b=%2F", "http://x.test/p/1?a=1&b=%2F",
        "http://x.test/p/2?a=1&b=%2F", "http://y.test/",
    ]  # fmt: skip
    assert taken[0] == links[0] and taken[3] == Task("http://y.test/", 0)


def test_an_answer_of_a_task_taken_back_is_known_lost(
    machines: Machines, clock: FakeClock, redis_url: str
) -> None:
    a, b = machines()
    client = redis.Redis.from_url(redis_url)
    client.set("crawler:shared:spent", 5)  # a page budget in use (crawler/redis_budget.py)
    client.hset("crawler:shared:spent_per_host", "x.test", 5)
    a.add([Task("http://x.test/1", 1), Task("http://x.test/2", 1)])
    kept, lost = a.take(2)
    verdicts: list[list[bool]] = []
    a.check_later([kept, lost], verdicts.append)
    a.flush()
    assert verdicts == [[True, True]]
    a.finish("x.test", kept)
    a.flush()
    clock.now += TTL_S + 1  # a paused past its lease: b takes back what it had in flight
    (again,) = b.take(10)
    assert again.url == lost.url
    # Counted when a started it: given back, so that b counting it again spends one page.
    assert client.get("crawler:shared:spent") == b"4"
    assert client.hget("crawler:shared:spent_per_host", "x.test") == b"4"
    a.check_later([lost], verdicts.append)
    a.flush()
    assert verdicts[-1] == [False]  # a's answer must not count: b has the task


def test_still_own_asks_redis_once_the_lease_lapsed_here(redis_url: str) -> None:
    def one(owner: str) -> RedisFrontier:
        return RedisFrontier.from_url(
            redis_url, crawl="gate", owner=owner, delay_s=0.0, per_host=8, lease_ttl_s=0.3
        )

    def lapse() -> None:  # a's lease runs out by its own clock (and so in Redis)
        deadline = time.monotonic() + 5
        while a.deadline("x.test") + 0.1 > time.monotonic():
            assert time.monotonic() < deadline
            time.sleep(0.02)

    a, b = one("a"), one("b")
    a.add([Task("http://x.test/1", 1), Task("http://x.test/2", 1)])
    a.take(1)
    assert a.still_own(["x.test"]) == [True]  # by its own clock: no round trip
    lapse()
    assert a.still_own(["x.test"]) == [True]  # nobody took it back: renewed in Redis
    assert a.deadline("x.test") > time.monotonic()
    lapse()
    assert [t.url for t in b.take(2)] == ["http://x.test/1", "http://x.test/2"]  # b has it
    assert a.still_own(["x.test"]) == [False]


def test_links_sent_before_are_answered_by_the_seen_cache(machines: Machines) -> None:
    a, b = machines()
    answers: list[list[bool]] = []

    def links(depth: int, *paths: str) -> list[Task]:
        return [Task(f"http://x.test/{p}", depth, referrer="http://x.test/") for p in paths]

    a.add_later(links(2, "1", "2"), answers.append)
    a.flush()
    trips = a.round_trips
    a.add_later(links(2, "2", "1"), answers.append)  # sent at this depth before
    assert answers[-1] == [False, False] and a.round_trips == trips and a.seen_cached == 2
    b.add_later(links(3, "3"), answers.append)  # another machine's cache is its own
    b.flush()
    a.add_later(links(2, "3", "1"), answers.append)  # 3: a never sent it: Redis answers
    a.flush()
    assert answers[-1] == [False, False] and a.seen_cached == 3
    a.add_later(links(1, "1"), answers.append)  # nearer a seed: Redis lowers its depth
    a.flush()
    assert answers[-1] == [False] and a.seen_cached == 3
    (first, *_) = b.take(10)
    assert (first.url, first.depth) == ("http://x.test/1", 1)

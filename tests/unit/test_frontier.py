from __future__ import annotations

from crawler.frontier import ListOverflow, MemoryFrontier, Task


def admit_all(task: Task) -> bool:
    return True


def urls(tasks: list[Task | None]) -> list[str | None]:
    return [t.url if t else None for t in tasks]


def test_seen_set_dedups() -> None:
    f = MemoryFrontier(delay_s=0, per_host=8)
    assert f.mark_seen("http://a.test/")
    assert not f.mark_seen("http://a.test/")
    assert f.is_seen("http://a.test/")


def test_fifo_per_host_and_in_flight_cap() -> None:
    f = MemoryFrontier(delay_s=0, per_host=2)
    for n in range(3):
        f.push(Task(url=f"http://a.test/{n}", depth=0))
    got = [f.pop_ready(0.0, admit_all) for _ in range(3)]
    assert urls(got) == ["http://a.test/0", "http://a.test/1", None]
    f.finish("a.test", 0.0)
    assert urls([f.pop_ready(0.0, admit_all)]) == ["http://a.test/2"]
    assert f.queued() == 0


def test_delay_between_starts_and_next_wakeup() -> None:
    f = MemoryFrontier(delay_s=1.5, per_host=8)
    f.push(Task(url="http://a.test/1", depth=0))
    f.push(Task(url="http://a.test/2", depth=0))
    assert f.pop_ready(10.0, admit_all) is not None
    assert f.pop_ready(10.0, admit_all) is None
    assert f.next_wakeup() == 11.5
    assert f.pop_ready(11.4, admit_all) is None
    assert f.pop_ready(11.5, admit_all) is not None


def test_hosts_do_not_wait_for_each_other() -> None:
    f = MemoryFrontier(delay_s=5, per_host=1)
    f.push(Task(url="http://a.test/1", depth=0))
    f.push(Task(url="http://a.test/2", depth=0))
    f.push(Task(url="http://b.test/1", depth=0))
    got = urls([f.pop_ready(0.0, admit_all), f.pop_ready(0.0, admit_all)])
    assert sorted(got) == ["http://a.test/1", "http://b.test/1"]  # type: ignore[type-var]


def test_hold_lets_only_robots_through_until_release() -> None:
    f = MemoryFrontier(delay_s=0, per_host=8)
    f.hold("a.test")
    f.push(Task(url="http://a.test/page", depth=0))
    f.push(Task(url="http://a.test/robots.txt", depth=0, robots=True), front=True)
    assert urls([f.pop_ready(0.0, admit_all)]) == ["http://a.test/robots.txt"]
    assert f.pop_ready(0.0, admit_all) is None
    f.finish("a.test", 0.0)
    f.release("a.test", delay_s=3.0, now=0.0)  # Crawl-delay raises the host delay
    assert urls([f.pop_ready(0.0, admit_all)]) == [None]
    assert f.next_wakeup() == 3.0
    assert urls([f.pop_ready(3.0, admit_all)]) == ["http://a.test/page"]


def test_refused_tasks_do_not_use_the_politeness_slot() -> None:
    f = MemoryFrontier(delay_s=10, per_host=8)
    f.push(Task(url="http://a.test/private", depth=0))
    f.push(Task(url="http://a.test/public", depth=0))
    got = f.pop_ready(0.0, lambda t: "private" not in t.url)
    assert urls([got]) == ["http://a.test/public"]
    assert f.queued() == 0


def test_retry_waits_without_blocking_its_host() -> None:
    f = MemoryFrontier(delay_s=0, per_host=8)
    f.push(Task(url="http://a.test/retry", depth=0), front=True, not_before=5.0)
    f.push(Task(url="http://a.test/next", depth=0))
    assert urls([f.pop_ready(0.0, admit_all), f.pop_ready(0.0, admit_all)]) == [
        "http://a.test/next",
        None,
    ]
    assert f.next_wakeup() == 5.0
    assert urls([f.pop_ready(5.0, admit_all)]) == ["http://a.test/retry"]


def test_drain_empties_everything() -> None:
    f = MemoryFrontier(delay_s=0, per_host=8)
    f.push(Task(url="http://a.test/1", depth=0))
    f.push(Task(url="http://b.test/1", depth=0), not_before=9.0)
    assert sorted(t.url for t in f.drain()) == ["http://a.test/1", "http://b.test/1"]
    assert f.queued() == 0 and f.next_wakeup() is None


def test_robots_goes_first_even_when_a_hop_is_pushed_to_the_front_later() -> None:
    f = MemoryFrontier(delay_s=0, per_host=8)
    f.hold("b.test")
    f.push(Task(url="http://b.test/robots.txt", depth=0, robots=True))
    f.push(Task(url="http://b.test/hop", depth=1, origin="http://a.test/r"), front=True)
    assert urls([f.pop_ready(0.0, admit_all)]) == ["http://b.test/robots.txt"]
    assert f.pop_ready(0.0, admit_all) is None  # held until robots.txt is known
    f.finish("b.test", 0.0)
    f.release("b.test", None, 0.0)
    assert urls([f.pop_ready(0.0, admit_all)]) == ["http://b.test/hop"]


def test_long_host_queues_spill_and_come_back_in_order() -> None:
    overflow = ListOverflow()
    f = MemoryFrontier(delay_s=0, per_host=1000, host_memory=4, overflow=overflow)
    for n in range(10):
        f.push(Task(url=f"http://a.test/{n}", depth=1))
    assert f.queued() == 10
    assert len(overflow._queues["a.test"]) == 6  # only 4 held in memory
    got = [f.pop_ready(0.0, admit_all) for _ in range(11)]
    assert urls(got) == [f"http://a.test/{n}" for n in range(10)] + [None]
    assert f.queued() == 0


def test_spilled_tasks_are_drained_too() -> None:
    f = MemoryFrontier(delay_s=0, per_host=8, host_memory=2)
    for n in range(5):
        f.push(Task(url=f"http://a.test/{n}", depth=1))
    assert [t.url for t in f.drain()] == [f"http://a.test/{n}" for n in range(5)]
    assert f.queued() == 0


def test_max_depth_parks_deeper_hosts_until_lifted() -> None:
    f = MemoryFrontier(delay_s=0, per_host=8)
    f.push(Task(url="http://deep.test/1", depth=3))
    f.push(Task(url="http://shallow.test/1", depth=2))
    assert urls([f.pop_ready(0.0, admit_all, max_depth=2)]) == ["http://shallow.test/1"]
    assert f.pop_ready(0.0, admit_all, max_depth=2) is None
    assert urls([f.pop_ready(0.0, admit_all)]) == ["http://deep.test/1"]


def test_pop_next_follows_on_the_same_slot() -> None:
    f = MemoryFrontier(delay_s=0, per_host=1)
    for n in range(3):
        f.push(Task(url=f"http://a.test/{n}", depth=0))
    assert urls([f.pop_ready(0.0, admit_all)]) == ["http://a.test/0"]
    assert f.pop_ready(0.0, admit_all) is None  # the one slot is taken
    assert urls([f.pop_next("a.test", 0.0, admit_all)]) == ["http://a.test/1"]
    assert f.pop_ready(0.0, admit_all) is None  # still one request in flight
    f.finish("a.test", 0.0)  # the chain's last request ends
    assert urls([f.pop_ready(0.0, admit_all)]) == ["http://a.test/2"]
    assert f.queued() == 0


def test_pop_next_needs_a_request_in_flight_and_no_delay() -> None:
    f = MemoryFrontier(delay_s=0, per_host=2)
    f.push(Task(url="http://a.test/1", depth=0))
    assert f.pop_next("a.test", 0.0, admit_all) is None  # nothing of a.test in flight
    assert f.pop_next("unknown.test", 0.0, admit_all) is None
    slow = MemoryFrontier(delay_s=0.5, per_host=2)
    for n in range(2):
        slow.push(Task(url=f"http://a.test/{n}", depth=0))
    assert slow.pop_ready(0.0, admit_all) is not None
    assert slow.pop_next("a.test", 0.0, admit_all) is None  # the delay times each start


def test_pop_next_leaves_threads_to_other_ready_hosts_first() -> None:
    f = MemoryFrontier(delay_s=0, per_host=4)
    for url in ("http://a.test/0", "http://a.test/1", "http://b.test/0"):
        f.push(Task(url=url, depth=0))
    assert urls([f.pop_ready(0.0, admit_all)]) == ["http://a.test/0"]
    assert f.pop_next("a.test", 0.0, admit_all) is None  # b.test is ready and waiting
    assert urls([f.pop_ready(0.0, admit_all)]) == ["http://b.test/0"]
    assert urls([f.pop_next("a.test", 0.0, admit_all)]) == ["http://a.test/1"]


def test_pop_next_respects_hold_depth_limit_and_admit() -> None:
    f = MemoryFrontier(delay_s=0, per_host=4)
    for url in ("http://a.test/0", "http://a.test/private", "http://a.test/deep"):
        f.push(Task(url=url, depth=0 if "deep" not in url else 3))
    assert f.pop_ready(0.0, admit_all) is not None
    refused = f.pop_next("a.test", 0.0, lambda t: "private" not in t.url, max_depth=2)
    assert refused is None and f.queued() == 1  # private dropped, deep waits for its depth
    assert urls([f.pop_next("a.test", 0.0, admit_all)]) == ["http://a.test/deep"]
    # The host's heap entry outlives its queue, emptied by pop_next; pop_ready copes.
    assert f.pop_ready(0.0, admit_all, max_depth=2) is None
    assert f.pop_ready(0.0, admit_all) is None
    f.push(Task(url="http://a.test/robots.txt", depth=0, robots=True))
    f.hold("a.test")
    f.push(Task(url="http://a.test/late", depth=0))
    assert f.pop_next("a.test", 0.0, admit_all) is None  # robots.txt goes first

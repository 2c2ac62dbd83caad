"""crawler.depth_order: answers are read breadth-first whatever order they arrive in."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pytest

from crawler.depth_order import MAX_WAITING, BreadthFirst


def opened(*depths: int, max_waiting: int = MAX_WAITING) -> BreadthFirst[str]:
    order: BreadthFirst[str] = BreadthFirst(max_waiting)
    for depth in depths:
        order.open(depth)
    return order


# -- must_wait -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("open_depths", "depth", "expected"),
    [
        ((), 0, False),  # nothing open
        ((), 5, False),
        ((0,), 0, False),  # its own depth open: no wait
        ((0,), 1, True),  # a lower depth open
        ((0,), 3, True),
        ((1, 1, 2), 1, False),
        ((1, 1, 2), 2, True),
        ((2,), 1, False),  # only deeper records open
        ((3, 5), 4, True),
        ((3, 5), 3, False),
    ],
)
def test_must_wait_while_a_lower_depth_is_open(
    open_depths: tuple[int, ...], depth: int, expected: bool
) -> None:
    assert opened(*open_depths).must_wait(depth) is expected


def test_a_depth_closes_only_when_all_its_records_are_closed() -> None:
    order = opened(0, 0, 1)
    order.close(0)
    assert order.must_wait(1)  # one record of depth 0 still open
    order.close(0)
    assert not order.must_wait(1)
    assert order.must_wait(2)  # depth 1 is still open


def test_close_of_the_last_record_removes_the_depth() -> None:
    order = opened(0)
    order.close(0)
    # A depth whose count dropped to zero must not linger as "open" (min() of it).
    assert not order.must_wait(1)
    assert order.depth_limit() is None
    order.open(0)
    assert order.must_wait(1)  # and it can open again


# -- wait / take_ready -----------------------------------------------------------------


def test_take_ready_is_empty_with_nothing_waiting() -> None:
    order = opened(0)
    assert order.take_ready() == []
    assert order.take_ready(force=True) == []
    assert not order.has_waiting()


def test_take_ready_holds_a_batch_while_a_lower_depth_is_open() -> None:
    order = opened(0, 1)
    order.wait(1, "b")
    assert order.take_ready() == []
    assert order.has_waiting()
    order.close(0)
    assert order.take_ready() == ["b"]
    assert not order.has_waiting()
    assert order.take_ready() == []  # taken once


def test_take_ready_gives_the_lowest_waiting_depth_first_in_arrival_order() -> None:
    order = opened(0, 1, 2, 3)
    order.wait(3, "d1")
    order.wait(2, "c1")
    order.wait(3, "d2")
    order.wait(2, "c2")
    order.close(0)
    order.close(1)
    assert order.take_ready() == ["c1", "c2"]
    assert order.take_ready() == []  # depth 2 is still open: depth 3 waits
    order.close(2)
    assert order.take_ready() == ["d1", "d2"]
    assert not order.has_waiting()


def test_a_batch_comes_out_when_its_own_depth_is_still_open() -> None:
    # The waiting answers' own records are open until they are written.
    order = opened(1, 1, 2, 2)
    order.wait(2, "x")
    order.close(1)
    assert order.take_ready() == []
    order.close(1)
    assert order.take_ready() == ["x"]


def test_a_lower_depth_opened_again_holds_the_next_batch() -> None:
    order = opened(1, 2)
    order.wait(2, "x")
    order.open(0)  # e.g. a seed queued late (a resumed crawl)
    order.close(1)
    assert order.take_ready() == []
    order.close(0)
    assert order.take_ready() == ["x"]


def test_force_gives_every_batch_lowest_depth_first() -> None:
    order = opened(0, 1, 2, 3)
    order.wait(3, "d")
    order.wait(2, "c")
    order.wait(3, "e")
    assert order.take_ready() == []
    assert order.take_ready(force=True) == ["c"]
    assert order.take_ready(force=True) == ["d", "e"]
    assert order.take_ready(force=True) == []
    assert not order.has_waiting()


def test_has_waiting_counts_items_not_depths() -> None:
    order = opened(0, 1, 2)
    order.wait(1, "a")
    order.wait(2, "b")
    order.close(0)
    assert order.take_ready() == ["a"]
    assert order.has_waiting()  # "b" is still there
    order.close(1)
    assert order.take_ready() == ["b"]
    assert not order.has_waiting()


# -- depth_limit -----------------------------------------------------------------------


def test_depth_limit_is_none_below_max_waiting() -> None:
    order = opened(0, 1, 2, max_waiting=3)
    order.wait(2, "a")
    order.wait(2, "b")
    assert order.depth_limit() is None


def test_depth_limit_is_the_lowest_open_depth_at_max_waiting() -> None:
    order = opened(1, 1, 2, 3, max_waiting=3)
    order.wait(2, "a")
    order.wait(3, "b")
    order.wait(3, "c")
    assert order.depth_limit() == 1
    order.close(1)
    assert order.depth_limit() == 1  # one record of depth 1 still open
    order.close(1)
    assert order.depth_limit() == 2  # still 3 waiting: the next lowest open depth
    assert order.take_ready() == ["a"]
    assert order.depth_limit() is None  # 2 waiting now: below the bound


def test_depth_limit_is_none_when_nothing_is_open() -> None:
    order = opened(max_waiting=1)
    order.wait(4, "a")
    order.wait(4, "b")
    assert order.depth_limit() is None


def test_depth_limit_with_max_waiting_one() -> None:
    order = opened(0, 1, max_waiting=1)
    assert order.depth_limit() is None
    order.wait(1, "a")
    assert order.depth_limit() == 0
    order.close(0)
    assert order.take_ready() == ["a"]
    assert order.depth_limit() is None


def test_depth_limit_is_lifted_by_force() -> None:
    order = opened(0, 2, max_waiting=2)
    order.wait(2, "a")
    order.wait(2, "b")
    assert order.depth_limit() == 0
    assert order.take_ready(force=True) == ["a", "b"]
    assert order.depth_limit() is None


# -- a scripted crawl ------------------------------------------------------------------


class Crawl:
    """A tiny driver doing what the coordinator does with BreadthFirst: queue, answer,
    wait, handle (follow links, write the record), and drain take_ready()."""

    def __init__(self, graph: Mapping[str, Sequence[str]], seeds: Sequence[str]) -> None:
        self.graph = graph
        self.order: BreadthFirst[str] = BreadthFirst()
        self.depth: dict[str, int] = {}
        self.referrer: dict[str, str | None] = {}
        self.handled: list[str] = []
        for seed in seeds:
            self._queue(seed, 0, None)

    def _queue(self, url: str, depth: int, referrer: str | None) -> None:
        if url in self.depth:
            return
        self.depth[url] = depth
        self.referrer[url] = referrer
        self.order.open(depth)

    def answer(self, url: str) -> None:
        assert url in self.depth, f"{url} answered before it was queued"
        depth = self.depth[url]
        if self.order.must_wait(depth):
            self.order.wait(depth, url)
        else:
            self._handle(url)
        while batch := self.order.take_ready():
            for waiting in batch:
                self._handle(waiting)

    def _handle(self, url: str) -> None:
        depth = self.depth[url]
        for link in self.graph.get(url, ()):
            self._queue(link, depth + 1, url)
        self.order.close(depth)
        self.handled.append(url)


def test_answers_out_of_order_come_out_breadth_first() -> None:
    # S1 -> A -> X and S2 -> X: A's answer arrives before S2's. Read at once, A would
    # claim X at depth 2; held until S2 is done, X gets depth 1 with S2 as referrer.
    crawl = Crawl({"S1": ["A"], "A": ["X", "Y"], "S2": ["X"], "X": ["Z"]}, ["S1", "S2"])
    crawl.answer("S1")
    crawl.answer("A")
    assert crawl.handled == ["S1"]  # A waits for S2
    assert crawl.order.has_waiting()
    crawl.answer("S2")
    assert crawl.handled == ["S1", "S2", "A"]
    assert crawl.depth["X"] == 1 and crawl.referrer["X"] == "S2"
    assert crawl.depth["Y"] == 2 and crawl.referrer["Y"] == "A"
    crawl.answer("Y")  # depth 2 while X (depth 1) is open: waits
    crawl.answer("X")
    crawl.answer("Z")
    assert crawl.handled == ["S1", "S2", "A", "X", "Y", "Z"]
    assert crawl.depth == {"S1": 0, "S2": 0, "A": 1, "X": 1, "Y": 2, "Z": 2}
    assert not crawl.order.has_waiting()
    assert not crawl.order.must_wait(99)  # every record closed


@pytest.mark.parametrize(
    "arrivals",
    [
        ["S", "A", "B", "C", "D", "E", "F"],  # in order
        ["S", "B", "A", "E", "D", "C", "F"],  # reversed within each depth
        ["S", "A", "D", "E", "B", "F", "C"],  # D before B: read at once, D claims C at 3
        ["S", "A", "E", "D", "B", "C", "F"],
    ],
)
def test_every_arrival_order_gives_the_same_depths(arrivals: list[str]) -> None:
    # S -> A, B; A -> D; B -> C; D -> C (deeper path to C); C, E -> F.
    graph = {"S": ["A", "B"], "A": ["D", "E"], "B": ["C"], "D": ["C"], "E": ["F"], "C": ["F"]}
    crawl = Crawl(graph, ["S"])
    for url in arrivals:
        crawl.answer(url)
    assert crawl.depth == {"S": 0, "A": 1, "B": 1, "C": 2, "D": 2, "E": 2, "F": 3}
    assert crawl.referrer["C"] == "B"
    handled_depths = [crawl.depth[url] for url in crawl.handled]
    assert handled_depths == sorted(handled_depths)
    assert sorted(crawl.handled) == sorted(graph.keys() | {"F"})

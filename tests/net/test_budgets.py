"""The page budget (--max-pages, --max-pages-per-host, spent when a record starts), run
against both implementations: the in-process PageBudget and the RedisBudget that every
machine of a crawl shares (a real redis-server, or the test skips saying why)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
import redis

from crawler.budgets import Budget, PageBudget
from crawler.redis_budget import RedisBudget

MakeBudget = Callable[..., Budget]
_crawls = itertools.count()


@pytest.fixture(params=["memory", "redis"])
def make(request: pytest.FixtureRequest) -> MakeBudget:
    if request.param == "memory":
        return PageBudget
    client = redis.Redis.from_url(request.getfixturevalue("redis_url"))

    def redis_budget(max_pages: int = 0, max_per_host: int = 0) -> Budget:
        return RedisBudget(client, f"crawler:budget{next(_crawls)}:", max_pages, max_per_host)

    return redis_budget


A = "a.com"
B = "b.com:8080"


def test_no_limit_always_has_room(make: MakeBudget) -> None:
    budget = make()
    for _ in range(1000):
        assert budget.has_room(A)
        budget.spend(A)
    assert budget.has_room(A) and budget.has_room(B)
    assert budget.started == 1000


def test_zero_means_no_limit(make: MakeBudget) -> None:
    budget = make(max_pages=0, max_per_host=0)
    budget.restore({A: 10**6})
    assert budget.has_room(A)


def test_nothing_started_at_first(make: MakeBudget) -> None:
    assert make(3, 2).started == 0


@pytest.mark.parametrize("max_pages", [1, 2, 5])
def test_max_pages_boundary(make: MakeBudget, max_pages: int) -> None:
    budget = make(max_pages=max_pages)
    for i in range(max_pages):
        assert budget.has_room(A if i % 2 else B), i
        budget.spend(A if i % 2 else B)
    assert not budget.has_room(A)
    assert not budget.has_room(B)
    assert not budget.has_room("new.org")  # the total limit spares no host
    assert budget.started == max_pages


def test_has_room_changes_nothing(make: MakeBudget) -> None:
    budget = make(max_pages=1)
    for _ in range(5):
        assert budget.has_room(A)
    assert budget.started == 0
    budget.spend(A)
    assert not budget.has_room(A)


def test_per_host_limit_is_per_host(make: MakeBudget) -> None:
    budget = make(max_per_host=2)
    budget.spend(A)
    assert budget.has_room(A)
    budget.spend(A)
    assert not budget.has_room(A)
    assert budget.has_room(B)  # another host keeps its own budget
    budget.spend(B)
    budget.spend(B)
    assert not budget.has_room(B)
    assert budget.has_room("c.com")
    assert budget.started == 4


def test_host_keys_differ_by_port(make: MakeBudget) -> None:
    budget = make(max_per_host=1)
    budget.spend("a.com")
    assert not budget.has_room("a.com")
    assert budget.has_room("a.com:8080")


@pytest.mark.parametrize(
    ("max_pages", "max_per_host", "spent", "host", "room"),
    [
        (3, 2, [A], A, True),
        (3, 2, [A, A], A, False),  # per host first
        (3, 2, [A, A], B, True),
        (3, 2, [A, A, B], B, False),  # then the total, though B has one left
        (3, 2, [A, B, B], A, False),
        (5, 1, [A], A, False),
        (5, 1, [A, B], "c.com", True),
        (2, 5, [A, A], A, False),  # the total is the smaller one
        (2, 5, [A, A], B, False),
    ],
)
def test_both_limits(
    make: MakeBudget, max_pages: int, max_per_host: int, spent: list[str], host: str, room: bool
) -> None:
    budget = make(max_pages, max_per_host)
    for spent_host in spent:
        budget.spend(spent_host)
    assert budget.has_room(host) is room


def test_restore_counts_an_earlier_runs_records(make: MakeBudget) -> None:
    budget = make(max_pages=5, max_per_host=3)
    budget.restore({A: 3, B: 1})
    assert budget.started == 4
    assert not budget.has_room(A)  # A's per-host budget was used up by the earlier run
    assert budget.has_room(B)
    budget.spend(B)
    assert budget.started == 5
    assert not budget.has_room(B)  # the total is used up now
    assert not budget.has_room("c.com")


def test_restore_adds_to_what_is_spent(make: MakeBudget) -> None:
    budget = make(max_per_host=3)
    budget.spend(A)
    budget.restore({A: 1})
    assert budget.has_room(A)
    budget.restore({A: 1})
    assert not budget.has_room(A)
    assert budget.started == 3


def test_restore_of_nothing(make: MakeBudget) -> None:
    budget = make(max_pages=1)
    budget.restore({})
    assert budget.started == 0
    assert budget.has_room(A)


def test_restore_past_the_limit_leaves_no_room(make: MakeBudget) -> None:
    budget = make(max_pages=2)
    budget.restore({A: 7})  # a rerun with a lower --max-pages
    assert budget.started == 7
    assert not budget.has_room(B)


def test_try_spend_checks_and_spends_in_one_step(make: MakeBudget) -> None:
    budget = make(max_pages=3, max_per_host=2)
    assert [budget.try_spend(A) for _ in range(3)] == [True, True, False]  # A's 2
    assert budget.try_spend(B) and not budget.try_spend(B)  # the total's 3
    assert budget.started == 3


def test_two_shared_budgets_never_spend_past_the_limit(redis_url: str) -> None:
    # Two machines' budgets of one crawl: the last page goes to exactly one of them.
    client = redis.Redis.from_url(redis_url)
    first = RedisBudget(client, "crawler:shared:", max_pages=5)
    second = RedisBudget(client, "crawler:shared:", max_pages=5)
    spent = [budget.try_spend(A) for _ in range(4) for budget in (first, second)]
    assert spent.count(True) == 5 and first.started == second.started == 5

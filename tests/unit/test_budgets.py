"""crawler.budgets: --max-pages and --max-pages-per-host, spent when a record starts."""

from __future__ import annotations

import pytest

from crawler.budgets import PageBudget

A = "a.com"
B = "b.com:8080"


def test_no_limit_always_has_room() -> None:
    budget = PageBudget()
    for _ in range(1000):
        assert budget.has_room(A)
        budget.spend(A)
    assert budget.has_room(A) and budget.has_room(B)
    assert budget.started == 1000


def test_zero_means_no_limit() -> None:
    budget = PageBudget(max_pages=0, max_per_host=0)
    budget.restore({A: 10**6})
    assert budget.has_room(A)


def test_nothing_started_at_first() -> None:
    assert PageBudget(3, 2).started == 0


@pytest.mark.parametrize("max_pages", [1, 2, 5])
def test_max_pages_boundary(max_pages: int) -> None:
    budget = PageBudget(max_pages=max_pages)
    for i in range(max_pages):
        assert budget.has_room(A if i % 2 else B), i
        budget.spend(A if i % 2 else B)
    assert not budget.has_room(A)
    assert not budget.has_room(B)
    assert not budget.has_room("new.org")  # the total limit spares no host
    assert budget.started == max_pages


def test_has_room_changes_nothing() -> None:
    budget = PageBudget(max_pages=1)
    for _ in range(5):
        assert budget.has_room(A)
    assert budget.started == 0
    budget.spend(A)
    assert not budget.has_room(A)


def test_per_host_limit_is_per_host() -> None:
    budget = PageBudget(max_per_host=2)
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


def test_host_keys_differ_by_port() -> None:
    budget = PageBudget(max_per_host=1)
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
    max_pages: int, max_per_host: int, spent: list[str], host: str, room: bool
) -> None:
    budget = PageBudget(max_pages, max_per_host)
    for spent_host in spent:
        budget.spend(spent_host)
    assert budget.has_room(host) is room


def test_restore_counts_an_earlier_runs_records() -> None:
    budget = PageBudget(max_pages=5, max_per_host=3)
    budget.restore({A: 3, B: 1})
    assert budget.started == 4
    assert not budget.has_room(A)  # A's per-host budget was used up by the earlier run
    assert budget.has_room(B)
    budget.spend(B)
    assert budget.started == 5
    assert not budget.has_room(B)  # the total is used up now
    assert not budget.has_room("c.com")


def test_restore_adds_to_what_is_spent() -> None:
    budget = PageBudget(max_per_host=3)
    budget.spend(A)
    budget.restore({A: 1})
    assert budget.has_room(A)
    budget.restore({A: 1})
    assert not budget.has_room(A)
    assert budget.started == 3


def test_restore_of_nothing() -> None:
    budget = PageBudget(max_pages=1)
    budget.restore({})
    assert budget.started == 0
    assert budget.has_room(A)


def test_restore_past_the_limit_leaves_no_room() -> None:
    budget = PageBudget(max_pages=2)
    budget.restore({A: 7})  # a rerun with a lower --max-pages
    assert budget.started == 7
    assert not budget.has_room(B)

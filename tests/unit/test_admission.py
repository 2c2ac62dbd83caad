"""crawler.admission: may a queued request start (robots.txt, then the page budget)?"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from crawler.admission import Verdict, admit
from crawler.budgets import PageBudget
from crawler.frontier import Task

URL = "http://ex.com/page"


def full_budget() -> PageBudget:
    budget = PageBudget(max_pages=1)
    budget.spend("other.org")
    assert not budget.has_room("ex.com")
    return budget


def full_host_budget() -> PageBudget:
    budget = PageBudget(max_per_host=1)
    budget.spend("ex.com")
    return budget


def page(*, counted: bool = False, redirects: list[str] | None = None) -> Task:
    return Task(url=URL, depth=1, counted=counted, redirects=redirects or [])


def robots_task() -> Task:
    return Task(url="http://ex.com/robots.txt", depth=0, robots=True)


@pytest.mark.parametrize("robots_allowed", [True, False])
@pytest.mark.parametrize("make_budget", [PageBudget, full_budget, full_host_budget])
def test_robots_txt_fetches_always_start(
    robots_allowed: bool, make_budget: Callable[[], PageBudget]
) -> None:
    assert admit(robots_task(), robots_allowed, make_budget()) is Verdict.START


def test_robots_txt_redirect_hop_to_another_host_starts() -> None:
    hop = Task(
        url="http://cdn.org/robots.txt",
        depth=0,
        robots=True,
        robots_for="ex.com",
        redirects=["http://ex.com/robots.txt"],
    )
    assert admit(hop, False, full_budget()) is Verdict.START


def test_a_page_with_room_starts() -> None:
    assert admit(page(), True, PageBudget()) is Verdict.START
    assert admit(page(), True, PageBudget(max_pages=1, max_per_host=1)) is Verdict.START


@pytest.mark.parametrize("counted", [False, True])
def test_robots_disallowed(counted: bool) -> None:
    # A redirect hop or a retry is checked against robots.txt again.
    task = page(counted=counted, redirects=["http://ex.com/old"] if counted else None)
    assert admit(task, False, PageBudget()) is Verdict.ROBOTS_EXCLUDED


@pytest.mark.parametrize("make_budget", [full_budget, full_host_budget])
def test_an_uncounted_task_over_budget(make_budget: Callable[[], PageBudget]) -> None:
    budget = make_budget()
    assert admit(page(), True, budget) is Verdict.OVER_BUDGET


def test_per_host_budget_is_of_the_tasks_host() -> None:
    budget = PageBudget(max_per_host=1)
    budget.spend("other.org")
    assert admit(page(), True, budget) is Verdict.START
    budget.spend("ex.com")
    assert admit(page(), True, budget) is Verdict.OVER_BUDGET


@pytest.mark.parametrize("make_budget", [full_budget, full_host_budget])
def test_counted_tasks_pass_a_full_budget(make_budget: Callable[[], PageBudget]) -> None:
    budget = make_budget()
    # Redirect hops and retries belong to a record that was counted when it started.
    hop = page(counted=True, redirects=["http://ex.com/old"])
    assert admit(hop, True, budget) is Verdict.START
    retry = Task(url=URL, depth=1, counted=True, retries=1, hop_retries=1)
    assert admit(retry, True, budget) is Verdict.START


@pytest.mark.parametrize("make_budget", [full_budget, full_host_budget])
def test_robots_is_checked_before_the_budget(make_budget: Callable[[], PageBudget]) -> None:
    budget = make_budget()
    assert admit(page(), False, budget) is Verdict.ROBOTS_EXCLUDED


def test_admit_changes_nothing() -> None:
    budget = PageBudget(max_pages=1)
    task = page()
    for _ in range(3):
        assert admit(task, True, budget) is Verdict.START
    assert budget.started == 0  # the coordinator spends, not admit()
    assert not task.counted


@pytest.mark.parametrize("robots_allowed", [False, True])
def test_a_refused_host_comes_before_its_robots_rules(robots_allowed: bool) -> None:
    task = Task(url="http://169.254.169.254/x", depth=1)
    verdict = admit(task, robots_allowed, PageBudget(), host_refused=True)
    assert verdict is Verdict.HOST_REFUSED


def test_a_refused_hosts_records_use_the_budget() -> None:
    # They are records (blocked_address, robots_unavailable): --max-pages holds for them.
    full = PageBudget(max_pages=1)
    full.spend("other.test")
    fresh = Task(url="http://dead.test/x", depth=1)
    assert admit(fresh, True, full, host_refused=True) is Verdict.OVER_BUDGET
    hop = Task(url="http://dead.test/x", depth=1, counted=True)  # its record is counted
    assert admit(hop, True, full, host_refused=True) is Verdict.HOST_REFUSED


def test_robots_fetches_are_never_refused_here() -> None:
    # A robots.txt request goes to the fetcher, whose guard refuses it itself.
    task = Task(url="http://10.0.0.5/robots.txt", depth=0, robots=True)
    assert admit(task, False, PageBudget(), host_refused=True) is Verdict.START

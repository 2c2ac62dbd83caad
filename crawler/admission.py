"""Admission: the last decision before a queued request starts.

Pure: a verdict from the task, what robots.txt says of its URL, and the page budget.
The coordinator acts on the verdict (counts, writes a record, gives the host's slot
back); nothing here changes state.
"""

from __future__ import annotations

from enum import Enum

from crawler.budgets import PageBudget
from crawler.frontier import Task


class Verdict(Enum):
    START = "start"
    BLOCKED_ADDRESS = "blocked_address"  # the host's addresses are refused by the guard
    ROBOTS_EXCLUDED = "robots_excluded"  # robots.txt disallows the URL
    OVER_BUDGET = "over_budget"  # --max-pages or --max-pages-per-host is reached


def admit(task: Task, robots_allowed: bool, budget: PageBudget, blocked: bool = False) -> Verdict:
    """May `task`'s request start now?

    robots.txt fetches always may. A host the address guard refused is refused before
    robots.txt is asked (its robots.txt never got a request either). A record's redirect
    hops and retries were counted against the budget when its first request started;
    each hop is checked against robots.txt again (a hop to a disallowed URL ends its
    chain).
    """
    if task.robots:
        return Verdict.START
    if blocked:
        return Verdict.BLOCKED_ADDRESS
    if not robots_allowed:
        return Verdict.ROBOTS_EXCLUDED
    if not task.counted and not budget.has_room(task.host):
        return Verdict.OVER_BUDGET
    return Verdict.START

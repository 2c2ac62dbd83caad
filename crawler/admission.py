"""Admission: the last decision before a queued request starts.

Pure: a verdict from the task, what robots.txt says of its URL, and the page budget.
The coordinator acts on the verdict (counts, writes a record, gives the host's slot
back); nothing here changes state.
"""

from __future__ import annotations

from enum import Enum

from crawler.budgets import Budget
from crawler.frontier import Task


class Verdict(Enum):
    START = "start"
    # The host is refused before its robots.txt rules apply (the address guard refused
    # it, or its robots.txt is unavailable): the task becomes a record saying why.
    HOST_REFUSED = "host_refused"
    ROBOTS_EXCLUDED = "robots_excluded"  # robots.txt disallows the URL
    OVER_BUDGET = "over_budget"  # --max-pages or --max-pages-per-host is reached


def admit(task: Task, robots_allowed: bool, budget: Budget, host_refused: bool = False) -> Verdict:
    """May `task`'s request start now?

    robots.txt fetches always may. A refused host's URLs are records all the same, so
    they use the page budget like any record; a refused host comes before its robots.txt
    rules (a host the address guard refused never had its robots.txt asked). A record's
    redirect hops and retries were counted against the budget when its first request
    started; each hop is checked against robots.txt again (a hop to a disallowed URL
    ends its chain).
    """
    if task.robots:
        return Verdict.START
    if host_refused:
        return (
            Verdict.HOST_REFUSED
            if task.counted or budget.has_room(task.host)
            else Verdict.OVER_BUDGET
        )
    if not robots_allowed:
        return Verdict.ROBOTS_EXCLUDED
    if not task.counted and not budget.has_room(task.host):
        return Verdict.OVER_BUDGET
    return Verdict.START

"""Which of a page's links the crawl follows: the rules before the seen set.

Pure. Links marked nofollow are listed in the record but not followed; links out of
scope are only counted (once each: the frontier's seen set tells new from known); links
past --max-depth are neither followed nor counted as duplicates.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from crawler.scope import Scope


@dataclass(frozen=True, slots=True)
class LinkPlan:
    follow: list[str]  # in scope and within --max-depth: queue those not seen yet
    out_of_scope: list[str]  # to mark seen; each new one counts in stats.out_of_scope


def plan_links(
    links: Sequence[str], nofollow: Collection[str], depth: int, max_depth: int, scope: Scope
) -> LinkPlan:
    """Sort the links of a page whose links are at `depth` (one more than the page's)."""
    skip = set(nofollow)
    follow: list[str] = []
    out_of_scope: list[str] = []
    within_depth = depth <= max_depth
    allows = scope.allows
    for link in links:
        if link in skip:
            continue
        if not allows(link):
            out_of_scope.append(link)
        elif within_depth:
            follow.append(link)
    return LinkPlan(follow, out_of_scope)

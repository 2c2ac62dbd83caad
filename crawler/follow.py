"""Which of a page's links the crawl follows: the rules before the seen set.

Pure. Links marked nofollow are listed in the record but not followed; links out of
scope, links whose file extension --accept-ext / --reject-ext refuse, and links past
--max-depth are not followed and are counted, each distinct URL once (the caller tells
new from known).
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass

from crawler.scope import Scope


@dataclass(frozen=True, slots=True)
class LinkPlan:
    follow: list[str]  # in scope, accepted, within --max-depth: queue those not seen yet
    out_of_scope: list[str]  # each new one counts in stats.out_of_scope
    rejected: list[str]  # by file extension; each new one counts in stats.rejected
    beyond_depth: list[str]  # past --max-depth; each new one counts in stats.beyond_depth


def plan_links(
    links: Sequence[str],
    nofollow: Collection[str],
    depth: int,
    max_depth: int,
    scope: Scope,
    accept_ext: Collection[str] = (),
    reject_ext: Collection[str] = (),
) -> LinkPlan:
    """Sort the links of a page whose links are at `depth` (one more than the page's).

    The checks go in this order: nofollow, scope, extension, depth.
    """
    skip = set(nofollow)
    plan = LinkPlan([], [], [], [])
    within_depth = depth <= max_depth
    allows = scope.allows
    check_ext = bool(accept_ext or reject_ext)
    for link in links:
        if link in skip:
            continue
        if not allows(link):
            plan.out_of_scope.append(link)
        elif check_ext and not extension_allowed(link, accept_ext, reject_ext):
            plan.rejected.append(link)
        elif within_depth:
            plan.follow.append(link)
        else:
            plan.beyond_depth.append(link)
    return plan


def extension_allowed(url: str, accept: Collection[str], reject: Collection[str]) -> bool:
    """May a link with this URL be followed by its file extension (wget's -A/-R)?

    The extension is that of the path's last segment ("a.tar.gz" has "gz" and "tar.gz"),
    compared case-insensitively with the lists (lower-case, no leading dot). A URL whose
    last segment has no extension always passes.
    """
    path = url.split("?", 1)[0]  # canonical: no fragment, and always a path after the host
    segment = path[path.rfind("/") + 1 :].lower()
    if "." not in segment.strip("."):
        return True

    def has(extension: str) -> bool:
        return segment.endswith("." + extension)

    if any(has(extension) for extension in reject):
        return False
    return not accept or any(has(extension) for extension in accept)

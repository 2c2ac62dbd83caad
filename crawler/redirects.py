"""The redirect hop decision: where a page's 3xx answer leads, or why the chain ends there.

Pure. The crawler follows redirects itself, one hop at a time, so that every hop is
canonicalized, checked against the scope and robots.txt, deduplicated and sent through
its host's politeness gate (docs/contract.md#redirects). This module decides the first
part; whether the target was seen already is the frontier's answer (one atomic step with
queueing the hop), and robots.txt is checked when the hop is about to start.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from crawler.errors import ErrorKind
from crawler.records import ErrorInfo, error_info
from crawler.scope import Scope
from crawler.urls import InvalidURL, canonicalize

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})


@dataclass(frozen=True, slots=True)
class Follow:
    """Request `target` next, as a hop of the same record."""

    target: str
    chain: list[str]  # the record's redirects: every URL that answered 3xx, in order


@dataclass(frozen=True, slots=True)
class Stop:
    """The chain ends at this answer with an error; the record keeps the 3xx status."""

    chain: list[str]
    final_url: str | None  # the refused target, canonical; None if it is not a URL
    error: ErrorInfo


def is_redirect(status: int | None, location: str | None) -> bool:
    """An answer the crawler follows: a redirect status with a Location to go to."""
    return status in REDIRECT_STATUSES and bool(location)


def next_hop(
    url: str, location: str, redirects: Sequence[str], max_redirects: int, scope: Scope
) -> Follow | Stop:
    """Decide the hop from `url`, which answered a redirect to `location`.

    `redirects` are the URLs of the record's chain before `url`. Checks, in order: the
    target is an http(s) URL, it is not a URL of the chain (a loop), the chain is not
    longer than `max_redirects`, the target is in scope.
    """
    chain = [*redirects, url]
    try:
        target = canonicalize(location, base=url)
    except InvalidURL as exc:
        return Stop(
            chain, None, _error(ErrorKind.OUT_OF_SCOPE_REDIRECT, f"redirect to {location!r}: {exc}")
        )
    if target in chain:
        return Stop(
            chain, target, _error(ErrorKind.TOO_MANY_REDIRECTS, f"redirect loop back to {target}")
        )
    if len(chain) > max_redirects:
        return Stop(
            chain,
            target,
            _error(
                ErrorKind.TOO_MANY_REDIRECTS, f"more than {max_redirects} redirects, next {target}"
            ),
        )
    if not scope.allows(target):
        return Stop(
            chain,
            target,
            _error(ErrorKind.OUT_OF_SCOPE_REDIRECT, f"redirect out of scope to {target}"),
        )
    return Follow(target, chain)


def _error(kind: ErrorKind, message: str) -> ErrorInfo:
    info = error_info(kind, message)
    assert info is not None  # a kind was given
    return info

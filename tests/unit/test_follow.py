"""crawler.follow: which links of a page are followed, and why the others are not."""

from __future__ import annotations

import pytest

from crawler.follow import LinkPlan, extension_allowed, plan_links
from crawler.scope import Scope

SCOPE = Scope.build(["http://ex.com/"], "host")
IN = ["http://ex.com/a", "http://ex.com/b", "http://ex.com/c"]
OUT = ["http://other.com/x", "http://ex.com:8080/y"]


def plan(
    links: list[str], nofollow: list[str] | None = None, depth: int = 1, max_depth: int = 5
) -> LinkPlan:
    return plan_links(links, nofollow or [], depth, max_depth, SCOPE)


def test_no_links() -> None:
    assert plan([]) == LinkPlan([], [], [], [])


def test_in_scope_links_are_followed_out_of_scope_listed() -> None:
    result = plan([IN[0], OUT[0], IN[1], OUT[1]])
    assert result.follow == [IN[0], IN[1]]
    assert result.out_of_scope == [OUT[0], OUT[1]]


def test_order_is_kept() -> None:
    links = [IN[2], OUT[1], IN[0], OUT[0], IN[1]]
    result = plan(links)
    assert result.follow == [IN[2], IN[0], IN[1]]
    assert result.out_of_scope == [OUT[1], OUT[0]]


def test_nofollow_is_skipped_entirely() -> None:
    result = plan([*IN, *OUT], nofollow=[IN[1], OUT[0]])
    assert result.follow == [IN[0], IN[2]]
    assert result.out_of_scope == [OUT[1]]  # a nofollow link is not counted out of scope


def test_nofollow_may_be_any_collection() -> None:
    result = plan_links([*IN, *OUT], frozenset({IN[0], OUT[1]}), 1, 5, SCOPE)
    assert result == LinkPlan([IN[1], IN[2]], [OUT[0]], [], [])


def test_nofollow_names_no_link_of_the_page() -> None:
    assert plan(IN, nofollow=["http://ex.com/elsewhere"]).follow == IN


def test_every_link_nofollow() -> None:
    assert plan([*IN, *OUT], nofollow=[*IN, *OUT]) == LinkPlan([], [], [], [])


@pytest.mark.parametrize(
    ("depth", "max_depth", "followed"),
    [
        (1, 0, False),  # --max-depth 0: only the seeds
        (1, 1, True),
        (2, 1, False),
        (5, 5, True),  # links at max_depth are followed
        (6, 5, False),  # links of a page at max_depth are not
        (10, 5, False),
    ],
)
def test_depth_boundary(depth: int, max_depth: int, followed: bool) -> None:
    result = plan([*IN, *OUT], depth=depth, max_depth=max_depth)
    assert result.follow == (IN if followed else [])
    assert result.beyond_depth == ([] if followed else IN)
    assert result.out_of_scope == OUT  # listed whatever the depth


def test_out_of_scope_beyond_max_depth_skips_nofollow_still() -> None:
    result = plan([*IN, *OUT], nofollow=[OUT[0]], depth=3, max_depth=2)
    assert result == LinkPlan([], [OUT[1]], [], IN)


@pytest.mark.parametrize(
    ("allow", "deny", "followed"),
    [
        ([], [r"/b$"], ["http://ex.com/a", "http://ex.com/c"]),
        ([r"/[ab]$"], [], ["http://ex.com/a", "http://ex.com/b"]),
        ([r"/[ab]$"], [r"/a"], ["http://ex.com/b"]),
    ],
)
def test_patterns_decide_scope(allow: list[str], deny: list[str], followed: list[str]) -> None:
    scope = Scope.build(["http://ex.com/"], "host", allow, deny)
    result = plan_links(IN, [], 1, 5, scope)
    assert result.follow == followed
    assert result.out_of_scope == [link for link in IN if link not in followed]


def test_domain_and_any_scope() -> None:
    links = ["http://ex.com/", "http://sub.ex.com/", "http://other.com/"]
    domain = plan_links(links, [], 1, 5, Scope.build(["http://ex.com/"], "domain"))
    assert domain == LinkPlan(links[:2], links[2:], [], [])
    every = plan_links(links, [], 1, 5, Scope.build(["http://ex.com/"], "any"))
    assert every == LinkPlan(links, [], [], [])


@pytest.mark.parametrize(
    ("url", "accept", "reject", "allowed"),
    [
        ("http://ex.com/a.tar.gz", (), ("gz",), False),
        ("http://ex.com/a.tar.gz", (), ("tar.gz",), False),
        ("http://ex.com/a.TAR.GZ", (), ("gz",), False),  # case-insensitive
        ("http://ex.com/a.tgz", (), ("gz",), True),  # not a ".gz" suffix
        ("http://ex.com/a.html", ("html", "htm"), (), True),
        ("http://ex.com/a.pdf", ("html", "htm"), (), False),  # not accepted
        ("http://ex.com/a", ("html",), (), True),  # no extension: always passes
        ("http://ex.com/", ("html",), ("gz",), True),
        ("http://ex.com/dir.gz/page", (), ("gz",), True),  # the last segment only
        ("http://ex.com/a.html?f=x.gz", (), ("gz",), True),  # not the query
        ("http://ex.com/.profile", (), ("profile",), True),  # a dot file has none
        ("http://ex.com/a.html", ("html",), ("html",), False),  # reject wins
    ],
)
def test_extension_allowed(
    url: str, accept: tuple[str, ...], reject: tuple[str, ...], allowed: bool
) -> None:
    assert extension_allowed(url, accept, reject) is allowed


def test_rejected_links_are_listed_after_scope_before_depth() -> None:
    links = [
        "http://ex.com/a.gz",
        "http://other.com/b.gz",
        "http://ex.com/c",
        "http://ex.com/d.zip",
    ]
    result = plan_links(links, [], 9, 5, SCOPE, reject_ext=("gz", "zip"))
    assert result.out_of_scope == ["http://other.com/b.gz"]
    assert result.rejected == ["http://ex.com/a.gz", "http://ex.com/d.zip"]
    assert result.beyond_depth == ["http://ex.com/c"] and result.follow == []
    accepted = plan_links(links, [], 1, 5, SCOPE, accept_ext=("zip",))
    assert accepted.follow == ["http://ex.com/c", "http://ex.com/d.zip"]
    assert accepted.rejected == ["http://ex.com/a.gz"]

"""crawler.redirects: the hop decision of docs/contract.md#redirects, check by check."""

from __future__ import annotations

import pytest

from crawler.errors import ErrorKind
from crawler.redirects import REDIRECT_STATUSES, Follow, Stop, is_redirect, next_hop
from crawler.scope import Scope

SEED = "http://ex.com/"
PAGE = "http://ex.com/a/b"
HOST_SCOPE = Scope.build([SEED], "host")


def follow(
    location: str,
    *,
    url: str = PAGE,
    redirects: list[str] | None = None,
    max_redirects: int = 10,
    scope: Scope = HOST_SCOPE,
) -> Follow:
    hop = next_hop(url, location, redirects or [], max_redirects, scope)
    assert isinstance(hop, Follow), hop
    return hop


def stop(
    location: str,
    *,
    url: str = PAGE,
    redirects: list[str] | None = None,
    max_redirects: int = 10,
    scope: Scope = HOST_SCOPE,
) -> Stop:
    hop = next_hop(url, location, redirects or [], max_redirects, scope)
    assert isinstance(hop, Stop), hop
    return hop


# -- is_redirect ----------------------------------------------------------------------


def test_redirect_statuses_are_the_contracts_five() -> None:
    assert frozenset({301, 302, 303, 307, 308}) == REDIRECT_STATUSES


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_followed_statuses_with_a_location(status: int) -> None:
    assert is_redirect(status, "/next")


@pytest.mark.parametrize(
    ("status", "location"),
    [
        (300, "/next"),  # Multiple Choices: not followed
        (304, "/next"),  # Not Modified
        (305, "/next"),  # Use Proxy
        (306, "/next"),  # unused
        (309, "/next"),
        (200, "/next"),  # a Location on a 2xx is not a redirect
        (None, "/next"),  # no answer at all
        (301, None),  # no Location header
        (302, ""),  # an empty one
    ],
)
def test_not_a_followed_redirect(status: int | None, location: str | None) -> None:
    assert not is_redirect(status, location)


# -- the target: resolved and canonical ------------------------------------------------


@pytest.mark.parametrize(
    ("location", "target"),
    [
        ("c", "http://ex.com/a/c"),  # relative to the URL that answered
        ("../x", "http://ex.com/x"),
        ("/root", "http://ex.com/root"),
        ("?q=1", "http://ex.com/a/b?q=1"),
        ("  /p\t/q ", "http://ex.com/p/q"),  # tabs removed, spaces trimmed
        ("http://ex.com/elsewhere", "http://ex.com/elsewhere"),  # absolute
        ("https://ex.com/a/b", "https://ex.com/a/b"),  # another scheme, same host
        ("HTTP://EX.com:80/a/./b/../c?b=2&a=1#top", "http://ex.com/a/c?a=1&b=2"),
        ("https://ex.com:443/z#f", "https://ex.com/z"),  # default port and fragment dropped
        ("/%7euser/%2f", "http://ex.com/~user/%2F"),  # percent-encoding normalised
    ],
)
def test_target_is_resolved_and_canonical(location: str, target: str) -> None:
    hop = follow(location)
    assert hop.target == target
    assert hop.chain == [PAGE]


def test_relative_location_resolves_against_the_hop_not_the_record_url() -> None:
    hop = follow("next", url="http://ex.com/d1/d2/here", redirects=["http://ex.com/start/x"])
    assert hop.target == "http://ex.com/d1/d2/next"


def test_follow_chain_lists_every_url_that_answered_3xx_in_order() -> None:
    before = ["http://ex.com/1", "http://ex.com/2"]
    hop = follow("/4", url="http://ex.com/3", redirects=before)
    assert hop.chain == ["http://ex.com/1", "http://ex.com/2", "http://ex.com/3"]
    assert before == ["http://ex.com/1", "http://ex.com/2"]  # the caller's list is untouched


def test_redirects_may_be_any_sequence() -> None:
    hop = next_hop("http://ex.com/2", "/3", ("http://ex.com/1",), 5, HOST_SCOPE)
    assert isinstance(hop, Follow)
    assert hop.chain == ["http://ex.com/1", "http://ex.com/2"]


# -- 1. not an http(s) URL -------------------------------------------------------------


@pytest.mark.parametrize(
    "location",
    [
        "mailto:someone@ex.com",
        "ftp://ex.com/file",
        "javascript:alert(1)",
        "data:,hello",
        "file:///etc/passwd",
        "http://",  # no host
        "http:///path",  # no host either
        "http://[::1",  # unparsable IPv6 literal
        "http://ex.com:99999/",  # port out of range
    ],
)
def test_not_an_http_url_is_out_of_scope_with_no_final_url(location: str) -> None:
    hop = stop(location)
    assert hop.error["kind"] == ErrorKind.OUT_OF_SCOPE_REDIRECT
    assert hop.final_url is None  # the coordinator records the URL that answered
    assert hop.chain == [PAGE]
    assert location in hop.error["message"]


def test_not_a_url_is_checked_before_the_redirect_count() -> None:
    hop = stop("mailto:x@ex.com", max_redirects=0)
    assert hop.error["kind"] == ErrorKind.OUT_OF_SCOPE_REDIRECT
    assert hop.final_url is None


# -- 2. a loop -------------------------------------------------------------------------

CHAIN = ["http://ex.com/1", "http://ex.com/2"]
LAST = "http://ex.com/3"


@pytest.mark.parametrize(
    "location",
    [
        "http://ex.com/1",  # the record's own URL, first of the chain
        "http://ex.com/2",  # the middle
        "http://ex.com/3",  # the URL that answered: a redirect to itself
        "/1",  # relative
        "HTTP://EX.COM:80/./1#frag",  # another spelling of the first URL
        "#top",  # same page without the fragment
    ],
)
def test_back_to_any_url_of_the_chain_is_a_loop(location: str) -> None:
    hop = stop(location, url=LAST, redirects=CHAIN)
    assert hop.error["kind"] == ErrorKind.TOO_MANY_REDIRECTS
    assert hop.final_url is not None
    assert hop.final_url in [*CHAIN, LAST]
    assert hop.final_url in hop.error["message"]
    assert hop.chain == [*CHAIN, LAST]


def test_a_loop_on_the_first_hop_to_itself() -> None:
    hop = stop(PAGE)
    assert hop.error["kind"] == ErrorKind.TOO_MANY_REDIRECTS
    assert hop.final_url == PAGE
    assert hop.chain == [PAGE]


def test_other_scheme_of_a_chain_url_is_not_a_loop() -> None:
    # http and https are different canonical URLs: the usual upgrade is followed.
    hop = follow("https://ex.com/1", url=LAST, redirects=CHAIN)
    assert hop.target == "https://ex.com/1"


def test_a_loop_is_reported_as_a_loop_even_past_the_limit() -> None:
    hop = stop("/1", url=LAST, redirects=CHAIN, max_redirects=1)
    assert hop.error["kind"] == ErrorKind.TOO_MANY_REDIRECTS
    assert "loop" in hop.error["message"]
    assert hop.final_url == "http://ex.com/1"


# -- 3. the limit: at most max_redirects redirects are followed ------------------------


def chain_of(length: int) -> tuple[list[str], str]:
    """`length` URLs that answered 3xx: the earlier ones and the one answering now."""
    urls = [f"http://ex.com/hop{i}" for i in range(length)]
    return urls[:-1], urls[-1]


@pytest.mark.parametrize("max_redirects", [1, 2, 5, 10])
def test_redirect_number_max_redirects_is_followed(max_redirects: int) -> None:
    redirects, url = chain_of(max_redirects)
    hop = follow("/next", url=url, redirects=redirects, max_redirects=max_redirects)
    assert hop.target == "http://ex.com/next"
    assert len(hop.chain) == max_redirects


@pytest.mark.parametrize("max_redirects", [0, 1, 2, 5, 10])
def test_redirect_number_max_redirects_plus_one_is_refused(max_redirects: int) -> None:
    redirects, url = chain_of(max_redirects + 1)
    hop = stop("/next", url=url, redirects=redirects, max_redirects=max_redirects)
    assert hop.error["kind"] == ErrorKind.TOO_MANY_REDIRECTS
    assert hop.final_url == "http://ex.com/next"
    assert hop.chain == [*redirects, url]
    assert str(max_redirects) in hop.error["message"]


def test_max_redirects_zero_follows_none() -> None:
    hop = stop("/next", max_redirects=0)
    assert hop.error["kind"] == ErrorKind.TOO_MANY_REDIRECTS
    assert hop.final_url == "http://ex.com/next"
    assert hop.chain == [PAGE]


def test_the_limit_is_checked_before_the_scope() -> None:
    redirects, url = chain_of(3)
    hop = stop("http://other.com/", url=url, redirects=redirects, max_redirects=2)
    assert hop.error["kind"] == ErrorKind.TOO_MANY_REDIRECTS
    assert hop.final_url == "http://other.com/"


def test_too_many_redirects_message_names_the_target() -> None:
    redirects, url = chain_of(2)
    hop = stop("/next", url=url, redirects=redirects, max_redirects=1)
    assert "http://ex.com/next" in hop.error["message"]


# -- 4. scope --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "location",
    [
        "http://other.com/",
        "//other.com/x",  # scheme-relative
        "http://ex.com:8080/",  # host scope: the port is part of the host
        "http://www.ex.com/",  # a subdomain is another host
        "http://com/",
    ],
)
def test_out_of_scope_by_host(location: str) -> None:
    hop = stop(location)
    assert hop.error["kind"] == ErrorKind.OUT_OF_SCOPE_REDIRECT
    assert hop.final_url is not None
    assert hop.final_url in hop.error["message"]
    assert hop.chain == [PAGE]


def test_another_seed_host_is_in_scope() -> None:
    scope = Scope.build([SEED, "https://two.org:8443/start"], "host")
    assert follow("https://two.org:8443/x", scope=scope).target == "https://two.org:8443/x"
    assert isinstance(next_hop(PAGE, "https://two.org/x", [], 5, scope), Stop)  # port 443


@pytest.mark.parametrize(
    ("location", "allowed"),
    [
        ("http://a.ex.com/", True),
        ("http://b.a.ex.com:81/", True),  # any port
        ("http://ex.com:8080/", True),
        ("http://notex.com/", False),  # a suffix is not a subdomain
        ("http://ex.com.evil.org/", False),
    ],
)
def test_domain_scope(location: str, allowed: bool) -> None:
    hop = next_hop(PAGE, location, [], 5, Scope.build([SEED], "domain"))
    assert isinstance(hop, Follow) is allowed


def test_any_scope_follows_every_host() -> None:
    assert follow("http://other.com/", scope=Scope.build([SEED], "any")).target == (
        "http://other.com/"
    )


@pytest.mark.parametrize(
    ("allow", "deny", "location", "allowed"),
    [
        ([], [r"/private"], "/private/x", False),
        ([], [r"/private"], "/public/x", True),
        ([r"/docs/"], [], "/docs/a", True),
        ([r"/docs/"], [], "/blog/a", False),
        ([r"/docs/", r"/blog/"], [], "/blog/a", True),  # any allow pattern will do
        ([r"/docs/"], [r"draft"], "/docs/draft", False),  # deny wins over allow
        ([], [r"\?a=1&b=2$"], "/p?b=2&a=1", False),  # matched in the canonical URL
        ([], [r"#top"], "/p#top", True),  # the fragment is gone before matching
        ([r"^https://"], [], "https://ex.com/p", True),
        ([r"^https://"], [], "/p", False),
    ],
)
def test_out_of_scope_by_patterns(
    allow: list[str], deny: list[str], location: str, allowed: bool
) -> None:
    scope = Scope.build([SEED], "host", allow, deny)
    hop = next_hop(PAGE, location, [], 5, scope)
    if allowed:
        assert isinstance(hop, Follow)
    else:
        assert isinstance(hop, Stop)
        assert hop.error["kind"] == ErrorKind.OUT_OF_SCOPE_REDIRECT
        assert hop.final_url is not None and hop.final_url in hop.error["message"]


def test_an_allow_pattern_does_not_widen_the_host_scope() -> None:
    scope = Scope.build([SEED], "host", allow=[r"other\.com"])
    hop = next_hop(PAGE, "http://other.com/", [], 5, scope)
    assert isinstance(hop, Stop)
    assert hop.error["kind"] == ErrorKind.OUT_OF_SCOPE_REDIRECT

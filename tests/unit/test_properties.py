"""Property tests: link extraction and canonical URLs hold up on generated input.

Example counts stay modest so that the unit suite still runs in seconds.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crawler.links import parse_page
from crawler.robots import RobotsPolicy
from crawler.urls import InvalidURL, canonicalize, host_key

PAGE = "http://ex.com/dir/page?b=2&a=1"
MAX_URL_LENGTH = 120
FAST = settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])

# --- generated URLs ---------------------------------------------------------------

_LABEL = st.from_regex(r"\A[a-zA-Z0-9]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?\Z")
_HOST = st.one_of(
    st.lists(_LABEL, min_size=1, max_size=3).map(".".join),
    st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t))),
    st.sampled_from(["bücher.de", "EXAMPLE.COM", "xn--bcher-kva.de", "[::1]", "[2001:DB8::1]"]),
)
# Characters that exercise percent-encoding normalisation: unreserved, reserved,
# escapes (valid, lower-case, stray), space, non-ASCII.
_PIECE = st.one_of(
    st.text(alphabet="abcXYZ019-._~!$&'()*+,;=:@/ ", max_size=6),
    st.sampled_from(["%41", "%7e", "%7E", "%2F", "%2f", "%20", "%", "%zz", "%C3%A9", "%e9"]),
    st.sampled_from(["é", "日本", "\u00a0", "..", ".", "//"]),
)
_PATH = st.lists(_PIECE, max_size=5).map(lambda parts: "/" + "".join(parts).lstrip("/"))
_QUERY_PART = st.lists(_PIECE.filter(lambda p: "#" not in p), max_size=3).map("".join)
_QUERY = st.one_of(
    st.just(""),
    st.lists(st.tuples(_QUERY_PART, _QUERY_PART), max_size=4).map(
        lambda pairs: "?" + "&".join(f"{k}={v}" for k, v in pairs)
    ),
)
_FRAGMENT = st.text(max_size=8)


@st.composite
def http_urls(draw: st.DrawFn) -> str:
    scheme = draw(st.sampled_from(["http", "https", "HTTP", "Https"]))
    userinfo = draw(st.sampled_from(["", "user@", "user:pw@"]))
    host = draw(_HOST)
    port = draw(st.one_of(st.just(""), st.integers(1, 65535).map(lambda p: f":{p}")))
    fragment = draw(st.one_of(st.just(""), _FRAGMENT.map(lambda f: "#" + f)))
    return f"{scheme}://{userinfo}{host}{port}{draw(_PATH)}{draw(_QUERY)}{fragment}"


def assert_canonical(url: str) -> None:
    parts = urlsplit(url)
    assert parts.scheme in ("http", "https")
    assert parts.hostname
    assert parts.fragment == "" and "#" not in url
    assert parts.netloc == parts.netloc.lower() or "@" in parts.netloc
    assert parts.path.startswith("/")
    assert " " not in url
    assert canonicalize(url) == url


@FAST
@given(http_urls())
def test_canonicalize_is_stable_and_idempotent(url: str) -> None:
    canonical = canonicalize(url)
    assert_canonical(canonical)
    assert canonicalize(canonical) == canonical


@FAST
@given(http_urls())
def test_host_key_is_the_authority_without_userinfo(url: str) -> None:
    try:
        canonical = canonicalize(url)
    except InvalidURL:
        return
    assert host_key(canonical) == urlsplit(canonical).netloc.rpartition("@")[2]


@given(http_urls(), _FRAGMENT)
def test_canonicalize_is_fragment_blind(url: str, fragment: str) -> None:
    # Trailing spaces are stripped from the whole text (WHATWG), so "/ " is "/" while
    # "/ #x" is "/%20": only a URL that does not end in a space is fragment-blind.
    url = url.rstrip(" ")
    assert canonicalize(f"{url}#{fragment}") == canonicalize(url)


@FAST
@given(http_urls(), st.one_of(_PATH, _QUERY, _PIECE, _PIECE.map(lambda p: "../" + p)))
def test_resolved_links_are_canonical(base: str, href: str) -> None:
    try:
        link = canonicalize(href, base=base)
    except InvalidURL:
        return
    assert_canonical(link)


# --- link extraction on arbitrary HTML --------------------------------------------

_HREF = st.one_of(
    _PATH,
    http_urls(),
    _PIECE,
    st.sampled_from(["", "#x", "mailto:a@b", "javascript:x()", "data:,", "//h.com/p", "http://"]),
    st.text(max_size=10),
)
_ATTR = st.one_of(
    _HREF.map(lambda h: ("href", h)),
    st.sampled_from(["nofollow", "NoFollow noopener", "", "external"]).map(lambda r: ("rel", r)),
    st.sampled_from(["robots", "ROBOTS", "viewport"]).map(lambda n: ("name", n)),
    st.sampled_from(["nofollow", "none", "noindex", "x"]).map(lambda c: ("content", c)),
    st.tuples(st.text(alphabet="abc-", min_size=1, max_size=4), st.text(max_size=6)),
)
_TAG_NAME = st.sampled_from(
    ["a", "A", "area", "base", "title", "meta", "div", "table", "td", "svg", "script", "p"]
)


@st.composite
def _tag(draw: st.DrawFn) -> str:
    name = draw(_TAG_NAME)
    attrs = draw(st.lists(_ATTR, max_size=3))
    quote = draw(st.sampled_from(['"', "'", ""]))
    rendered = "".join(f" {k}={quote}{v}{quote}" for k, v in attrs)
    return f"<{name}{rendered}{draw(st.sampled_from(['>', '/>', '']))}"


_FRAGMENTS = st.one_of(
    _tag(),
    _TAG_NAME.map(lambda n: f"</{n}>"),
    st.text(max_size=12),
    st.sampled_from(["<!--", "-->", "<![CDATA[", "]]>", "<?xml version='1.0'?>", "<", ">", "&"]),
    st.sampled_from(["&amp;", "&#0;", "&#x110000;", "&nbsp;", "\x00", "\ufeff", "\r\n"]),
)
_HTML_BODIES = st.one_of(
    st.lists(_FRAGMENTS, max_size=30).map(lambda parts: "".join(parts).encode("utf-8")),
    st.lists(_FRAGMENTS, max_size=30).map(
        lambda parts: "".join(parts).encode("utf-16", errors="surrogatepass")
    ),
    st.binary(max_size=300),
)


@FAST
@given(
    _HTML_BODIES,
    st.sampled_from([None, "utf-8", "latin-1", "utf-16", "bogus", "utf-7"]),
    http_urls().map(canonicalize),
)
def test_link_extraction_never_raises_and_yields_canonical_links(
    body: bytes, http_charset: str | None, url: str
) -> None:
    page = parse_page(body, url=url, http_charset=http_charset, max_url_length=MAX_URL_LENGTH)
    assert len(page.links) == len(set(page.links))
    for link in page.links:
        assert_canonical(link)
        assert len(link) <= MAX_URL_LENGTH
    # nofollow is a subsequence of links.
    positions = [page.links.index(link) for link in page.nofollow]
    assert positions == sorted(set(positions))
    assert page.dropped_links >= 0
    assert page.title is None or (page.title and page.title == " ".join(page.title.split()))


@FAST
@given(_HTML_BODIES)
def test_link_extraction_from_a_fixed_page(body: bytes) -> None:
    page = parse_page(body, url=PAGE, http_charset=None, max_url_length=2048)
    assert all(canonicalize(link) == link for link in page.links)


# --- robots.txt on arbitrary bytes ------------------------------------------------

_ROBOTS_LINES = st.one_of(
    st.sampled_from(["User-agent: *", "User-agent: crawler", "User-agent: other", ""]),
    st.tuples(
        st.sampled_from(["Allow", "Disallow", "Crawl-delay", "Sitemap", "Noise"]),
        st.one_of(_PATH, _PIECE, st.text(max_size=8)),
    ).map(lambda kv: f"{kv[0]}: {kv[1]}"),
)


@FAST
@given(
    st.one_of(
        st.lists(_ROBOTS_LINES, max_size=20).map(lambda ls: "\n".join(ls).encode()),
        st.binary(max_size=300),
    ),
    st.lists(st.tuples(_PATH, _QUERY), min_size=1, max_size=3),
)
def test_robots_never_raises(body: bytes, paths: list[tuple[str, str]]) -> None:
    policy = RobotsPolicy.from_response(200, body, "crawler/1.0")
    for path, query in paths:
        assert isinstance(policy.allowed(canonicalize(f"http://ex.com{path}{query}")), bool)
    delay = policy.delay_s()
    assert delay is None or 0.0 <= delay <= 30.0

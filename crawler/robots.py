"""robots.txt decisions (RFC 9309): per host, from the (status, body) of its fetch.

Pure: the coordinator has robots.txt fetched and hands the answer here; protego parses
it once and the policy is then queried for every URL of the host. `RobotsBook` keeps
the policy of every host and says when a host's robots.txt is still to be asked for.
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from protego import Protego

from crawler.urls import InvalidURL, canonicalize, host_key

ROBOTS_MAX_BYTES = 500 * 1024
MAX_CRAWL_DELAY_S = 30.0
# RFC 9309 2.3.1.2: follow at least five consecutive redirects; past them, as 4xx.
ROBOTS_MAX_REDIRECTS = 5
# Errors after which the answer is still usable: the first part of a too-large file is
# what RFC 9309 2.5 asks to parse anyway.
_USABLE_ERRORS = frozenset({None, "too_large"})

# A user-agent line as protego reads it: "User-agent:", "useragent x", "User agent: x".
_USER_AGENT_LINE = re.compile(r"\s*user(?:-|\s+)?agent\s*(?::|\s)(?P<value>[^#]*)", re.IGNORECASE)
_TOKEN_END = re.compile(r"[/\s]")
# A group name read as a product token: "Crawler/2.0", "crawler*" and "crawler," all
# name the crawler group (lenient like Google's parser, which also cuts at such marks).
_GROUP_NAME_END = re.compile(r"[/\s,*]")


def robots_url(url: str) -> str:
    """The robots.txt URL of the host of a canonical URL (no userinfo, RFC 9309 2.3)."""
    return f"{urlsplit(url).scheme}://{host_key(url)}/robots.txt"


def product_token(user_agent: str) -> str:
    """The product token of a User-Agent (up to the first "/" or space): a group name."""
    return _TOKEN_END.split(user_agent.strip(), maxsplit=1)[0]


class RobotsPolicy:
    """Which URLs of one host we may fetch, and the host's Crawl-delay."""

    __slots__ = ("_parser", "_token", "_default", "_delay_s")

    def __init__(self, parser: Protego | None, token: str, *, default: bool) -> None:
        # parser None: no rules, every URL gets `default`.
        self._parser = parser
        self._token = token
        self._default = default
        self._delay_s = None if parser is None else _capped_delay(parser.crawl_delay(token))

    @classmethod
    def allow_all(cls) -> RobotsPolicy:
        return cls(None, "", default=True)

    @classmethod
    def disallow_all(cls) -> RobotsPolicy:
        return cls(None, "", default=False)

    @classmethod
    def from_response(cls, status: int | None, body: bytes, user_agent: str) -> RobotsPolicy:
        """The policy for a robots.txt answer; `status` None means unreachable."""
        # RFC 9309 2.3.1.3: 4xx means there are no rules; 2.3.1.2: a redirect chain
        # longer than we follow counts as 4xx. 2.3.1.4: 5xx or unreachable means
        # complete disallow. Anything else (1xx, 6xx) is no usable answer either.
        if status is None or not 200 <= status < 500:
            return cls.disallow_all()
        if status >= 300:
            return cls.allow_all()
        token = product_token(user_agent).lower()
        # 2.5: at least the first 500 KiB must be parsed; a partial last line is fine.
        # utf-8-sig drops a BOM, which would otherwise spoil the first line.
        text = body[:ROBOTS_MAX_BYTES].decode("utf-8-sig", errors="replace")
        return cls(Protego.parse(_keep_own_groups(text, token)), token, default=True)

    @classmethod
    def from_attempt(
        cls, status: int | None, error_kind: str | None, body: bytes, user_agent: str
    ) -> RobotsPolicy:
        """The policy for a robots.txt attempt that ended with `error_kind` (or None)."""
        usable = error_kind in _USABLE_ERRORS
        return cls.from_response(status if usable else None, body, user_agent)

    def allowed(self, url: str) -> bool:
        """Whether robots.txt lets us fetch `url` (canonical)."""
        if self._parser is None:
            return self._default
        return self._parser.can_fetch(url, self._token)

    def delay_s(self) -> float | None:
        """Crawl-delay of our group (else "*"), capped at MAX_CRAWL_DELAY_S; None if absent."""
        return self._delay_s


def robots_unavailable(
    status: int | None, error_kind: str | None, error_message: str | None
) -> str | None:
    """What a robots.txt request got, if that makes the robots.txt unavailable.

    RFC 9309 2.3.1.4: unreachable (an error of the request) or a 5xx answer; also a status
    outside 100-599. A too-large answer is still usable (its first part is parsed). The
    text starts with what the request got: "connect: …", "status 503".
    """
    if error_kind is not None and error_kind not in _USABLE_ERRORS:
        return f"{error_kind}: {error_message}" if error_message else error_kind
    if status is None:
        return None if error_kind == "too_large" else "no answer"
    if status >= 500 or not 100 <= status <= 599:
        return f"status {status}"
    return None


def robots_next_hop(url: str, location: str | None, redirects: int) -> str | None:
    """Where a robots.txt redirect leads, if it is to be followed.

    `redirects` counts the hops already followed. None: give up, the answer counts as
    4xx (RFC 9309 2.3.1.2), which is also what a redirect to no URL gets.
    """
    if not location or redirects + 1 > ROBOTS_MAX_REDIRECTS:
        return None
    try:
        return canonicalize(location, base=url)
    except InvalidURL:
        return None


class RobotsBook:
    """The robots.txt policy of every host of the crawl, and which are still unknown."""

    __slots__ = ("_user_agent", "_ignore", "_asked", "_policies", "_refused")

    def __init__(self, user_agent: str, *, ignore: bool = False) -> None:
        self._user_agent = user_agent
        self._ignore = ignore  # --ignore-robots: never asked, every URL allowed
        self._asked: set[str] = set()
        self._policies: dict[str, RobotsPolicy] = {}
        # Hosts whose URLs are refused before robots.txt rules apply, with the error kind
        # and message their records get: the address guard refused the host
        # (blocked_address), or its robots.txt gave no usable answer (robots_unavailable).
        self._refused: dict[str, tuple[str, str]] = {}

    def needs_fetch(self, host: str) -> bool:
        """True the first time a host is asked about (its robots.txt is to be fetched)."""
        if self._ignore or host in self._asked:
            return False
        self._asked.add(host)
        return True

    def learn(
        self,
        host: str,
        status: int | None,
        error_kind: str | None,
        body: bytes,
        blocked: str | None = None,
        error_message: str | None = None,
    ) -> RobotsPolicy:
        """Store the policy from the host's robots.txt answer.

        `blocked`: the address guard refused the host itself (its message); the host's
        URLs are then refused too. (A robots.txt redirect into a refused address is only
        an unavailable robots.txt.) An answer that is no usable robots.txt at all makes
        the host's URLs robots_unavailable records: RFC 9309 disallows them, and a dead
        host must show as such, not as an empty crawl.
        """
        policy = RobotsPolicy.from_attempt(status, error_kind, body, self._user_agent)
        if blocked is not None:
            self._refused[host] = ("blocked_address", blocked)
        else:
            got = robots_unavailable(status, error_kind, error_message)
            if got is not None:
                self._refused[host] = ("robots_unavailable", f"{got} (robots.txt of {host})")
        self._policies[host] = policy
        return policy

    def knows(self, host: str) -> bool:
        """Is the host's policy known (its robots.txt answered, or --ignore-robots)?"""
        return self._ignore or host in self._policies

    def refusal(self, host: str) -> tuple[str, str] | None:
        """The (error kind, message) every URL of the host gets, or None."""
        return self._refused.get(host)

    def allowed(self, host: str, url: str) -> bool:
        """May `url` (of `host`) be fetched? True while the host's policy is unknown: its
        URLs wait behind the robots.txt fetch and are asked again when they start."""
        policy = self._policies.get(host)
        return policy is None or policy.allowed(url)


def _capped_delay(delay: float | None) -> float | None:
    if delay is None:
        return None
    return min(delay, MAX_CRAWL_DELAY_S)


def _keep_own_groups(text: str, token: str) -> str:
    """Rewrite user-agent lines so that protego picks exactly our group.

    protego matches a group's name anywhere in the query at a word start, so a group
    "crawl" would govern "crawler", and it does not match "Crawler/2.0" at all.
    RFC 9309 2.2.1 wants the product token compared case-insensitively: each name is
    cut to its token and compared with ours; lines naming other crawlers are emptied,
    which still ends the previous group (protego follows 2.2.1 there) but joins none.
    Lines are split as protego splits them (str.splitlines).
    """
    lines = text.splitlines()
    for i, line in enumerate(lines):
        match = _USER_AGENT_LINE.match(line)
        if match is None:
            continue
        value = match["value"].strip()
        if value == "*":
            lines[i] = "User-agent: *"
        elif token and _GROUP_NAME_END.split(value, maxsplit=1)[0].lower() == token:
            lines[i] = f"User-agent: {token}"
        else:
            lines[i] = "User-agent:"
    return "\n".join(lines)

"""Exception classes, which carry the exit codes, and the error kinds of page records.

CrawlerError                 base of everything we raise on purpose; exit 1 is its code
├── UsageError               exit 2: bad option, config, seeds file; message is one line
└── Interrupted              exit 130: SIGINT/SIGTERM, partial out.json with complete=false
anything else                a bug: exit 1, whatever was crawled is still written

A URL that fails is not an exception: the fetcher returns its error kind as data, and it
becomes a page record (docs/contract.md#error-kinds).
"""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    """The error kinds of a page record (docs/contract.md#error-kinds)."""

    TIMEOUT = "timeout"
    CONNECT = "connect"
    DNS = "dns"
    TLS = "tls"
    TOO_LARGE = "too_large"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    OUT_OF_SCOPE_REDIRECT = "out_of_scope_redirect"
    BLOCKED_ADDRESS = "blocked_address"
    ROBOTS_UNAVAILABLE = "robots_unavailable"
    BAD_RESPONSE = "bad_response"
    INTERNAL = "internal"


class CrawlerError(Exception):
    """Base of every exception raised on purpose."""

    exit_code = 1


class UsageError(CrawlerError):
    """Bad option, config or seeds file: exit 2 with a one-line message."""

    exit_code = 2


class Interrupted(CrawlerError):
    """SIGINT/SIGTERM: partial out.json with complete=false."""

    exit_code = 130

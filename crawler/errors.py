"""Exception classes and the ErrorKind vocabulary of SPEC.md.

CrawlerError                 base of everything we raise on purpose
├── UsageError               exit 2: bad option, config, seeds file; message is one line
├── FetchError(kind, msg)    one URL failed; becomes a record, never ends the crawl
└── Interrupted              exit 130: SIGINT/SIGTERM, partial out.json with complete=false
anything else                a bug: exit 1, whatever was crawled is still written
"""

from __future__ import annotations

from enum import StrEnum


class ErrorKind(StrEnum):
    """The error kinds of a page record; exactly SPEC's list."""

    TIMEOUT = "timeout"
    CONNECT = "connect"
    DNS = "dns"
    TLS = "tls"
    TOO_LARGE = "too_large"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    OUT_OF_SCOPE_REDIRECT = "out_of_scope_redirect"
    BAD_RESPONSE = "bad_response"
    INTERNAL = "internal"


class CrawlerError(Exception):
    """Base of every exception raised on purpose."""

    exit_code = 1


class UsageError(CrawlerError):
    """Bad option, config or seeds file: exit 2 with a one-line message."""

    exit_code = 2


class FetchError(CrawlerError):
    """One URL failed; it becomes a page record, never ends the crawl."""

    def __init__(self, kind: ErrorKind, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


class Interrupted(CrawlerError):
    """SIGINT/SIGTERM: partial out.json with complete=false."""

    exit_code = 130

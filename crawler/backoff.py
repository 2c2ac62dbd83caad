"""Retry policy: what is retried, and how long to wait before the next attempt.

Pure: chance and the clock come in as arguments. Exponential backoff with full
jitter; Retry-After (delta-seconds or HTTP-date, RFC 9110 §10.2.3) is honoured up to
MAX_RETRY_AFTER_S.
"""

from __future__ import annotations

import random
from email.utils import parsedate_to_datetime

from crawler.errors import ErrorKind

BASE_DELAY_S = 0.5
MAX_BACKOFF_S = 30.0
MAX_RETRY_AFTER_S = 60.0
# Retried: connection errors, timeouts, truncated or non-HTTP answers, 429 and 5xx.
# dns and tls failures are not transient in practice, so they are not retried.
RETRIED_KINDS = frozenset({ErrorKind.TIMEOUT, ErrorKind.CONNECT, ErrorKind.BAD_RESPONSE})


def is_retryable(status: int | None, error_kind: str | None) -> bool:
    if error_kind is not None:
        return error_kind in RETRIED_KINDS
    return status is not None and (status == 429 or 500 <= status <= 599)


def backoff_s(retry: int, rng: random.Random) -> float:
    """Delay before retry number `retry` (1-based): full jitter over an exponential cap."""
    cap = min(MAX_BACKOFF_S, BASE_DELAY_S * 2 ** (retry - 1))
    return rng.uniform(cap / 2, cap)


def parse_retry_after(value: str | None, now_epoch: float) -> float | None:
    """Seconds to wait from a Retry-After header, capped; None if absent or unreadable."""
    if not value:
        return None
    text = value.strip()
    if text.isdigit():
        seconds = float(text)
    else:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when.tzinfo is None:
            return None
        seconds = when.timestamp() - now_epoch
    return max(0.0, min(MAX_RETRY_AFTER_S, seconds))


def retry_delay_s(
    retry: int, retry_after: str | None, now_epoch: float, rng: random.Random
) -> float:
    """Wait before retry number `retry`: Retry-After when given, else backoff."""
    after = parse_retry_after(retry_after, now_epoch)
    return after if after is not None else backoff_s(retry, rng)

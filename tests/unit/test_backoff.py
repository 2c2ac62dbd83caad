from __future__ import annotations

import random
from datetime import UTC, datetime
from email.utils import format_datetime

import pytest

from crawler.backoff import (
    MAX_BACKOFF_S,
    backoff_s,
    is_retryable,
    parse_retry_after,
    retry_delay_s,
)


@pytest.mark.parametrize(
    ("status", "kind", "expected"),
    [
        (503, None, True),
        (500, None, True),
        (429, None, True),
        (404, None, False),
        (200, None, False),
        (None, "timeout", True),
        (None, "connect", True),
        (None, "bad_response", True),
        (None, "dns", False),
        (None, "tls", False),
        (200, "too_large", False),
    ],
)
def test_what_is_retried(status: int | None, kind: str | None, expected: bool) -> None:
    assert is_retryable(status, kind) is expected


def test_backoff_grows_exponentially_with_jitter_and_a_cap() -> None:
    rng = random.Random(7)
    for retry in range(1, 12):
        cap = min(MAX_BACKOFF_S, 0.5 * 2 ** (retry - 1))
        values = {backoff_s(retry, rng) for _ in range(20)}
        assert all(cap / 2 <= v <= cap for v in values)
        assert len(values) > 1  # jitter


@pytest.mark.parametrize(
    ("header", "expected"), [("5", 5.0), ("0", 0.0), ("3600", 60.0), ("soon", None), ("", None)]
)
def test_retry_after_seconds_capped(header: str, expected: float | None) -> None:
    assert parse_retry_after(header, now_epoch=1000.0) == expected


def test_retry_after_http_date() -> None:
    now = datetime(2026, 11, 28, 2, 0, 0, tzinfo=UTC).timestamp()
    later = format_datetime(datetime(2026, 11, 28, 2, 0, 12, tzinfo=UTC), usegmt=True)
    assert parse_retry_after(later, now) == 12.0
    past = format_datetime(datetime(2026, 11, 28, 1, 0, 0, tzinfo=UTC), usegmt=True)
    assert parse_retry_after(past, now) == 0.0


def test_retry_after_wins_over_backoff() -> None:
    assert retry_delay_s(1, "7", 0.0, random.Random(1)) == 7.0
    assert 0.25 <= retry_delay_s(1, None, 0.0, random.Random(1)) <= 0.5

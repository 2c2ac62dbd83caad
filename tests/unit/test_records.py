from __future__ import annotations

from typing import Any

from crawler.messages import Result
from crawler.records import COUNTERS, Stats, build_record, error_info, iso_time

ATTEMPT = Result(
    task_id=9,
    worker=1,
    status=200,
    content_type="text/html",
    location=None,
    retry_after=None,
    bytes=120,
    elapsed_ms=3.14159,
    fetched_at=1795831200.123,
    error_kind=None,
    error_message=None,
    title="Hello",
    links=["http://a.test/x"],
)
KEYS = [
    "url",
    "final_url",
    "redirects",
    "depth",
    "referrer",
    "status",
    "content_type",
    "title",
    "links",
    "bytes",
    "elapsed_ms",
    "fetched_at",
    "retries",
    "worker",
    "error",
]


def test_record_has_exactly_the_spec_keys() -> None:
    record = build_record(
        url="http://a.test/",
        final_url="http://a.test/",
        redirects=[],
        depth=0,
        referrer=None,
        attempt=ATTEMPT,
        retries=0,
    )
    assert list(record) == KEYS
    assert record["elapsed_ms"] == 3.142
    assert record["fetched_at"] == "2026-11-28T02:00:00.123Z"
    assert record["links"] == ["http://a.test/x"] and record["error"] is None


def test_extracted_data_comes_last_and_only_when_extracted() -> None:
    def record(attempt: Result) -> dict[str, Any]:
        return build_record(
            url="http://a.test/",
            final_url="http://a.test/",
            redirects=[],
            depth=0,
            referrer=None,
            attempt=attempt,
            retries=0,
        )

    data = {"h": ["Hi"], "none": []}
    with_data = record(ATTEMPT._replace(data=data))
    assert list(with_data) == [*KEYS, "data"]
    assert with_data["data"] == data
    assert "data" not in record(ATTEMPT)  # a crawl without --extract
    failed = ATTEMPT._replace(status=None, error_kind="timeout", error_message="t", data=data)
    assert "data" not in record(failed)


def test_failed_record_has_no_title_or_links() -> None:
    failed = ATTEMPT._replace(status=None, error_kind="timeout", error_message="deadline")
    record = build_record(
        url="http://a.test/",
        final_url="http://a.test/",
        redirects=[],
        depth=0,
        referrer=None,
        attempt=failed,
        retries=2,
    )
    assert record["error"] == {"kind": "timeout", "message": "deadline"}
    assert record["title"] is None and record["links"] == []


def test_refused_redirect_keeps_status_and_error() -> None:
    hop = ATTEMPT._replace(status=301, location="http://out.test/", title=None, links=[])
    record = build_record(
        url="http://a.test/r",
        final_url="http://out.test/",
        redirects=["http://a.test/r"],
        depth=1,
        referrer="http://a.test/",
        attempt=hop,
        retries=0,
        error=error_info("out_of_scope_redirect", "to http://out.test/"),
    )
    assert record["status"] == 301 and record["error"]["kind"] == "out_of_scope_redirect"
    assert record["final_url"] == "http://out.test/" and record["links"] == []


def test_stats_fold() -> None:
    stats = Stats()
    base: dict[str, Any] = dict(
        url="u", final_url="u", redirects=[], depth=0, referrer=None, retries=1
    )
    stats.add(build_record(attempt=ATTEMPT, **base))
    stats.add(build_record(attempt=ATTEMPT._replace(status=404), **base))
    stats.add(build_record(attempt=ATTEMPT._replace(status=None, error_kind="dns"), **base))
    data = stats.to_json(elapsed_s=2.0)
    assert data["pages"] == 3 and data["ok"] == 1 and data["failed"] == 2
    assert data["by_status"] == {"200": 1, "404": 1}
    assert data["by_error"] == {"dns": 1}
    assert data["retries"] == 3 and data["pages_per_s"] == 1.5
    assert iso_time(0.0) == "1970-01-01T00:00:00.000Z"


def test_counters_go_to_a_checkpoint_and_come_back() -> None:
    stats = Stats(
        robots_excluded=3,
        out_of_scope=4,
        duplicates=5,
        dropped_links=6,
        rejected=8,
        beyond_depth=9,
        pages=7,
    )
    saved = stats.counters()
    assert saved == {
        "robots_excluded": 3,
        "out_of_scope": 4,
        "duplicates": 5,
        "dropped_links": 6,
        "rejected": 8,
        "beyond_depth": 9,
    }
    assert tuple(saved) == COUNTERS
    again = Stats()
    again.restore_counters(saved)
    assert again.counters() == saved and again.pages == 0  # pages come from the records
    again.restore_counters({})  # an old checkpoint without counters changes nothing
    assert again.counters() == saved

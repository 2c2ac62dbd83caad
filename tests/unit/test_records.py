from __future__ import annotations

from crawler.records import Stats, build_record, error_info, iso_time

ATTEMPT = {
    "status": 200,
    "content_type": "text/html",
    "title": "Hello",
    "links": ["http://a.test/x"],
    "bytes": 120,
    "elapsed_ms": 3.14159,
    "fetched_at": 1795831200.123,
    "worker": 1,
    "error_kind": None,
    "error_message": None,
}
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


def test_failed_record_has_no_title_or_links() -> None:
    failed = {**ATTEMPT, "status": None, "error_kind": "timeout", "error_message": "deadline"}
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
    hop = {**ATTEMPT, "status": 301, "title": None, "links": []}
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


def test_stats_fold() -> None:
    stats = Stats()
    base = dict(url="u", final_url="u", redirects=[], depth=0, referrer=None, retries=1)
    stats.add(build_record(attempt=ATTEMPT, **base))
    stats.add(build_record(attempt={**ATTEMPT, "status": 404}, **base))
    stats.add(build_record(attempt={**ATTEMPT, "status": None, "error_kind": "dns"}, **base))
    data = stats.to_json(elapsed_s=2.0)
    assert data["pages"] == 3 and data["ok"] == 1 and data["failed"] == 2
    assert data["by_status"] == {"200": 1, "404": 1}
    assert data["by_error"] == {"dns": 1}
    assert data["retries"] == 3 and data["pages_per_s"] == 1.5
    assert iso_time(0.0) == "1970-01-01T00:00:00.000Z"

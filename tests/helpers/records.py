"""Hand-made page records for tests of what reads out.json (figures, report)."""

from __future__ import annotations

from typing import Any

H = "http://127.0.0.1:8000/"


def page_record(url: str, status: int | None = 200, **fields: Any) -> dict[str, Any]:
    """A record of out.json's schema: a depth-1 HTML page found on H; `fields` override."""
    record = {
        "url": url,
        "final_url": url,
        "redirects": [],
        "depth": 1,
        "referrer": H,
        "status": status,
        "content_type": "text/html",
        "links": [],
        "bytes": 10,
        "elapsed_ms": 5.0,
        "fetched_at": "2026-11-28T02:00:01.500Z",
        "retries": 0,
        "worker": 0,
        "error": None,
    }
    record.update(fields)
    return record

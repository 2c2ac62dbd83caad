"""Page records and crawl stats, exactly as out.json holds them (docs/contract.md#outjson).

Pure: a record is built from plain values (the chain of a URL and its last attempt);
stats fold records one at a time so nothing needs to hold every record.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from crawler.errors import ErrorKind
from crawler.messages import Result

ErrorInfo = dict[str, str]  # a record's "error": {"kind": ..., "message": ...}
# The stats counters that records cannot rebuild: a resumed crawl reads them back from
# its checkpoint (every other stat is folded again from the stored records).
COUNTERS = (
    "robots_excluded",
    "out_of_scope",
    "duplicates",
    "dropped_links",
    "rejected",
    "beyond_depth",
)


def iso_time(epoch: float) -> str:
    """UTC time with milliseconds, as out.json writes it: 2026-11-28T02:00:00.123Z."""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def error_info(kind: ErrorKind | str | None, message: str | None) -> ErrorInfo | None:
    if kind is None:
        return None
    return {"kind": str(ErrorKind(kind)), "message": message or str(kind)}


def build_record(
    *,
    url: str,
    final_url: str,
    redirects: Sequence[str],
    depth: int,
    referrer: str | None,
    attempt: Result,
    retries: int,
    error: ErrorInfo | None = None,
) -> dict[str, Any]:
    """One page record from its last attempt, as a worker reported it.

    `error` overrides the attempt's own error (a redirect the chain refused); the
    record then keeps the attempt's 3xx status. A `data` key only where the worker
    extracted (a 2xx HTML page of a crawl with --extract or --plugin), after all the
    others, then `plugin_error` where the plugin failed on the page.
    """
    if error is None:
        error = error_info(attempt.error_kind, attempt.error_message)
    parsed = error is None and attempt.status is not None
    record: dict[str, Any] = {
        "url": url,
        "final_url": final_url,
        "redirects": list(redirects),
        "depth": depth,
        "referrer": referrer,
        "status": attempt.status,
        "content_type": attempt.content_type,
        "title": attempt.title if parsed else None,
        "links": list(attempt.links) if parsed else [],
        "bytes": attempt.bytes,
        "elapsed_ms": round(attempt.elapsed_ms, 3),
        "fetched_at": iso_time(attempt.fetched_at),
        "retries": retries,
        "worker": attempt.worker,
        "error": error,
    }
    if parsed and attempt.data is not None:
        record["data"] = attempt.data
    if parsed and attempt.plugin_error is not None:
        record["plugin_error"] = attempt.plugin_error
    return record


def not_attempted(epoch: float) -> Result:
    """The "attempt" of a record decided without a request: no worker, nothing read, at
    the time of the decision."""
    return Result(
        task_id=0,
        worker=None,
        status=None,
        content_type=None,
        location=None,
        retry_after=None,
        bytes=0,
        elapsed_ms=0.0,
        fetched_at=epoch,
        error_kind=None,
        error_message=None,
    )


def internal_result(
    message: str, *, task_id: int = 0, worker: int | None = None, epoch: float = 0.0
) -> Result:
    """An attempt that ended in the crawler itself: a worker died under it, or a bug in
    a worker thread (then its task, worker and time)."""
    return not_attempted(epoch)._replace(
        task_id=task_id, worker=worker, error_kind=str(ErrorKind.INTERNAL), error_message=message
    )


def is_failed(status: int | None, error: object) -> bool:
    """stats.failed's rule: an error, no status, or a status of 400 or more (else ok)."""
    return error is not None or status is None or status >= 400


@dataclass(slots=True)
class Stats:
    """The counters of out.json's `stats`, folded record by record."""

    pages: int = 0
    ok: int = 0
    failed: int = 0
    bytes: int = 0
    by_status: Counter[str] = field(default_factory=Counter)
    by_error: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    robots_excluded: int = 0
    out_of_scope: int = 0
    duplicates: int = 0
    dropped_links: int = 0
    rejected: int = 0  # distinct links not followed for --accept-ext / --reject-ext
    beyond_depth: int = 0  # distinct links not followed for --max-depth
    # Records with a plugin_error; folded from the records, so not one of the COUNTERS.
    plugin_errors: int = 0

    def add(self, record: dict[str, Any]) -> None:
        self.pages += 1
        status, error = record["status"], record["error"]
        if is_failed(status, error):
            self.failed += 1
        else:
            self.ok += 1
        self.bytes += record["bytes"]
        if status is not None:
            self.by_status[str(status)] += 1
        if error is not None:
            self.by_error[error["kind"]] += 1
        self.retries += record["retries"]
        if record.get("plugin_error") is not None:
            self.plugin_errors += 1

    def counters(self) -> dict[str, int]:
        """The COUNTERS, for a checkpoint."""
        return {name: getattr(self, name) for name in COUNTERS}

    def restore_counters(self, counters: Mapping[str, int]) -> None:
        """Take the COUNTERS back from a checkpoint (absent ones stay as they are)."""
        for name in COUNTERS:
            setattr(self, name, int(counters.get(name, getattr(self, name))))

    def to_json(self, elapsed_s: float) -> dict[str, Any]:
        return {
            "pages": self.pages,
            "ok": self.ok,
            "failed": self.failed,
            "bytes": self.bytes,
            "elapsed_s": round(elapsed_s, 3),
            "pages_per_s": round(self.pages / elapsed_s, 1) if elapsed_s > 0 else 0.0,
            "by_status": dict(sorted(self.by_status.items())),
            "by_error": dict(sorted(self.by_error.items())),
            "retries": self.retries,
            "robots_excluded": self.robots_excluded,
            "out_of_scope": self.out_of_scope,
            "duplicates": self.duplicates,
            "dropped_links": self.dropped_links,
            "rejected": self.rejected,
            "beyond_depth": self.beyond_depth,
            "plugin_errors": self.plugin_errors,
        }

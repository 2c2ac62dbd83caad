"""A worker process: a pool of threads, each with its own Fetcher (one Session).

It holds no crawl state: tasks arrive from the coordinator on a pipe, and each
attempt sends back one plain-data result (a dict; exceptions and response objects
never cross the process boundary). When a thread has fetched an HTML page it tells the
coordinator at once that the request is over (a bare task id) and then parses it: the
host's slot is free while the page is parsed, and the coordinator may start another
request on one of the pool's spare threads (the pool has twice --threads threads, of
which at most --threads are fetching). A surprise becomes an `internal` result and a
logged traceback; the thread goes on.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import Any

from crawler.errors import ErrorKind
from crawler.fetcher import Attempt, Fetcher
from crawler.links import is_html, parse_page
from crawler.robots import ROBOTS_MAX_BYTES
from crawler.settings import Settings

log = logging.getLogger(__name__)

# A task as sent by the coordinator: (task id, url, send --header values?, robots.txt?)
TaskMessage = tuple[int, str, bool, bool]

Send = Callable[[Any], None]


@dataclass(slots=True)
class ParseJob:
    """A fetched HTML page, to be parsed by the thread that fetched it."""

    task_id: int
    url: str
    body: bytes
    charset: str | None
    result: dict[str, Any]  # the attempt's result, to be completed by the parse


def worker_main(index: int, settings: Settings, tasks: Connection, results: Connection) -> None:
    """Entry point of a worker process; returns when told to stop or the coordinator is gone."""
    # Ctrl-C reaches the whole process group; only the coordinator decides what it means.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    logging.basicConfig(
        level=settings.log_level, format=f"%(levelname)s worker {index}: %(message)s"
    )
    if settings.log_level != "DEBUG":
        # urllib3 logs a hostile server's unparsable headers as a warning with a full
        # traceback; the page's record already says what happened.
        logging.getLogger("urllib3").setLevel(logging.ERROR)
    inbox = _Inbox(tasks)
    send_lock = threading.Lock()

    def send(message: Any) -> None:
        with send_lock:
            results.send(message)

    threads = [
        threading.Thread(
            target=_fetch_loop,
            args=(index, settings, inbox, send),
            name=f"fetch-{index}-{n}",
            daemon=True,
        )
        for n in range(pool_size(settings.threads))
    ]
    for thread in threads:
        thread.start()
    inbox.closed.wait()
    # Every fetch is bounded by --timeout, so this join is bounded too.
    deadline = time.monotonic() + settings.timeout + 5
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


class _Inbox:
    """The task pipe, read directly by whichever idle thread gets there first.

    No hand-off through a reader thread: a task wakes one thread, not two, which
    matters when parsing threads hold the GIL. The stop sentinel (or the coordinator
    gone) closes it for every thread.
    """

    def __init__(self, tasks: Connection) -> None:
        self._tasks = tasks
        self._lock = threading.Lock()
        self.closed = threading.Event()

    def get(self) -> TaskMessage | None:
        with self._lock:
            if self.closed.is_set():
                return None
            try:
                message: TaskMessage | None = self._tasks.recv()
            except (EOFError, OSError):
                message = None  # the coordinator is gone: stop like on a sentinel
            if message is None:
                self.closed.set()
            return message


def pool_size(threads: int) -> int:
    """Threads per worker: --threads fetching, as many more parsing what was fetched."""
    return 2 * threads


def _fetch_loop(
    index: int,
    settings: Settings,
    inbox: _Inbox,
    send: Send,
) -> None:
    fetcher = Fetcher(
        user_agent=settings.user_agent,
        timeout_s=settings.timeout,
        max_bytes=settings.max_bytes,
        headers=settings.headers(),
    )
    try:
        while (message := inbox.get()) is not None:
            result, job = fetch_step(fetcher, message, index)
            try:
                if job is not None:
                    send(job.task_id)  # the request is over; the page is being parsed
                    result = parse_step(job, index, settings.max_url_length)
                send(result)
            except (OSError, ValueError):
                return  # the coordinator is gone
    finally:
        fetcher.close()


def handle(
    fetcher: Fetcher, message: TaskMessage, index: int, max_url_length: int
) -> dict[str, Any]:
    """One task to one result, fetched and then parsed (what a pool thread does)."""
    result, job = fetch_step(fetcher, message, index)
    return result if job is None else parse_step(job, index, max_url_length)


def fetch_step(
    fetcher: Fetcher, message: TaskMessage, index: int
) -> tuple[dict[str, Any], ParseJob | None]:
    """Fetch one task: its finished result, or a result that a parse must complete."""
    task_id, url, send_headers, robots = message
    try:
        result, page = fetch(fetcher, url, send_headers, robots)
    except Exception as exc:  # a bug, not the server's fault: record it, go on
        result, page = _internal_result(url, exc), None
    result["id"] = task_id
    result["worker"] = index
    if page is None:
        return result, None
    return result, ParseJob(task_id, url, page.body, page.charset, result)


def parse_step(job: ParseJob, index: int, max_url_length: int) -> dict[str, Any]:
    """Complete a fetched page's result with its title and links."""
    result = job.result
    try:
        page = parse_page(
            job.body, url=job.url, http_charset=job.charset, max_url_length=max_url_length
        )
    except Exception as exc:  # a parser bug or an encoding surprise: record it, go on
        result = _internal_result(job.url, exc)
        result["id"] = job.task_id
        result["worker"] = index
        return result
    result["title"] = page.title
    result["links"] = page.links
    result["nofollow"] = page.nofollow
    result["dropped_links"] = page.dropped_links
    return result


def fetch(
    fetcher: Fetcher, url: str, send_headers: bool, robots: bool
) -> tuple[dict[str, Any], Attempt | None]:
    """Fetch one URL once: the plain dict the coordinator reads, and the page to parse."""
    attempt = fetcher.fetch(url, send_headers=send_headers)
    result = _attempt_dict(attempt)
    if robots:
        if attempt.status is not None and 200 <= attempt.status < 300:
            result["body"] = attempt.body[:ROBOTS_MAX_BYTES]
        return result, None
    ok = attempt.error_kind is None and attempt.status is not None
    if ok and 200 <= attempt.status < 300 and is_html(attempt.content_type, attempt.body[:512]):
        return result, attempt
    return result, None


def _attempt_dict(attempt: Attempt) -> dict[str, Any]:
    return {
        "status": attempt.status,
        "content_type": attempt.content_type,
        "location": attempt.location,
        "retry_after": attempt.retry_after,
        "bytes": attempt.bytes,
        "elapsed_ms": attempt.elapsed_ms,
        "fetched_at": attempt.fetched_at,
        "error_kind": str(attempt.error_kind) if attempt.error_kind else None,
        "error_message": attempt.error_message,
        "title": None,
        "links": [],
        "nofollow": [],
        "dropped_links": 0,
    }


def _internal_result(url: str, exc: Exception) -> dict[str, Any]:
    log.error("internal error on %s\n%s", url, traceback.format_exc())
    return {
        "status": None,
        "content_type": None,
        "location": None,
        "retry_after": None,
        "bytes": 0,
        "elapsed_ms": 0.0,
        "fetched_at": time.time(),
        "error_kind": str(ErrorKind.INTERNAL),
        "error_message": f"{type(exc).__name__}: {exc}",
        "title": None,
        "links": [],
        "nofollow": [],
        "dropped_links": 0,
    }

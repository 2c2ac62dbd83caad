"""A worker process: a pool of fetch threads, each with its own Fetcher (one Session).

It holds no crawl state: tasks arrive from the coordinator on a pipe, and each
thread sends back one plain-data result per attempt (a dict; exceptions and
response objects never cross the process boundary). A surprise in a thread
becomes an `internal` result and a logged traceback; the thread goes on.
"""

from __future__ import annotations

import logging
import queue
import signal
import threading
import time
import traceback
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
    inbox: queue.SimpleQueue[TaskMessage | None] = queue.SimpleQueue()
    send_lock = threading.Lock()

    def send(result: dict[str, Any]) -> None:
        with send_lock:
            results.send(result)

    threads = [
        threading.Thread(
            target=_fetch_loop,
            args=(index, settings, inbox, send),
            name=f"fetch-{index}-{n}",
            daemon=True,
        )
        for n in range(settings.threads)
    ]
    for thread in threads:
        thread.start()
    try:
        while True:
            message = tasks.recv()
            if message is None:
                break
            inbox.put(message)
    except (EOFError, OSError):
        pass  # the coordinator is gone: stop like on a sentinel
    for _ in threads:
        inbox.put(None)
    # Every fetch is bounded by --timeout, so this join is bounded too.
    deadline = time.monotonic() + settings.timeout + 5
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))


def _fetch_loop(
    index: int,
    settings: Settings,
    inbox: queue.SimpleQueue[TaskMessage | None],
    send: Any,
) -> None:
    fetcher = Fetcher(
        user_agent=settings.user_agent,
        timeout_s=settings.timeout,
        max_bytes=settings.max_bytes,
        headers=settings.headers(),
    )
    try:
        while (message := inbox.get()) is not None:
            try:
                send(handle(fetcher, message, index, settings.max_url_length))
            except (OSError, ValueError):
                return  # the coordinator is gone
    finally:
        fetcher.close()


def handle(
    fetcher: Fetcher, message: TaskMessage, index: int, max_url_length: int
) -> dict[str, Any]:
    """One task to one result; a surprise becomes an `internal` result, never a dead thread."""
    task_id, url, send_headers, robots = message
    try:
        result = process(fetcher, url, send_headers, robots, max_url_length)
    except Exception as exc:  # a bug, not the server's fault: record it, go on
        log.error("internal error on %s\n%s", url, traceback.format_exc())
        result = _internal_result(url, exc)
    result["id"] = task_id
    result["worker"] = index
    return result


def process(
    fetcher: Fetcher, url: str, send_headers: bool, robots: bool, max_url_length: int
) -> dict[str, Any]:
    """Fetch one URL once and turn the attempt into the plain dict the coordinator reads."""
    attempt = fetcher.fetch(url, send_headers=send_headers)
    result = _attempt_dict(attempt)
    if robots:
        if attempt.status is not None and 200 <= attempt.status < 300:
            result["body"] = attempt.body[:ROBOTS_MAX_BYTES]
        return result
    ok = attempt.error_kind is None and attempt.status is not None
    if ok and 200 <= attempt.status < 300 and is_html(attempt.content_type, attempt.body[:512]):
        page = parse_page(
            attempt.body,
            url=url,
            http_charset=attempt.charset,
            max_url_length=max_url_length,
        )
        result["title"] = page.title
        result["links"] = page.links
        result["nofollow"] = page.nofollow
        result["dropped_links"] = page.dropped_links
    return result


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

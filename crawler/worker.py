"""A worker process: a pool of fetch threads, each with its own Fetcher (one Session).

It holds no crawl state: TaskMessages arrive from the coordinator on a pipe, and each
thread sends back one Result per attempt (crawler/messages.py; exceptions and
response objects never cross the process boundary). A surprise in a thread
becomes an `internal` result and a logged traceback; the thread goes on.

A task may come as the successor of another (same host, no delay): the thread
whose request ends goes straight on to it, on the same host slot, and leaves the
page it fetched to the worker's parse thread, instead of parsing it and then
waiting a round trip through the coordinator for its next task. That keeps a
host's slots busy when each answer takes long (a slow server, a far one).

With --plugin, the thread that parsed a page sends its Result first, marked
`plugin_pending`, and only then calls the plugin, whose outcome follows as a second
message: the coordinator has the page's status, title and links before a call that may
never return, and stops this process if the call runs past --plugin-timeout
(crawler/pool.py). A worker that cannot import the plugin still crawls: each call then
ends in a plugin_error naming the import error. With a plugin, each fetch thread
parses its own pages and calls the plugin itself: no page waits for the parse thread
behind another page's call.

One parse thread, not one per fetch thread: every thread of a worker shares one
interpreter lock, and a fetch thread waiting for it to send its next request or read
an answer holds its host slot meanwhile; fewer CPU-bound threads to wait behind made
those waits shorter (~0.4 ms a request at 50 ms per answer). When pages come faster
than it parses (a fast server), at most parse_backlog() wait for it and a fetch thread
parses its own page before its next request: memory stays bounded and the fetching
slows to the pace of parsing.
"""

from __future__ import annotations

import ctypes
import logging
import os
import queue
import signal
import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from multiprocessing.connection import Connection

from crawler.addresses import AddressGuard
from crawler.extract import Extractor, parse_extractors
from crawler.fetcher import Attempt, Fetcher
from crawler.links import ParsedPage, is_html, parse_page
from crawler.messages import FENCED, PluginOutcome, Result, TaskMessage
from crawler.plugin import Page, PluginFunction, PluginLoadError, call_plugin, load_plugin
from crawler.records import internal_result, not_attempted
from crawler.robots import ROBOTS_MAX_BYTES
from crawler.settings import Settings
from crawler.sitemap_parse import with_sitemap
from crawler.warc_files import ArchivePlan
from crawler.warc_writer import WarcWriter

log = logging.getLogger(__name__)

M_MMAP_THRESHOLD = -3  # glibc's malloc.h
MMAP_THRESHOLD_BYTES = 8192

Send = Callable[[Result | PluginOutcome], None]


class Successors:
    """Which task a thread starts the moment its current request ends.

    The coordinator sends a successor while its predecessor is in flight; if the
    predecessor's request is over by the time it arrives (the messages crossed), the
    successor goes to the shared inbox instead, for the thread that is now free.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._unfinished: set[int] = set()  # received, request not over yet
        self._after: dict[int, TaskMessage] = {}

    def received(self, message: TaskMessage) -> bool:
        """Note a task; True if it waits for its predecessor, False if it goes to the inbox."""
        with self._lock:
            self._unfinished.add(message.task_id)
            if message.after and message.after in self._unfinished:
                self._after[message.after] = message
                return True
            return False

    def request_over(self, task_id: int) -> TaskMessage | None:
        """The request of `task_id` ended: its successor, to start now, if it has one."""
        with self._lock:
            self._unfinished.discard(task_id)
            return self._after.pop(task_id, None)


def worker_main(
    index: int,
    settings: Settings,
    tasks: Connection,
    results: Connection,
    *,
    cpu: int | None = None,
    guard: AddressGuard | None = None,
    archive: ArchivePlan | None = None,
) -> None:
    """Entry point of a worker process; returns when told to stop or the coordinator is gone.

    `guard` decides which addresses a request may connect to (the pool always gives one).
    With `cpu`, the process and every thread it starts run on that CPU only (see
    crawler/worker_entry.py for why). With `archive` (--warc), every attempt's exchange
    goes to this process's WARC files, written by the thread that fetched it.
    """
    _set_up_process(index, settings, cpu)
    inbox: queue.SimpleQueue[TaskMessage | None] = queue.SimpleQueue()
    parse_jobs: queue.SimpleQueue[ParseJob | None] = queue.SimpleQueue()
    successors = Successors()
    send_lock = threading.Lock()

    def send(message: Result | PluginOutcome) -> None:
        with send_lock:
            results.send(message)

    parsing = Parsing(
        settings.max_url_length,
        # Checked by the coordinator before the first request; compiled once per process.
        parse_extractors(settings.extract),
        _plugin(settings.plugin),
    )
    warc = WarcWriter(archive) if archive is not None else None
    shared = (index, settings, parsing, guard, warc, inbox, successors, parse_jobs, send)
    fetchers = [
        _thread(_fetch_loop, f"fetch-{index}-{n}", *shared) for n in range(settings.threads)
    ]
    parser = _thread(_parse_loop, f"parse-{index}", parsing, parse_jobs, send)
    _read_tasks(tasks, successors, inbox)
    for _ in fetchers:
        inbox.put(None)
    # Every fetch is bounded by --timeout, so these joins are bounded too.
    deadline = time.monotonic() + settings.timeout + 5
    for thread in fetchers:
        thread.join(max(0.0, deadline - time.monotonic()))
    parse_jobs.put(None)
    parser.join(max(0.0, deadline - time.monotonic()))
    if warc is not None:
        warc.close()


@dataclass(frozen=True, slots=True)
class Parsing:
    """What a worker does with a fetched HTML page beyond fetching it."""

    max_url_length: int
    extractors: tuple[Extractor, ...] = ()
    plugin: PluginFunction | None = None


def _plugin(spec: str | None) -> PluginFunction | None:
    """The --plugin function, imported once in this process; if the import fails here
    (it worked in the coordinator), a stand-in whose every call names the failure."""
    if spec is None:
        return None
    try:
        return load_plugin(spec)
    except PluginLoadError as exc:
        log.error("%s; every page's record gets it as its plugin_error", exc)
        problem = str(exc)

        def broken(page: Page) -> object:
            raise PluginLoadError(problem)

        return broken


def _thread(target: Callable[..., None], name: str, *args: object) -> threading.Thread:
    """A started daemon thread (the process exits whatever a stuck one does)."""
    thread = threading.Thread(target=target, args=args, name=name, daemon=True)
    thread.start()
    return thread


def _set_up_process(index: int, settings: Settings, cpu: int | None) -> None:
    # Ctrl-C reaches the whole process group; only the coordinator decides what it means.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    mmap_large_blocks()
    logging.basicConfig(
        level=settings.log_level, format=f"%(levelname)s worker {index}: %(message)s"
    )
    if cpu is not None and pin_to_cpu(cpu):  # before the threads: they inherit it
        log.debug("runs on CPU %d", cpu)
    if settings.log_level != "DEBUG":
        # urllib3 logs a hostile server's unparsable headers as a warning with a full
        # traceback; the page's record already says what happened.
        logging.getLogger("urllib3").setLevel(logging.ERROR)


def _read_tasks(
    tasks: Connection, successors: Successors, inbox: queue.SimpleQueue[TaskMessage | None]
) -> None:
    """Hand each task to the inbox, or to the thread it follows; until told to stop."""
    try:
        while (message := tasks.recv()) is not None:
            if not successors.received(message):
                inbox.put(message)
    except (EOFError, OSError):
        pass  # the coordinator is gone: stop like on a sentinel


def pin_to_cpu(cpu: int) -> bool:
    """Run this thread, and the threads it starts from now on, on `cpu` only.

    False, and the OS schedules as it likes, where that is not possible (not Linux, or the
    CPU went offline or out of our cpuset since the coordinator looked).
    """
    try:
        os.sched_setaffinity(0, {cpu})
    except (AttributeError, OSError) as exc:
        log.debug("cannot run on CPU %d only: %s", cpu, exc)
        return False
    return True


def mmap_large_blocks() -> bool:
    """Have glibc serve blocks of 8 KiB and more (bodies, decoded pages) from mmap.

    With a thread pool each thread mallocs from its own glibc arena, and the mix of
    ~10 KB page buffers and small long-lived objects fragments those arenas: a worker's
    memory crept up by ~25 MB over a 200 000-page crawl although Python's own heap stayed
    flat. Blocks from mmap go back to the system when freed, for a few microseconds per
    page. False where this is not glibc (the call is then skipped or a no-op).
    """
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (OSError, AttributeError):
        return False
    return bool(mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES))


def _fetch_loop(
    index: int,
    settings: Settings,
    parsing: Parsing,
    guard: AddressGuard | None,
    warc: WarcWriter | None,
    inbox: queue.SimpleQueue[TaskMessage | None],
    successors: Successors,
    parse_jobs: queue.SimpleQueue[ParseJob | None],
    send: Send,
) -> None:
    # With a plugin no page waits for the parse thread: it could wait there behind a
    # call that never returns, and be fetched again once the worker is killed for it.
    backlog = 0 if parsing.plugin is not None else parse_backlog(settings.threads)
    fetcher = Fetcher(
        user_agent=settings.user_agent,
        timeout_s=settings.timeout,
        max_bytes=settings.max_bytes,
        headers=settings.headers(),
        guard=guard,
        capture=warc is not None,
    )
    try:
        message = inbox.get()
        while message is not None:
            result, page = fetch_step(fetcher, message, index, warc)
            if message.sitemap:
                result = sitemap_step(result, settings.max_bytes, settings.max_url_length)
            following = successors.request_over(message.task_id)
            if page is not None and following is not None and parse_jobs.qsize() < backlog:
                # The next request first: the parse thread completes this result.
                parse_jobs.put(ParseJob(page, result))
            else:  # nothing to go on with, or the parse thread is behind: parse here
                try:
                    if page is not None:
                        finish_page(page, result, parsing, send)
                    else:
                        send(result)
                except (OSError, ValueError):
                    return  # the coordinator is gone
            message = following if following is not None else inbox.get()
    finally:
        fetcher.close()


def parse_backlog(threads: int) -> int:
    """Pages that may wait for the parse thread: half as many as fetch threads, at least 1.

    Past it a fetch thread parses its own page. So a worker holds at most this many
    unparsed pages beyond the ones its threads hold, and a killed worker's lost work (its
    tasks then fetched again) is at most threads + backlog + the page being parsed.
    """
    return max(1, threads // 2)


def _parse_loop(
    parsing: Parsing, parse_jobs: queue.SimpleQueue[ParseJob | None], send: Send
) -> None:
    while (job := parse_jobs.get()) is not None:
        try:
            finish_page(job.page, job.result, parsing, send)
        except (OSError, ValueError):
            return  # the coordinator is gone


@dataclass(frozen=True, slots=True)
class FetchedPage:
    """An HTML page whose request is over, still to be parsed."""

    url: str
    body: bytes
    charset: str | None
    origin: str | None = None  # the record's URL, when `url` is a redirect hop of it
    headers: Mapping[str, str] = field(default_factory=dict)  # for a plugin


@dataclass(frozen=True, slots=True)
class ParseJob:
    page: FetchedPage
    result: Result  # of the page's attempt; the parse adds title and links


def handle(
    fetcher: Fetcher,
    message: TaskMessage,
    index: int,
    max_url_length: int,
    extractors: tuple[Extractor, ...] = (),
) -> Result:
    """One task to one result: fetched, then parsed if it is an HTML page."""
    result, page = fetch_step(fetcher, message, index)
    return result if page is None else parse_step(page, result, max_url_length, extractors)


def fetch_step(
    fetcher: Fetcher, message: TaskMessage, index: int, warc: WarcWriter | None = None
) -> tuple[Result, FetchedPage | None]:
    """Fetch one URL once: the result the coordinator reads, and the page to parse.

    With `warc`, the exchange is archived before the result is sent.
    A surprise becomes an `internal` result and a logged traceback, never a dead thread.
    """
    url = message.url
    if message.deadline and time.monotonic() > message.deadline:
        # Fenced: this machine's lease of the host may be over; another may own it now.
        fenced = not_attempted(time.time())._replace(
            task_id=message.task_id, worker=index, error_kind=FENCED
        )
        return fenced, None
    try:
        attempt = fetcher.fetch(url, send_headers=message.send_headers)
        if warc is not None and attempt.exchange is not None:
            warc.write(attempt.exchange)
        success = attempt.status is not None and 200 <= attempt.status < 300
        if message.sitemap:
            # The whole body (at most --max-bytes): the fetch thread parses it next.
            return _result(attempt, message.task_id, index, attempt.body if success else b""), None
        if message.robots:
            # Also when too large: the first part is what RFC 9309 asks to parse.
            body = attempt.body[:ROBOTS_MAX_BYTES] if success else b""
            return _result(attempt, message.task_id, index, body), None
        page = None
        if (
            success
            and attempt.error_kind is None
            and is_html(attempt.content_type, attempt.body[:512])
        ):
            page = FetchedPage(url, attempt.body, attempt.charset, message.origin, attempt.headers)
        return _result(attempt, message.task_id, index), page
    except Exception as exc:  # a bug, not the server's fault: record it, go on
        log.error("internal error on %s\n%s", url, traceback.format_exc())
        return _internal_result(message.task_id, index, exc), None


def sitemap_step(result: Result, max_bytes: int, max_url_length: int) -> Result:
    """Complete a sitemap fetch's result with the URLs the file lists."""
    try:
        return with_sitemap(result, max_bytes, max_url_length)
    except Exception as exc:  # a bug, not the server's fault: record it, go on
        log.error("internal error on sitemap %d\n%s", result.task_id, traceback.format_exc())
        return _internal_result(result.task_id, result.worker, exc)


def finish_page(page: FetchedPage, result: Result, parsing: Parsing, send: Send) -> None:
    """Parse a fetched page and send its Result; with a plugin, that Result goes first,
    marked pending, then the plugin is called and its PluginOutcome follows."""
    result, parsed = _parse(page, result, parsing.max_url_length, parsing.extractors)
    if parsing.plugin is None or parsed is None:
        send(result)
        return
    extracted = result.data if result.data is not None else {}
    send(result._replace(plugin_pending=True, data=extracted))
    assert result.status is not None  # a 2xx page
    visible = Page(page.origin or page.url, page.url, result.status, page.headers, parsed.text)
    applied = call_plugin(parsing.plugin, visible, extracted, parsed.base, parsing.max_url_length)
    outcome = PluginOutcome(
        result.task_id, applied.data, applied.follow, applied.error, applied.dropped
    )
    send(outcome)


def parse_step(
    page: FetchedPage,
    result: Result,
    max_url_length: int,
    extractors: tuple[Extractor, ...] = (),
) -> Result:
    """Complete a fetched page's result with its title and links (and its --extract data)."""
    return _parse(page, result, max_url_length, extractors)[0]


def _parse(
    page: FetchedPage, result: Result, max_url_length: int, extractors: tuple[Extractor, ...]
) -> tuple[Result, ParsedPage | None]:
    """parse_step's result, and the parsed page (None when parsing failed)."""
    try:
        parsed = parse_page(
            page.body,
            url=page.url,
            http_charset=page.charset,
            max_url_length=max_url_length,
            extractors=extractors,
        )
    except Exception as exc:  # a bug, not the server's fault: record it, go on
        log.error("internal error on %s\n%s", page.url, traceback.format_exc())
        return _internal_result(result.task_id, result.worker, exc), None
    completed = result._replace(
        title=parsed.title,
        links=parsed.links,
        nofollow=parsed.nofollow,
        dropped_links=parsed.dropped_links,
        data=parsed.data,
    )
    return completed, parsed


def _result(attempt: Attempt, task_id: int, index: int, body: bytes = b"") -> Result:
    """The one place an Attempt becomes what crosses the pipe."""
    return Result(
        task_id=task_id,
        worker=index,
        status=attempt.status,
        content_type=attempt.content_type,
        location=attempt.location,
        retry_after=attempt.retry_after,
        bytes=attempt.bytes,
        elapsed_ms=attempt.elapsed_ms,
        fetched_at=attempt.fetched_at,
        error_kind=str(attempt.error_kind) if attempt.error_kind else None,
        error_message=attempt.error_message,
        body=body,
    )


def _internal_result(task_id: int, index: int | None, exc: Exception) -> Result:
    message = f"{type(exc).__name__}: {exc}"
    return internal_result(message, task_id=task_id, worker=index, epoch=time.time())

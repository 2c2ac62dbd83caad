"""--warc DIR: each worker process writes the exchanges it fetched to WARC files of its own.

The raw bytes stay in the process that fetched them: no body crosses to the
coordinator. A file is named `<crawl start>-<machine>-<pid>-<seq>.warc.gz`; it is
created exclusively (O_EXCL), so no name is ever written twice, also when a replaced
worker's pid comes round again or another machine shares DIR. Each file starts with a
warcinfo record; the next exchange that would take it past --warc-max-size goes to a
new file.

The records of one exchange are built and gzipped (a member each) outside the lock,
then written with one write() and no buffer in between: a killed process leaves every
record it wrote whole, except at worst the one a SIGKILL interrupted inside that
write, which the coordinator cuts off when it sees the worker die
(crawler/warc_files.py).
"""

from __future__ import annotations

import logging
import os
import threading

from crawler.fetcher import Exchange
from crawler.warc_files import ArchivePlan
from crawler.warc_records import RecordMaker, exchange_records, warcinfo_record

log = logging.getLogger(__name__)


class WarcWriter:
    """One process's WARC files; its fetch threads share it."""

    def __init__(self, plan: ArchivePlan, pid: int | None = None) -> None:
        self._plan = plan
        self._pid = os.getpid() if pid is None else pid
        self._lock = threading.Lock()
        self._fd: int | None = None
        self._size = 0  # bytes in the current file
        self._exchanges = 0  # exchanges in the current file
        self._seq = 0  # the next file's number
        self._failed_path: str | None = None  # the file whose write failed last
        self._makers = threading.local()  # a RecordMaker per fetch thread
        self.path: str | None = None  # the current file

    def write(self, exchange: Exchange) -> None:
        """Append one exchange's records; an OSError is logged, and the crawl goes on."""
        maker = self._maker()
        data = b"".join(maker.member(record) for record in exchange_records(maker, exchange))
        with self._lock:
            try:
                if self._fd is None or (
                    self._exchanges and self._size + len(data) > self._plan.max_size
                ):
                    self._open_next(maker)
                assert self._fd is not None
                self._append(data)
                self._exchanges += 1
            except OSError as exc:
                self._failed(exc)

    def _maker(self) -> RecordMaker:
        maker: RecordMaker | None = getattr(self._makers, "maker", None)
        if maker is None:
            maker = self._makers.maker = RecordMaker()
        return maker

    def close(self) -> None:
        with self._lock:
            self._close()

    def _open_next(self, maker: RecordMaker) -> None:
        self._close()
        while True:
            name = self._plan.file_name(self._pid, self._seq)
            self._seq += 1
            path = os.path.join(self._plan.directory, name)
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o644)
            except FileExistsError:
                continue  # an earlier process with this pid wrote it: never reuse a name
            break
        self._fd, self.path, self._size, self._exchanges = fd, path, 0, 0
        try:
            self._append(maker.member(warcinfo_record(maker, name, self._plan.settings)))
        except OSError:
            # A file must start with its warcinfo: none without it.
            self._close()
            os.unlink(path)
            raise

    def _append(self, data: bytes) -> None:
        assert self._fd is not None
        view = memoryview(data)
        done = 0
        try:
            while done < len(data):
                done += os.write(self._fd, view[done:])
        except OSError:
            # Leave no partial record behind: cut the file back to its last whole one.
            if done:
                os.ftruncate(self._fd, self._size)
            raise
        self._size += done

    def _failed(self, exc: OSError) -> None:
        # The file was cut back to its last whole record and stays open: the next
        # exchange tries again (a full disk fails every write: one error line per file).
        if self.path != self._failed_path:
            log.error(
                "cannot write WARC file %s: %s; its exchanges are not archived until "
                "a write succeeds",
                self.path,
                exc.strerror or exc,
            )
            self._failed_path = self.path

    def _close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

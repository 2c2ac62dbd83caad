"""--warc DIR as the coordinator sees it: the directory, the file names, and repairs.

Light on imports (the coordinator never loads warcio or requests: see
tests/unit/test_startup.py); the worker side is crawler/warc_writer.py.

A file is named `<crawl start>-<machine>-<pid>-<seq>.warc.gz`. A process killed in the
middle of writing a record leaves a partial gzip member at the end of its file, which
warcio check reads as a record whose headers end early and may fail on
(tests/unit/test_warc_records.py): `trim_files_of` cuts it off when a worker died.
"""

from __future__ import annotations

import contextlib
import errno
import logging
import os
import re
import socket
import time
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from crawler.errors import UsageError
from crawler.output import check_output_paths, directory_path_problem
from crawler.settings import Settings

log = logging.getLogger(__name__)

SUFFIX = ".warc.gz"
GZIP_WBITS = 31  # a gzip header and trailer around the deflate stream
_SCAN_STEP = 1 << 16  # decompressed bytes per step when looking for member ends
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
# user:password@ in a URL-valued setting (a redis frontier's URL, say).
_URL_PASSWORD = re.compile(r"(?P<scheme>[A-Za-z][A-Za-z0-9+.-]*://)(?P<user>[^/@:\s]*):[^/@\s]*@")


@dataclass(frozen=True, slots=True)
class ArchivePlan:
    """What every worker process needs to write its WARC files; made once per crawl."""

    directory: str
    crawl_start: str  # UTC, to the millisecond: 20261130051026123
    machine: str
    max_size: int
    settings: dict[str, Any]  # the effective settings without secrets, for warcinfo
    made: tuple[str, ...] = ()  # the directories plan_archive made, deepest first

    def prefix(self, pid: int) -> str:
        """The start of the names of the files of process `pid`."""
        return f"{self.crawl_start}-{self.machine}-{pid}-"

    def file_name(self, pid: int, seq: int) -> str:
        return f"{self.prefix(pid)}{seq:05d}{SUFFIX}"


def plan_archive(settings: Settings, started_at: float) -> ArchivePlan | None:
    """The archive of this crawl, its directory made; None without --warc.

    UsageError (exit 2, before the first request) if DIR is a file or cannot be made or
    written to. The other output paths are looked at first, so that a problem with one
    of them is found before DIR is made; if one still fails when it is opened,
    `forget_archive` removes what this made.
    """
    if settings.warc is None:
        return None
    check_output_paths(settings.out, settings.jsonl, settings.state)
    directory = Path(settings.warc)
    problem = directory_path_problem(settings.warc)
    if problem is not None:
        raise UsageError(f"cannot use --warc {directory}: {problem}")
    missing = [str(p) for p in (directory, *directory.parents) if not p.exists()]
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(
            f"cannot use --warc {directory}: cannot create directory {exc.filename}: {exc.strerror}"
        ) from None
    if not os.access(directory, os.W_OK | os.X_OK):
        raise UsageError(f"cannot use --warc {directory}: the directory is not writable")
    return ArchivePlan(
        directory=os.path.abspath(directory),  # the workers need not share our cwd
        crawl_start=time.strftime("%Y%m%d%H%M%S", time.gmtime(started_at))
        + f"{int(started_at * 1000) % 1000:03d}",
        machine=machine_name(),
        max_size=settings.warc_max_size,
        settings=public_settings(settings.to_json()),
        made=tuple(missing),
    )


def forget_archive(plan: ArchivePlan | None) -> None:
    """Remove the directories plan_archive made, if still empty (another output failed)."""
    for directory in plan.made if plan is not None else ():
        with contextlib.suppress(OSError):
            os.rmdir(directory)


def machine_name() -> str:
    """This machine's host name, as a file name may hold it."""
    return _UNSAFE.sub("_", socket.gethostname()) or "localhost"


def public_settings(settings_json: Mapping[str, Any]) -> dict[str, Any]:
    """Settings as a warcinfo may show them: the password of any URL in them as `***`.

    (Settings.to_json already leaves --header values out.)
    """

    def scrub(value: Any) -> Any:
        if isinstance(value, str):
            return _URL_PASSWORD.sub(r"\g<scheme>\g<user>:***@", value)
        if isinstance(value, list):
            return [scrub(item) for item in value]
        return value

    return {key: scrub(value) for key, value in settings_json.items()}


def whole_members_length(stream: BinaryIO, chunk_bytes: int = 1 << 20) -> int:
    """How many leading bytes of a gzip stream are whole members (the rest is cut off).

    A process killed in the middle of writing a record leaves a partial member at the
    end of its file; warcio check reads it as a record whose headers end early, and
    may fail on it (tests/unit/test_warc_files.py). Reads the stream once,
    decompressing a bounded step at a time (the output is thrown away).
    """
    whole = start = fed = 0  # last whole member's end; current member's start; bytes read since
    decompressor = zlib.decompressobj(GZIP_WBITS)
    data = b""
    while True:
        if not data:
            data = stream.read(chunk_bytes)
            if not data:
                return whole
            fed += len(data)
        try:
            decompressor.decompress(data, _SCAN_STEP)
        except zlib.error:
            return whole  # not gzip from here on: nothing past it is a whole record
        data = decompressor.unconsumed_tail
        if decompressor.eof:
            data = decompressor.unused_data
            whole = start = start + fed - len(data)
            fed = len(data)
            decompressor = zlib.decompressobj(GZIP_WBITS)


def trim_partial_tail(path: str) -> int:
    """Cut a partial record (a gzip member cut short) off the end of a WARC file.

    Returns the bytes removed. For a file no process writes any more.
    """
    with open(path, "r+b") as fh:
        whole = whole_members_length(fh)
        size = os.fstat(fh.fileno()).st_size
        if whole < size:
            fh.truncate(whole)
    return size - whole


def trim_files_of(plan: ArchivePlan, pid: int) -> None:
    """After process `pid` died: cut a partial record off the end of its last file."""
    try:
        prefix = plan.prefix(pid)
        seqs = {
            name: name[len(prefix) : -len(SUFFIX)]
            for name in os.listdir(plan.directory)
            if name.startswith(prefix) and name.endswith(SUFFIX)
        }
        numbered = [(int(seq), name) for name, seq in seqs.items() if seq.isdigit()]
        if numbered:
            path = os.path.join(plan.directory, max(numbered)[1])
            removed = trim_partial_tail(path)
            if removed:
                log.warning("cut %d bytes of a partial record off the end of %s", removed, path)
    except OSError as exc:
        if exc.errno != errno.ENOENT:
            log.error("cannot check WARC file of process %d: %s", pid, exc)

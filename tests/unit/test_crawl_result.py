"""run_crawl's last step: out.json, or a fallback copy named in one error line."""

from __future__ import annotations

import errno
import logging
from pathlib import Path
from typing import Any, cast

import pytest

from crawler.crawl import _write_result
from crawler.recorder import Recorder
from crawler.settings import Settings

HEADER: dict[str, Any] = {"version": 1}


class FakeRecorder:
    """write() and write_fallback() succeed or raise as told."""

    def __init__(self, out_error: OSError | None, fallback: Path | OSError) -> None:
        self.out_error = out_error
        self.fallback = fallback

    def write(self, header: dict[str, Any]) -> None:
        if self.out_error is not None:
            raise self.out_error

    def write_fallback(self, header: dict[str, Any]) -> Path:
        if isinstance(self.fallback, OSError):
            raise self.fallback
        return self.fallback


def write(
    recorder: FakeRecorder, caplog: pytest.LogCaptureFixture, **settings: Any
) -> tuple[str | None, list[str]]:
    caplog.set_level(logging.ERROR)
    where = _write_result(cast(Recorder, recorder), HEADER, Settings(out="r/out.json", **settings))
    return where, [r.getMessage() for r in caplog.records]


GONE = FileNotFoundError(errno.ENOENT, "No such file or directory", "r/.out.json.x.tmp")
FULL = OSError(errno.ENOSPC, "No space left on device", "/tmp/crawler-out-1.json")


def test_written_where_asked(caplog: pytest.LogCaptureFixture) -> None:
    assert write(FakeRecorder(None, FULL), caplog) == ("r/out.json", [])


def test_not_written_where_asked_names_the_fallback(caplog: pytest.LogCaptureFixture) -> None:
    where, lines = write(FakeRecorder(GONE, Path("/tmp/crawler-out-1.json")), caplog)
    assert where == "/tmp/crawler-out-1.json"
    assert lines == [
        "cannot write --out r/out.json: No such file or directory; "
        "the whole result was written to /tmp/crawler-out-1.json instead"
    ]


@pytest.mark.parametrize(
    ("state", "end"),
    [(None, ""), ("st", "; the records are kept in --state st")],
)
def test_nowhere_to_write_says_so_in_one_line(
    caplog: pytest.LogCaptureFixture, state: str | None, end: str
) -> None:
    where, lines = write(FakeRecorder(GONE, FULL), caplog, state=state)
    assert where is None
    assert lines == [
        "cannot write --out r/out.json: No such file or directory, nor a copy to "
        f"/tmp/crawler-out-1.json: No space left on device; the result is lost{end}"
    ]

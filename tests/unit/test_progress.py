"""The progress bar, drawn into a StringIO at a fixed width with a fake clock."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterator

import pytest

from crawler.progress import Progress


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    fake = Clock()
    monkeypatch.setattr("tqdm.std.time", fake)  # what each new bar reads the time from
    return fake


@pytest.fixture
def bar(clock: Clock) -> Iterator[Callable[..., tuple[Progress, io.StringIO]]]:
    """`bar(total=None, enabled=True)`: a Progress drawing into a StringIO, 60 columns
    wide; closed when the test ends (an open tqdm bar shifts the next one down)."""
    opened: list[Progress] = []

    def make(total: int | None = None, enabled: bool | None = True) -> tuple[Progress, io.StringIO]:
        out = io.StringIO()
        progress = Progress(enabled, total, file=out, ncols=60)
        opened.append(progress)
        return progress, out

    yield make
    for progress in opened:
        progress.close()


def last_line(out: io.StringIO) -> str:
    return out.getvalue().split("\r")[-1].rstrip("\n")


def test_off_when_stderr_is_not_a_terminal(
    bar: Callable[..., tuple[Progress, io.StringIO]],
) -> None:
    progress, out = bar(enabled=None)  # a StringIO is not a terminal
    progress.start()
    progress.update(5, 1, 3)
    progress.close()
    assert out.getvalue() == ""


def test_after_a_resume_the_rate_counts_this_run_only(
    bar: Callable[..., tuple[Progress, io.StringIO]], clock: Clock
) -> None:
    progress, out = bar()
    progress.start(resumed=1000)  # records of the earlier runs
    assert last_line(out).startswith("1000 pages")
    clock.now += 10
    progress.update(1020, 3, 40)
    assert last_line(out).startswith("1020 pages, 3 failed, 40 queued, 2.0 pages/s")  # not 102


def test_unit_is_pages_and_one_page_is_singular(
    bar: Callable[..., tuple[Progress, io.StringIO]], clock: Clock
) -> None:
    progress, out = bar()
    progress.start()
    clock.now += 1
    progress.update(1, 0, 2)
    assert last_line(out).startswith("1 page, 0 failed, 2 queued, 1.0 pages/s")
    clock.now += 1
    progress.update(2, 0, 2)
    assert last_line(out).startswith("2 pages, 0 failed, 2 queued")


@pytest.mark.parametrize("total", [None, 5000])
def test_every_number_fits_in_60_columns(
    bar: Callable[..., tuple[Progress, io.StringIO]], clock: Clock, total: int | None
) -> None:
    progress, out = bar(total)
    progress.start()
    clock.now += 10
    progress.update(1200, 17, 3500)
    line = last_line(out)
    assert len(line) <= 60, line
    counted = "1200/5000 pages" if total else "1200 pages"
    assert line.startswith(f"{counted}, 17 failed, 3500 queued, 120.0 pages/s"), line


def test_the_first_update_is_drawn_and_so_is_a_new_postfix(
    bar: Callable[..., tuple[Progress, io.StringIO]], clock: Clock
) -> None:
    progress, out = bar()
    progress.update(3, 0, 5)  # starts the bar
    assert last_line(out).startswith("3 pages, 0 failed, 5 queued")
    clock.now += 1
    progress.update(3, 1, 4)  # no new page, one more failed
    assert last_line(out).startswith("3 pages, 1 failed, 4 queued")


def test_not_started_the_first_update_is_the_baseline_of_the_rate(
    bar: Callable[..., tuple[Progress, io.StringIO]], clock: Clock
) -> None:
    progress, out = bar()
    progress.update(1000, 2, 50)  # a resumed crawl's first turn, before any new page
    assert last_line(out).startswith("1000 pages, 2 failed, 50 queued, ? pages/s")
    clock.now += 10
    progress.update(1030, 2, 50)
    assert last_line(out).startswith("1030 pages, 2 failed, 50 queued, 3.0 pages/s")


def test_plugin_errors_show_once_there_is_one(
    bar: Callable[..., tuple[Progress, io.StringIO]], clock: Clock
) -> None:
    progress, out = bar()
    progress.start()
    clock.now += 1
    progress.update(5, 0, 2, 0)
    assert "plugin" not in last_line(out)
    clock.now += 1
    progress.update(6, 0, 2, 1)
    assert last_line(out).startswith("6 pages, 0 failed, 2 queued, 1 plugin errors, ")

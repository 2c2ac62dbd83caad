"""The coordinator acting on admission's verdicts, without starting a process."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any, cast

from crawler.addresses import GUARD_DEFAULT
from crawler.admission import Verdict
from crawler.coordinator import Coordinator
from crawler.frontier import Task
from crawler.memory_frontier import MemoryFrontier
from crawler.pool import WorkerPool
from crawler.recorder import Recorder
from crawler.settings import Settings

SEED = "http://a.test/"


def coordinator(tmp_path: Path) -> Coordinator:
    settings = Settings(seed=(SEED,), out=str(tmp_path / "out.json"), scope="any")
    frontier = MemoryFrontier(delay_s=0, per_host=8, clock=lambda: 0.0)
    # A pool that is never started: admission does not touch the workers.
    pool = WorkerPool(settings, cast(Any, None), GUARD_DEFAULT)
    recorder = Recorder.open(settings, [SEED], [])
    return Coordinator(settings, [SEED], frontier, pool, recorder)


def test_a_refused_hosts_page_becomes_its_record(tmp_path: Path) -> None:
    c = coordinator(tmp_path)
    c.robots.learn("dead.test", None, "connect", b"", error_message="refused")
    page = Task(url="http://dead.test/x", depth=1, referrer=SEED)
    c.order.open(1)
    assert c._admit(page) is Verdict.HOST_REFUSED
    assert c.recorder.stats.pages == 1
    assert c.recorder.stats.by_error == {"robots_unavailable": 1}
    c.recorder.close()


def test_a_robots_txt_redirect_into_a_refused_host_is_left_to_the_fetcher(
    tmp_path: Path,
) -> None:
    # robots.txt of a.test redirects to dead.test, already refused: the hop is a request
    # like any robots.txt one (the fetcher's guard refuses a blocked address), never a
    # page record of its own.
    c = coordinator(tmp_path)
    c.robots.learn("dead.test", None, "connect", b"", error_message="refused")
    hop = Task(
        url="http://dead.test/robots.txt",
        depth=0,
        robots=True,
        robots_for="a.test",
        redirects=["http://a.test/robots.txt"],
    )
    assert c._admit(dataclasses.replace(hop)) is Verdict.START
    assert c.recorder.stats.pages == 0
    c.recorder.close()

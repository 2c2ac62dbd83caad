"""What only the in-process frontier does: spill long host queues to its overflow.

Its Frontier behaviour is in tests/net/test_frontier_contract.py, shared with every
implementation.
"""

from __future__ import annotations

from crawler.frontier import Task
from crawler.memory_frontier import ListOverflow, MemoryFrontier


def _clock() -> float:
    return 0.0


def test_long_host_queues_spill_and_come_back_in_order() -> None:
    overflow = ListOverflow()
    f = MemoryFrontier(delay_s=0, per_host=1000, clock=_clock, host_memory=4, overflow=overflow)
    f.add([Task(url=f"http://a.test/{n}", depth=1, referrer="http://a.test/") for n in range(10)])
    assert f.queued() == 10
    assert overflow.waiting("a.test") == 6  # only 4 held in memory
    got = f.take(100)
    assert [t.url for t in got] == [f"http://a.test/{n}" for n in range(10)]
    assert {t.referrer for t in got} == {"http://a.test/"} and {t.depth for t in got} == {1}
    assert f.queued() == 0 and overflow.waiting("a.test") == 0


def test_tasks_put_at_the_front_never_spill() -> None:
    # A retry or a redirect hop carries state that url, depth and referrer cannot hold.
    overflow = ListOverflow()
    f = MemoryFrontier(delay_s=0, per_host=1000, clock=_clock, host_memory=2, overflow=overflow)
    f.add([Task(url=f"http://a.test/{n}", depth=1) for n in range(4)])
    hop = Task(url="http://a.test/hop", depth=1, origin="http://a.test/r", counted=True)
    f.add([hop], front=True)
    assert overflow.waiting("a.test") == 2
    got = f.take(100)
    assert got[0] is hop
    assert [t.url for t in got[1:]] == [f"http://a.test/{n}" for n in range(4)]

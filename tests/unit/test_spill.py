from __future__ import annotations

import os
from pathlib import Path

from crawler.frontier import MemoryFrontier, Task
from crawler.spill import SpillOverflow


def test_spill_is_fifo_per_host_and_deleted_on_close(tmp_path: Path) -> None:
    spill = SpillOverflow(str(tmp_path))
    for n in range(5):
        spill.put("a.test", f"http://a.test/{n}", n, None)
        spill.put("b.test", f"http://b.test/{n}", 1, "http://b.test/")
    assert spill.take("a.test", 3) == [(f"http://a.test/{n}", n, None) for n in range(3)]
    assert [u for u, _, _ in spill.take("a.test", 10)] == ["http://a.test/3", "http://a.test/4"]
    assert spill.take("a.test", 10) == []
    assert len(spill.take("b.test", 10)) == 5
    assert len(os.listdir(tmp_path)) == 1
    spill.close()
    assert os.listdir(tmp_path) == []


def test_frontier_with_a_spill_file(tmp_path: Path) -> None:
    spill = SpillOverflow(str(tmp_path))
    f = MemoryFrontier(delay_s=0, per_host=100_000, host_memory=100, overflow=spill)
    for n in range(1000):
        f.push(Task(url=f"http://a.test/{n}", depth=1))
    got = []
    while (task := f.pop_ready(0.0, lambda t: True)) is not None:
        got.append(task.url)
    assert got == [f"http://a.test/{n}" for n in range(1000)]
    spill.close()

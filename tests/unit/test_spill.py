from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from crawler.frontier import Task
from crawler.memory_frontier import MemoryFrontier
from crawler.spill import SpillOverflow


def test_spill_is_fifo_per_host() -> None:
    spill = SpillOverflow()
    for n in range(5):
        spill.put("a.test", f"http://a.test/{n}", n, None)
        spill.put("b.test", f"http://b.test/{n}", 1, "http://b.test/")
    assert spill.take("a.test", 3) == [(f"http://a.test/{n}", n, None) for n in range(3)]
    assert [u for u, _, _ in spill.take("a.test", 10)] == ["http://a.test/3", "http://a.test/4"]
    assert spill.take("a.test", 10) == []
    assert len(spill.take("b.test", 10)) == 5
    spill.close()


_SPILL_A_LOT = """
import os
from crawler.spill import SpillOverflow

spill = SpillOverflow()
url = "http://a.test/" + "x" * 200
for n in range(100_000):
    spill.put("a.test", f"{url}/{n}", 1, url)
tmp = os.environ["TMPDIR"]
names = os.listdir(tmp)
unnamed = 0
for fd in os.listdir("/proc/self/fd"):
    try:
        target = os.readlink(f"/proc/self/fd/{fd}")
    except OSError:
        continue  # the listing's own descriptor, gone already
    unnamed += target.startswith(tmp) and target.endswith("(deleted)")
assert len(spill.take("a.test", 100_000)) == 100_000
spill.close()
print(names, unnamed)
"""


def test_spill_file_has_no_name_even_while_open(tmp_path: Path) -> None:
    # A killed crawl cannot clean up, so the spill must never have a name on disk. 20 MB
    # of rows is well past SQLite's 2 MB page cache: the database really is in a file,
    # open but unlinked. SQLite reads TMPDIR once, when loaded: hence a fresh process.
    env = {**os.environ, "TMPDIR": str(tmp_path)}
    env.pop("SQLITE_TMPDIR", None)
    done = subprocess.run(
        [sys.executable, "-c", _SPILL_A_LOT],
        cwd=Path(__file__).resolve().parents[2],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert done.stdout.split() == ["[]", "1"]
    assert os.listdir(tmp_path) == []


def test_frontier_with_a_spill_file() -> None:
    spill = SpillOverflow()
    f = MemoryFrontier(
        delay_s=0, per_host=100_000, clock=lambda: 0.0, host_memory=100, overflow=spill
    )
    f.add([Task(url=f"http://a.test/{n}", depth=1) for n in range(1000)])
    got = []
    while batch := f.take(64):
        got.extend(task.url for task in batch)
    assert got == [f"http://a.test/{n}" for n in range(1000)]
    spill.close()

"""mmap_large_blocks(): a worker's page-sized buffers come from mmap, not a glibc arena."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# mallinfo2().hblks counts the blocks glibc currently holds from mmap. Of 1000 live
# buffers of ~10 KB (a page body's size), most come from mmap once the threshold is
# lowered (the arena's free space left over from start-up is used first), none before.
_COUNT_MMAPPED = """
import ctypes, sys
from crawler.worker import mmap_large_blocks

class MallInfo2(ctypes.Structure):
    _fields_ = [(name, ctypes.c_size_t) for name in (
        "arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks",
        "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = MallInfo2
if sys.argv[1] == "lowered":
    assert mmap_large_blocks()
before = libc.mallinfo2().hblks
buffers = [bytes(10_000 + n) for n in range(1000)]
print(libc.mallinfo2().hblks - before)
"""


def _mmapped_blocks(mode: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _COUNT_MMAPPED, mode],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    return int(done.stdout)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc")
def test_page_sized_buffers_come_from_mmap_once_lowered() -> None:
    assert _mmapped_blocks("default") < 10  # from the arena: they would fragment it
    assert _mmapped_blocks("lowered") >= 800

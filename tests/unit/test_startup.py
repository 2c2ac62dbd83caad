"""Start-up: the coordinator leaves the workers' libraries to the forkserver."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORKER_ONLY = ("requests", "urllib3", "bs4", "lxml", "crawler.worker", "crawler.fetcher")


def test_the_command_line_imports_none_of_the_workers_libraries() -> None:
    # They load once, in the forkserver, while the coordinator reads its seeds; imported
    # here too they would delay the first request by ~0.1 s on every crawl.
    code = (
        "import sys, crawler.cli, crawler.coordinator\n"
        f"print(sorted(m for m in {WORKER_ONLY!r} if m in sys.modules))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]"

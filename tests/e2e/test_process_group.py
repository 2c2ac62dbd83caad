"""Every process the crawl starts is gone when it exits, whatever the exit path.

The crawler runs in a session, so a process group, of its own: its forkserver, resource
tracker and workers share that group. The moment its exit status is collected, and with
no pause after it, no process of the group may remain, zombies included: a supervisor
that waits for the command must not find processes it left behind.

Its stderr goes to a file, not a pipe: reading a pipe to its end would also wait for
every process that inherited the pipe, and so hide the very processes looked for here.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest

from scripts.proctree import parse_stat, processes_in_group, read_cmdline, read_text
from scripts.site import SiteConfig
from tests.helpers.crawler_cli import StartCrawler
from tests.helpers.processes import wait_for
from tests.helpers.site_process import SiteProcess

SMALL_SITE = SiteConfig(pages=30, links=4)
# Slow enough that the crawl is still running when the test acts on it, seconds later.
SLOW_SITE = SiteConfig(pages=400, links=5, latency_ms=100)
RECORDS_BEFORE_ACTING = 5
EXIT_TIMEOUT_S = 60


def start_in_own_group(
    start_crawler: StartCrawler, tmp_path: Path, *args: str, out: Path | None = None
) -> subprocess.Popen[str]:
    with (tmp_path / "stderr.txt").open("w", encoding="utf-8") as stderr:
        return start_crawler(*args, out=out, stderr=stderr, start_new_session=True)


def wait_and_list_group(proc: subprocess.Popen[str]) -> tuple[int, list[str]]:
    """The exit code, and what was left of the process group the moment it was collected."""
    code = proc.wait(EXIT_TIMEOUT_S)
    left = processes_in_group(proc.pid)  # at once: a process left behind is still there
    return code, [f"{pid} [{_state(pid)}] {read_cmdline(pid)}" for pid in left]


def _state(pid: int) -> str:
    """The process state letter (Z: a zombie); "gone" if it has been reaped meanwhile."""
    stat = read_text(f"/proc/{pid}/stat")
    return parse_stat(stat).state if stat else "gone"


def stderr_of(tmp_path: Path) -> str:
    return (tmp_path / "stderr.txt").read_text(encoding="utf-8")


def records_in(jsonl: Path) -> int:
    try:
        return len(jsonl.read_bytes().splitlines())
    except FileNotFoundError:
        return 0


def test_after_a_finished_crawl(
    tmp_path: Path, site_process: Callable[..., SiteProcess], start_crawler: StartCrawler
) -> None:
    site = site_process(SMALL_SITE)
    proc = start_in_own_group(start_crawler, tmp_path, "--seed", site.base_urls[0], "--procs", "2")
    code, left = wait_and_list_group(proc)
    assert code == 0, stderr_of(tmp_path)
    assert not left, "left in the group:\n" + "\n".join(left)


@pytest.mark.parametrize("to", ["crawler", "group"])
def test_after_sigint(
    tmp_path: Path,
    site_process: Callable[..., SiteProcess],
    start_crawler: StartCrawler,
    to: str,
) -> None:
    """SIGINT to the crawler alone (kill), or to its whole group (Ctrl-C in a terminal)."""
    site = site_process(SLOW_SITE)
    jsonl = tmp_path / "pages.jsonl"
    proc = start_in_own_group(
        start_crawler, tmp_path, "--seed", site.base_urls[0], "--procs", "2", "--jsonl", str(jsonl)
    )
    wait_for(lambda: records_in(jsonl) >= RECORDS_BEFORE_ACTING, 30, "the first records")
    if to == "group":
        os.killpg(proc.pid, signal.SIGINT)
    else:
        os.kill(proc.pid, signal.SIGINT)
    code, left = wait_and_list_group(proc)
    assert code == 130, stderr_of(tmp_path)
    assert not left, "left in the group:\n" + "\n".join(left)


@pytest.mark.parametrize(
    "usage",
    [
        pytest.param(["--procs", "0", "--seed", "http://127.0.0.1:9/"], id="procs-0"),
        pytest.param(["--seeds", "."], id="seeds-file-unreadable"),  # a directory
        pytest.param(["--no-such-option"], id="unknown-option"),
    ],
)
def test_after_a_usage_error(tmp_path: Path, start_crawler: StartCrawler, usage: list[str]) -> None:
    # `python -m crawler` starts the workers' forkserver before it reads its options.
    proc = start_in_own_group(start_crawler, tmp_path, *usage)
    code, left = wait_and_list_group(proc)
    assert code == 2, stderr_of(tmp_path)
    assert not left, "left in the group:\n" + "\n".join(left)


def test_after_an_internal_error(
    tmp_path: Path,
    site_process: Callable[..., SiteProcess],
    start_crawler: StartCrawler,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """out.json cannot be written at the end: its directory was removed during the crawl."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # where the fallback copy of out.json goes
    site = site_process(SLOW_SITE)
    out_dir = tmp_path / "gone"
    out_dir.mkdir()
    jsonl = tmp_path / "pages.jsonl"
    args = ["--seed", site.base_urls[0], "--max-pages", "40", "--procs", "1", "--threads", "2"]
    proc = start_in_own_group(
        start_crawler, tmp_path, *args, "--jsonl", str(jsonl), out=out_dir / "out.json"
    )
    wait_for(lambda: records_in(jsonl) >= RECORDS_BEFORE_ACTING, 30, "the first records")
    shutil.rmtree(out_dir)
    assert proc.poll() is None  # removed while the crawl still runs
    code, left = wait_and_list_group(proc)
    assert code == 1, stderr_of(tmp_path)
    assert not left, "left in the group:\n" + "\n".join(left)
    assert list(tmp_path.glob("crawler-out-*.json")), stderr_of(tmp_path)

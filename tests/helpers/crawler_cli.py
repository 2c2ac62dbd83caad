"""The real command line, `python -m crawler`, as a subprocess, and what it wrote.

`start_crawler` is the one way tests start it (a Popen to signal and wait for);
`run_crawler` runs it to the end and reads out.json. Neither waits for anything else:
the processes the crawler starts are the crawler's business, checked by the tests.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]
# How long stop_process waits for a process it has signalled.
STOP_TIMEOUT_S = 10.0

Stream = int | IO[Any] | None


@dataclass(frozen=True)
class Crawl:
    """A finished run: exit code, stderr, and out.json (None if it was not written)."""

    code: int
    stderr: str
    out: dict[str, Any] | None
    out_path: Path

    @property
    def pages(self) -> list[dict[str, Any]]:
        assert self.out is not None, self.stderr
        return self.out["pages"]

    def by_url(self) -> dict[str, dict[str, Any]]:
        return {p["url"]: p for p in self.pages}

    @property
    def stats(self) -> dict[str, Any]:
        assert self.out is not None, self.stderr
        return self.out["stats"]

    @property
    def last_stderr_line(self) -> str:
        lines = self.stderr.strip().splitlines()
        return lines[-1] if lines else ""


# The types of the `crawl` and `start_crawler` fixtures (tests/conftest.py).
RunCrawler = Callable[..., Crawl]
StartCrawler = Callable[..., "subprocess.Popen[str]"]


def crawler_env() -> dict[str, str]:
    """The test's environment, with the repository importable and no warning filters."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(ROOT)
    env.pop("PYTHONWARNINGS", None)
    return env


def start_crawler(
    cwd: Path,
    *args: str,
    out: Path | None = None,
    stdin: Stream = subprocess.DEVNULL,
    stderr: Stream = subprocess.PIPE,
    start_new_session: bool = False,
) -> subprocess.Popen[str]:
    """Start `python -m crawler --out OUT --no-progress ARGS` in `cwd` (OUT: cwd/out.json).

    Later options win, so ARGS may say `--progress` or another `--out`.
    `start_new_session` puts it in a process group of its own, whose id is its pid.
    """
    out = out if out is not None else cwd / "out.json"
    cmd = [sys.executable, "-m", "crawler", "--out", str(out), "--no-progress", *args]
    return subprocess.Popen(
        cmd,
        cwd=cwd,
        env=crawler_env(),
        stdin=stdin,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        text=True,
        start_new_session=start_new_session,
    )


def run_crawler(cwd: Path, *args: str, timeout: float = 60, stdin: str | None = None) -> Crawl:
    """Run the crawler to its end (killed after `timeout`) and read cwd/out.json."""
    out_path = cwd / "out.json"
    proc = start_crawler(cwd, *args, out=out_path, stdin=subprocess.PIPE)
    try:
        _, stderr = proc.communicate(stdin or "", timeout=timeout)
    finally:
        stop_process(proc)
    out = json.loads(out_path.read_text(encoding="utf-8")) if out_path.exists() else None
    return Crawl(proc.returncode, stderr, out, out_path)


def stop_process(proc: subprocess.Popen[str]) -> None:
    """Kill `proc` if it still runs (its whole group if it leads one), reap it, close pipes.

    For clean-up after a test; harmless on a process already waited for. The pipes are
    closed, not drained: a process left behind by the crawler may still hold them open.
    """
    if proc.poll() is None:
        try:
            leads_group = os.getpgid(proc.pid) == proc.pid
        except ProcessLookupError:
            leads_group = False
        if leads_group:
            os.killpg(proc.pid, signal.SIGKILL)
        else:
            proc.kill()
        proc.wait(STOP_TIMEOUT_S)
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            with contextlib.suppress(OSError):  # stdin: unsent input to a process gone
                pipe.close()

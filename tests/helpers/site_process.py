"""The synthetic site as its own process: `python -m scripts.site`, stopped by PID.

The server prints its base URLs (host 0's first) before anything else; `start` reads
them with a deadline, so a site that never comes up fails the test instead of hanging.
Unlike an in-process SiteServer, it takes no CPU time from the test's own process.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

from scripts.site import SiteConfig

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0


class SiteProcess:
    """Serve `cfg` from a child process; `extra` are more options (--log, --expected, ...)."""

    def __init__(self, cfg: SiteConfig, *extra: str, stderr: Path | None = None) -> None:
        self.cfg = cfg
        self.base_urls: list[str] = []
        self._argv = [
            sys.executable,
            "-m",
            "scripts.site",
            *("--pages", str(cfg.pages), "--links", str(cfg.links), "--hosts", str(cfg.hosts)),
            *("--seed", str(cfg.seed), "--latency-ms", str(cfg.latency_ms)),
            *("--page-bytes", str(cfg.page_bytes)),
            *(["--sitemaps"] if cfg.sitemaps else []),  # as expected_records() assumes
            *extra,
        ]
        self._stderr_path = stderr
        self._stderr: IO[Any] | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._proc is not None, "not started"
        return self._proc.pid

    def start(self) -> list[str]:
        """Start the server and return its base URLs, one per host."""
        if self._stderr_path is not None:
            self._stderr = self._stderr_path.open("wb")
        self._proc = subprocess.Popen(
            self._argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=self._stderr,
        )  # fmt: skip
        try:
            self.base_urls = self._read_lines(self.cfg.hosts)
        except BaseException:
            self.stop()
            raise
        return list(self.base_urls)

    def stop(self) -> int | None:
        """SIGTERM by PID (SIGKILL if it does not exit in time); the exit code, once reaped."""
        proc, self._proc = self._proc, None
        if proc is not None:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
            assert proc.stdout is not None
            proc.stdout.close()
            code: int | None = proc.returncode
        else:
            code = None
        if self._stderr is not None:
            self._stderr.close()
            self._stderr = None
        return code

    def __enter__(self) -> SiteProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _read_lines(self, count: int) -> list[str]:
        """The first `count` lines of the server's stdout, or fail after START_TIMEOUT_S."""
        assert self._proc is not None and self._proc.stdout is not None
        fd = self._proc.stdout.fileno()
        data = b""
        deadline = time.monotonic() + START_TIMEOUT_S
        while data.count(b"\n") < count:
            remaining = deadline - time.monotonic()
            assert remaining > 0, f"no {count} lines from the site in time, got {data!r}"
            ready, _, _ = select.select([fd], [], [], remaining)
            if ready:
                chunk = os.read(fd, 4096)
                assert chunk, f"the site's stdout closed early: {data!r}, exit {self._proc.poll()}"
                data += chunk
        return data.decode().splitlines()[:count]

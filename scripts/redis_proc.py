"""A throwaway redis-server as a child process on a free loopback port, stopped by PID.

For the test fixtures (tests/helpers/redis_server.py) and the benchmarks: it binds
127.0.0.1 only, keeps its files in a directory it is given (no RDB snapshots; AOF only
when asked, for restart tests), and never touches a system Redis service.
Readiness is a PING answered within a deadline, never a fixed sleep.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import IO, Any

REDIS_SERVER = "redis-server"
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
PING_POLL_S = 0.01
START_ATTEMPTS = 3  # a free port picked by us may be taken before the server binds it
LOG_NAME = "redis.log"
_PING = b"*1\r\n$4\r\nPING\r\n"  # RESP; the answer is "+PONG\r\n" (or "-LOADING ..." at start)


def find_redis_server() -> str | None:
    """The path of the redis-server binary on PATH, or None."""
    return shutil.which(REDIS_SERVER)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def answers_ping(port: int, timeout_s: float) -> bool:
    """Does the server on 127.0.0.1:port answer PING with PONG (loaded and ready)?"""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=timeout_s) as sock:
            sock.sendall(_PING)
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


class RedisProcess:
    """One redis-server in `directory` (created if missing); `aof` turns on the append-only
    file (fsync every second) so that `restart()` finds the data again."""

    def __init__(
        self,
        directory: Path,
        *,
        aof: bool = False,
        port: int | None = None,
        executable: str | None = None,
    ) -> None:
        self.directory = Path(directory)
        self.aof = aof
        self._fixed_port = port
        self.port = port or 0
        self._executable = executable or find_redis_server()
        self._proc: subprocess.Popen[bytes] | None = None
        self._log: IO[Any] | None = None

    @property
    def url(self) -> str:
        assert self.port, "not started"
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int:
        assert self._proc is not None, "not started"
        return self._proc.pid

    @property
    def is_running(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def log_path(self) -> Path:
        return self.directory / LOG_NAME

    def argv(self) -> list[str]:
        if self._executable is None:
            raise FileNotFoundError(f"{REDIS_SERVER} not found on PATH")
        persistence = ["--appendonly", "no"]
        if self.aof:
            persistence = ["--appendonly", "yes", "--appendfsync", "everysec"]
        return [
            self._executable,
            *("--port", str(self.port), "--bind", "127.0.0.1"),
            *("--save", "", *persistence),
            *("--dir", str(self.directory), "--daemonize", "no"),
        ]  # fmt: skip

    def start(self) -> str:
        """Start the server and wait until it answers PING; its URL."""
        assert self._proc is None, "already running"
        self.directory.mkdir(parents=True, exist_ok=True)
        for _ in range(1 if self._fixed_port else START_ATTEMPTS):
            if not self._fixed_port:
                self.port = free_port()
            self._spawn()
            if self._wait_until_ready():
                return self.url
            self.stop()
        raise RuntimeError(f"redis-server did not come up on port {self.port}: {self._log_tail()}")

    def stop(self) -> int | None:
        """SIGTERM by PID (SIGKILL if it does not exit in STOP_TIMEOUT_S); the exit code."""
        proc, self._proc = self._proc, None
        code: int | None = None
        if proc is not None:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(STOP_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
            code = proc.returncode
        if self._log is not None:
            self._log.close()
            self._log = None
        return code

    def restart(self) -> str:
        """Stop, then start again on the same port and directory (with AOF: the same data)."""
        self.stop()
        self._fixed_port = self.port
        return self.start()

    def __enter__(self) -> RedisProcess:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _spawn(self) -> None:
        self._log = self.log_path.open("ab")
        self._proc = subprocess.Popen(
            self.argv(), cwd=self.directory, stdin=subprocess.DEVNULL, stdout=self._log,
            stderr=subprocess.STDOUT,
        )  # fmt: skip

    def _wait_until_ready(self) -> bool:
        """Poll PING until PONG (True), the process exits or START_TIMEOUT_S passes (False)."""
        assert self._proc is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                return False
            if answers_ping(self.port, timeout_s=1.0):
                return True
            time.sleep(PING_POLL_S)
        return False

    def _log_tail(self, lines: int = 5) -> str:
        with contextlib.suppress(OSError):
            tail = self.log_path.read_text(errors="replace").splitlines()[-lines:]
            return " | ".join(line.strip() for line in tail) or "(empty log)"
        return "(no log)"

"""A real Redis for tests: scripts/redis_proc.py's server process plus the client side
the fixtures need (tests/conftest.py: `redis_server`, `redis_url`, `start_redis`).

The process code lives in scripts/ because the benchmarks start the same server and
scripts never import tests.
"""

from __future__ import annotations

from pathlib import Path

import redis

from scripts.redis_proc import REDIS_SERVER, RedisProcess, find_redis_server

CLIENT_TIMEOUT_S = 5.0


def missing_reason() -> str | None:
    """Why the Redis tests cannot run here (one line), or None when they can."""
    if find_redis_server() is None:
        return (
            f"{REDIS_SERVER} not installed: not on PATH "
            "(scripts/test.sh installs Debian's redis-server when run as root)"
        )
    return None


class RedisServer(RedisProcess):
    """redis-server on a free 127.0.0.1 port with its files in `directory`; see RedisProcess."""

    def __init__(self, directory: Path, *, aof: bool = False) -> None:
        super().__init__(directory, aof=aof)

    def client(self) -> redis.Redis:
        """A new client of db 0 (bytes replies); close it, or use it in a `with` block."""
        return redis.Redis.from_url(
            self.url, socket_timeout=CLIENT_TIMEOUT_S, socket_connect_timeout=CLIENT_TIMEOUT_S
        )

    def flushall(self) -> None:
        """Empty every database of the server."""
        with self.client() as client:
            client.flushall()

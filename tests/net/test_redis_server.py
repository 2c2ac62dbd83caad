"""The real-Redis fixtures (tests/conftest.py, tests/helpers/redis_server.py): a server
that answers, an empty database for every test, and no process left once stopped."""

from __future__ import annotations

import socket
from collections.abc import Callable

import pytest
import redis

from scripts.redis_proc import answers_ping
from tests.helpers.processes import has_exited
from tests.helpers.redis_server import RedisServer


def test_answers_ping_set_and_get(redis_url: str) -> None:
    with redis.Redis.from_url(redis_url, socket_timeout=5) as client:
        assert client.ping()
        client.set("crawler:test:key", b"value")
        assert client.get("crawler:test:key") == b"value"
    assert redis_url.startswith("redis://127.0.0.1:")


@pytest.mark.parametrize("run", [1, 2])
def test_every_test_starts_empty(redis_url: str, run: int) -> None:
    # Whichever of the two runs second sees what the first left, unless it was flushed.
    with redis.Redis.from_url(redis_url, socket_timeout=5) as client:
        assert client.dbsize() == 0
        client.set(f"crawler:test:leftover-{run}", b"x")
        client.select(1)
        assert client.dbsize() == 0
        client.set(f"crawler:test:leftover-{run}", b"x")


def test_stop_leaves_no_process(start_redis: Callable[..., RedisServer]) -> None:
    server = start_redis()
    pid, port = server.pid, server.port
    assert answers_ping(port, timeout_s=1.0)
    server.stop()
    assert has_exited(pid)
    assert not server.is_running
    with pytest.raises(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        pass


def test_restart_with_aof_keeps_the_data(start_redis: Callable[..., RedisServer]) -> None:
    server = start_redis(aof=True)
    url, old_pid = server.url, server.pid
    with server.client() as client:
        client.hsetnx("crawler:test:seen:1", b"\x00" * 8, b"")
    server.restart()  # SIGTERM: Redis writes and fsyncs the AOF before it exits
    assert server.url == url and server.pid != old_pid and has_exited(old_pid)
    with server.client() as client:
        assert client.hgetall("crawler:test:seen:1") == {b"\x00" * 8: b""}

"""A machine's records and stats in a real Redis: ClusterRecords, and the Recorder with it."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from crawler.cluster_format import MachineState
from crawler.cluster_records import (
    ClusterRecords,
    crawl_key,
    iter_records,
    machine_name,
    read_states,
)
from crawler.output import dumps
from crawler.recorder import Recorder
from crawler.records import Stats
from crawler.settings import Settings
from tests.helpers.redis_server import CLIENT_TIMEOUT_S

CRAWL = "c0ffee"


class Ticks:
    """A clock that moves one second each time it is read."""

    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        self.now += 1.0
        return self.now


def record(url: str, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "url": url,
        "final_url": url,
        "redirects": [],
        "depth": 0,
        "referrer": None,
        "status": 200,
        "content_type": "text/html",
        "title": "T",
        "links": [],
        "bytes": 10,
        "elapsed_ms": 1.0,
        "fetched_at": "2026-11-28T02:00:00.000Z",
        "retries": 0,
        "worker": 0,
        "error": None,
    }
    return {**base, **changes}


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    with redis.Redis.from_url(redis_url, socket_timeout=CLIENT_TIMEOUT_S) as client:
        yield client


def states(client: redis.Redis) -> dict[str, MachineState]:
    raw = client.hgetall(crawl_key(CRAWL, "machines"))
    return {s.machine: s for s in read_states(raw)}  # type: ignore[arg-type]


def stored(client: redis.Redis, machine: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in iter_records(client, CRAWL, states(client)[machine])]


def test_machine_name_is_host_and_pid() -> None:
    assert machine_name("crawl-7", 4242) == "crawl-7:4242"
    host, pid = machine_name().rsplit(":", 1)
    assert host and int(pid) > 0


def test_a_flush_stores_the_records_and_the_stats_that_count_them(client: redis.Redis) -> None:
    cluster = ClusterRecords(client, CRAWL, "m:1", clock=Ticks())
    stats = Stats()
    for n in range(3):
        cluster.add(record(f"http://a.test/{n}"))
        stats.add(record(f"http://a.test/{n}"))
    stats.duplicates = 4
    assert client.hlen(crawl_key(CRAWL, "machines")) == 0  # buffered until the flush
    cluster.flush(stats, started_at=900.0, finished_at=None, complete=False)
    state = states(client)["m:1"]
    assert (state.started_at, state.updated_at, state.finished_at) == (900.0, 1001.0, None)
    assert (state.complete, state.batches) == (False, 1)
    assert state.stats["pages"] == 3 and state.stats["duplicates"] == 4
    assert [r["url"] for r in stored(client, "m:1")] == [f"http://a.test/{n}" for n in range(3)]

    cluster.add(record("http://a.test/3"))
    stats.add(record("http://a.test/3"))
    cluster.flush(stats, started_at=900.0, finished_at=1010.0, complete=True)
    state = states(client)["m:1"]
    assert (state.finished_at, state.complete, state.batches, state.stats["pages"]) == (
        1010.0, True, 2, 4,
    )  # fmt: skip
    assert len(stored(client, "m:1")) == 4
    assert client.llen(crawl_key(CRAWL, "records:m:1")) == 2


def test_a_flush_with_nothing_new_sends_nothing(client: redis.Redis) -> None:
    cluster = ClusterRecords(client, CRAWL, "m:1", clock=Ticks())
    stats = Stats(duplicates=1)
    cluster.flush(stats, started_at=900.0, finished_at=None, complete=False)
    cluster.flush(stats, started_at=900.0, finished_at=None, complete=False)
    assert states(client)["m:1"].updated_at == 1001.0  # the second one stored nothing
    stats.duplicates += 1  # a counter alone is news
    cluster.flush(stats, started_at=900.0, finished_at=None, complete=False)
    assert states(client)["m:1"].updated_at == 1002.0
    assert client.llen(crawl_key(CRAWL, "records:m:1")) == 0  # no empty batch


class LosesAnswers(redis.Redis):
    """A client whose next `lose` commands reach Redis, run there, and then fail as if
    the connection dropped before the answer came back."""

    lose = 0

    def execute_command(self, *args: Any, **options: Any) -> Any:
        answer = super().execute_command(*args, **options)
        if self.lose > 0:
            self.lose -= 1
            raise redis.ConnectionError("connection lost before the answer (test)")
        return answer


def test_a_flush_whose_answer_was_lost_is_not_stored_twice(redis_url: str) -> None:
    """The flush ran in Redis but its answer never came: the next flush sends the same
    batch again (it cannot know), and Redis keeps it once."""
    client = LosesAnswers.from_url(redis_url, socket_timeout=CLIENT_TIMEOUT_S)
    cluster = ClusterRecords(client, CRAWL, "m:1", clock=Ticks())
    stats = Stats()
    for n, lose in ((0, 0), (1, 1), (2, 0)):
        cluster.add(record(f"http://a.test/{n}"))
        stats.add(record(f"http://a.test/{n}"))
        client.lose = lose
        if lose:
            with pytest.raises(redis.ConnectionError):
                cluster.flush(stats, started_at=900.0, finished_at=None, complete=False)
            assert client.llen(crawl_key(CRAWL, "records:m:1")) == 2  # it did arrive
        else:
            cluster.flush(stats, started_at=900.0, finished_at=None, complete=False)
    assert [r["url"] for r in stored(client, "m:1")] == [f"http://a.test/{n}" for n in range(3)]
    assert states(client)["m:1"].batches == 3
    assert client.llen(crawl_key(CRAWL, "records:m:1")) == 3
    client.close()


def test_an_export_reads_only_what_the_stats_count(client: redis.Redis) -> None:
    """A batch pushed after the state was read (a flush in between) is not read."""
    cluster = ClusterRecords(client, CRAWL, "m:1")
    cluster.add(record("http://a.test/0"))
    cluster.flush(Stats(pages=1), started_at=1.0, finished_at=None, complete=False)
    earlier = states(client)["m:1"]
    cluster.add(record("http://a.test/1"))
    cluster.flush(Stats(pages=2), started_at=1.0, finished_at=None, complete=False)
    assert [json.loads(line)["url"] for line in iter_records(client, CRAWL, earlier)] == [
        "http://a.test/0"
    ]


def test_records_missing_from_the_list_are_an_error(client: redis.Redis) -> None:
    cluster = ClusterRecords(client, CRAWL, "m:1")
    cluster.add(record("http://a.test/0"))
    cluster.flush(Stats(pages=1), started_at=1.0, finished_at=None, complete=False)
    state = dataclasses.replace(states(client)["m:1"], batches=2)
    with pytest.raises(ValueError, match="2 record batches counted, 1 stored"):
        list(iter_records(client, CRAWL, state))


# -- the recorder ------------------------------------------------------------------------


def test_the_recorder_of_a_cluster_crawl(client: redis.Redis, tmp_path: Path) -> None:
    """Records gain "machine" in out.json and in Redis; every commit stores the stats;
    the last one (elapsed_s given) the time the run ended."""
    settings = Settings(seed=("http://a.test/",), out=str(tmp_path / "out.json"))
    cluster = ClusterRecords(client, CRAWL, "box:77")
    recorder = Recorder.open(settings, ["http://a.test/"], [], cluster=cluster, started_at=500.0)
    recorder.add(record("http://a.test/"), ["http://a.test/"], dropped_links=1)
    recorder.stats.out_of_scope += 2
    recorder.commit()
    state = states(client)["box:77"]
    assert (state.started_at, state.finished_at, state.complete) == (500.0, None, False)
    assert state.stats["pages"] == 1 and state.stats["dropped_links"] == 1
    assert state.stats["out_of_scope"] == 2
    recorder.add(record("http://a.test/x", status=404), ["http://a.test/x"], dropped_links=0)
    recorder.commit(force=True, complete=True, elapsed_s=3.0)
    state = states(client)["box:77"]
    assert state.complete and state.finished_at is not None and state.finished_at > 500.0
    expected = [
        {**record("http://a.test/"), "machine": "box:77"},
        {**record("http://a.test/x", status=404), "machine": "box:77"},
    ]
    assert stored(client, "box:77") == expected
    recorder.write(recorder.header(complete=True, started_at=500.0, finished_at=503.0))
    recorder.close()
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["pages"] == expected
    assert dumps(out["pages"][0]).endswith('"error":null,"machine":"box:77"}')  # last key


def test_calls_go_through_the_given_retry_loop(redis_url: str) -> None:
    """With the frontier's retry loop as `call`, a lost answer is retried at once and
    the batch is still stored once."""
    client = LosesAnswers.from_url(redis_url, socket_timeout=CLIENT_TIMEOUT_S)
    tries: list[int] = []

    def retry(fn: Callable[[], Any]) -> Any:
        for attempt in range(3):
            tries.append(attempt)
            try:
                return fn()
            except redis.ConnectionError:
                continue
        raise AssertionError("still failing")

    cluster = ClusterRecords(client, CRAWL, "m:1", call=retry)
    cluster.add(record("http://a.test/0"))
    client.lose = 1
    cluster.flush(Stats(pages=1), started_at=1.0, finished_at=None, complete=False)
    assert tries == [0, 1]
    assert [r["url"] for r in stored(client, "m:1")] == ["http://a.test/0"]
    assert client.llen(crawl_key(CRAWL, "records:m:1")) == 1
    client.close()

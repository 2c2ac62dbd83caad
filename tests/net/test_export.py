"""`python -m crawler.export`: a cluster crawl in a real Redis, exported by the real CLI.

The fixture stores the crawl as the command line does (its settings document under
`crawler:NAME:settings`) and adds records through ClusterRecords from two machines.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis

from crawler.cluster_records import READ_BATCHES, ClusterRecords, crawl_key
from crawler.records import Stats
from scripts.redis_proc import free_port
from tests.helpers.crawler_cli import ROOT
from tests.helpers.redis_server import CLIENT_TIMEOUT_S, RedisServer

CRAWL = "3f2a9c1e7b04"
SEEDS = ["http://a.test/", "http://b.test/"]
DOC = {
    "identity": {"seeds": SEEDS, "scope": "host", "allow": [], "deny": []},
    "settings": {"procs": 2, "threads": 8, "frontier": "redis://127.0.0.1:6379/0", "crawl": CRAWL},
    "seeds": SEEDS,
    "rejected_seeds": [{"line": 3, "text": "htp:/x", "reason": "unsupported scheme"}],
}
# 2026-11-28T02:00:00Z
T0 = 1795831200.0


def record(url: str, machine: str, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "url": url,
        "final_url": url,
        "redirects": [],
        "depth": 1,
        "referrer": "http://a.test/",
        "status": 200,
        "content_type": "text/html",
        "title": "Página",
        "links": [url + "next"],
        "bytes": 100,
        "elapsed_ms": 2.5,
        "fetched_at": "2026-11-28T02:00:01.000Z",
        "retries": 0,
        "worker": 0,
        "error": None,
    }
    return {**base, **changes, "machine": machine}


class Machine:
    """One coordinator's side: records through ClusterRecords, its stats folded alongside."""

    def __init__(self, client: redis.Redis, name: str, started_at: float) -> None:
        self.cluster = ClusterRecords(client, CRAWL, name, clock=lambda: started_at + 1.0)
        self.name = name
        self.started_at = started_at
        self.stats = Stats()
        self.records: list[dict[str, Any]] = []

    def fetched(self, url: str, **changes: Any) -> None:
        rec = record(url, self.name, **changes)
        self.cluster.add(rec)
        self.stats.add(rec)
        self.records.append(rec)

    def flush(self, finished_at: float | None = None) -> None:
        self.cluster.flush(
            self.stats,
            started_at=self.started_at,
            finished_at=finished_at,
            complete=finished_at is not None,
        )


@pytest.fixture
def client(redis_url: str) -> Iterator[redis.Redis]:
    with redis.Redis.from_url(redis_url, socket_timeout=CLIENT_TIMEOUT_S) as client:
        client.set(crawl_key(CRAWL, "settings"), json.dumps(DOC))
        yield client


def export(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler.export", *args],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def last_line(proc: subprocess.CompletedProcess[str]) -> str:
    return proc.stderr.strip().splitlines()[-1]


def test_the_whole_crawl_in_one_out_json(
    client: redis.Redis, redis_url: str, tmp_path: Path
) -> None:
    # "b" started first: its records come first.
    a = Machine(client, "alpha:200", T0 + 1.0)
    b = Machine(client, "beta:100", T0)
    a.fetched("http://a.test/")
    b.fetched("http://b.test/", status=404, links=[], title=None, plugin_error="KeyError: 'x'")
    a.flush()
    a.fetched("http://a.test/x", status=None, error={"kind": "dns", "message": "no"}, links=[])
    a.stats.duplicates, a.stats.out_of_scope = 3, 1
    b.stats.duplicates, b.stats.robots_excluded, b.stats.dropped_links = 2, 5, 1
    a.flush(finished_at=T0 + 9.0)
    b.flush(finished_at=T0 + 10.0)
    client.set(crawl_key(CRAWL, "finished"), "1")

    proc = export(tmp_path, "--frontier", redis_url, "--crawl", CRAWL, "--out", "all.json")

    assert proc.returncode == 0, proc.stderr
    assert last_line(proc) == "crawler-export: wrote all.json: 3 records from 2 machines (complete)"
    assert json.loads((tmp_path / "all.json").read_text()) == {
        "version": 1,
        "complete": True,
        "started_at": "2026-11-28T02:00:00.000Z",
        "finished_at": "2026-11-28T02:00:10.000Z",
        "settings": DOC["settings"],
        "seeds": SEEDS,
        "rejected_seeds": DOC["rejected_seeds"],
        "stats": {
            "pages": 3,
            "ok": 1,
            "failed": 2,
            "bytes": 300,
            "elapsed_s": 10.0,
            "pages_per_s": 0.3,
            "by_status": {"200": 1, "404": 1},
            "by_error": {"dns": 1},
            "retries": 0,
            "robots_excluded": 5,
            "out_of_scope": 1,
            "duplicates": 5,
            "dropped_links": 1,
            "rejected": 0,
            "beyond_depth": 0,
            "plugin_errors": 1,
        },  # fmt: skip
        "pages": b.records + a.records,
    }
    assert [p["machine"] for p in b.records + a.records] == ["beta:100", "alpha:200", "alpha:200"]


def test_an_export_of_a_running_crawl(client: redis.Redis, redis_url: str, tmp_path: Path) -> None:
    """Not finished: complete false, the latest store as the end, and only the records the
    machines have stored (a buffered record is not there yet)."""
    a = Machine(client, "alpha:1", T0)
    a.fetched("http://a.test/")
    a.flush()  # its clock says it stored at T0 + 1
    a.fetched("http://a.test/later")  # buffered, not flushed
    out = tmp_path / "sub" / "all.json"  # its directory is made

    proc = export(tmp_path, "--frontier", redis_url, "--crawl", CRAWL, "-o", str(out))

    assert proc.returncode == 0, proc.stderr
    assert "(not finished yet)" in last_line(proc)
    doc = json.loads(out.read_text())
    assert (doc["complete"], doc["finished_at"]) == (False, "2026-11-28T02:00:01.000Z")
    assert doc["stats"]["pages"] == 1 and doc["stats"]["elapsed_s"] == 1.0
    assert doc["pages"] == a.records[:1]


def test_a_crawl_no_machine_has_stored_yet(
    client: redis.Redis, redis_url: str, tmp_path: Path
) -> None:
    proc = export(tmp_path, "--frontier", redis_url, "--crawl", CRAWL)
    assert proc.returncode == 0, proc.stderr
    doc = json.loads((tmp_path / "all.json").read_text())  # the default --out
    assert doc["pages"] == [] and doc["stats"]["pages"] == 0
    assert doc["started_at"] == doc["finished_at"] and doc["complete"] is False


def test_records_are_streamed_batch_by_batch(
    client: redis.Redis, redis_url: str, tmp_path: Path
) -> None:
    """More batches than one read takes, each machine's in the order stored."""
    a = Machine(client, "alpha:1", T0)
    for n in range(READ_BATCHES * 2 + 3):
        a.fetched(f"http://a.test/{n}")
        a.fetched(f"http://a.test/{n}/b")
        a.flush()
    proc = export(tmp_path, "--frontier", redis_url, "--crawl", CRAWL)
    assert proc.returncode == 0, proc.stderr
    assert json.loads((tmp_path / "all.json").read_text())["pages"] == a.records


def test_an_unknown_crawl_is_exit_2_naming_it(redis_url: str, tmp_path: Path) -> None:
    proc = export(tmp_path, "--frontier", redis_url, "--crawl", "nosuchcrawl")
    assert proc.returncode == 2
    assert last_line(proc) == (
        f"crawler-export: no crawl named 'nosuchcrawl' in Redis at {redis_url} "
        "(no key crawler:nosuchcrawl:settings)"
    )
    assert not (tmp_path / "all.json").exists()


@pytest.mark.parametrize("user", ["", "admin"])
def test_unreachable_redis_is_exit_2_and_the_password_is_never_shown(
    user: str, tmp_path: Path
) -> None:
    port = free_port()  # nothing listens there
    proc = export(
        tmp_path, "--frontier", f"redis://{user}:s3cret@127.0.0.1:{port}/0", "--crawl", CRAWL
    )
    assert proc.returncode == 2
    assert last_line(proc).startswith(
        f"crawler-export: cannot reach Redis at redis://{user}:***@127.0.0.1:{port}/0: "
    )
    assert "s3cret" not in proc.stderr + proc.stdout
    assert not (tmp_path / "all.json").exists()


def test_a_password_is_used_and_never_shown(
    start_redis: Callable[..., RedisServer], tmp_path: Path
) -> None:
    server = start_redis()
    with server.client() as admin:
        admin.config_set("requirepass", "s3cret-right")
    right = server.url.replace("redis://", "redis://:s3cret-right@")
    wrong = server.url.replace("redis://", "redis://:s3cret-wrong@")
    masked_url = server.url.replace("redis://", "redis://:***@")

    refused = export(tmp_path, "--frontier", wrong, "--crawl", CRAWL)
    assert refused.returncode == 2
    assert last_line(refused).startswith(f"crawler-export: cannot reach Redis at {masked_url}: ")
    accepted = export(tmp_path, "--frontier", right, "--crawl", CRAWL)
    assert accepted.returncode == 2
    assert f"no crawl named '{CRAWL}' in Redis at {masked_url} " in last_line(accepted)
    for proc in (refused, accepted):
        assert "s3cret" not in proc.stderr + proc.stdout


def test_the_frontier_may_come_from_the_environment(redis_url: str, tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "crawler.export", "--crawl", "nosuchcrawl"],
        cwd=tmp_path,
        env={"PYTHONPATH": str(ROOT), "CRAWLER_FRONTIER": redis_url},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 2 and "no crawl named 'nosuchcrawl'" in last_line(proc)
    missing = export(tmp_path, "--crawl", CRAWL)
    assert missing.returncode == 2 and "--frontier URL is required" in last_line(missing)


def test_an_out_path_that_cannot_be_written_is_exit_2(redis_url: str, tmp_path: Path) -> None:
    (tmp_path / "dir").mkdir()
    proc = export(tmp_path, "--frontier", redis_url, "--crawl", CRAWL, "--out", "dir")
    assert proc.returncode == 2
    assert last_line(proc).startswith("crawler-export: cannot write output --out dir: ")


def test_damaged_records_are_exit_1_and_the_old_file_stays(
    client: redis.Redis, redis_url: str, tmp_path: Path
) -> None:
    a = Machine(client, "alpha:1", T0)
    a.fetched("http://a.test/")
    a.flush()
    client.lset(crawl_key(CRAWL, "records:alpha:1"), 0, b"\x01garbage")
    (tmp_path / "all.json").write_text("previous\n")
    proc = export(tmp_path, "--frontier", redis_url, "--crawl", CRAWL)
    assert proc.returncode == 1
    assert "damaged record batch" in last_line(proc)
    assert (tmp_path / "all.json").read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["all.json"]  # no temporary file left


def test_a_damaged_settings_document_is_exit_1(
    client: redis.Redis, redis_url: str, tmp_path: Path
) -> None:
    client.set(crawl_key(CRAWL, "settings"), json.dumps({"settings": {}}))
    proc = export(tmp_path, "--frontier", redis_url, "--crawl", CRAWL)
    assert proc.returncode == 1
    assert last_line(proc).endswith("is damaged: its settings lack seeds, rejected_seeds")

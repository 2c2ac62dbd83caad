"""The recorder: records, stats, --jsonl, the checkpoint and out.json, in one place."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from crawler.errors import UsageError
from crawler.recorder import Recorder, crawl_identity
from crawler.settings import Settings

SEEDS = ["http://a.test/"]


def settings(tmp_path: Path, **changes: Any) -> Settings:
    base = Settings(seed=tuple(SEEDS), out=str(tmp_path / "out.json"))
    return dataclasses.replace(base, **changes)


def record(url: str, status: int = 200, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "url": url,
        "final_url": url,
        "redirects": [],
        "depth": 0,
        "referrer": None,
        "status": status,
        "content_type": "text/html",
        "title": None,
        "links": [],
        "bytes": 10,
        "elapsed_ms": 1.0,
        "fetched_at": "2026-11-28T02:00:00.000Z",
        "retries": 0,
        "worker": 0,
        "error": None,
    }
    return {**base, **changes}


def read_jsonl(path: Path) -> list[str]:
    return [json.loads(line)["url"] for line in path.read_text().splitlines()]


def test_records_and_stats_end_in_out_json(tmp_path: Path) -> None:
    jsonl = tmp_path / "out.jsonl"
    s = settings(tmp_path, jsonl=str(jsonl))
    recorder = Recorder.open(s, SEEDS, [{"line": 2, "text": "x", "reason": "bad"}])
    assert recorder.resume() is None and not recorder.resuming
    recorder.add(record("http://a.test/"), ["http://a.test/"], dropped_links=2)
    recorder.add(record("http://a.test/x", 404), ["http://a.test/x"], dropped_links=0)
    recorder.stats.out_of_scope += 5
    assert read_jsonl(jsonl) == ["http://a.test/", "http://a.test/x"]  # as they arrive
    recorder.write(recorder.header(complete=True, started_at=100.0, finished_at=104.0))
    recorder.close()
    out = json.loads((tmp_path / "out.json").read_text())
    assert out["complete"] is True and out["version"] == 1
    assert out["seeds"] == SEEDS and out["rejected_seeds"][0]["line"] == 2
    assert out["settings"]["out"] == s.out
    assert out["stats"]["pages"] == 2 and out["stats"]["ok"] == 1 and out["stats"]["failed"] == 1
    assert out["stats"]["dropped_links"] == 2 and out["stats"]["out_of_scope"] == 5
    assert out["stats"]["elapsed_s"] == 4.0 and out["stats"]["pages_per_s"] == 0.5
    assert out["pages"] == [record("http://a.test/"), record("http://a.test/x", 404)]  # no machine


def test_a_resumed_crawl_gets_its_state_back(tmp_path: Path) -> None:
    jsonl = tmp_path / "out.jsonl"
    s = settings(tmp_path, jsonl=str(jsonl), state=str(tmp_path / "state"))
    first = Recorder.open(s, SEEDS, [])
    assert first.resume() is None
    first.queued("http://a.test/", 0, None)
    first.queued("http://a.test/next", 1, "http://a.test/")
    first.add(record("http://a.test/"), ["http://a.test/"], dropped_links=1)
    first.stats.duplicates += 7
    assert not jsonl.read_text()  # --jsonl gets records once they are committed
    first.commit(elapsed_s=0.0)
    assert read_jsonl(jsonl) == ["http://a.test/"]
    first.commit(force=True, elapsed_s=3.0)  # the run's end
    first.close()
    jsonl.write_text("")  # as if killed before --jsonl was written

    second = Recorder.open(s, SEEDS, [])
    loaded = second.resume()
    assert second.resuming and loaded is not None
    assert loaded.pending == [("http://a.test/next", 1, "http://a.test/")]
    assert sorted(loaded.seen) == ["http://a.test/", "http://a.test/next"]
    assert loaded.records_per_host == {"a.test": 1}
    assert read_jsonl(jsonl) == ["http://a.test/"]  # caught up
    assert second.stats.pages == 1 and second.stats.duplicates == 7
    assert second.stats.dropped_links == 1 and second.elapsed_before_s == 3.0
    header = second.header(complete=True, started_at=10.0, finished_at=12.0)
    assert header["stats"]["elapsed_s"] == 5.0  # both runs
    second.write(header)
    second.close()
    out = json.loads((tmp_path / "out.json").read_text())
    assert [p["url"] for p in out["pages"]] == ["http://a.test/"]


def test_another_crawl_in_the_state_directory_is_refused(tmp_path: Path) -> None:
    s = settings(tmp_path, state=str(tmp_path / "state"))
    Recorder.open(s, SEEDS, []).close()
    other = dataclasses.replace(s, scope="domain")
    with pytest.raises(UsageError, match="scope"):
        Recorder.open(other, SEEDS, [])
    # Limits are not part of the identity: raising --max-pages goes on.
    Recorder.open(dataclasses.replace(s, max_pages=10), SEEDS, []).close()


def test_identity_is_seeds_and_what_may_be_followed() -> None:
    s = Settings(seed=tuple(SEEDS), allow=("a",), deny=("b",), max_pages=3, procs=2)
    assert crawl_identity(s, SEEDS) == {
        "seeds": SEEDS,
        "scope": "host",
        "allow": ["a"],
        "deny": ["b"],
    }

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crawler.checkpoint import CrawlState
from crawler.errors import UsageError

IDENTITY = {"seeds": ["http://a.test/"], "scope": "host", "allow": [], "deny": []}


def record(url: str, redirects: list[str] | None = None, final: str | None = None) -> dict:
    return {"url": url, "redirects": redirects or [], "final_url": final or url}


def test_round_trip(tmp_path: Path) -> None:
    state = CrawlState(str(tmp_path), IDENTITY)
    assert not state.resumed
    state.add_pending("http://a.test/", 0, None)
    state.add_pending("http://a.test/x", 1, "http://a.test/")
    state.add_pending("http://a.test/y", 1, "http://a.test/")
    state.add_record(record("http://a.test/"), '{"n":1}', ["http://a.test/"])
    state.mark_done(["http://out.test/"])
    assert state.commit({"duplicates": 3}) == ['{"n":1}']
    state.add_pending("http://a.test/lost", 2, None)  # never committed: a kill loses it
    state.close()

    again = CrawlState(str(tmp_path), IDENTITY)
    assert again.resumed
    loaded = again.load()
    assert sorted(loaded.seen) == [
        "http://a.test/",
        "http://a.test/x",
        "http://a.test/y",
        "http://out.test/",
    ]
    assert loaded.pending == [
        ("http://a.test/x", 1, "http://a.test/"),
        ("http://a.test/y", 1, "http://a.test/"),
    ]
    assert loaded.counters == {"duplicates": 3}
    assert loaded.records_per_host == {"a.test": 1}
    assert list(again.iter_records()) == ['{"n":1}']
    assert list(again.iter_records(after=1)) == []
    again.close()


def test_chain_ending_at_a_pending_url_leaves_it_pending(tmp_path: Path) -> None:
    state = CrawlState(str(tmp_path), IDENTITY)
    state.add_pending("http://a.test/target", 1, None)
    state.add_pending("http://a.test/r", 1, None)
    redirect = record("http://a.test/r", ["http://a.test/r"], "http://a.test/target")
    state.add_record(redirect, "{}", ["http://a.test/r"])
    state.commit({})
    assert state.load().pending == [("http://a.test/target", 1, None)]
    state.close()


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"seeds": ["http://b.test/"]}, "(the seeds differ)"),
        ({"scope": "any"}, "(--scope differs)"),
        ({"seeds": ["http://b.test/"], "scope": "any"}, "(the seeds and --scope differ)"),
        ({"scope": "any", "allow": ["x"], "deny": ["y"]}, "(--scope, --allow and --deny differ)"),
    ],
)
def test_other_identity_is_refused(tmp_path: Path, changes: dict[str, Any], words: str) -> None:
    CrawlState(str(tmp_path), IDENTITY).close()
    with pytest.raises(UsageError) as caught:
        CrawlState(str(tmp_path), {**IDENTITY, **changes})
    assert str(caught.value) == (
        f"--state {tmp_path} holds another crawl {words}; resume with the same seeds, "
        "--scope, --allow and --deny, or use a new DIR"
    )


def test_unusable_directory(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    with pytest.raises(UsageError, match="cannot use --state"):
        CrawlState(str(blocker / "sub"), IDENTITY)
    with pytest.raises(UsageError, match=r"^cannot use --state \S+: it is a file, not a dir"):
        CrawlState(str(blocker), IDENTITY)
    with pytest.raises(
        UsageError, match="^cannot use --state /proc/crawler-state: cannot create directory"
    ):
        CrawlState("/proc/crawler-state", IDENTITY)

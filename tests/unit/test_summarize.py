"""The human summary of an out.json, on a hand-made crawl."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from scripts.summarize import main, summarize

H = "http://127.0.0.1:8000/"


def _page(url: str, status: int | None = 200, **fields: Any) -> dict[str, Any]:
    record = {
        "url": url,
        "final_url": url,
        "redirects": [],
        "depth": 1,
        "referrer": H,
        "status": status,
        "content_type": "text/html",
        "title": None,
        "links": [],
        "bytes": 100,
        "elapsed_ms": 5.0,
        "fetched_at": "2026-11-28T02:00:01.001Z",
        "retries": 0,
        "worker": 0,
        "error": None,
    }
    record.update(fields)
    return record


def _crawl() -> dict[str, Any]:
    timeout = {"kind": "timeout", "message": "no answer in 10 s"}
    pages = [
        _page(H, depth=0, referrer=None, links=[H, H + "a", H + "missing", H + "slow"]),
        _page(H + "a", links=[H + "missing", H + "gone"], elapsed_ms=120.5),
        _page(H + "missing", 404, elapsed_ms=2.0),
        _page(H + "gone", 500, referrer=H + "a"),
        _page(H + "slow", None, elapsed_ms=10000.0, error=timeout),
    ]
    return {
        "version": 1,
        "complete": True,
        "started_at": "2026-11-28T02:00:00.000Z",
        "finished_at": "2026-11-28T02:00:10.000Z",
        "seeds": [H],
        "stats": {
            "pages": 5,
            "ok": 2,
            "failed": 3,
            "elapsed_s": 10.0,
            "pages_per_s": 0.5,
            "by_status": {"500": 1, "200": 2, "404": 1},
            "by_error": {"timeout": 1},
            "retries": 2,
            "robots_excluded": 1,
        },
        "pages": pages,
    }


def test_totals_and_counts() -> None:
    text = summarize(_crawl(), 10)
    assert text.startswith("crawl: complete (2026-11-28T02:00:00.000Z .. 2026-11-28T02:00:10")
    assert "pages: 5  ok: 2  failed: 3  elapsed: 10.00 s  pages/s: 0.5" in text
    assert "by status: 200=2  404=1  500=1" in text  # numeric order
    assert "by error: timeout=1" in text
    assert "other: retries 2, robots excluded 1" in text


def test_slowest_pages_first_and_limited_by_top() -> None:
    lines = summarize(_crawl(), 2).splitlines()
    start = lines.index("slowest pages (top 2 of 5):")
    assert lines[start + 1].split() == ["10000.0", "ms", "timeout", H + "slow"]
    assert lines[start + 2].split() == ["120.5", "ms", "200", H + "a"]
    assert lines[start + 3].startswith("broken links")


def test_broken_links_name_the_pages_linking_to_them() -> None:
    lines = summarize(_crawl(), 10).splitlines()
    start = lines.index("broken links (3):")
    assert lines[start + 1 :] == [
        f"  {H}gone  500",
        f"      linked from: {H}a",
        f"  {H}missing  404",
        f"      linked from: {H}, {H}a",
        f"  {H}slow  timeout (no answer in 10 s)",
        f"      linked from: {H}",
    ]
    assert "... and 2 more" in summarize(_crawl(), 1)


def test_partial_file_without_stats_is_recomputed() -> None:
    data = _crawl()
    del data["stats"], data["finished_at"]
    data["complete"] = False
    text = summarize(data, 10)
    assert text.startswith("crawl: INCOMPLETE")
    assert "pages: 5  ok: 2  failed: 3  elapsed: ?  pages/s: ?" in text
    assert "by status: 200=2  404=1  500=1" in text
    assert "by error: timeout=1" in text


def test_empty_crawl() -> None:
    text = summarize({"complete": True, "pages": []}, 10)
    assert "pages: 0  ok: 0  failed: 0" in text
    assert "by status: none" in text
    assert "broken links (0):" in text


def test_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.json"
    out.write_text(json.dumps(_crawl()))
    assert main([str(out), "--top", "3"]) == 0
    assert capsys.readouterr().out == summarize(_crawl(), 3)
    assert main([str(tmp_path / "nope.json")]) == 2
    assert "cannot read" in capsys.readouterr().err

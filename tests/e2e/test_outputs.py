"""Output paths through the real CLI: refused before the first request, and out.json that
cannot be written at the end saved to a fallback file that stderr names."""

from __future__ import annotations

import json
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from scripts.site import SiteConfig, SiteServer, expected_urls
from tests.helpers.crawler_cli import RunCrawler, StartCrawler
from tests.helpers.processes import wait_for

# (options, the one stderr line); paths are relative to the crawl's directory, where
# `results` is a directory holding old.json and `blocker` a regular file. Each case
# also names outputs that would be made, to show nothing is made before the refusal.
UNUSABLE = {
    "out is a directory": (
        ["--out", "results", "--state", "state", "--jsonl", "pages.jsonl"],
        "cannot write output --out results: it is a directory "
        "(name a file in it, such as results/out.json)",
    ),
    "jsonl is a directory": (
        ["--jsonl", "results", "--state", "state", "--out", "new/out.json"],
        "cannot write output --jsonl results: it is a directory "
        "(name a file in it, such as results/pages.jsonl)",
    ),
    "out under a file": (
        ["--out", "blocker/out.json", "--state", "state", "--jsonl", "new/pages.jsonl"],
        "cannot write output --out blocker/out.json: blocker is a file, not a directory",
    ),
    "out under /proc": (
        ["--out", "/proc/crawler-test/out.json", "--state", "state"],
        "cannot write output --out /proc/crawler-test/out.json: "
        "cannot create directory /proc/crawler-test: No such file or directory",
    ),
    "state is a file": (
        ["--state", "blocker", "--out", "new/out.json", "--jsonl", "new2/pages.jsonl"],
        "cannot use --state blocker: it is a file, not a directory",
    ),
    "state under /proc": (
        ["--state", "/proc/crawler-state", "--out", "new/out.json", "--jsonl", "new2/p.jsonl"],
        "cannot use --state /proc/crawler-state: "
        "cannot create directory /proc/crawler-state: No such file or directory",
    ),
}


def listing(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*"))


@pytest.mark.parametrize("case", list(UNUSABLE))
def test_an_unusable_output_path_is_exit_2_before_the_first_request(
    case: str,
    tmp_path: Path,
    crawl: RunCrawler,
    site_server: Callable[[SiteConfig], SiteServer],
) -> None:
    site = site_server(SiteConfig(pages=5, links=2))
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "old.json").write_text("{}", encoding="utf-8")
    (tmp_path / "blocker").write_text("x", encoding="utf-8")
    before = listing(tmp_path)
    options, line = UNUSABLE[case]
    result = crawl("--seed", site.base_urls[0], *options)
    assert result.code == 2, result.stderr
    assert result.stderr.splitlines() == [f"crawler: error: {line}"]
    assert site.requests == []
    assert listing(tmp_path) == before  # no out.json, spool, probe, directory or state


@pytest.mark.parametrize("records_in", ["spool", "state"])
def test_out_json_that_cannot_be_written_is_saved_to_a_named_fallback_file(
    records_in: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    start_crawler: StartCrawler,
    site_server: Callable[[SiteConfig], SiteServer],
) -> None:
    site = site_server(SiteConfig(pages=120, links=3, latency_ms=20))
    temp = tmp_path / "temp"  # the crawler's system temporary directory
    temp.mkdir()
    monkeypatch.setenv("TMPDIR", str(temp))
    results = tmp_path / "results"
    out = results / "out.json"
    state = ["--state", str(tmp_path / "state")] if records_in == "state" else []
    proc = start_crawler(
        "--seed",
        site.base_urls[0],
        "--procs",
        "1",
        "--threads",
        "2",
        "--max-depth",
        "50",
        *state,
        out=out,
    )
    wait_for(lambda: len(site.requests) >= 10, 30, "the crawl to get going")
    assert proc.poll() is None, "the crawl ended before its directory could be removed"
    shutil.rmtree(results)
    _, stderr = proc.communicate(timeout=60)
    assert proc.returncode == 1, stderr
    assert "Traceback" not in stderr
    fallbacks = list(temp.glob("crawler-out-*.json"))
    assert len(fallbacks) == 1, (list(temp.iterdir()), stderr)
    assert re.search(
        rf"^ERROR: cannot write --out {re.escape(str(out))}: No such file or directory; "
        rf"the whole result was written to {re.escape(str(fallbacks[0]))} instead$",
        stderr,
        re.M,
    ), stderr
    data = json.loads(fallbacks[0].read_text(encoding="utf-8"))
    urls = [page["url"] for page in data["pages"]]
    assert data["complete"] is True and data["settings"]["out"] == str(out)
    assert len(urls) == len(set(urls)) == data["stats"]["pages"]
    assert set(urls) == expected_urls(site.cfg, site.base_urls)
    assert not results.exists()  # not made again behind the user's back

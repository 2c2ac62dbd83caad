"""crawler.summary on hand-made out.json objects: its sections, their order, the words,
the three formats, the command line."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path
from typing import Any

import pytest

from crawler import out_reader
from crawler.records import Stats
from crawler.summary import (
    CSV_COLUMNS,
    main,
    plural,
    summarize,
    summarize_stream,
    to_json,
    to_text,
    write_csv,
)
from tests.helpers.records import H, page_record

EXT = "http://ext.example/"


def _page(url: str, status: int | None = 200, **fields: Any) -> dict[str, Any]:
    """tests/helpers/records.py's record with this file's figures (bytes, title, time)."""
    defaults = {"title": None, "bytes": 100, "fetched_at": "2026-11-28T02:00:01.001Z"}
    return page_record(url, status, **{**defaults, **fields})


def _crawl() -> dict[str, Any]:
    timeout = {"kind": "timeout", "message": "no answer in 10 s"}
    unavailable = {"kind": "robots_unavailable", "message": "status 503"}
    pages = [
        _page(
            H,
            depth=0,
            referrer=None,
            links=[H, H + "a", H + "b", H + "missing", H + "slow", H + "old", EXT + "x", EXT + "y"],
            data={"h1": ["Home"]},
        ),
        _page(H + "a", links=[H + "missing", H + "gone", H + "old", EXT + "x"], elapsed_ms=120.5),
        _page(H + "b", links=[H + "missing"], retries=2),
        _page(H + "missing", 404, elapsed_ms=2.0),
        _page(H + "gone", 500, referrer=H + "a"),
        _page(H + "slow", None, elapsed_ms=10000.0, error=timeout),
        _page(H + "old", 200, final_url=H + "new", redirects=[H + "old", H + "mid"], links=[H]),
        _page(EXT + "x", 410),
        _page("http://dead.example/", None, worker=None, elapsed_ms=0.0, error=unavailable),
    ]
    del pages[3]["title"]  # hand-made files may lack fields no section needs
    return {
        "version": 1,
        "complete": True,
        "started_at": "2026-11-28T02:00:00.000Z",
        "finished_at": "2026-11-28T02:00:10.000Z",
        "settings": {"max_depth": 3},
        "seeds": [H],
        "stats": {
            "pages": 9,
            "ok": 4,
            "failed": 5,
            "elapsed_s": 10.0,
            "pages_per_s": 0.9,
            "robots_excluded": 1,
            "out_of_scope": 0,
            "duplicates": 7,
            "beyond_depth": 4,
        },
        "pages": pages,
    }


def _section(text: str, title: str) -> list[str]:
    """The lines of the text section starting with `title`, up to the blank line."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(title))
    end = lines.index("", start) if "" in lines[start:] else len(lines)
    return lines[start:end]


@pytest.mark.parametrize(
    ("count", "word", "expected"),
    [
        (0, "page", "0 pages"),
        (1, "page", "1 page"),
        (2, "page", "2 pages"),
        (1, "retry", "1 retry"),
        (3, "retry", "3 retries"),
        (2, "day", "2 days"),
        (1, "URL", "1 URL"),
        (2, "URL", "2 URLs"),
    ],
)
def test_plural(count: int, word: str, expected: str) -> None:
    assert plural(count, word) == expected


def test_totals_are_out_json_stats() -> None:
    data = _crawl()
    stats = Stats()
    for record in data["pages"]:
        stats.add(record)
    result = summarize(data)
    assert (result.stats.pages, result.stats.ok, result.stats.failed) == (9, 4, 5)
    assert (stats.ok, stats.failed) == (result.stats.ok, result.stats.failed)
    totals = to_json(result)["totals"]
    assert {key: totals[key] for key in ("pages", "ok", "failed")} == {
        key: data["stats"][key] for key in ("pages", "ok", "failed")
    }


def test_overview_lines() -> None:
    text = to_text(summarize(_crawl()))
    lines = text.splitlines()
    assert lines[0] == (
        "crawl: complete, 1 seed, 2026-11-28T02:00:00.000Z .. 2026-11-28T02:00:10.000Z,"
        " 10.00 s, 0.9 pages/s"
    )
    assert lines[1] == "pages: 9  ok: 4  failed: 5  (900 bytes read, 2 retries)"
    assert lines[2] == "by status: 200: 4 pages, 404: 1 page, 410: 1 page, 500: 1 page"
    assert lines[3] == "by error kind: robots_unavailable: 1 page, timeout: 1 page"
    assert lines[4] == (
        "not followed: 1 URL disallowed by robots.txt, 7 links to URLs already seen"
    )
    assert lines[5] == "by depth: 0: 1 page, 1: 8 pages; 4 URLs not followed beyond --max-depth 3"
    assert "errors" not in text  # failed is the one count of failures


def test_sections_come_in_order() -> None:
    titles = [
        line.split(":")[0]
        for line in to_text(summarize(_crawl())).splitlines()
        if line and not line.startswith(" ")
    ]
    assert titles[6:] == ["broken links", "redirects", "external links", "hosts", "slowest pages"]


def test_broken_links_most_linked_first_with_the_pages_linking_to_them() -> None:
    lines = _section(to_text(summarize(_crawl())), "broken links")
    assert lines == [
        "broken links: 5 URLs failed (an error or a status >= 400), most linked first",
        f"  404  {H}missing",
        f"      linked from 3 pages: {H}, {H}a, {H}b",
        f"  410  {EXT}x",
        f"      linked from 2 pages: {H}, {H}a",
        f"  500  {H}gone",
        f"      linked from 1 page: {H}a",
        f"  timeout  {H}slow  (no answer in 10 s)",
        f"      linked from 1 page: {H}",
        "  robots_unavailable  http://dead.example/  (status 503)",
        f"      no recorded page links to it; found via {H}",
    ]


def test_linking_pages_beyond_the_first_few_are_counted() -> None:
    data = _crawl()
    data["pages"] += [_page(f"{H}p{i}", links=[H + "gone"]) for i in range(5)]
    lines = _section(to_text(summarize(data)), "broken links")
    assert lines[1:3] == [
        f"  500  {H}gone",
        f"      linked from 6 pages: {H}a, {H}p0, {H}p1 (+3 more)",
    ]


def test_a_broken_seed_says_so_and_top_cuts_lists() -> None:
    data = {"seeds": [H], "pages": [_page(H, 503, depth=0, referrer=None)]}
    assert _section(to_text(summarize(data)), "broken links")[2] == (
        "      a seed: no recorded page links to it"
    )
    lines = _section(to_text(summarize(_crawl(), top=2)), "broken links")
    assert len(lines) == 1 + 2 * 2 + 1
    assert lines[-1] == "  (+3 more)"


def test_redirect_chains() -> None:
    assert _section(to_text(summarize(_crawl())), "redirects") == [
        "redirects: 1 URL redirected, most linked first",
        f"  {H}old -> {H}mid -> {H}new  (200, linked from 2 pages)",
    ]
    (item,) = to_json(summarize(_crawl()))["redirects"]["items"]
    assert item == {
        "url": H + "old",
        "final_url": H + "new",
        "chain": [H + "old", H + "mid", H + "new"],
        "status": 200,
        "error_kind": None,
        "links_in": 2,
    }


def test_external_links_with_their_status_or_not_fetched() -> None:
    assert _section(to_text(summarize(_crawl())), "external links") == [
        "external links: 2 URLs on 1 host other than the seeds', most linked first",
        f"  410  {EXT}x",
        f"      linked from 2 pages: {H}, {H}a",
        f"  not fetched  {EXT}y",
        f"      linked from 1 page: {H}",
    ]
    section = to_json(summarize(_crawl()))["external_links"]
    assert section["total"] == 2 and section["hosts"] == 1
    assert [(i["url"], i["fetched"], i["status"]) for i in section["items"]] == [
        (EXT + "x", True, 410),
        (EXT + "y", False, None),
    ]


def test_without_seeds_the_depth_0_records_name_the_seed_hosts() -> None:
    data = _crawl()
    del data["seeds"]
    assert to_json(summarize(data))["external_links"]["total"] == 2


def test_hosts_most_pages_first_then_by_name() -> None:
    assert _section(to_text(summarize(_crawl())), "hosts") == [
        "hosts: 3 hosts, most pages first",
        "  127.0.0.1:8000  7 pages  ok: 4  failed: 3",
        "  dead.example     1 page  ok: 0  failed: 1",
        "  ext.example      1 page  ok: 0  failed: 1",
    ]


def test_slowest_pages_first_ties_in_record_order() -> None:
    lines = _section(to_text(summarize(_crawl(), top=4)), "slowest pages")
    assert [line.split() for line in lines[1:]] == [
        ["10000.0", "ms", "timeout", H + "slow"],
        ["120.5", "ms", "200", H + "a"],
        ["5.0", "ms", "200", H],
        ["5.0", "ms", "200", H + "b"],
    ]
    assert lines[0] == "slowest pages: 4 of 9 pages"


def test_depth_cut_offs_only_when_out_json_has_them() -> None:
    data = _crawl()
    del data["stats"]["beyond_depth"]
    text = to_text(summarize(data))
    assert "by depth: 0: 1 page, 1: 8 pages\n" in text
    assert to_json(summarize(data))["depth"] == {
        "pages_by_depth": {"0": 1, "1": 8},
        "max_depth": 3,
        "beyond_depth": None,
    }


def test_json_has_one_key_per_section() -> None:
    result = to_json(summarize(_crawl(), top=1))
    assert list(result) == [
        "crawl",
        "totals",
        "by_status",
        "by_error",
        "not_followed",
        "depth",
        "broken_links",
        "redirects",
        "external_links",
        "hosts",
        "slowest_pages",
    ]
    assert result["totals"] == {
        "pages": 9,
        "ok": 4,
        "failed": 5,
        "bytes": 900,
        "retries": 2,
        "plugin_errors": 0,
    }
    assert result["by_status"] == {"200": 4, "404": 1, "410": 1, "500": 1}
    assert result["broken_links"]["total"] == 5
    assert result["broken_links"]["items"] == [
        {
            "url": H + "missing",
            "status": 404,
            "error_kind": None,
            "message": None,
            "links_in": 3,
            "linked_from": [H, H + "a", H + "b"],
            "referrer": H,
        }
    ]
    assert result["hosts"] == {
        "total": 3,
        "items": [{"host": "127.0.0.1:8000", "pages": 7, "ok": 4, "failed": 3}],
    }
    assert result["slowest_pages"]["total"] == 9
    assert [item["url"] for item in result["slowest_pages"]["items"]] == [H + "slow"]
    json.dumps(result)  # plain JSON values only


def test_csv_one_row_per_record() -> None:
    out = io.StringIO()
    write_csv(summarize(_crawl(), keep_rows=True), out)
    rows = list(csv.reader(io.StringIO(out.getvalue())))
    assert rows[0] == list(CSV_COLUMNS)
    assert rows[0] == ["url", "status", "error_kind", "depth", "referrer", "links_in"]
    assert len(rows) == 1 + 9
    assert rows[1] == [H, "200", "", "0", "", "1"]  # linked from /old; its own self-link not
    assert rows[4] == [H + "missing", "404", "", "1", H, "3"]
    assert rows[6] == [H + "slow", "", "timeout", "1", H, "1"]


def test_empty_and_incomplete_crawls() -> None:
    text = to_text(summarize({"complete": False, "pages": []}))
    assert text.startswith("crawl: INCOMPLETE (interrupted or still running), 0 seeds\n")
    assert "pages: 0  ok: 0  failed: 0  (0 bytes read, 0 retries)" in text
    assert "by status: none" in text
    assert "broken links: none" in text
    assert "not followed" not in text  # no stats in the file: nothing to say


def _write_out_json(data: dict[str, Any]) -> str:
    """out.json as the crawler writes it: the header indented, a record per line."""
    header = {key: value for key, value in data.items() if key != "pages"}
    pages = ",\n".join(json.dumps(record, ensure_ascii=False) for record in data["pages"])
    return json.dumps(header, indent=1)[:-2] + ',\n "pages": [\n' + pages + "\n]}\n"


@pytest.mark.parametrize("chunk", [7, 1 << 20])
def test_streamed_summary_is_the_in_memory_one(chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(out_reader, "READ_CHUNK", chunk)
    text = _write_out_json(_crawl())
    streamed = summarize_stream(io.StringIO(text), keep_rows=True)
    in_memory = summarize(json.loads(text), keep_rows=True)
    assert to_json(streamed) == to_json(in_memory)
    assert streamed.rows == in_memory.rows


def test_cli_formats(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "out.json"
    out.write_text(_write_out_json(_crawl()), encoding="utf-8")
    assert main([str(out), "--top", "3"]) == 0
    assert capsys.readouterr().out == to_text(summarize(_crawl(), top=3))
    assert main([str(out), "--format", "json", "--top", "0"]) == 0
    assert json.loads(capsys.readouterr().out) == to_json(summarize(_crawl(), top=0))
    assert main([str(out), "--format", "csv"]) == 0
    assert capsys.readouterr().out.splitlines()[0] == ",".join(CSV_COLUMNS)


def test_cli_reads_stdin(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO(json.dumps(_crawl())))
    assert main(["-"]) == 0
    assert capsys.readouterr().out.startswith("crawl: complete, 1 seed")


def test_cli_unreadable_file_is_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main([str(tmp_path / "nope.json")]) == 2
    assert "crawler-summary: cannot read" in capsys.readouterr().err
    bad = tmp_path / "bad.json"
    bad.write_text('{"pages": [', encoding="utf-8")
    assert main([str(bad)]) == 2
    assert capsys.readouterr().err.startswith(f"crawler-summary: cannot read {bad}: ")


def test_plugin_errors_are_counted_not_failed() -> None:
    data = _crawl()
    data["pages"][0]["plugin_error"] = "ValueError: no price"
    result = summarize(data)
    assert result.stats.plugin_errors == 1 and result.stats.failed == 5
    assert to_json(result)["totals"]["plugin_errors"] == 1
    assert "plugin errors: 1 page" in to_text(result).splitlines()
    assert "plugin errors" not in to_text(summarize(_crawl()))


def _sitemap_crawl() -> dict[str, Any]:
    """_crawl() read with --sitemaps: /orphan only a sitemap names, /b in none."""
    data = _crawl()
    listed = {H, H + "a", H + "missing", H + "orphan"}
    data["pages"].append(_page(H + "orphan", depth=0, referrer=H + "sitemap.xml"))
    for record in data["pages"]:
        record["in_sitemap"] = record["url"] in listed
    data["sitemaps"] = {
        "files": [
            {"url": H + "sitemap.xml", "status": 200, "urls": 4, "error": None},
            {
                "url": H + "broken.xml",
                "status": 200,
                "urls": 0,
                "error": {"kind": "bad_sitemap", "message": "x"},
            },
        ],
        "urls": 4,
    }
    return data


def test_sitemaps_orphans_and_unlisted_pages() -> None:
    result = summarize(_sitemap_crawl())
    text = to_text(result)
    assert _section(text, "sitemaps:") == [
        "sitemaps: 2 files (1 with an error), 4 URLs listed, 4 pages recorded"
    ]
    assert _section(text, "orphan pages:") == [
        "orphan pages: 1 page in a sitemap that no recorded page links to",
        f"  200  {H}orphan",
    ]
    unlisted = _section(text, "unlisted pages:")
    assert unlisted[0].startswith("unlisted pages: ") and f"  {H}b" in unlisted
    sitemaps = to_json(result)["sitemaps"]
    assert sitemaps["files"] == 2 and sitemaps["file_errors"] == 1 and sitemaps["urls"] == 4
    assert sitemaps["orphans"]["items"] == [
        {"url": H + "orphan", "status": 200, "error_kind": None}
    ]
    assert {"url": H + "b", "status": 200, "error_kind": None} in sitemaps["unlisted"]["items"]


def test_no_sitemap_sections_without_sitemaps() -> None:
    result = summarize(_crawl())
    assert "sitemaps" not in to_json(result)
    assert not any(
        line.startswith(("sitemaps:", "orphan pages")) for line in to_text(result).splitlines()
    )

"""Bad input and the command line's contract: exit codes, last stderr line, no traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from crawler.cli import main


def assert_usage_error(result, needle: str) -> None:  # type: ignore[no-untyped-def]
    assert result.code == 2, result.stderr
    assert needle in result.last_stderr_line, result.stderr
    assert "Traceback" not in result.stderr


def test_missing_seeds_file(crawl, tmp_path: Path) -> None:
    assert_usage_error(crawl("--seeds", str(tmp_path / "nope.txt")), "seeds file not found")


def test_unreadable_seeds_file(crawl, tmp_path: Path) -> None:
    assert_usage_error(crawl("--seeds", str(tmp_path)), "seeds file is a directory")


def test_empty_seeds_file(crawl, tmp_path: Path) -> None:
    seeds = tmp_path / "seeds.txt"
    seeds.write_text("# nothing\n\n", encoding="utf-8")
    assert_usage_error(crawl("--seeds", str(seeds)), "no valid seed")


def test_no_seed_at_all(crawl) -> None:
    assert_usage_error(crawl(), "no seeds")


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--procs", "0"], "procs"),
        (["--threads", "many"], "--threads"),
        (["--scope", "world"], "--scope"),
        (["--delay", "-1"], "delay"),
        (["--allow", "("], "regular expression"),
        (["--header", "nocolon"], "header"),
        (["--bogus"], "unrecognized arguments"),
    ],
)
def test_bad_option_values(crawl, args: list[str], needle: str) -> None:
    assert_usage_error(crawl("--seed", "http://127.0.0.1:9/", *args), needle)


def test_bad_config(crawl, tmp_path: Path) -> None:
    config = tmp_path / "bad.toml"
    config.write_text("threads = [\n", encoding="utf-8")
    assert_usage_error(crawl("--seed", "http://127.0.0.1:9/", "--config", str(config)), "bad.toml")


def test_garbage_seed_lines_are_reported_and_skipped(
    crawl, tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/").respond_with_data(
        "<title>Home</title>", content_type="text/html"
    )
    seeds = tmp_path / "seeds.txt"
    seeds.write_bytes(
        b"# seeds\nhtp:/x\n" + httpserver.url_for("/").encode() + b"\n\xff\xfe\x00junk\nfoo\n"
    )
    result = crawl("--seeds", str(seeds), "--procs", "1", "--threads", "1")
    assert result.code == 0, result.stderr
    assert [r["line"] for r in result.out["rejected_seeds"]] == [2, 4, 5]
    assert result.out["rejected_seeds"][0] == {
        "line": 2,
        "text": "htp:/x",
        "reason": "unsupported scheme",
    }
    assert "rejected seed" in result.stderr
    assert [p["title"] for p in result.pages] == ["Home"]


def test_seeds_from_stdin(crawl, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/").respond_with_data("<title>In</title>", content_type="text/html")
    result = crawl("--seeds", "-", "--procs", "1", stdin=httpserver.url_for("/") + "\n")
    assert result.code == 0 and [p["title"] for p in result.pages] == ["In"]


def test_settings_and_config_precedence_in_out_json(
    crawl, tmp_path: Path, httpserver: HTTPServer
) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/").respond_with_data("<title>x</title>", content_type="text/html")
    config = tmp_path / "c.toml"
    config.write_text("threads = 3\nmax_depth = 2\nprocs = 1\n", encoding="utf-8")
    result = crawl("--seed", httpserver.url_for("/"), "--config", str(config), "--max-depth", "4")
    assert result.code == 0, result.stderr
    settings = result.out["settings"]
    assert settings["threads"] == 3 and settings["max_depth"] == 4 and settings["procs"] == 1
    assert settings["timeout"] == 10.0 and settings["scope"] == "host"


def test_out_json_schema_and_summary(crawl, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/").respond_with_data("<title>x</title>", content_type="text/html")
    result = crawl("--seed", httpserver.url_for("/"), "--procs", "1")
    assert list(result.out) == [
        "version",
        "complete",
        "started_at",
        "finished_at",
        "settings",
        "seeds",
        "rejected_seeds",
        "stats",
        "pages",
    ]
    assert set(result.stats) == {
        "pages",
        "ok",
        "failed",
        "bytes",
        "elapsed_s",
        "pages_per_s",
        "by_status",
        "by_error",
        "retries",
        "robots_excluded",
        "out_of_scope",
        "duplicates",
        "dropped_links",
    }
    assert result.out["started_at"].endswith("Z") and result.out["complete"] is True
    assert "1 pages" in result.last_stderr_line
    # written atomically: no temporary files left beside out.json
    assert sorted(p.name for p in result.out_path.parent.iterdir()) == ["out.json"]


def test_main_is_callable_in_process(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--seeds", str(tmp_path / "missing.txt"), "--out", str(tmp_path / "o.json")])
    assert code == 2
    assert "seeds file not found" in capsys.readouterr().err
    assert not (tmp_path / "o.json").exists()


def test_unwritable_output(crawl, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    result = crawl("--seed", "http://127.0.0.1:9/", "--out", str(blocker / "out.json"))
    # --out given twice: argparse keeps the last one
    assert_usage_error(result, "cannot write output")
    json.dumps(result.stderr)

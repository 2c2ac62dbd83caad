"""Bad input and the command line's contract: exit codes, last stderr line, no traceback."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from pytest_httpserver import HTTPServer

from crawler.cli import main
from crawler.settings import Settings
from scripts.site import SiteConfig
from tests.helpers.crawler_cli import crawler_env


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
        "rejected",
        "beyond_depth",
        "plugin_errors",
    }
    assert result.out["started_at"].endswith("Z") and result.out["complete"] is True
    assert result.last_stderr_line.startswith("crawler: done: 1 page (1 ok, 0 failed) in ")
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


# -- the command line a wget or Scrapy user expects ---------------------------------------


def serve_home(httpserver: HTTPServer, title: str = "Home") -> str:
    """A one-page site; its URL."""
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/").respond_with_data(
        f"<title>{title}</title>", content_type="text/html"
    )
    return httpserver.url_for("/")


def test_urls_as_arguments_and_short_out(crawl, tmp_path: Path, httpserver: HTTPServer) -> None:
    home = serve_home(httpserver)
    httpserver.expect_request("/other").respond_with_data(
        "<title>Other</title>", content_type="text/html"
    )
    other = httpserver.url_for("/other")
    site_json = tmp_path / "site.json"
    # URLs before and after options, and joining --seed: argparse alone would refuse
    # the second URL (a positional list ends at the first option).
    result = crawl(
        home,
        "--procs",
        "1",
        other,
        "--seed",
        httpserver.url_for("/third"),
        "-o",
        str(site_json),
        "--reject-ext",
        "gz,tar.gz, .ZIP",
    )
    assert result.code == 0, result.stderr
    out = json.loads(site_json.read_text(encoding="utf-8"))
    assert out["seeds"] == [httpserver.url_for("/third"), home, other]
    assert {p["title"] for p in out["pages"]} == {"Home", "Other", None}
    assert out["settings"]["reject_ext"] == ["gz", "tar.gz", "zip"]
    assert result.last_stderr_line.endswith(f"-> {site_json}")
    assert not result.out_path.exists()  # -o replaced the --out the fixture gave


def run_help(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler", *args],
        env={**crawler_env(), "COLUMNS": "100"},
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_help_shows_groups_defaults_examples_and_exit_codes() -> None:
    result = run_help("--help")
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith("usage: crawler [options] [URL ...]")
    for title in ("what to crawl:", "limits:", "politeness:", "output:", "logging:"):
        assert f"\n{title}\n" in text
    assert "-o PATH, --out PATH" in text
    assert "--accept-ext LIST" in text and "--reject-ext LIST" in text
    # Every default shown is the one in Settings (the one source of defaults).
    defaults = Settings()
    flat = " ".join(text.split())
    for option, value in [
        ("--threads N", defaults.threads),
        ("--max-depth N", defaults.max_depth),
        ("--timeout SECONDS", defaults.timeout),
        ("--out PATH", defaults.out),
        ("--max-bytes N", defaults.max_bytes),
        ("--user-agent STR", defaults.user_agent),
    ]:
        after = flat.split(option, 1)[1]
        assert f"(default: {value})" in after.split(" --", 1)[0], option
    assert "(default: the number of CPUs)" in flat
    assert "(default: on when stderr is a terminal)" in flat
    assert "\nexamples:\n  crawler https://example.com/ -o site.json\n" in text
    codes = re.findall(r"^  (\d+) +\S", text.split("\nexit codes:\n", 1)[1], re.MULTILINE)
    assert codes == ["0", "2", "130", "1"]
    assert "CRAWLER_CONFIG" in text


def test_version() -> None:
    result = run_help("--version")
    assert result.returncode == 0 and result.stdout.startswith("crawler ")


def test_a_config_folder_in_the_current_directory_is_not_read(
    crawl, tmp_path: Path, httpserver: HTTPServer
) -> None:
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "default.toml").write_text("threads = 3\n", encoding="utf-8")
    result = crawl("--seed", serve_home(httpserver), "--procs", "1")  # run in tmp_path
    assert result.code == 0, result.stderr
    assert result.out["settings"]["threads"] == Settings().threads


def test_crawler_config_names_a_config_file(
    crawl, tmp_path: Path, httpserver: HTTPServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "env.toml"
    config.write_text("threads = 3\nmax_depth = 2\n", encoding="utf-8")
    monkeypatch.setenv("CRAWLER_CONFIG", str(config))
    result = crawl("--seed", serve_home(httpserver), "--procs", "1", "--max-depth", "4")
    assert result.code == 0, result.stderr
    assert result.out["settings"]["threads"] == 3  # from the file
    assert result.out["settings"]["max_depth"] == 4  # the command line wins
    other = tmp_path / "other.toml"
    other.write_text("threads = 5\n", encoding="utf-8")
    result = crawl("--seed", serve_home(httpserver), "--procs", "1", "--config", str(other))
    assert result.code == 0 and result.out["settings"]["threads"] == 5  # --config wins


def test_crawler_config_naming_no_file_is_a_usage_error(
    crawl, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CRAWLER_CONFIG", str(tmp_path / "nope.toml"))
    result = crawl("--seed", "http://127.0.0.1:9/")
    assert_usage_error(result, "config file not found")
    assert "CRAWLER_CONFIG" in result.last_stderr_line


def test_summary_line_says_failed_like_out_json_and_why(crawl, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("", status=404)
    httpserver.expect_request("/").respond_with_data(
        '<a href="/gone">x</a><a href="/boom">y</a><a href="/also-gone">z</a>',
        content_type="text/html",
    )
    httpserver.expect_request("/gone").respond_with_data("no", status=404)
    httpserver.expect_request("/also-gone").respond_with_data("no", status=410)
    httpserver.expect_request("/boom").respond_with_data("no", status=503)
    result = crawl("--seed", httpserver.url_for("/"), "--procs", "1", "--retries", "0")
    assert result.code == 0, result.stderr
    assert result.stats["failed"] == 3 and result.stats["by_error"] == {}
    assert re.fullmatch(
        r"crawler: done: 4 pages \(1 ok, 3 failed: 2 HTTP 4xx, 1 HTTP 5xx\) "
        r"in \d+\.\d s, \d+\.\d pages/s -> .*out\.json",
        result.last_stderr_line,
    ), result.last_stderr_line


def test_a_binary_seed_line_is_cut_and_escaped(
    crawl, tmp_path: Path, httpserver: HTTPServer
) -> None:
    seeds = tmp_path / "seeds.txt"
    junk = b"\x1b[31m\x07" + b"\x00\xfe" * 100
    seeds.write_bytes(serve_home(httpserver).encode() + b"\n" + junk + b"\n")
    result = crawl("--seeds", str(seeds), "--procs", "1")
    assert result.code == 0, result.stderr
    [warning] = [line for line in result.stderr.splitlines() if "rejected seed" in line]
    assert warning.startswith(f"WARNING: {seeds}:2: rejected seed '\\x1b[31m\\x07\\x00")
    shown = warning.split("rejected seed ", 1)[1].split(": not an absolute URL", 1)[0]
    assert shown.endswith("'...") and len(shown) <= 60 + len("''...")
    assert not any(c in result.stderr for c in "\x1b\x07\x00")  # nothing raw on the terminal
    assert result.out["rejected_seeds"][0]["line"] == 2


def test_progress_bar_after_a_resume_counts_this_runs_rate(
    crawl, tmp_path: Path, site_server
) -> None:
    site = site_server(SiteConfig(pages=80, links=4, hosts=1, seed=5))
    common = ["--seed", site.base_urls[0], "--state", str(tmp_path / "st"), "--progress"]
    first = crawl(*common, "--max-pages", "40", "--procs", "1", "--max-depth", "50")
    assert first.code == 0 and first.stats["pages"] == 40, first.stderr
    second = crawl(*common, "--max-pages", "80", "--procs", "1", "--max-depth", "50")
    assert second.code == 0 and second.stats["pages"] > 40, second.stderr
    bar = [line for line in re.split(r"[\r\n]", second.stderr) if re.match(r"\d+/80 pages", line)]
    assert bar and bar[0].startswith("40/80 pages, "), bar[:3]
    rates = [float(rate) for rate in re.findall(r"queued, (\d+\.\d) pages/s", second.stderr)]
    # Counting the first run's 40 pages as fetched at once would show thousands of
    # pages per second; one thread against this site does nowhere near that.
    assert rates and max(rates) < 5000, rates

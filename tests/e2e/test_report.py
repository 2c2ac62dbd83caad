"""The HTML report as a user gets it: `crawler --report PATH` on a real crawl of the
synthetic site, `python -m crawler.report` on its out.json, and their path checks. The
page is read here with BeautifulSoup; tests/e2e/test_report_browser.py opens it in
Chromium."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from bs4 import BeautifulSoup
from pytest_httpserver import HTTPServer

from scripts.site import SiteConfig, SiteServer
from tests.helpers.crawler_cli import RunCrawler, StartCrawler, crawler_env
from tests.helpers.processes import wait_for
from tests.helpers.report_check import digits, expected_broken

SITE = SiteConfig(pages=40, links=3, hosts=1, seed=3)


def _soup(path: Path) -> BeautifulSoup:
    return BeautifulSoup(path.read_text(encoding="utf-8"), "lxml")


def _figure(soup: BeautifulSoup, name: str) -> int:
    node = soup.select_one(f'[data-figure="{name}"]')
    assert node is not None, name
    return digits(node.get_text())


def _assert_report_matches(report: Path, out: dict) -> None:  # type: ignore[type-arg]
    soup = _soup(report)
    stats = out["stats"]
    assert _figure(soup, "pages") == stats["pages"] == len(out["pages"])
    assert _figure(soup, "failed") == stats["failed"]
    assert _figure(soup, "ok") == stats["ok"]
    broken = expected_broken(out)
    assert _figure(soup, "broken") == len(broken)
    rows = {row["data-url"]: row for row in soup.select("#broken-table tbody tr")}
    assert set(rows) == set(broken)
    for url, linkers in broken.items():
        row = rows[url]
        assert int(row.select_one("[data-links-in]").get_text()) == len(linkers), url
        assert [a.get_text() for a in row.select("ul.linkers a")] == linkers[:10], url
    for code, count in stats["by_status"].items():
        assert int(soup.select_one(f'[data-status="{code}"]').get_text()) == count


def test_crawl_with_report(
    crawl: RunCrawler, tmp_path: Path, site_server: Callable[[SiteConfig], SiteServer]
) -> None:
    site = site_server(SITE)
    report = tmp_path / "reports" / "site.html"  # its directory is made
    result = crawl("--seed", site.base_urls[0], "--procs", "1", "--report", str(report))
    assert result.code == 0, result.stderr
    assert f"report: {report}" in result.stderr
    assert result.out is not None and result.out["settings"]["report"] == str(report)
    missing = site.base_urls[0] + "missing"
    assert expected_broken(result.out)[missing]  # the site's 404, linked from pages
    _assert_report_matches(report, result.out)
    assert "complete" in _soup(report).select_one(".badge").get_text()
    # written atomically: nothing but the report in its directory
    assert [p.name for p in report.parent.iterdir()] == ["site.html"]


def test_report_path_is_checked_before_the_first_request(
    crawl: RunCrawler, tmp_path: Path, site_server: Callable[[SiteConfig], SiteServer]
) -> None:
    site = site_server(SITE)
    blocker = tmp_path / "a-file"
    blocker.write_text("x", encoding="utf-8")
    cases = {
        str(tmp_path): "is a directory",
        str(tmp_path / "dir") + "/": "names a directory",
        str(blocker / "report.html"): "is a file, not a directory",
        str(tmp_path / "out.json"): "it is also --out",
        "/proc/report.html": "cannot create a file in /proc",
    }
    for path, problem in cases.items():
        result = crawl("--seed", site.base_urls[0], "--report", path)
        assert result.code == 2, (path, result.stderr)
        assert f"cannot write output --report {path}: " in result.last_stderr_line
        assert problem in result.last_stderr_line, result.stderr
        assert "Traceback" not in result.stderr
    assert site.requests == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a-file"]


def test_an_interrupted_crawl_writes_its_report_too(
    tmp_path: Path,
    start_crawler: StartCrawler,
    site_server: Callable[[SiteConfig], SiteServer],
) -> None:
    site = site_server(SiteConfig(pages=400, links=3, latency_ms=50))
    jsonl, report = tmp_path / "pages.jsonl", tmp_path / "report.html"
    proc = start_crawler(
        "--seed", site.base_urls[0], "--procs", "1", "--threads", "2",
        "--jsonl", str(jsonl), "--report", str(report),
    )  # fmt: skip
    wait_for(
        lambda: jsonl.exists() and jsonl.read_text(encoding="utf-8").count("\n") >= 5,
        30,
        "some records",
    )
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    out = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))
    assert out["complete"] is False and out["stats"]["pages"] >= 5
    _assert_report_matches(report, out)
    assert "INCOMPLETE" in _soup(report).select_one(".badge").get_text()


def test_a_crawl_with_sitemaps_reports_orphans_and_unlisted_pages(
    crawl: RunCrawler, tmp_path: Path, httpserver: HTTPServer
) -> None:
    url = httpserver.url_for
    listed = "".join(f"<url><loc>{url(p)}</loc></url>" for p in ("/", "/a", "/orphan", "/gone"))
    sitemap = f'<urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{listed}</urlset>'
    httpserver.expect_request("/robots.txt").respond_with_data(
        f"User-agent: *\nSitemap: {url('/sitemap.xml')}\n", content_type="text/plain"
    )
    httpserver.expect_request("/sitemap.xml").respond_with_data(
        sitemap, content_type="application/xml"
    )
    pages = {"/": ["/a", "/unlisted"], "/a": ["/"], "/orphan": [], "/unlisted": []}
    for path, links in pages.items():
        body = "<title>t</title>" + "".join(f'<a href="{link}">x</a>' for link in links)
        httpserver.expect_request(path).respond_with_data(body, content_type="text/html")
    httpserver.expect_request("/gone").respond_with_data("gone", status=404)
    report = tmp_path / "report.html"
    result = crawl("--seed", url("/"), "--procs", "1", "--sitemaps", "--report", str(report))
    assert result.code == 0, result.stderr
    assert result.out is not None and result.out["sitemaps"]["urls"] == 4
    _assert_report_matches(report, result.out)

    soup = _soup(report)
    orphans = [td.get_text() for td in soup.select("#orphan-table tbody td.url")]
    assert orphans == [url("/gone"), url("/orphan")]  # the failed one first
    assert _figure(soup, "orphans") == 2
    unlisted = [
        row.select_one("td.url").get_text() for row in soup.select("#unlisted-table tbody tr")
    ]
    assert unlisted == [url("/unlisted")]
    assert _figure(soup, "listed") == 4
    (sitemap_row,) = soup.select("#sitemap-files tbody tr")
    assert sitemap_row.select_one("td").get_text() == url("/sitemap.xml")


def _report_cli(cwd: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crawler.report", *args],
        cwd=cwd,
        env=crawler_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_report_command_line(
    crawl: RunCrawler, tmp_path: Path, site_server: Callable[[SiteConfig], SiteServer]
) -> None:
    site = site_server(SITE)
    result = crawl("--seed", site.base_urls[0], "--procs", "1")
    assert result.code == 0, result.stderr
    assert result.out is not None

    done = _report_cli(tmp_path, "out.json", "-o", "new/dir/report.html")
    assert done.returncode == 0, done.stderr
    report = tmp_path / "new" / "dir" / "report.html"
    assert done.stderr.startswith(f"crawler-report: {len(result.pages)} pages -> new/dir/")
    _assert_report_matches(report, result.out)

    # The summary shows the same figures (crawler.figures computes them for both).
    summary = subprocess.run(
        [sys.executable, "-m", "crawler.summary", "out.json", "--format", "json"],
        cwd=tmp_path,
        env=crawler_env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    figures = json.loads(summary.stdout)
    soup = _soup(report)
    for name in ("pages", "ok", "failed"):
        assert _figure(soup, name) == figures["totals"][name]
    assert _figure(soup, "broken") == figures["broken_links"]["total"]
    assert _figure(soup, "redirects") == figures["redirects"]["total"] > 0
    assert _figure(soup, "hosts") == figures["hosts"]["total"]
    shown = {item["url"]: item["links_in"] for item in figures["broken_links"]["items"]}
    rows = soup.select("#broken-table tbody tr")
    assert {
        row["data-url"]: int(row.select_one("[data-links-in]").get_text()) for row in rows
    } == shown

    default = _report_cli(tmp_path, "out.json")  # -o defaults to report.html here
    assert default.returncode == 0, default.stderr
    assert (tmp_path / "report.html").read_text(encoding="utf-8").startswith("<!DOCTYPE html>")

    stdin = subprocess.run(
        [sys.executable, "-m", "crawler.report", "-", "-o", "stdin.html"],
        cwd=tmp_path,
        env=crawler_env(),
        input=(tmp_path / "out.json").read_text(encoding="utf-8"),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert stdin.returncode == 0, stdin.stderr
    _assert_report_matches(tmp_path / "stdin.html", result.out)


def test_report_command_line_errors(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{"pages": [{"no": "url"}]}', encoding="utf-8")
    (tmp_path / "ok.json").write_text('{"pages": []}', encoding="utf-8")
    cases = [
        (("missing.json",), "cannot read missing.json: "),
        (("bad.json",), "cannot read bad.json: a page record without a url"),
        ((str(tmp_path),), "cannot read"),
        (("ok.json", "-o", str(tmp_path)), "cannot write output -o"),
        (("ok.json", "-o", "ok.json"), "it is also the input"),
    ]
    for args, message in cases:
        done = _report_cli(tmp_path, *args)
        assert done.returncode == 2, (args, done.stderr)
        last = done.stderr.strip().splitlines()[-1]
        assert last.startswith("crawler-report: error: ") and message in last, done.stderr
        assert "Traceback" not in done.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.json", "ok.json"]

"""The HTML report in a real browser: headless Chromium (Debian's chromium and
chromium-driver, through Selenium) opens the report from disk, as a user would.

It must load with no console error and no request of any kind, show the figures of
out.json (pages, failed, each broken link with the pages that link to it), and its
tables must sort and filter. Each test saves a screenshot in test-artifacts/ (ignored
by git) and in its tmp dir. Without chromium the module skips, saying why.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from scripts import chromium as browser
from scripts.site import SiteConfig, SiteServer
from tests.helpers.crawler_cli import ROOT, crawler_env, run_crawler
from tests.helpers.report_check import READ_REPORT_JS, digits, expected_broken, failed

ARTIFACTS = ROOT / "test-artifacts"
SITE = SiteConfig(pages=60, links=3, hosts=2, seed=11)

_missing = browser.missing()
pytestmark = pytest.mark.skipif(_missing is not None, reason=f"no browser: {_missing}")


@pytest.fixture(scope="module")
def chromium() -> Iterator[Any]:
    with browser.chromium() as driver:
        yield driver


@pytest.fixture(scope="module")
def crawled(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """A real crawl of the synthetic site with --report: its out.json and its report."""
    where = tmp_path_factory.mktemp("crawl")
    with SiteServer(SITE) as site:
        seeds = [f"--seed={base}" for base in site.base_urls]
        report = where / "report.html"
        result = run_crawler(where, *seeds, "--procs", "2", "--report", str(report))
    assert result.code == 0, result.stderr
    assert result.out is not None
    return result.out, report


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict[str, Any], Path]:
    """A synthetic 3 000-page out.json with sitemaps (scripts/make_out_json.py) and its
    report made by `python -m crawler.report`."""
    where = tmp_path_factory.mktemp("generated")
    out_path, report = where / "out.json", where / "report.html"
    command = [sys.executable, "-m", "scripts.make_out_json", "--pages", "3000", "--sitemaps"]
    subprocess.run([*command, "-o", str(out_path)], cwd=ROOT, env=crawler_env(), check=True)
    subprocess.run(
        [sys.executable, "-m", "crawler.report", str(out_path), "-o", str(report)],
        cwd=ROOT,
        env=crawler_env(),
        check=True,
        capture_output=True,
    )
    return json.loads(out_path.read_text(encoding="utf-8")), report


def _open(driver: Any, report: Path) -> None:
    driver.get_log("browser")  # drop what an earlier page logged
    driver.get(report.as_uri())
    assert driver.execute_script("return document.documentElement.dataset.ready") == "1"


def _screenshot(driver: Any, tmp_path: Path, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    for directory in (ARTIFACTS, tmp_path):
        assert driver.save_screenshot(str(directory / f"{name}.png"))
    print(f"screenshot: {ARTIFACTS / name}.png")


def _no_problems(driver: Any) -> None:
    assert browser.console_problems(driver) == []
    # Self-contained: the document itself and nothing else was loaded.
    assert driver.execute_script("return performance.getEntriesByType('resource').length") == 0


def test_the_report_of_a_crawl_shows_out_json(
    chromium: Any, crawled: tuple[dict[str, Any], Path], tmp_path: Path
) -> None:
    out, report = crawled
    _open(chromium, report)
    _no_problems(chromium)
    shown = chromium.execute_script(READ_REPORT_JS)
    stats = out["stats"]
    assert digits(shown["pages"]) == stats["pages"] == len(out["pages"])
    assert digits(shown["failed"]) == stats["failed"]
    assert digits(shown["ok"]) == stats["ok"]
    broken = expected_broken(out)
    assert broken and any(broken.values())  # the site's /missing, linked from pages
    assert digits(shown["broken"]) == len(broken)
    rows = {row["url"]: row for row in shown["rows"]}
    assert set(rows) == set(broken)
    for url, linkers in broken.items():
        assert int(rows[url]["linksIn"]) == len(linkers), url
        assert rows[url]["linkers"] == linkers[:10], url
    _screenshot(chromium, tmp_path, "report-crawl")


def _column(driver: Any, table: str, index: int) -> list[str]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#' + arguments[0] + ' tbody tr'))"
        ".filter(r => !r.hidden).map(r => r.cells[arguments[1]].textContent.trim())",
        table,
        index,
    )


def _click_header(driver: Any, table: str, index: int) -> str:
    header = driver.find_elements("css selector", f"#{table} thead th")[index]
    header.click()
    return str(header.get_attribute("aria-sort"))


def test_tables_sort_and_filter(
    chromium: Any, generated: tuple[dict[str, Any], Path], tmp_path: Path
) -> None:
    out, report = generated
    _open(chromium, report)
    _no_problems(chromium)
    broken = [p for p in out["pages"] if failed(p)]
    assert len(_column(chromium, "broken-table", 0)) == len(broken) < 1000
    in_page = [int(n) for n in _column(chromium, "broken-table", 2)]
    assert in_page == sorted(in_page, reverse=True)  # most linked first, as written

    assert _click_header(chromium, "broken-table", 2) == "ascending"
    ascending = [int(n) for n in _column(chromium, "broken-table", 2)]
    assert ascending == sorted(in_page)
    assert _click_header(chromium, "broken-table", 2) == "descending"
    assert [int(n) for n in _column(chromium, "broken-table", 2)] == sorted(in_page, reverse=True)
    assert _click_header(chromium, "broken-table", 0) == "ascending"
    urls = _column(chromium, "broken-table", 0)
    assert urls == sorted(urls) and sorted(urls) == sorted(p["url"] for p in broken)

    box = chromium.find_element("css selector", 'input[data-filter="broken-table"]')
    box.send_keys("DNS")  # case-insensitive; only the dns records say "dns"
    dns = [p["url"] for p in broken if (p["error"] or {}).get("kind") == "dns"]
    assert dns
    assert sorted(_column(chromium, "broken-table", 0)) == sorted(dns)
    count = chromium.find_element("css selector", '[data-count="broken-table"]').text
    assert count == f"{len(dns)} of {len(broken)} rows match"
    _screenshot(chromium, tmp_path, "report-filtered")
    box.clear()
    box.send_keys(" ")  # an input event with an empty query: every row again
    assert len(_column(chromium, "broken-table", 0)) == len(broken)

    # Sitemaps: orphans are the records in a sitemap that no recorded page links to (not
    # seeds); none of these fails, so they are in URL order.
    linked = {
        link for p in out["pages"] for link in p["links"] if link not in (p["url"], p["final_url"])
    }
    orphans = sorted(
        p["url"]
        for p in out["pages"]
        if p["in_sitemap"] and p["referrer"] is not None and p["url"] not in linked
    )
    assert orphans
    shown_orphans = chromium.find_element("css selector", '[data-figure="orphans"]').text
    assert digits(shown_orphans) == len(orphans)
    assert _column(chromium, "orphan-table", 0) == orphans

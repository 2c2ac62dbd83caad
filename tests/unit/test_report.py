"""crawler.report's page on hand-made out.json objects: what it holds, what it escapes,
where it caps, and crawler.report_path's checks. (A real crawl's report: tests/e2e.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup

from crawler.figures import from_data
from crawler.report import LINKERS_SHOWN, ROW_CAP, render
from crawler.report_charts import Bar, hbars
from crawler.report_path import report_path_problem
from tests.helpers.records import H, page_record


def _report(data: dict[str, Any]) -> BeautifulSoup:
    fig = from_data(data, top=ROW_CAP, linkers=LINKERS_SHOWN)
    return BeautifulSoup(render(fig, "out.json"), "lxml")


def test_hostile_text_is_shown_not_run() -> None:
    evil = H + '"><script>alert(1)</script>'
    javascript = "javascript:alert(2)"
    pages = [
        page_record(H, depth=0, referrer=None, links=[evil, javascript]),
        page_record(evil, 404),
        page_record(
            javascript,
            None,
            error={"kind": "<img src=x onerror=alert(3)>", "message": "<b>bold</b>"},
        ),
    ]
    html = render(from_data({"seeds": [H], "pages": pages}, top=ROW_CAP), "<out>.json")
    soup = BeautifulSoup(html, "lxml")
    assert len(soup.find_all("script")) == 1  # the report's own, and only it
    assert soup.find("img") is None and soup.find("b") is None
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)" in html
    hrefs = {a["href"] for a in soup.find_all("a") if not a["href"].startswith("#")}
    assert javascript not in hrefs  # shown as text, never a link to follow
    assert all(href.startswith("http://") for href in hrefs)
    assert "<out>.json" not in html and "&lt;out&gt;.json" in html


def test_nothing_is_fetched_from_anywhere() -> None:
    soup = _report({"pages": [page_record(H, depth=0, referrer=None)]})
    csp = soup.find("meta", attrs={"http-equiv": "Content-Security-Policy"})
    assert csp is not None and csp["content"].startswith("default-src 'none';")
    assert not soup.select("[src], link[rel=stylesheet], img, iframe, object, embed")
    assert soup.find("svg") is not None and soup.find("style") is not None


def test_long_lists_are_capped_worst_first_with_the_count_of_the_rest() -> None:
    home_links = [H + f"gone/{i}" for i in range(ROW_CAP + 5)]
    pages = [page_record(H, depth=0, referrer=None, links=home_links)]
    pages.append(page_record(H + "linked", links=[H + "gone/7"]))
    pages += [page_record(url, 404) for url in home_links]
    soup = _report({"pages": pages})
    rows = soup.select("#broken-table tbody tr")
    assert len(rows) == ROW_CAP
    assert rows[0]["data-url"] == H + "gone/7"  # the most linked first
    (more,) = soup.select("#broken .capped")
    assert more["data-more"] == "5" and "5 more broken URLs not shown" in more.get_text()
    assert soup.select_one('[data-figure="broken"]').get_text() == "1\u202f005"


def test_linkers_past_those_named_are_counted() -> None:
    pages = [page_record(H + f"p{i}", links=[H + "gone"]) for i in range(LINKERS_SHOWN + 4)]
    pages.append(page_record(H + "gone", 410))
    row = _report({"pages": pages}).select_one("#broken-table tbody tr")
    names = [a.get_text() for a in row.select("ul.linkers a")]
    assert names == [H + f"p{i}" for i in range(LINKERS_SHOWN)]
    assert row.select_one("[data-links-in]").get_text() == str(LINKERS_SHOWN + 4)
    assert "4 more not named" in row.get_text()


def test_without_sitemaps_the_report_says_how_to_get_orphans() -> None:
    soup = _report({"pages": [page_record(H, depth=0, referrer=None)]})
    assert "crawl with --sitemaps" in soup.select_one("#sitemaps").get_text()
    assert soup.select_one('[data-figure="orphans"]') is None


def test_with_sitemaps_the_report_lists_orphans_and_files() -> None:
    error = {"kind": "bad_response", "message": "not a sitemap"}
    files = [
        {"url": H + "sitemap.xml", "status": 200, "urls": 2, "error": None},
        {"url": H + "broken.xml", "status": 200, "urls": 0, "error": error},
    ]
    pages = [
        page_record(H, depth=0, referrer=None, in_sitemap=True, links=[H + "b"]),
        page_record(H + "orphan", depth=0, referrer=H + "sitemap.xml", in_sitemap=True),
        page_record(H + "b", in_sitemap=False),
    ]
    soup = _report({"sitemaps": {"files": files, "urls": 2}, "pages": pages})
    assert [r.select_one("td").get_text() for r in soup.select("#sitemap-files tbody tr")] == [
        H + "sitemap.xml",
        H + "broken.xml",
    ]
    assert "not a sitemap" in soup.select_one("#sitemap-files").get_text()
    assert [r.get_text() for r in soup.select("#orphan-table tbody tr td.url")] == [H + "orphan"]
    assert soup.select_one('[data-figure="unlisted"]').get_text() == "1"


def test_plugin_errors_show_only_when_there_are_some() -> None:
    pages = [
        page_record(H, depth=0, referrer=None),
        page_record(H + "a", plugin_error="ValueError: x"),
    ]
    soup = _report({"pages": pages})
    assert soup.select_one('[data-figure="plugin_errors"]').get_text() == "1"
    assert _report({"pages": pages[:1]}).select_one('[data-figure="plugin_errors"]') is None


def test_an_empty_crawl_still_renders() -> None:
    soup = _report({"complete": False, "pages": []})
    assert soup.select_one('[data-figure="pages"]').get_text() == "0"
    assert "INCOMPLETE" in soup.select_one(".badge").get_text()


def test_bars_are_proportional_and_labelled() -> None:
    svg = BeautifulSoup(hbars([Bar("200", 100), Bar("404", 25)], "statuses"), "lxml")
    widths = [float(rect["width"]) for rect in svg.find_all("rect")]
    assert widths[0] == 4 * widths[1]
    assert [t.get_text() for t in svg.find_all("title")] == ["200: 100", "404: 25"]
    assert hbars([], "nothing") == ""


def test_report_path_problems(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x", encoding="utf-8")
    assert report_path_problem(str(tmp_path / "new" / "r.html")) is None
    assert "is a directory" in str(report_path_problem(str(tmp_path)))
    assert "names a directory" in str(report_path_problem(str(tmp_path / "d") + "/"))
    assert "is a file, not a directory" in str(report_path_problem(str(blocker / "r.html")))
    same = report_path_problem(str(tmp_path / "o.json"), [("--out", str(tmp_path / "o.json"))])
    assert same == f"cannot write output --report {tmp_path / 'o.json'}: it is also --out " + (
        "(give the report a file of its own)"
    )
    assert report_path_problem(str(tmp_path / "r.html"), [("--jsonl", None)]) is None
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]  # nothing left behind


def test_the_synthetic_out_json_is_consistent() -> None:
    # scripts/make_out_json.py feeds the browser tests and the performance figures: its
    # stats must be what its records fold to, and its sitemaps what its records say.
    import io
    import json

    from crawler.records import Stats
    from scripts.make_out_json import write

    buffer = io.StringIO()
    write(buffer, pages=400, links=8, sitemaps=True, seed=2)
    data = json.loads(buffer.getvalue())
    stats = Stats()
    for record in data["pages"]:
        stats.add(record)
    assert (
        stats.to_json(data["stats"]["elapsed_s"])
        | {k: data["stats"][k] for k in ("robots_excluded", "out_of_scope", "duplicates")}
        | {"dropped_links": 3}
        == data["stats"]
    )
    listed = sum(record["in_sitemap"] for record in data["pages"])
    assert data["sitemaps"]["urls"] == listed == sum(f["urls"] for f in data["sitemaps"]["files"])
    assert {"404", "500"} <= set(data["stats"]["by_status"]) and data["stats"]["by_error"]

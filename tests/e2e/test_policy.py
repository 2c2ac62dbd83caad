"""robots.txt, redirects, retries, headers and limits through the real CLI."""

from __future__ import annotations

import time

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from tests.helpers.crawler_cli import Crawl


def page(*hrefs: str, title: str = "T", extra: str = "") -> str:
    links = "".join(f'<a href="{h}">{h}</a>' for h in hrefs)
    return f"<html><head><title>{title}</title>{extra}</head><body>{links}</body></html>"


def serve_html(server: HTTPServer, path: str, *hrefs: str, title: str = "T") -> None:
    server.expect_request(path).respond_with_data(
        page(*hrefs, title=title), content_type="text/html; charset=utf-8"
    )


def paths(server: HTTPServer) -> list[str]:
    return [request.path for request, _ in server.log]


def no_robots(server: HTTPServer) -> None:
    server.expect_request("/robots.txt").respond_with_data("", status=404)


def base(server: HTTPServer) -> str:
    return server.url_for("/")


def run(crawl, server: HTTPServer, *args: str) -> Crawl:  # type: ignore[no-untyped-def]
    return crawl("--seed", base(server), "--procs", "2", "--threads", "2", *args)


# -- robots.txt ---------------------------------------------------------------------


def test_robots_fetched_once_first_and_obeyed(crawl, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data(
        "User-agent: *\nDisallow: /private\nAllow: /private/ok\n", content_type="text/plain"
    )
    serve_html(httpserver, "/", "/a", "/private/x", "/private/ok", "/private/y")
    serve_html(httpserver, "/a", "/", "/private/x")
    serve_html(httpserver, "/private/ok")
    result = run(crawl, httpserver)
    assert result.code == 0, result.stderr
    seen = paths(httpserver)
    assert seen[0] == "/robots.txt" and seen.count("/robots.txt") == 1
    assert sorted(seen[1:]) == ["/", "/a", "/private/ok"]
    assert result.stats["robots_excluded"] == 2  # distinct URLs: /private/x, /private/y
    assert "http://" not in "".join(p["url"] for p in result.pages if "private/x" in p["url"])


def test_robots_agent_group_by_product_token(crawl, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data(
        "User-agent: *\nDisallow:\n\nUser-agent: MyBot\nDisallow: /a\n"
    )
    serve_html(httpserver, "/", "/a", "/b")
    serve_html(httpserver, "/b")
    result = run(crawl, httpserver, "--user-agent", "mybot/2.0 (+https://x.invalid)")
    assert result.code == 0
    assert sorted(paths(httpserver)) == ["/", "/b", "/robots.txt"]
    agents = {request.headers["User-Agent"] for request, _ in httpserver.log}
    assert agents == {"mybot/2.0 (+https://x.invalid)"}


def test_robots_5xx_disallows_everything(crawl, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("oops", status=503)
    serve_html(httpserver, "/", "/a")
    result = run(crawl, httpserver, "--retries", "0")
    assert result.code == 0
    assert paths(httpserver) == ["/robots.txt"]
    (record,) = result.pages
    assert record["url"] == base(httpserver) and record["status"] is None
    assert record["error"] == {
        "kind": "robots_unavailable",
        "message": f"status 503 (robots.txt of {base(httpserver)[7:-1]})",
    }
    assert result.stats["robots_excluded"] == 0


def test_robots_4xx_allows_everything(crawl, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("no", status=403)
    serve_html(httpserver, "/", "/a")
    serve_html(httpserver, "/a")
    result = run(crawl, httpserver)
    assert sorted(p["url"] for p in result.pages) == [base(httpserver), base(httpserver) + "a"]


def test_ignore_robots_never_asks(crawl, httpserver: HTTPServer) -> None:
    serve_html(httpserver, "/", "/a")
    serve_html(httpserver, "/a")
    result = run(crawl, httpserver, "--ignore-robots")
    assert result.code == 0
    assert "/robots.txt" not in paths(httpserver)


# The crawler spaces request *starts*; the server sees arrivals, and on a loaded machine
# (CI on two cores) one arrival may lag its start by tens of milliseconds (connect,
# scheduling) while the next does not. So a measured gap may fall short of the delay by
# that lag: the assertions allow 25 %, far from the few milliseconds of no delay at all.
ARRIVAL_SLACK = 0.75


def stamped(server: HTTPServer, path: str, body: str, starts: list[float]) -> None:
    def handler(request: Request) -> Response:
        starts.append(time.monotonic())
        return Response(body, content_type="text/html")

    server.expect_request(path).respond_with_handler(handler)


def test_crawl_delay_spaces_requests(crawl, httpserver: HTTPServer) -> None:
    starts: list[float] = []
    stamped(httpserver, "/robots.txt", "User-agent: *\nCrawl-delay: 0.4\n", starts)
    stamped(httpserver, "/", page("/a", "/b"), starts)
    stamped(httpserver, "/a", page(), starts)
    stamped(httpserver, "/b", page(), starts)
    result = run(crawl, httpserver)
    assert result.code == 0 and len(result.pages) == 3
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert len(starts) == 4 and min(gaps) >= 0.4 * ARRIVAL_SLACK, gaps


def test_delay_option_spaces_requests(crawl, httpserver: HTTPServer) -> None:
    starts: list[float] = []
    no_robots(httpserver)
    stamped(httpserver, "/", page("/a", "/b", "/c"), starts)
    for path in ("/a", "/b", "/c"):
        stamped(httpserver, path, page(), starts)
    result = run(crawl, httpserver, "--delay", "0.3")
    assert result.code == 0 and len(result.pages) == 4
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert min(gaps) >= 0.3 * ARRIVAL_SLACK, gaps


# -- redirects ----------------------------------------------------------------------


def redirect(server: HTTPServer, path: str, location: str, status: int = 301) -> None:
    server.expect_request(path).respond_with_response(
        Response(status=status, headers={"Location": location})
    )


def test_redirect_chain_is_one_record(crawl, httpserver: HTTPServer) -> None:
    no_robots(httpserver)
    serve_html(httpserver, "/", "/r1")
    redirect(httpserver, "/r1", "/r2", 302)
    redirect(httpserver, "/r2", "/final?b=2&a=1", 307)
    serve_html(httpserver, "/final", "/", title="Final")
    result = run(crawl, httpserver)
    root = base(httpserver)
    record = result.by_url()[root + "r1"]
    assert record["final_url"] == root + "final?a=1&b=2"
    assert record["redirects"] == [root + "r1", root + "r2"]
    assert record["status"] == 200 and record["title"] == "Final" and record["depth"] == 1
    assert len(result.pages) == 2  # the chain's targets are not fetched again
    assert paths(httpserver).count("/final") == 1


def test_redirect_loop(crawl, httpserver: HTTPServer) -> None:
    no_robots(httpserver)
    serve_html(httpserver, "/", "/loop1")
    redirect(httpserver, "/loop1", "/loop2")
    redirect(httpserver, "/loop2", "/loop1")
    result = run(crawl, httpserver)
    record = result.by_url()[base(httpserver) + "loop1"]
    assert record["error"]["kind"] == "too_many_redirects"
    assert record["status"] == 301
    assert paths(httpserver).count("/loop1") == 1


def test_too_many_redirects(crawl, httpserver: HTTPServer) -> None:
    no_robots(httpserver)
    serve_html(httpserver, "/", "/h0")
    for n in range(5):
        redirect(httpserver, f"/h{n}", f"/h{n + 1}")
    serve_html(httpserver, "/h5")
    result = run(crawl, httpserver, "--max-redirects", "3")
    record = result.by_url()[base(httpserver) + "h0"]
    assert record["error"]["kind"] == "too_many_redirects"
    assert len(record["redirects"]) == 4
    assert "/h4" not in paths(httpserver)


def test_redirect_out_of_scope_and_to_other_scheme(crawl, httpserver: HTTPServer) -> None:
    no_robots(httpserver)
    serve_html(httpserver, "/", "/away", "/ftp")
    redirect(httpserver, "/away", "http://elsewhere.invalid/x")
    redirect(httpserver, "/ftp", "ftp://files.invalid/x")
    result = run(crawl, httpserver)
    records = result.by_url()
    away = records[base(httpserver) + "away"]
    assert away["error"]["kind"] == "out_of_scope_redirect"
    assert away["final_url"] == "http://elsewhere.invalid/x"
    assert records[base(httpserver) + "ftp"]["error"]["kind"] == "out_of_scope_redirect"


def test_redirect_to_seen_url_ends_without_error(crawl, httpserver: HTTPServer) -> None:
    no_robots(httpserver)
    serve_html(httpserver, "/", "/a", "/to-a")
    serve_html(httpserver, "/a")
    redirect(httpserver, "/to-a", "/a")
    result = run(crawl, httpserver, "--procs", "1", "--threads", "1")
    record = result.by_url()[base(httpserver) + "to-a"]
    assert record["status"] == 301 and record["error"] is None
    assert record["final_url"] == base(httpserver) + "a" and record["links"] == []
    assert paths(httpserver).count("/a") == 1


def test_redirect_hop_disallowed_by_robots(crawl, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nDisallow: /no\n")
    serve_html(httpserver, "/", "/r")
    redirect(httpserver, "/r", "/no/x")
    result = run(crawl, httpserver)
    record = result.by_url()[base(httpserver) + "r"]
    assert record["status"] == 301 and record["error"] is None
    assert record["final_url"] == base(httpserver) + "no/x"
    assert result.stats["robots_excluded"] == 1
    assert "/no/x" not in paths(httpserver)


def test_custom_headers_only_to_seed_hosts(crawl, httpserver: HTTPServer) -> None:
    from pytest_httpserver import HTTPServer as Server

    other = Server(host="127.0.0.2")
    other.start()
    try:
        other.expect_request("/robots.txt").respond_with_data("", status=404)
        other.expect_request("/b").respond_with_data(page(), content_type="text/html")
        no_robots(httpserver)
        serve_html(httpserver, "/", "/go")
        redirect(httpserver, "/go", other.url_for("/b"))
        result = run(
            crawl,
            httpserver,
            "--scope",
            "any",
            "--header",
            "X-Token: s3cret",
            "--header",
            "Cookie: a=b",
        )
        assert result.code == 0
        for request, _ in httpserver.log:
            assert request.headers.get("X-Token") == "s3cret"
        assert other.log and all("X-Token" not in r.headers for r, _ in other.log)
        assert all("Cookie" not in r.headers for r, _ in other.log)
        assert result.out is not None
        assert result.out["settings"]["header"] == ["X-Token", "Cookie"]
        assert "s3cret" not in result.out_path.read_text()
    finally:
        other.clear()
        if other.is_running():
            other.stop()


# -- retries ------------------------------------------------------------------------


def test_retries_then_success_honouring_retry_after(crawl, httpserver: HTTPServer) -> None:
    no_robots(httpserver)
    serve_html(httpserver, "/", "/flaky")
    times: list[float] = []

    def handler(request: Request) -> Response:
        times.append(time.monotonic())
        if len(times) == 1:
            return Response("busy", status=503, headers={"Retry-After": "1"})
        return Response(page(title="ok"), content_type="text/html")

    httpserver.expect_request("/flaky").respond_with_handler(handler)
    result = run(crawl, httpserver)
    record = result.by_url()[base(httpserver) + "flaky"]
    assert record["status"] == 200 and record["retries"] == 1 and record["title"] == "ok"
    assert times[1] - times[0] >= 0.95
    assert result.stats["retries"] == 1


def test_retries_exhausted_keep_last_status(crawl, httpserver: HTTPServer) -> None:
    no_robots(httpserver)
    serve_html(httpserver, "/", "/down")
    httpserver.expect_request("/down").respond_with_data("no", status=500)
    result = run(crawl, httpserver, "--retries", "2")
    record = result.by_url()[base(httpserver) + "down"]
    assert record["status"] == 500 and record["error"] is None and record["retries"] == 2
    assert paths(httpserver).count("/down") == 3
    assert result.stats["failed"] == 1 and result.stats["by_status"]["500"] == 1


def test_404_is_a_record_not_retried(crawl, httpserver: HTTPServer) -> None:
    no_robots(httpserver)
    serve_html(httpserver, "/", "/gone")
    httpserver.expect_request("/gone").respond_with_data("no", status=404)
    result = run(crawl, httpserver)
    record = result.by_url()[base(httpserver) + "gone"]
    assert record["status"] == 404 and record["error"] is None and record["retries"] == 0
    assert paths(httpserver).count("/gone") == 1


# -- limits -------------------------------------------------------------------------


def chain_site(server: HTTPServer, count: int) -> None:
    no_robots(server)
    serve_html(server, "/", *[f"/n{i}" for i in range(count)])
    for i in range(count):
        serve_html(server, f"/n{i}", f"/deep{i}")
        serve_html(server, f"/deep{i}")


def test_max_pages_is_never_exceeded(crawl, httpserver: HTTPServer) -> None:
    chain_site(httpserver, 10)
    result = run(crawl, httpserver, "--max-pages", "4")
    assert result.code == 0 and len(result.pages) == 4
    assert len([p for p in paths(httpserver) if p != "/robots.txt"]) == 4


def test_max_depth(crawl, httpserver: HTTPServer) -> None:
    chain_site(httpserver, 3)
    result = run(crawl, httpserver, "--max-depth", "1")
    assert sorted(p["depth"] for p in result.pages) == [0, 1, 1, 1]
    assert not any(p.startswith("/deep") for p in paths(httpserver))


def test_max_url_length_drops_links(crawl, httpserver: HTTPServer) -> None:
    no_robots(httpserver)
    long = "/" + "x" * 100
    serve_html(httpserver, "/", long, long, "/ok")
    serve_html(httpserver, "/ok")
    result = run(crawl, httpserver, "--max-url-length", "60")
    root = result.by_url()[base(httpserver)]
    assert root["links"] == [base(httpserver) + "ok"]
    assert result.stats["dropped_links"] == 2
    assert long not in paths(httpserver)


def test_nofollow_listed_not_followed(crawl, httpserver: HTTPServer) -> None:
    no_robots(httpserver)
    httpserver.expect_request("/").respond_with_data(
        '<a href="/a" rel="NoFollow noopener">a</a><a href="/b">b</a>', content_type="text/html"
    )
    serve_html(httpserver, "/b")
    result = run(crawl, httpserver)
    root = result.by_url()[base(httpserver)]
    assert root["links"] == [base(httpserver) + "a", base(httpserver) + "b"]
    assert "/a" not in paths(httpserver)


def test_stats_count_duplicates_and_out_of_scope(crawl, httpserver: HTTPServer) -> None:
    no_robots(httpserver)
    serve_html(httpserver, "/", "/a", "/a#x", "/a?", "http://out.invalid/1", "http://out.invalid/1")
    serve_html(httpserver, "/a", "/", "http://out.invalid/2")
    result = run(crawl, httpserver, "--procs", "1", "--threads", "1")
    assert result.stats["out_of_scope"] == 2
    # "/" lists /a once (canonical dedup within a page); /a links back to the seed.
    assert result.stats["duplicates"] == 1
    assert result.by_url()[base(httpserver)]["links"] == [
        base(httpserver) + "a",
        "http://out.invalid/1",
    ]


# -- what is not followed, and why ---------------------------------------------------


def test_extensions_are_filtered_and_counted(crawl, httpserver: HTTPServer) -> None:
    no_robots(httpserver)
    serve_html(
        httpserver, "/", "/a.html", "/dump.tar.gz", "/b.ZIP", "/dir.gz/page", "/plain", "/a.html"
    )
    serve_html(httpserver, "/a.html", "/dump.tar.gz")
    serve_html(httpserver, "/dir.gz/page")
    serve_html(httpserver, "/plain")
    result = run(crawl, httpserver, "--reject-ext", "gz, .zip")
    assert result.code == 0, result.stderr
    assert sorted(paths(httpserver)) == ["/", "/a.html", "/dir.gz/page", "/plain", "/robots.txt"]
    assert result.stats["rejected"] == 2  # distinct: /dump.tar.gz (twice linked) and /b.ZIP
    accepted = run(crawl, httpserver, "--accept-ext", "html")
    assert accepted.code == 0, accepted.stderr
    assert {p["url"].removeprefix(base(httpserver)) for p in accepted.pages} == {
        "",
        "a.html",
        "dir.gz/page",  # the last segment has no extension: always passes
        "plain",
    }
    assert accepted.stats["rejected"] == 2
    assert result.out is not None and result.out["settings"]["reject_ext"] == ["gz", "zip"]


def test_links_beyond_max_depth_are_counted_once(crawl, httpserver: HTTPServer) -> None:
    no_robots(httpserver)
    serve_html(httpserver, "/", "/a", "/b")
    serve_html(httpserver, "/a", "/deep1", "/deep2", "/", "/b")
    serve_html(httpserver, "/b", "/deep1", "/deep3")
    result = run(crawl, httpserver, "--max-depth", "1")
    assert result.code == 0, result.stderr
    assert sorted(paths(httpserver)) == ["/", "/a", "/b", "/robots.txt"]
    # /deep1, /deep2, /deep3; not / and /b, which were crawled.
    assert result.stats["beyond_depth"] == 3


def test_a_seed_robots_txt_disallows_is_named_in_a_warning(crawl, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/robots.txt").respond_with_data("User-agent: *\nDisallow: /\n")
    result = run(crawl, httpserver)
    assert result.code == 0
    assert result.pages == [] and result.stats["robots_excluded"] == 1
    assert f"robots.txt disallows the seed {base(httpserver)}" in result.stderr

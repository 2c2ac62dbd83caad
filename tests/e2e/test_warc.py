"""--warc DIR through the real CLI: what the files hold, checked with `warcio check` and
warcio's ArchiveIterator against what the server sent and what out.json says."""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import zlib
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import brotli
import pytest

from crawler.warc_files import machine_name
from scripts.site import (
    SITEMAP_GZ_PATH,
    SITEMAP_INDEX_PATH,
    SITEMAP_TEXT_PATH,
    SITEMAP_XML_PATH,
    SiteConfig,
    SiteServer,
    expected_urls,
)
from tests.helpers.crawler_cli import Crawl, RunCrawler, StartCrawler, run_crawler
from tests.helpers.hostile import HostileServer, Peer
from tests.helpers.processes import has_exited, wait_for, worker_pids
from tests.helpers.warc import Record, dechunk, gzip_bytes, read_records, warcio_check

SECRET = "s3cret-token-value"
MAX_BYTES = 8000
READ_BYTES = 64 * 1024  # the fetcher's decoded bytes per read


def html(title: str, links: list[str] = []) -> bytes:  # noqa: B006 - never mutated
    anchors = "".join(f'<a href="{link}">{link}</a>' for link in links)
    return f"<html><head><title>{title}</title></head><body>{anchors}</body></html>".encode()


BODIES = {
    "/": html(
        "home",
        ["/deflate", "/br", "/chunked", "/r1", "/retry", "/big", "/drip", "/silent", "/reset"],
    ),
    "/deflate": html("deflate " * 50),
    "/br": html("br " * 50),
    "/chunked": html("chunked " * 50),
    "/final": html("final"),
    "/retry": html("retry"),
    "/big": b"<html><title>big</title>" + b"x" * 2_000_000,
    "/robots.txt": b"User-agent: *\nAllow: /\n",
}


class Site:
    """A keep-alive HTTP/1.1 server whose every answer is spelled out byte by byte."""

    def __init__(self) -> None:
        self.retry_calls = 0
        self._lock = threading.Lock()

    def handle(self, peer: Peer) -> None:
        while head := peer.read_request():
            path = head.split(b" ")[1].decode()
            if not self._answer(peer, path):
                return

    def _answer(self, peer: Peer, path: str) -> bool:
        body = BODIES.get(path, b"")
        if path == "/robots.txt":
            peer.send(response(200, body, [("Content-Type", "text/plain")]))
        elif path == "/":
            peer.send(response(200, gzip_bytes(body), [("Content-Encoding", "gzip")]))
        elif path == "/deflate":
            peer.send(response(200, zlib.compress(body), [("Content-Encoding", "deflate")]))
        elif path == "/br":
            peer.send(response(200, brotli.compress(body), [("Content-Encoding", "br")]))
        elif path == "/chunked":
            coded = gzip_bytes(body)
            chunks = b"".join(
                b"%x\r\n%s\r\n" % (len(coded[i : i + 100]), coded[i : i + 100])
                for i in range(0, len(coded), 100)
            )
            peer.send(
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n"
                b"Transfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n"
            )
        elif path == "/r1":
            peer.send(response(301, b"", [("Location", "/r2")]))
        elif path == "/r2":  # a body the crawler never reads
            peer.send(response(302, b"moved", [("Location", "/final")]))
        elif path in ("/final", "/big"):
            peer.send(response(200, body))
        elif path == "/retry":
            with self._lock:
                self.retry_calls += 1
                first = self.retry_calls == 1
            peer.send(response(503, b"busy") if first else response(200, body))
        elif path == "/drip":  # 100 bytes of 1000, then nothing until the timeout
            peer.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1000\r\n\r\n")
            peer.send(b"<html>" + b"d" * 94)
            peer.stop.wait(10)
            return False
        elif path == "/silent":  # no answer at all
            peer.stop.wait(10)
            return False
        elif path == "/reset":  # 10 bytes of 1000, then the connection is torn down
            peer.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 1000\r\n\r\n")
            peer.send(b"<html>rst!")
            peer.reset()
            return False
        else:
            peer.send(response(404, b"not found"))
        return True


def response(status: int, body: bytes, headers: list[tuple[str, str]] = []) -> bytes:  # noqa: B006
    reason = {200: "OK", 301: "Moved Permanently", 302: "Found", 404: "Not Found"}
    lines = [f"HTTP/1.1 {status} {reason.get(status, 'Service Unavailable')}"]
    if not any(name == "Content-Type" for name, _ in headers):
        lines.append("Content-Type: text/html")
    lines += [f"{name}: {value}" for name, value in headers]
    lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


def warc_files(directory: Path) -> list[Path]:
    return sorted(directory.glob("*.warc.gz"))


def responses_by_uri(records: list[Record]) -> dict[str, list[Record]]:
    found: dict[str, list[Record]] = {}
    for record in sorted(records, key=lambda r: r.headers["WARC-Date"]):
        if record.type == "response":
            found.setdefault(record.headers["WARC-Target-URI"], []).append(record)
    return found


def assert_pairs_linked(records: list[Record]) -> None:
    """Each response has one request naming it, with the same URI, date and address."""
    by_id = {r.headers["WARC-Record-ID"]: r for r in records if r.type == "response"}
    linked = Counter(
        r.headers["WARC-Concurrent-To"] for r in records if "WARC-Concurrent-To" in r.headers
    )
    assert set(linked) == set(by_id) and set(linked.values()) == {1}
    for request in (r for r in records if r.type == "request"):
        assert request.headers["WARC-IP-Address"] == "127.0.0.1"
        answer = by_id.get(request.headers.get("WARC-Concurrent-To", ""))
        if answer is not None:
            for name in ("WARC-Target-URI", "WARC-Date", "WARC-IP-Address"):
                assert request.headers[name] == answer.headers[name]


@dataclass(frozen=True)
class Archived:
    """One crawl of the Site with --warc, shared by the tests that read it."""

    result: Crawl
    records: list[Record]
    server: HostileServer
    site: Site
    directory: Path


@pytest.fixture(scope="module")
def archived(tmp_path_factory: pytest.TempPathFactory) -> Archived:
    tmp_path = tmp_path_factory.mktemp("archived")
    site = Site()
    with HostileServer(site.handle) as server:
        result = run_crawler(
            tmp_path,
            server.url("/"),
            *("--warc", str(tmp_path / "warc"), "--max-bytes", str(MAX_BYTES)),
            *("--header", f"X-Token: {SECRET}", "--retries", "1", "--timeout", "2"),
            *("--procs", "2", "--threads", "4"),
        )
    assert result.code == 0, result.stderr
    files = warc_files(tmp_path / "warc")
    checked = warcio_check(files)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    return Archived(result, read_records(files), server, site, tmp_path / "warc")


def test_every_answer_is_archived_with_its_request(
    archived: Archived,
) -> None:
    result, records, server = archived.result, archived.records, archived.server
    assert all(r.digests_passed for r in records if r.type in ("response", "request"))
    assert_pairs_linked(records)
    responses = responses_by_uri(records)
    for page in result.pages:
        if page["status"] is None:
            continue
        last = responses[page["final_url"]][-1]
        assert last.http_status == str(page["status"]), page["url"]
        for hop in page["redirects"]:
            assert responses[hop][-1].http_status in ("301", "302")
    # One request record per request the server read.
    requests = [r for r in records if r.type == "request"]
    assert len(requests) == len(server.requests)


def test_payloads_are_the_bytes_received_and_decode_to_the_bodies(
    archived: Archived,
) -> None:
    result, records, server = archived.result, archived.records, archived.server
    responses = responses_by_uri(records)
    bytes_read = {p["final_url"]: p["bytes"] for p in result.pages}
    for path in ("/", "/deflate", "/br", "/chunked", "/final", "/robots.txt"):
        (record,) = responses[server.url(path)]
        assert record.body() == BODIES[path], path
        if path != "/robots.txt":
            assert bytes_read[server.url(path)] == len(BODIES[path])
    # Content codings stay as received: gzip, deflate and br, and the chunked framing.
    assert responses[server.url("/br")][0].payload == brotli.compress(BODIES["/br"])
    chunked = responses[server.url("/chunked")][0]
    assert chunked.header("Transfer-Encoding") == "chunked"
    assert dechunk(chunked.payload) == gzip_bytes(BODIES["/chunked"])
    # Status line and headers in the order received.
    assert [name for name, _ in chunked.http_headers] == [
        "Content-Type",
        "Content-Encoding",
        "Transfer-Encoding",
    ]


def test_redirect_hops_retries_and_robots_txt_are_archived(
    archived: Archived,
) -> None:
    result, records, server, site = (
        archived.result,
        archived.records,
        archived.server,
        archived.site,
    )
    responses = responses_by_uri(records)
    assert [r.http_status for r in responses[server.url("/r1")]] == ["301"]
    (r2,) = responses[server.url("/r2")]
    assert r2.http_status == "302"
    assert r2.payload == b"" and r2.headers["WARC-Truncated"] == "unspecified"
    assert "WARC-Truncated" not in responses[server.url("/r1")][0].headers
    assert site.retry_calls == 2
    assert [r.http_status for r in responses[server.url("/retry")]] == ["503", "200"]
    assert result.by_url()[server.url("/retry")]["retries"] == 1
    assert [r.http_status for r in responses[server.url("/robots.txt")]] == ["200"]


def test_header_values_are_written_as_stars_and_nowhere_else(
    archived: Archived,
) -> None:
    records, server = archived.records, archived.server
    assert all(SECRET.encode() in head for head in server.requests)  # it was sent
    requests = [r for r in records if r.type == "request"]
    assert requests and all(r.header("X-Token") == "***" for r in requests)
    for path in warc_files(archived.directory):
        assert SECRET.encode() not in b"".join(
            zlib.decompressobj(31).decompress(member) for member in _members(path.read_bytes())
        )


def _members(data: bytes) -> list[bytes]:
    members = []
    while data:
        decompressor = zlib.decompressobj(31)
        decompressor.decompress(data)
        used = len(data) - len(decompressor.unused_data)
        members.append(data[:used])
        data = decompressor.unused_data
    return members


def test_truncated_bodies_are_marked_and_unanswered_attempts_have_no_response(
    archived: Archived,
) -> None:
    result, records, server = archived.result, archived.records, archived.server
    responses = responses_by_uri(records)
    pages = result.by_url()
    # --max-bytes: the raw bytes that gave up to the limit decoded (and at most a read more).
    assert pages[server.url("/big")]["error"]["kind"] == "too_large"
    (big,) = responses[server.url("/big")]
    assert big.headers["WARC-Truncated"] == "length"
    assert MAX_BYTES <= len(big.payload) <= MAX_BYTES + READ_BYTES
    assert BODIES["/big"].startswith(big.payload)
    # Cut by the deadline: both attempts, each with what arrived.
    assert pages[server.url("/drip")]["error"]["kind"] == "timeout"
    drips = responses[server.url("/drip")]
    assert [r.headers["WARC-Truncated"] for r in drips] == ["time", "time"]
    assert all(r.payload == b"<html>" + b"d" * 94 for r in drips)
    # Cut by the peer.
    resets = responses[server.url("/reset")]
    assert [r.headers["WARC-Truncated"] for r in resets] == ["disconnect", "disconnect"]
    # No answer: the two requests are archived, and no response.
    assert server.url("/silent") not in responses
    silent = [
        r
        for r in records
        if r.type == "request" and r.headers["WARC-Target-URI"] == server.url("/silent")
    ]
    assert len(silent) == 2 and all("WARC-Concurrent-To" not in r.headers for r in silent)


def test_files_are_named_per_process_and_start_with_warcinfo(
    archived: Archived,
) -> None:
    records = archived.records
    files = warc_files(archived.directory)
    name = re.compile(rf"^(\d{{17}})-{re.escape(machine_name())}-(\d+)-(\d{{5}})\.warc\.gz$")
    matches = [name.match(path.name) for path in files]
    assert all(matches), [p.name for p in files]
    assert len({m.group(1) for m in matches if m}) == 1  # one crawl start
    assert len({m.group(2) for m in matches if m}) == 2  # two workers
    for path in files:
        first = next(r for r in records if r.path == path)
        assert first.type == "warcinfo"
        assert first.headers["WARC-Filename"] == path.name
        info = first.payload.decode()
        assert "software: crawler/" in info and '"max_bytes":8000' in info
        assert '"header":["X-Token"]' in info and SECRET not in info
        assert [r.type for r in records if r.path == path].count("warcinfo") == 1


def test_a_new_file_past_warc_max_size(
    tmp_path: Path, crawl: RunCrawler, site_server: Callable[[SiteConfig], SiteServer]
) -> None:
    site = site_server(SiteConfig(pages=40, links=3))
    max_size = 6000
    result = crawl(
        site.base_urls[0],
        *("--warc", str(tmp_path / "warc"), "--warc-max-size", str(max_size), "--procs", "1"),
    )
    assert result.code == 0, result.stderr
    files = warc_files(tmp_path / "warc")
    assert len(files) > 3
    assert [p.name[-14:] for p in files] == [f"-{n:05d}.warc.gz" for n in range(len(files))]
    checked = warcio_check(files)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    records = read_records(files)
    for path in files:
        types = [r.type for r in records if r.path == path]
        assert types[0] == "warcinfo" and len(types) >= 3
        # Past the limit only with the one exchange that starts a file.
        assert path.stat().st_size <= max_size or len(types) == 3
    archived = {r.headers["WARC-Target-URI"] for r in records if r.type == "response"}
    assert {p["url"] for p in result.pages} <= archived


def test_sitemap_fetches_are_archived(
    tmp_path: Path, crawl: RunCrawler, site_server: Callable[[SiteConfig], SiteServer]
) -> None:
    site = site_server(SiteConfig(pages=20, links=3, sitemaps=True))
    result = crawl(site.base_urls[0], "--sitemaps", "--warc", str(tmp_path / "warc"))
    assert result.code == 0, result.stderr
    files = warc_files(tmp_path / "warc")
    checked = warcio_check(files)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    responses = responses_by_uri(read_records(files))
    base = site.base_urls[0].rstrip("/")
    sitemap_paths = [SITEMAP_INDEX_PATH, SITEMAP_XML_PATH, SITEMAP_GZ_PATH, SITEMAP_TEXT_PATH]
    for path in sitemap_paths:
        assert [r.http_status for r in responses[base + path]] == ["200"], path
    assert {f["url"] for f in result.out["sitemaps"]["files"]} == {
        base + path for path in sitemap_paths
    }
    # Their bytes as served: the gzip sitemap stays gzip.
    assert responses[base + SITEMAP_GZ_PATH][0].payload[:2] == b"\x1f\x8b"


def test_a_replaced_worker_writes_new_files_and_every_file_passes_warcio_check(
    tmp_path: Path, start_crawler: StartCrawler, site_server: Callable[[SiteConfig], SiteServer]
) -> None:
    site = site_server(SiteConfig(pages=300, links=5, latency_ms=20))
    proc = start_crawler(
        site.base_urls[0],
        *("--warc", str(tmp_path / "warc"), "--procs", "2", "--threads", "4", "--max-depth", "50"),
    )
    wait_for(lambda: len(site.requests) > 30, 30, "the crawl to get going")
    victim = wait_for(lambda: worker_pids(proc.pid), 5, "workers")[0]
    os.kill(victim, signal.SIGKILL)
    _, err = proc.communicate(timeout=90)
    assert proc.returncode == 0, err
    assert "died" in err
    files = warc_files(tmp_path / "warc")
    pids = {int(p.name.split("-")[-2]) for p in files}
    assert victim in pids and len(pids) == 3
    assert len({p.name for p in files}) == len(files)
    checked = warcio_check(files)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    records = read_records(files)
    archived = {r.headers["WARC-Target-URI"] for r in records if r.type == "response"}
    assert expected_urls(site.cfg, site.base_urls) <= archived


def test_a_sigkilled_crawl_leaves_files_that_pass_warcio_check(
    tmp_path: Path, start_crawler: StartCrawler, site_server: Callable[[SiteConfig], SiteServer]
) -> None:
    site = site_server(SiteConfig(pages=2000, links=5, page_bytes=20_000))
    proc = start_crawler(
        site.base_urls[0],
        *("--warc", str(tmp_path / "warc"), "--procs", "2", "--max-depth", "50"),
        start_new_session=True,
    )
    wait_for(lambda: len(site.requests) > 200, 30, "the crawl to get going")
    workers = worker_pids(proc.pid)
    os.killpg(proc.pid, signal.SIGKILL)  # coordinator and workers at once: nobody cleans up
    proc.communicate(timeout=10)
    wait_for(lambda: all(has_exited(pid) for pid in workers), 10, "the workers to die")
    files = warc_files(tmp_path / "warc")
    checked = warcio_check(files)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    records = read_records(files)
    assert sum(r.type == "response" for r in records) > 100
    assert all(r.digests_passed for r in records if r.type == "response")


def test_an_interrupted_crawl_leaves_files_that_pass_warcio_check(
    tmp_path: Path, start_crawler: StartCrawler, site_server: Callable[[SiteConfig], SiteServer]
) -> None:
    site = site_server(SiteConfig(pages=400, links=5, latency_ms=30))
    proc = start_crawler(
        site.base_urls[0],
        *("--warc", str(tmp_path / "warc"), "--procs", "2", "--threads", "4", "--max-depth", "50"),
    )
    wait_for(lambda: len(site.requests) > 30, 30, "the crawl to get going")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130, err
    files = warc_files(tmp_path / "warc")
    checked = warcio_check(files)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    records = read_records(files)
    archived = {r.headers["WARC-Target-URI"] for r in records if r.type == "response"}
    pages = json.loads((tmp_path / "out.json").read_text(encoding="utf-8"))["pages"]
    assert {p["final_url"] for p in pages if p["status"] is not None} <= archived


@pytest.mark.parametrize(
    ("where", "message"),
    [
        ("blocker", "cannot use --warc blocker: it is a file, not a directory"),
        ("blocker/warc", "cannot use --warc blocker/warc: blocker is a file, not a directory"),
        (
            "/proc/crawler-warc",
            "cannot use --warc /proc/crawler-warc: cannot create directory /proc/crawler-warc: "
            "No such file or directory",
        ),
    ],
)
def test_an_unusable_warc_directory_is_exit_2_before_the_first_request(
    where: str,
    message: str,
    tmp_path: Path,
    crawl: RunCrawler,
    site_server: Callable[[SiteConfig], SiteServer],
) -> None:
    site = site_server(SiteConfig(pages=5, links=2))
    (tmp_path / "blocker").write_text("x", encoding="utf-8")
    result = crawl(site.base_urls[0], "--warc", where)
    assert result.code == 2, result.stderr
    assert result.last_stderr_line == f"crawler: error: {message}"
    assert site.requests == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["blocker"]


def test_another_unusable_output_leaves_no_warc_directory_behind(
    tmp_path: Path, crawl: RunCrawler, site_server: Callable[[SiteConfig], SiteServer]
) -> None:
    site = site_server(SiteConfig(pages=5, links=2))
    for options, option in [
        (["--out", "out.json/"], "--out"),  # found by looking, before DIR is made
        (["--out", "/proc/crawler-test/out.json"], "--out"),  # found by trying, after
    ]:
        result = crawl(site.base_urls[0], "--warc", "new/warc", *options)
        assert result.code == 2, result.stderr
        assert f"cannot write output {option}" in result.last_stderr_line
        assert site.requests == []
        assert list(tmp_path.iterdir()) == []

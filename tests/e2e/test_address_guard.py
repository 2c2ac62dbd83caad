"""The address guard through the real command line (docs/contract.md#address-guard).

A loopback page links or redirects to the metadata service, private ranges, IPv6 and
numeric spellings of them, and names a hosts file maps to them; each must become a
`blocked_address` record, with robots.txt or without. Every crawl runs with its page
server in a network namespace whose only interface is loopback (tests/helpers/netns.py),
so nothing can leave this machine even when the guard is broken: the assertions are on
the records, and on what the local server was asked.
"""

from __future__ import annotations

import json
import shlex
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from crawler.urls import canonicalize
from tests.helpers.crawler_cli import Crawl, crawler_env
from tests.helpers.netns import netns_unavailable, run_in_netns

# One crawl, page server included, may take this long before it is killed.
CRAWL_TIMEOUT_S = 60.0
# The shell polls the port file this many times, 20 ms apart (10 s) before giving up.
PORT_POLLS = 500

METADATA = "http://169.254.169.254/latest/meta-data/"
# Links to refused addresses: URL -> (the address the message names, its class).
PRIVATE_LINKS = {
    METADATA: ("169.254.169.254", "link-local"),
    "http://10.0.0.5/admin": ("10.0.0.5", "private"),
    "http://192.168.1.1/": ("192.168.1.1", "private"),
    "http://100.64.0.1/": ("100.64.0.1", "private"),
}
LINK_LOCAL_V6 = "http://[fe80::1]/"
IPV6_LINKS = {
    LINK_LOCAL_V6: ("fe80::1", "link-local"),
    # Judged by the IPv4 address inside: mapped, and 6to4.
    "http://[::ffff:169.254.169.254]/": ("169.254.169.254", "link-local"),
    "http://[2002:a9fe:a9fe::1]/": ("169.254.169.254", "link-local"),
}
# 169.254.169.254 as the resolver also reads it: decimal, octal, hex.
NUMERIC_LINKS = {
    "http://2852039166/": ("169.254.169.254", "link-local"),
    "http://0251.0376.0251.0376/": ("169.254.169.254", "link-local"),
    "http://0xa9fea9fe/": ("169.254.169.254", "link-local"),
}
# Names that resolve to refused addresses through the namespace's own /etc/hosts.
HOSTS = {"metadata.test": "169.254.169.254", "intranet.test": "10.0.0.5"}
NAMED_LINKS = {
    "http://metadata.test/latest/meta-data/": ("169.254.169.254", "link-local"),
    "http://intranet.test/admin": ("10.0.0.5", "private"),
}

ROBOTS = pytest.mark.parametrize(
    "robots_args", [(), ("--ignore-robots",)], ids=["robots", "ignore-robots"]
)


@pytest.fixture(autouse=True)
def _needs_netns() -> None:
    reason = netns_unavailable()
    if reason is not None:
        pytest.skip(reason)


@dataclass(frozen=True)
class SiteCrawl:
    """A finished crawl of the local page server, and the request lines the server saw."""

    crawl: Crawl
    port: int
    requests: list[str]

    @property
    def paths(self) -> list[str]:
        return [line.split(" ")[1] for line in self.requests]

    def record(self, url: str) -> dict[str, Any]:
        records = self.crawl.by_url()
        key = canonicalize(url)
        assert key in records, f"no record for {key}: {sorted(records)}"
        return records[key]


def crawl_in_netns(
    tmp_path: Path,
    pages: dict[str, dict[str, Any]],
    *args: str,
    hosts: dict[str, str] | None = None,
) -> SiteCrawl:
    """Serve `pages` and crawl them from http://127.0.0.1:PORT/, both in one namespace."""
    (tmp_path / "pages.json").write_text(json.dumps(pages), encoding="utf-8")
    python = shlex.quote(sys.executable)
    crawler_args = " ".join(shlex.quote(arg) for arg in args)
    shell = f"""
{python} -m tests.helpers.page_server pages.json port.txt requests.log 2>server.err &
server=$!
polls=0
while [ ! -s port.txt ]; do
    if ! kill -0 "$server" 2>/dev/null || [ "$polls" -ge {PORT_POLLS} ]; then
        kill "$server" 2>/dev/null; echo "the page server did not start" >&2; exit 98
    fi
    polls=$((polls + 1)); sleep 0.02
done
port=$(cat port.txt)
{python} -m crawler --seed "http://127.0.0.1:$port/" --scope any --out out.json \
    --no-progress --procs 1 --threads 4 --max-depth 2 --timeout 2 {crawler_args}
code=$?
kill "$server"; wait "$server" || echo "the page server exited $?" >&2
exit $code
"""
    done = run_in_netns(
        shell, cwd=tmp_path, env=crawler_env(), timeout=CRAWL_TIMEOUT_S, hosts=hosts
    )
    out_path = tmp_path / "out.json"
    out = json.loads(out_path.read_text(encoding="utf-8")) if out_path.exists() else None
    crawl = Crawl(done.returncode, done.stderr, out, out_path)
    assert crawl.code == 0, crawl.stderr
    assert "the page server" not in crawl.stderr, (crawl.stderr, _read(tmp_path / "server.err"))
    requests = _read(tmp_path / "requests.log").splitlines()
    return SiteCrawl(crawl, int(_read(tmp_path / "port.txt")), requests)


def _read(path: Path) -> str:
    return path.read_text(encoding="utf-8") if path.exists() else ""


def links_page(*urls: str) -> dict[str, Any]:
    body = "".join(f'<a href="{url}">{url}</a>\n' for url in urls)
    return {"body": f"<html><head><title>links</title></head><body>{body}</body></html>"}


def redirect(location: str) -> dict[str, Any]:
    return {"status": 302, "headers": {"Location": location}, "body": ""}


def assert_refused(
    record: dict[str, Any], address: str, address_class: str, robots_args: tuple[str, ...]
) -> None:
    """A URL the guard refused: no answer, nothing read, not retried (contract: page records).

    With robots.txt the refusal comes first, for the robots.txt request, and the URL is
    refused by the coordinator, which no worker attempted. With --ignore-robots the
    fetcher of a worker refuses it before connecting.
    """
    assert record["status"] is None, record
    assert record["error"]["kind"] == "blocked_address", record
    assert address in record["error"]["message"], record
    assert address_class in record["error"]["message"], record
    assert record["bytes"] == 0 and record["retries"] == 0, record
    if "--ignore-robots" in robots_args:
        assert record["worker"] == 0, record
    else:
        assert record["worker"] is None and record["elapsed_ms"] == 0, record


def assert_only_local_requests(site: SiteCrawl, expected: set[str]) -> None:
    """The local server was asked only for its own pages, each once."""
    assert sorted(site.paths) == sorted(expected), site.requests


@ROBOTS
def test_links_to_metadata_and_private_ranges_are_blocked(
    tmp_path: Path, robots_args: tuple[str, ...]
) -> None:
    site = crawl_in_netns(tmp_path, {"/": links_page(*PRIVATE_LINKS)}, *robots_args)

    for url, (address, address_class) in PRIVATE_LINKS.items():
        record = site.record(url)
        assert_refused(record, address, address_class, robots_args)
        assert record["depth"] == 1 and record["referrer"] == f"http://127.0.0.1:{site.port}/"
    stats = site.crawl.stats
    assert stats["by_error"] == {"blocked_address": len(PRIVATE_LINKS)}
    assert stats["robots_excluded"] == 0
    assert stats["pages"] == 1 + len(PRIVATE_LINKS)
    local = {"/"} if robots_args else {"/", "/robots.txt"}
    assert_only_local_requests(site, local)


def test_allow_private_unblocks_private_ranges_but_never_link_local(tmp_path: Path) -> None:
    # --ignore-robots: the page requests themselves are tried; in the namespace nothing
    # but loopback is reachable, so the private ones fail to connect instead.
    site = crawl_in_netns(
        tmp_path,
        {"/": links_page(*PRIVATE_LINKS)},
        "--allow-private",
        "--ignore-robots",
        "--retries",
        "0",
    )

    address, address_class = PRIVATE_LINKS[METADATA]
    assert_refused(site.record(METADATA), address, address_class, ("--ignore-robots",))
    for url in PRIVATE_LINKS.keys() - {METADATA}:
        record = site.record(url)
        assert record["status"] is None, record
        assert record["error"]["kind"] == "connect", record
    assert site.crawl.stats["by_error"] == {"blocked_address": 1, "connect": 3}
    assert_only_local_requests(site, {"/"})


@ROBOTS
def test_a_redirect_into_a_refused_address_keeps_its_302(
    tmp_path: Path, robots_args: tuple[str, ...]
) -> None:
    targets = {**PRIVATE_LINKS, LINK_LOCAL_V6: IPV6_LINKS[LINK_LOCAL_V6]}
    hops = {f"/r{i}": url for i, url in enumerate(targets)}
    pages = {"/": links_page(*hops), **{path: redirect(url) for path, url in hops.items()}}
    site = crawl_in_netns(tmp_path, pages, *robots_args)

    for path, target in hops.items():
        url = f"http://127.0.0.1:{site.port}{path}"
        record = site.record(url)
        address, address_class = targets[target]
        assert record["status"] == 302 and record["redirects"] == [url], record
        assert record["error"]["kind"] == "blocked_address", record
        assert address in record["error"]["message"], record
        assert address_class in record["error"]["message"], record
        assert record["final_url"] == canonicalize(target), record
        assert record["retries"] == 0, record
    stats = site.crawl.stats
    assert stats["by_error"] == {"blocked_address": len(hops)}
    assert stats["robots_excluded"] == 0
    assert stats["pages"] == 1 + len(hops)  # a refused hop target is no record of its own
    local = set(hops) | {"/"} | (set() if robots_args else {"/robots.txt"})
    assert_only_local_requests(site, local)


@ROBOTS
def test_a_name_resolving_to_a_refused_address_is_blocked(
    tmp_path: Path, robots_args: tuple[str, ...]
) -> None:
    site = crawl_in_netns(tmp_path, {"/": links_page(*NAMED_LINKS)}, *robots_args, hosts=HOSTS)

    for url, (address, address_class) in NAMED_LINKS.items():
        assert_refused(site.record(url), address, address_class, robots_args)
    assert site.crawl.stats["by_error"] == {"blocked_address": len(NAMED_LINKS)}
    assert site.crawl.stats["robots_excluded"] == 0


@ROBOTS
def test_ipv6_forms(tmp_path: Path, robots_args: tuple[str, ...]) -> None:
    # [::1] is loopback, as the seed's 127.0.0.1 is: allowed. The server listens on
    # 127.0.0.1 only, so that URL fails some other way; it is just not blocked.
    loopback_v6 = "http://[::1]:{PORT}/v6"
    pages = {"/": links_page(loopback_v6, *IPV6_LINKS)}
    site = crawl_in_netns(tmp_path, pages, *robots_args, "--retries", "0")

    for url, (address, address_class) in IPV6_LINKS.items():
        assert_refused(site.record(url), address, address_class, robots_args)
    loopback_url = canonicalize(loopback_v6.replace("{PORT}", str(site.port)))
    if "--ignore-robots" in robots_args:
        record = site.record(loopback_url)
        assert record["error"]["kind"] == "connect", record  # tried, and refused by the OS
    else:
        # Its robots.txt cannot be fetched (the server is on 127.0.0.1 only): a
        # robots_unavailable record, not a blocked one: the guard had no say.
        found = site.crawl.by_url().get(loopback_url)
        assert found is not None and found["error"]["kind"] == "robots_unavailable", found
    assert site.crawl.stats["by_error"]["blocked_address"] == len(IPV6_LINKS)


@ROBOTS
def test_numeric_ipv4_spellings(tmp_path: Path, robots_args: tuple[str, ...]) -> None:
    site = crawl_in_netns(tmp_path, {"/": links_page(*NUMERIC_LINKS)}, *robots_args)

    for url, (address, address_class) in NUMERIC_LINKS.items():
        assert_refused(site.record(url), address, address_class, robots_args)
    assert site.crawl.stats["by_error"] == {"blocked_address": len(NUMERIC_LINKS)}
    assert site.crawl.stats["robots_excluded"] == 0


def test_a_loopback_site_alone_is_crawled_as_before(tmp_path: Path) -> None:
    pages = {
        "/robots.txt": {"headers": {"Content-Type": "text/plain"}, "body": "User-agent: *\n"},
        "/": links_page("/a", "/b"),
        "/a": links_page("/", "/c"),
        "/b": links_page("http://127.0.0.1:{PORT}/a"),
        "/c": {"body": "<html><title>c</title></html>"},
    }
    site = crawl_in_netns(tmp_path, pages)

    assert sorted(site.crawl.by_url()) == sorted(
        f"http://127.0.0.1:{site.port}{path}" for path in ("/", "/a", "/b", "/c")
    )
    for record in site.crawl.pages:
        assert record["status"] == 200 and record["error"] is None, record
        assert record["worker"] == 0, record
    assert site.crawl.stats["by_error"] == {}
    assert_only_local_requests(site, {"/robots.txt", "/", "/a", "/b", "/c"})

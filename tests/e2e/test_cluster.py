"""One crawl on many machines: several crawler commands sharing a real Redis.

Each "machine" is the real CLI as a subprocess in a process group of its own, all
crawling the synthetic site on several 127.0.0.N hosts. The site's request log is the
judge: every page once, robots.txt first, politeness across machines together; and
what each machine wrote. Faults are real: kill -9 of a machine's whole process group,
SIGSTOP past its lease, Redis shut down and restarted (AOF) or gone for good.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import redis

from scripts.site import SiteConfig
from tests.helpers.crawler_cli import StartCrawler, crawler_env
from tests.helpers.processes import wait_for
from tests.helpers.redis_server import RedisServer
from tests.helpers.site_process import SiteProcess

RUN_TIMEOUT_S = 60.0
LEASE_TTL_S = 2.0
JITTER_STARTS = 2


class Site:
    """The site as a child process with a request log and its expected URLs."""

    def __init__(self, start: Callable[..., SiteProcess], tmp: Path, cfg: SiteConfig) -> None:
        self.log_path = tmp / "requests.jsonl"
        expected = tmp / "expected.txt"
        self.process = start(cfg, "--log", str(self.log_path), "--expected", str(expected))
        self.seed = self.process.base_urls[0]
        self.base_urls = self.process.base_urls
        self.expected = set(expected.read_text().split())

    def requests(self) -> list[dict[str, Any]]:
        if not self.log_path.exists():
            return []
        lines = self.log_path.read_text().splitlines()
        return [json.loads(line) for line in lines if line.endswith("}")]

    def url(self, request: dict[str, Any]) -> str:
        return self.base_urls[request["host"]].rstrip("/") + request["path"]

    def pages(self) -> list[str]:
        """The URLs requested, robots.txt left out, in order (as requested, not canonical)."""
        return [self.url(r) for r in self.requests() if r["path"] != "/robots.txt"]


def machine(
    start_crawler: StartCrawler, tmp: Path, name: str, site: Site, frontier: str, *extra: str
) -> subprocess.Popen[str]:
    """One machine: the crawler in its own process group, writing tmp/NAME.json."""
    args = [
        site.seed,
        "--scope", "any", "--allow-private", "--frontier", frontier,
        "--procs", "1", "--threads", "4", "--lease-ttl", str(LEASE_TTL_S),
        "--redis-timeout", "5", "--max-depth", "100", *extra,
    ]  # fmt: skip
    with (tmp / f"{name}.err").open("w") as err:  # the child keeps its own copy
        return start_crawler(*args, out=tmp / f"{name}.json", start_new_session=True, stderr=err)


def finish(proc: subprocess.Popen[str], timeout: float = RUN_TIMEOUT_S) -> int:
    return proc.wait(timeout)


def records(tmp: Path, name: str) -> list[dict[str, Any]]:
    return list(json.loads((tmp / f"{name}.json").read_text())["pages"])


def stderr(tmp: Path, name: str) -> str:
    return (tmp / f"{name}.err").read_text()


def test_two_machines_crawl_every_page_once_and_politely(
    tmp_path: Path,
    start_crawler: StartCrawler,
    site_process: Callable[..., SiteProcess],
    redis_url: str,
) -> None:
    site = Site(site_process, tmp_path, SiteConfig(pages=60, links=6, hosts=3, latency_ms=5))
    delay = 0.1
    options = ("--delay", str(delay), "--per-host", "2")
    a = machine(start_crawler, tmp_path, "a", site, redis_url, *options)
    b = machine(start_crawler, tmp_path, "b", site, redis_url, *options)
    assert finish(a) == 0, stderr(tmp_path, "a")
    assert finish(b) == 0, stderr(tmp_path, "b")

    mine = {name: records(tmp_path, name) for name in ("a", "b")}
    both = mine["a"] + mine["b"]
    urls = [r["url"] for r in both]
    assert Counter(urls).most_common(1)[0][1] == 1  # no record twice
    fetched = {r["url"] for r in both if r["worker"] is not None}
    assert fetched == site.expected
    for name, recs in mine.items():
        out = json.loads((tmp_path / f"{name}.json").read_text())
        assert out["complete"] is True
        assert len({r["machine"] for r in recs}) <= 1
        assert out["settings"]["crawl"] and out["settings"]["frontier"] == redis_url
    assert mine["a"] and mine["b"], "both machines took part"

    # The request log: each page once, robots.txt first per host, --delay across both.
    requests = site.requests()
    assert max(Counter((r["host"], r["path"]) for r in requests).values()) == 1
    by_host: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for request in requests:
        by_host[request["host"]].append(request)
    for host, seen in by_host.items():
        seen.sort(key=lambda r: r["t"])
        assert seen[0]["path"] == "/robots.txt", host
        # Starts are timed in Redis; the log sees arrivals, each later by its own trip
        # through a worker and the site's threads (on a busy machine, up to a tenth of a
        # second or more): count starts per second, with room for that jitter.
        starts = [r["t"] for r in seen]
        most = max(sum(1 for t in starts if t0 <= t < t0 + 1.0) for t0 in starts)
        assert most <= 1.0 / delay + 1 + JITTER_STARTS, (host, most)

    # The crawl is finished in Redis; running it again fetches nothing.
    name = json.loads((tmp_path / "a.json").read_text())["settings"]["crawl"]
    client = redis.Redis.from_url(redis_url)
    assert client.get(f"crawler:{name}:finished") is not None
    stored = json.loads(client.get(f"crawler:{name}:settings") or b"{}")
    assert set(stored) == {"identity", "settings", "seeds", "rejected_seeds", "header_digest"}
    again = machine(start_crawler, tmp_path, "again", site, redis_url, *options)
    assert finish(again) == 0, stderr(tmp_path, "again")
    assert records(tmp_path, "again") == []
    assert len(site.requests()) == len(requests)

    # The export: every machine's records out of Redis, the crawl complete.
    export = subprocess.run(
        [sys.executable, "-m", "crawler.export", "--frontier", redis_url, "--crawl", name,
         "--out", str(tmp_path / "all.json")],
        cwd=tmp_path, env=crawler_env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert export.returncode == 0, export.stderr
    whole = json.loads((tmp_path / "all.json").read_text())
    assert whole["complete"] is True
    assert sorted(r["url"] for r in whole["pages"]) == sorted(urls)
    assert {r["machine"] for r in whole["pages"]} == {r["machine"] for r in mine["a"] + mine["b"]}


def test_per_host_holds_across_machines(
    tmp_path: Path,
    start_crawler: StartCrawler,
    site_process: Callable[..., SiteProcess],
    redis_url: str,
) -> None:
    latency_s = 0.1
    site = Site(site_process, tmp_path, SiteConfig(pages=60, links=5, hosts=2, latency_ms=100))
    a = machine(start_crawler, tmp_path, "a", site, redis_url, "--per-host", "2")
    b = machine(start_crawler, tmp_path, "b", site, redis_url, "--per-host", "2")
    assert finish(a) == 0, stderr(tmp_path, "a")
    assert finish(b) == 0, stderr(tmp_path, "b")
    # Every request is in flight at least from its arrival until latency_s later, so the
    # arrivals within latency_s of one another were all in flight at once: at most 2,
    # whichever machine sent them (8 threads in all would send more).
    by_host: dict[int, list[float]] = defaultdict(list)
    for request in site.requests():
        by_host[request["host"]].append(request["t"])
    for host, starts in by_host.items():
        most = max(sum(1 for t in starts if t0 <= t < t0 + latency_s) for t0 in starts)
        assert most <= 2, (host, most)
    assert max(Counter(site.pages()).values()) == 1


def test_a_joiner_with_other_settings_or_no_redis_exits_2(
    tmp_path: Path,
    start_crawler: StartCrawler,
    site_process: Callable[..., SiteProcess],
    redis_url: str,
) -> None:
    site = Site(site_process, tmp_path, SiteConfig(pages=20, links=3, hosts=1))
    first = machine(start_crawler, tmp_path, "first", site, redis_url, "--max-pages", "5")
    assert finish(first) == 0, stderr(tmp_path, "first")
    other = machine(start_crawler, tmp_path, "other", site, redis_url, "--delay", "1")
    assert finish(other) == 2
    assert "--delay 1.0 (the crawl has 0.0)" in stderr(tmp_path, "other").splitlines()[-1]
    # Another crawl under the same --crawl name: exit 2.
    name = json.loads((tmp_path / "first.json").read_text())["settings"]["crawl"]
    clash = machine(
        start_crawler, tmp_path, "clash", site, redis_url, "--crawl", name, "--scope", "host"
    )
    assert finish(clash) == 2
    assert f"crawl {name} in Redis has other seeds" in stderr(tmp_path, "clash").splitlines()[-1]
    # What a machine sets for itself may differ.
    own = machine(
        start_crawler, tmp_path, "own", site, redis_url, "--max-pages", "5", "--threads", "2"
    )
    assert finish(own) == 0, stderr(tmp_path, "own")
    # No Redis there: exit 2 naming it, the password never shown.
    closed = "redis://:s3cret@127.0.0.1:1/0"
    gone = machine(start_crawler, tmp_path, "gone", site, closed)
    assert finish(gone) == 2
    last = stderr(tmp_path, "gone").splitlines()[-1]
    assert "redis://:***@127.0.0.1:1/0" in last and "s3cret" not in stderr(tmp_path, "gone")
    # --state with a shared frontier: exit 2.
    both = machine(start_crawler, tmp_path, "both", site, redis_url, "--state", str(tmp_path / "s"))
    assert finish(both) == 2
    assert "exclusive" in stderr(tmp_path, "both").splitlines()[-1]


def test_page_limits_hold_across_machines(
    tmp_path: Path,
    start_crawler: StartCrawler,
    site_process: Callable[..., SiteProcess],
    redis_url: str,
) -> None:
    site = Site(site_process, tmp_path, SiteConfig(pages=200, links=6, hosts=3, latency_ms=5))
    limits = ("--max-pages", "40", "--max-pages-per-host", "15", "--max-depth", "3")
    a = machine(start_crawler, tmp_path, "a", site, redis_url, *limits)
    b = machine(start_crawler, tmp_path, "b", site, redis_url, *limits)
    assert finish(a) == 0, stderr(tmp_path, "a")
    assert finish(b) == 0, stderr(tmp_path, "b")
    both = records(tmp_path, "a") + records(tmp_path, "b")
    assert len(both) == 40 and len({r["url"] for r in both}) == 40
    per_host = Counter(r["url"].split("/")[2] for r in both)
    assert max(per_host.values()) <= 15
    assert max(r["depth"] for r in both) <= 3
    assert max(Counter(site.pages()).values()) == 1
    # The URLs the limits held back stay in Redis: a rerun with a higher limit goes on.
    more = ("--max-pages", "60", "--max-pages-per-host", "25", "--max-depth", "3")
    again = machine(start_crawler, tmp_path, "again", site, redis_url, *more)
    assert finish(again) == 0, stderr(tmp_path, "again")
    assert "held back by the earlier limits go on" in stderr(tmp_path, "again")
    later = records(tmp_path, "again")
    assert len(later) == 20 and not {r["url"] for r in later} & {r["url"] for r in both}
    assert max(Counter(site.pages()).values()) == 1


def test_kill_9_of_a_machine_its_hosts_and_urls_in_flight_are_taken_over(
    tmp_path: Path,
    start_crawler: StartCrawler,
    site_process: Callable[..., SiteProcess],
    redis_url: str,
) -> None:
    site = Site(site_process, tmp_path, SiteConfig(pages=160, links=5, hosts=4, latency_ms=60))
    a = machine(start_crawler, tmp_path, "a", site, redis_url)
    b = machine(start_crawler, tmp_path, "b", site, redis_url)
    wait_for(lambda: len(site.requests()) >= 40, 30, "40 requests")
    os.killpg(a.pid, signal.SIGKILL)
    killed_at = time.monotonic()
    # What a had in flight by Redis (taken, not ended), read before its leases run out.
    held = in_flight(redis_url, a.pid)
    a.wait(10)
    before = Counter(site.pages())
    assert finish(b) == 0, stderr(tmp_path, "b")

    requested = site.pages()
    counts = Counter(requested)
    assert set(counts) >= site.expected - {u for u in site.expected if u.endswith("/missing")}
    twice = {url for url, n in counts.items() if n > 1}
    # Only URLs in flight at the kill were fetched again, once: those a had taken and not
    # ended (its threads' requests, and answers it had not yet ended in Redis).
    assert all(counts[url] == 2 and before[url] == 1 for url in twice)
    assert twice <= held, (twice, held)
    again = [r for r in site.requests() if r["t"] > killed_at and site.url(r) in twice]
    if again:
        takeover_s = min(r["t"] for r in again) - killed_at
        print(f"takeover after kill -9: {takeover_s:.2f} s for {len(twice)} URLs")
        assert takeover_s <= LEASE_TTL_S + 1.5
    b_fetched = [r["url"] for r in records(tmp_path, "b") if r["worker"] is not None]
    assert set(b_fetched) <= site.expected and len(b_fetched) == len(set(b_fetched))
    # What a recorded before the kill is in Redis with its finish, or neither is (then b
    # fetched it again): every page exactly one record in the export.
    assert_every_page_once(exported(tmp_path, redis_url), site)


def test_a_machine_paused_past_its_lease_starts_nothing_it_lost(
    tmp_path: Path,
    start_crawler: StartCrawler,
    site_process: Callable[..., SiteProcess],
    redis_url: str,
) -> None:
    site = Site(site_process, tmp_path, SiteConfig(pages=80, links=5, hosts=1, latency_ms=80))
    a = machine(start_crawler, tmp_path, "a", site, redis_url)
    wait_for(lambda: len(site.requests()) >= 10, 30, "10 requests")
    b = machine(start_crawler, tmp_path, "b", site, redis_url)
    os.killpg(a.pid, signal.SIGSTOP)
    stopped_at = time.monotonic()
    stopped = len(site.requests())
    held = in_flight(redis_url, a.pid)  # a's, by Redis: frozen until its lease runs out
    # One host, a's while it has requests in flight: b at work there means a's lease ran
    # out during the pause and b took the host over.
    wait_for(lambda: len(site.requests()) >= stopped + 10, 30, "b at work")
    resumed_at = time.time()
    os.killpg(a.pid, signal.SIGCONT)
    assert finish(a) == 0, stderr(tmp_path, "a")
    assert finish(b) == 0, stderr(tmp_path, "b")
    counts = Counter(site.pages())
    twice = {url for url, n in counts.items() if n > 1}
    first = {site.url(r): r["t"] for r in reversed(site.requests())}
    # Only URLs in flight at the pause (a's requests, and answers it had not yet ended in
    # Redis) were fetched twice.
    assert twice <= held, (twice, held)
    assert all(counts[url] == 2 and first[url] < stopped_at for url in twice)
    # What a started after it resumed was its own: nothing b also fetched.
    late = [r for r in records(tmp_path, "a") if r["fetched_at"] and _epoch(r) > resumed_at]
    assert not {r["url"] for r in late} & twice
    # a's answers for what b took over (its requests frozen by the pause end after it)
    # are dropped: every page exactly one record, in the export and over both out.json.
    assert_every_page_once(exported(tmp_path, redis_url), site)
    both = Counter(r["url"] for name in ("a", "b") for r in records(tmp_path, name))
    assert max(both.values()) == 1
    dropped = stderr(tmp_path, "a").count(" is dropped")
    print(f"paused past its lease: {len(twice)} URLs fetched twice, {dropped} answers dropped")


def in_flight(redis_url: str, pid: int) -> set[str]:
    """The URLs the machine of coordinator `pid` has in flight in Redis (f:<host>)."""
    client = redis.Redis.from_url(redis_url)
    urls = set()
    for key in client.scan_iter(match="crawler:*:f:*"):
        for value in client.hvals(key):
            owner, _, task = value.decode().partition("|")
            if owner.endswith(f":{pid}"):
                urls.add(json.loads(task)[0])
    return urls


def exported(tmp: Path, redis_url: str) -> dict[str, Any]:
    """The whole crawl out of Redis (python -m crawler.export), as out.json."""
    name = json.loads((tmp / "b.json").read_text())["settings"]["crawl"]
    export = subprocess.run(
        [sys.executable, "-m", "crawler.export", "--frontier", redis_url, "--crawl", name,
         "--out", str(tmp / "all.json")],
        cwd=tmp, env=crawler_env(), capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert export.returncode == 0, export.stderr
    whole: dict[str, Any] = json.loads((tmp / "all.json").read_text())
    return whole


def assert_every_page_once(whole: dict[str, Any], site: Site) -> None:
    """The export holds every page of the site, each in exactly one record."""
    urls = Counter(r["url"] for r in whole["pages"])
    # With --scope any the site's links to an .invalid host are records too (dns errors).
    assert {u for u in urls if ".invalid" not in u} == site.expected
    assert [u for u, n in urls.items() if n > 1] == []
    assert whole["complete"] is True and whole["stats"]["pages"] == len(urls)


def _epoch(record: dict[str, Any]) -> float:
    from datetime import datetime

    return datetime.fromisoformat(record["fetched_at"].replace("Z", "+00:00")).timestamp()


def test_redis_restarted_mid_crawl_the_crawl_completes(
    tmp_path: Path,
    start_crawler: StartCrawler,
    site_process: Callable[..., SiteProcess],
    start_redis: Callable[..., RedisServer],
) -> None:
    server = start_redis(aof=True)
    site = Site(site_process, tmp_path, SiteConfig(pages=100, links=5, hosts=2, latency_ms=40))
    a = machine(start_crawler, tmp_path, "a", site, server.url)
    b = machine(start_crawler, tmp_path, "b", site, server.url)
    wait_for(lambda: len(site.requests()) >= 20, 30, "20 requests")
    server.restart()
    assert finish(a) == 0, stderr(tmp_path, "a")
    assert finish(b) == 0, stderr(tmp_path, "b")
    both = records(tmp_path, "a") + records(tmp_path, "b")
    assert {r["url"] for r in both if r["worker"] is not None} == site.expected


def test_redis_gone_for_good_exit_1_then_a_rerun_resumes(
    tmp_path: Path,
    start_crawler: StartCrawler,
    site_process: Callable[..., SiteProcess],
    start_redis: Callable[..., RedisServer],
) -> None:
    server = start_redis(aof=True)
    site = Site(site_process, tmp_path, SiteConfig(pages=100, links=5, hosts=2, latency_ms=40))
    a = machine(start_crawler, tmp_path, "a", site, server.url, "--redis-timeout", "1.5")
    wait_for(lambda: len(site.requests()) >= 20, 30, "20 requests")
    server.stop()
    stopped_at = time.monotonic()
    assert finish(a, timeout=30) == 1
    assert time.monotonic() - stopped_at < 1.5 + 8
    out = json.loads((tmp_path / "a.json").read_text())
    assert out["complete"] is False and out["pages"]
    assert "--redis-timeout" in stderr(tmp_path, "a")
    server.start()
    rerun = machine(start_crawler, tmp_path, "rerun", site, server.url)
    assert finish(rerun) == 0, stderr(tmp_path, "rerun")
    both = out["pages"] + records(tmp_path, "rerun")
    assert {r["url"] for r in both if r["worker"] is not None} == site.expected


def test_a_machine_that_joins_gets_work_within_seconds(
    tmp_path: Path,
    start_crawler: StartCrawler,
    site_process: Callable[..., SiteProcess],
    redis_url: str,
) -> None:
    site = Site(site_process, tmp_path, SiteConfig(pages=200, links=5, hosts=6, latency_ms=40))
    a = machine(start_crawler, tmp_path, "a", site, redis_url)
    wait_for(lambda: len(site.requests()) >= 30, 30, "a at work")
    joined_at = time.time()
    b = machine(start_crawler, tmp_path, "b", site, redis_url)
    assert finish(a) == 0, stderr(tmp_path, "a")
    assert finish(b) == 0, stderr(tmp_path, "b")
    mine = [r for r in records(tmp_path, "b") if r["worker"] is not None]
    assert mine, "b got no work"
    first = min(_epoch(r) for r in mine)
    assert first - joined_at < 5.0  # its start-up (the interpreter, the workers) included
    counts = Counter(site.pages())
    assert max(counts.values()) == 1


def test_ctrl_c_on_one_machine_gives_its_work_back_at_once(
    tmp_path: Path,
    start_crawler: StartCrawler,
    site_process: Callable[..., SiteProcess],
    redis_url: str,
) -> None:
    site = Site(site_process, tmp_path, SiteConfig(pages=150, links=5, hosts=3, latency_ms=40))
    a = machine(start_crawler, tmp_path, "a", site, redis_url, "--lease-ttl", "60")
    b = machine(start_crawler, tmp_path, "b", site, redis_url, "--lease-ttl", "60")
    wait_for(lambda: len(site.requests()) >= 30, 30, "30 requests")
    os.killpg(a.pid, signal.SIGINT)
    assert finish(a, timeout=15) == 130, stderr(tmp_path, "a")
    assert json.loads((tmp_path / "a.json").read_text())["complete"] is False
    # With a 60 s lease, b finishing soon means a's hosts came back when it left.
    assert finish(b, timeout=30) == 0, stderr(tmp_path, "b")
    both = records(tmp_path, "a") + records(tmp_path, "b")
    assert {r["url"] for r in both if r["worker"] is not None} == site.expected


def test_two_machines_with_a_plugin(
    tmp_path: Path,
    start_crawler: StartCrawler,
    site_process: Callable[..., SiteProcess],
    redis_url: str,
) -> None:
    # A page whose plugin runs has its request over but its record (and links) to come:
    # the crawl must not look finished meanwhile.
    (tmp_path / "slowplugin.py").write_text(
        "import time\n\ndef extract(page):\n    time.sleep(0.02)\n    return {'n': 1}\n"
    )
    site = Site(site_process, tmp_path, SiteConfig(pages=60, links=5, hosts=2, latency_ms=5))
    plugin = ("--plugin", "slowplugin:extract")
    a = machine(start_crawler, tmp_path, "a", site, redis_url, *plugin)
    b = machine(start_crawler, tmp_path, "b", site, redis_url, *plugin)
    assert finish(a) == 0, stderr(tmp_path, "a")
    assert finish(b) == 0, stderr(tmp_path, "b")
    both = records(tmp_path, "a") + records(tmp_path, "b")
    assert {r["url"] for r in both if r["worker"] is not None} == site.expected
    assert all(r["data"] == {"n": 1} for r in both if r["status"] == 200)

"""What one page of a cluster crawl costs Redis: commands, round trips, server CPU.

    .venv/bin/python -m scripts.bench_redis_mix [--pages 20000] [--procs 1 2] [--redis-benchmark]

Starts its own redis-server (scripts/redis_proc.py) and drives crawler/redis_frontier.py
and crawler/cluster_records.py the way a coordinator does (crawler/coordinator.py,
crawler/answers.py), without fetching anything: each loop turn takes up to `--turn`
tasks (`take`), and for each page records it, ends its request (`finish`), files its
`--links` links (`add`: `--new` of them new, the rest seen before, the way most links of
a crawl are) and marks its out-of-scope links (`mark_seen`); then, as every turn does,
asks `queued` twice and `wait_s` once and flushes the records and stats. `--procs N`
runs N such coordinators at once, on `--hosts` hosts each, shared: any coordinator
takes any host that no other holds.

Reports per page, from INFO commandstats and INFO cpu around the run: round trips
(commands the clients sent), commands run inside the scripts, Redis CPU (user + sys of
the server), and pages/s with the server's share of one CPU. With `--redis-benchmark`
it also runs redis-benchmark (it ships with redis-server) on the same server: plain
commands, and EVALSHA of the frontier's `add` script with 10 fresh links a call.
"""

from __future__ import annotations

import argparse
import multiprocessing
import random
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

from crawler.cluster_records import ClusterRecords
from crawler.frontier import Task
from crawler.records import Stats, iso_time
from crawler.redis_frontier import _ADD, _COMMON, RedisFrontier
from scripts.redis_proc import RedisProcess

CRAWL = "benchmix0001"
OUT_OF_SCOPE_PER_PAGE = 3  # links to other sites, marked seen
IDLE_WAIT_S = 0.001
IDLE_FEED = 100


def page_record(url: str, links: list[str], n: int, machine: str) -> dict[str, Any]:
    return {
        "url": url, "final_url": url, "redirects": [], "depth": 1, "referrer": None,
        "status": 200, "content_type": "text/html", "title": f"Page {n}", "links": links,
        "bytes": 5000, "elapsed_ms": 12.5, "fetched_at": iso_time(1_795_831_200.0 + n),
        "retries": 0, "worker": n % 8, "error": None, "machine": machine,
    }  # fmt: skip


def drive(
    url: str, owner: int, pages: int, links: int, new: int, hosts: int, turn: int, local: bool
) -> int:
    """One coordinator's traffic for `pages` pages; returns the pages it made.

    `local`: model a seen cache in the coordinator in front of Redis (not built): links
    it has already sent to Redis, which are therefore in the shared seen set, are not
    sent again.
    """
    client = redis.Redis.from_url(url, socket_timeout=600)
    machine = f"bench-{owner}:{owner}"
    frontier = RedisFrontier(client, crawl=CRAWL, owner=machine, delay_s=0.0, per_host=8)
    records = ClusterRecords(client, CRAWL, machine)
    rng = random.Random(owner)
    # Hosts are shared: any coordinator may take any host nobody holds (leases decide).
    host_names = [f"h{h}.test" for h in range(hosts)]
    made: list[str] = []
    sent: set[str] = set()
    counter = 0

    def fresh() -> str:
        nonlocal counter
        counter += 1
        return f"http://{rng.choice(host_names)}/p/{counter}?from={owner}"

    frontier.add([Task(url=fresh(), depth=0) for _ in range(turn * 2)])
    stats = Stats()
    done = idle = 0
    started = time.time()
    while done < pages:
        tasks = frontier.take(turn)
        if not tasks:
            # A turn with nothing to start: the status calls, then a short wait (the
            # coordinator waits for wait_s, or for a worker's answer).
            frontier.queued()
            frontier.queued()
            frontier.wait_s()
            idle += 1
            if idle % IDLE_FEED == 0:  # the others hold every host with work: find more
                frontier.add([Task(url=fresh(), depth=1)])
            time.sleep(IDLE_WAIT_S)
            continue
        for task in tasks:
            page_links = [fresh() for _ in range(new)]
            page_links += rng.choices(made, k=links - new) if made else []
            made.extend(page_links[:new])
            record = page_record(task.url, page_links, done, machine)
            records.add(record)
            stats.add(record)
            frontier.finish(task.host)
            if local:
                page_links = [link for link in page_links if link not in sent]
                sent.update(page_links)
            frontier.add([Task(url=link, depth=task.depth + 1) for link in page_links])
            away = [f"http://elsewhere-{rng.randrange(10**6)}.test/" for _ in range(3)]
            frontier.mark_seen(away)
            done += 1
        frontier.queued()
        frontier.queued()
        frontier.wait_s()
        records.flush(stats, started_at=started, finished_at=None, complete=False)
    client.close()
    return done


def _drive(args: tuple[str, int, int, int, int, int, int, bool]) -> int:
    return drive(*args)


def server_cpu_s(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def commandstats(client: redis.Redis) -> dict[str, int]:
    return {
        name.removeprefix("cmdstat_"): int(fields["calls"])
        for name, fields in client.info("commandstats").items()
    }


def run_mix(server: RedisProcess, args: argparse.Namespace, procs: int) -> None:
    client = redis.Redis.from_url(server.url, socket_timeout=600)
    client.flushall()
    client.config_resetstat()
    cpu = server_cpu_s(client)
    started = time.perf_counter()
    jobs = [
        (
            server.url,
            owner,
            args.pages // procs,
            args.links,
            args.new,
            args.hosts * procs,
            args.turn,
            args.local_seen,
        )
        for owner in range(procs)
    ]
    with multiprocessing.get_context("spawn").Pool(procs) as pool:
        pages = sum(pool.map(_drive, jobs))
    wall = time.perf_counter() - started
    cpu = server_cpu_s(client) - cpu
    calls = commandstats(client)
    client.close()
    sent = sum(calls.pop(name, 0) for name in ("evalsha", "eval", "script|load"))
    calls.pop("info", None)
    calls.pop("config|resetstat", None)
    inside = sum(calls.values())
    top = ", ".join(
        f"{name} {n / pages:.1f}" for name, n in sorted(calls.items(), key=lambda kv: -kv[1])[:8]
    )
    print(
        f"| {procs} | {pages:,} | {sent / pages:.2f} | {inside / pages:.1f} | "
        f"{cpu / pages * 1e6:.0f} | {pages / wall:.0f} | {cpu / wall * 100:.0f} % | {top} |"
    )


def run_redis_benchmark(server: RedisProcess) -> None:
    tool = shutil.which("redis-benchmark")
    if tool is None:
        print("redis-benchmark not found (it ships with redis-server)")
        return
    port = str(server.port)
    base = [tool, "-h", "127.0.0.1", "-p", port, "-q", "-c", "50"]
    for pipeline in ("1", "16"):
        print(f"\nredis-benchmark -c 50 -P {pipeline} -n 200000 (requests per second):")
        out = subprocess.run(
            [*base, "-P", pipeline, "-n", "200000", "-t", "ping,set,get,hset,lpush,lpop,zadd"],
            capture_output=True, text=True, check=True, timeout=600,
        ).stdout  # fmt: skip
        for line in out.replace("\r", "\n").splitlines():
            if "requests per second" in line:
                print("   ", line.strip())
    client = redis.Redis.from_url(server.url)
    sha = client.script_load(_COMMON + _ADD)
    client.close()
    # ARGV as RedisFrontier.add sends it: prefix, clock, owner, lease, per_host, delay,
    # front, then (bucket, field, host, robots flag, task) per link; each __rand_int__
    # is a fresh random number, so nearly every link is new (the dearest case: queued).
    task = '["http://x.test/__rand_int__",1,null,null,[],0,0,false,null,null,false,0]'
    links = ["__rand_int__", "__rand_int__", "h__rand_int__.test", "0", task] * 10
    command = ["evalsha", sha, "0", f"crawler:{CRAWL}:", "", "o", "30", "8", "0.0", "0", *links]
    for pipeline in ("1", "16"):
        out = subprocess.run(
            [*base, "-P", pipeline, "-n", "50000", "-r", "100000000", *command],
            capture_output=True, text=True, check=True, timeout=600,
        ).stdout  # fmt: skip
        rates = re.findall(r"([0-9.]+) requests per second", out)
        print(f"\nEVALSHA add, 10 new links a call, -c 50 -P {pipeline}: {rates[-1]} calls/s")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=20_000)
    parser.add_argument("--procs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--links", type=int, default=50, help="links per page")
    parser.add_argument("--new", type=int, default=2, help="of them new")
    parser.add_argument("--hosts", type=int, default=200, help="per coordinator")
    parser.add_argument("--turn", type=int, default=8, help="pages per loop turn")
    parser.add_argument(
        "--local-seen", action="store_true", help="model a seen cache in each coordinator"
    )
    parser.add_argument("--redis-benchmark", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-redis-mix-") as tmp:
        with RedisProcess(Path(tmp)) as server:
            client = redis.Redis.from_url(server.url)
            version = client.info("server")["redis_version"]
            client.close()
            print(
                f"Redis {version}; {args.links} links a page ({args.new} new), "
                f"{OUT_OF_SCOPE_PER_PAGE} out of scope, {args.turn} pages a turn, "
                f"{args.hosts} hosts a coordinator"
                f"{', a local seen cache (model)' if args.local_seen else ''}\n"
            )
            print(
                "| coordinators | pages | round trips/page | commands in scripts/page "
                "| Redis CPU µs/page | pages/s | Redis CPU | commands/page inside |"
            )
            print("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
            for procs in args.procs:
                run_mix(server, args, procs)
            if args.redis_benchmark:
                run_redis_benchmark(server)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

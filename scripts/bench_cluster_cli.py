"""A real cluster crawl's cost to Redis, end to end: the CLI on N "machines", then the export.

    .venv/bin/python -m scripts.bench_cluster_cli [--machines 2] [--pages 2000] [--checkout DIR]

Starts a redis-server (scripts/redis_proc.py) and the synthetic site (scripts/site.py,
on loopback), runs `python -m crawler --frontier redis://… --crawl NAME` `--machines`
times at once (each a coordinator with its workers: a "machine" of the crawl), waits
for all of them, then runs `python -m crawler.export` and checks its document: every
page of the site's ground truth once, records from every machine. Reports from INFO
commandstats and INFO cpu around the crawl: Redis round trips (commands the clients
sent) and commands inside scripts per page record, Redis CPU per record, pages/s.
`--checkout` runs another checkout's crawler (the export is always this one's).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

import redis

from scripts.redis_proc import RedisProcess
from scripts.site import SiteConfig, SiteServer, expected_urls

ROOT = Path(__file__).resolve().parents[1]
CRAWL = "benchcli0001"
TIMEOUT_S = 600
# A depth limit that binds makes a cluster crawl's pages differ from the ground truth
# (breadth-first only approximately: docs/contract.md); this one never binds here.
NO_DEPTH_LIMIT = 1000


def server_cpu_s(client: redis.Redis) -> float:
    info = client.info("cpu")
    return float(info["used_cpu_user"]) + float(info["used_cpu_sys"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--machines", type=int, default=2)
    parser.add_argument("--pages", type=int, default=2000)
    parser.add_argument("--links", type=int, default=10)
    parser.add_argument("--hosts", type=int, default=4)
    parser.add_argument("--procs", type=int, default=1, help="worker processes a machine")
    parser.add_argument("--threads", type=int, default=8)
    parser.add_argument("--checkout", type=Path, default=ROOT)
    args = parser.parse_args()
    cfg = SiteConfig(pages=args.pages, links=args.links, hosts=args.hosts)
    with tempfile.TemporaryDirectory(prefix="bench-cluster-cli-") as tmp_name:
        tmp = Path(tmp_name)
        with RedisProcess(tmp / "redis") as server, SiteServer(cfg) as site:
            client = redis.Redis.from_url(server.url)
            expected = expected_urls(cfg, site.base_urls)
            client.config_resetstat()
            cpu = server_cpu_s(client)
            memory = int(client.info("memory")["used_memory"])
            env = {**os.environ, "PYTHONPATH": str(args.checkout)}
            crawl = [
                sys.executable, "-m", "crawler", *site.base_urls,
                "--frontier", server.url, "--crawl", CRAWL, "--no-progress",
                "--procs", str(args.procs), "--threads", str(args.threads),
                "--max-depth", str(NO_DEPTH_LIMIT),
            ]  # fmt: skip
            started = time.perf_counter()
            machines = [
                subprocess.Popen(
                    [*crawl, "--out", str(tmp / f"out-{n}.json")],
                    cwd=tmp,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.PIPE,
                    text=True,
                )  # fmt: skip
                for n in range(args.machines)
            ]
            for proc in machines:
                _, err = proc.communicate(timeout=TIMEOUT_S)
                if proc.returncode != 0:
                    raise SystemExit(f"a machine exited {proc.returncode}: {err[-2000:]}")
            wall = time.perf_counter() - started
            cpu = server_cpu_s(client) - cpu
            calls = {
                name.removeprefix("cmdstat_"): int(fields["calls"])
                for name, fields in client.info("commandstats").items()
            }
            memory = int(client.info("memory")["used_memory"]) - memory
            client.close()
            export = subprocess.run(
                [sys.executable, "-m", "crawler.export", "--frontier", server.url,
                 "--crawl", CRAWL, "--out", str(tmp / "all.json")],
                env={**os.environ, "PYTHONPATH": str(ROOT)},
                capture_output=True, text=True, timeout=TIMEOUT_S, check=False,
            )  # fmt: skip
            if export.returncode != 0:
                raise SystemExit(f"export failed: {export.stderr}")
            doc = json.loads((tmp / "all.json").read_text())
    urls = [page["url"] for page in doc["pages"]]
    per_machine = Counter(page.get("machine") for page in doc["pages"])
    records = len(urls)
    problems = []
    if set(urls) != expected or len(set(urls)) != records:
        problems.append(f"{records} records, {len(set(urls))} URLs, {len(expected)} expected")
    if doc["stats"]["pages"] != records or not doc["complete"]:
        problems.append(f"stats.pages {doc['stats']['pages']}, complete {doc['complete']}")
    sent = sum(calls.pop(name, 0) for name in ("evalsha", "eval", "script|load"))
    others = {k: v for k, v in calls.items() if k not in ("info", "config|resetstat")}
    print(
        f"{args.machines} machines × --procs {args.procs} --threads {args.threads}, site of "
        f"{args.pages} pages × {args.links} links on {args.hosts} hosts: {records} records "
        f"{dict(per_machine)} in {wall:.1f} s ({records / wall:.0f} pages/s)"
    )
    print(f"EVALSHA a record: {sent / records:.2f}; all client commands and inside scripts:")
    print("  " + ", ".join(f"{k} {v / records:.2f}" for k, v in sorted(others.items())))
    print(f"Redis CPU: {cpu / records * 1e6:.0f} µs a record ({cpu / wall * 100:.0f} % of a CPU)")
    print(f"Redis used_memory grew {memory / records:.0f} B a record (all of the crawl's keys)")
    print("export: " + ("the whole crawl, each page once" if not problems else "; ".join(problems)))
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Micro-benchmark of a cluster crawl's records in Redis: bytes per record, flush cost.

    .venv/bin/python -m scripts.bench_cluster_records [--records 20000] [--links 10 50]

Starts its own redis-server (scripts/redis_proc.py) and stores page records the way a
machine of a cluster crawl does (crawler/cluster_records.py: one compressed batch per
flush, the machine's state beside it), for several sizes of a flush (records per
coordinator loop turn: 1 when the crawl is slow, tens when it is busy). The records are
the synthetic site's ground truth (scripts/site.py) with `--links` links per page,
dressed as the crawler writes them (times, sizes, worker, machine). Reports, per record:
its JSON, its share of a packed batch, the growth of `used_memory` and of the records
list's MEMORY USAGE, and the client's CPU to pack and send it. Then it exports the
records back (crawler/cluster_records.py's reader) and checks they are the same.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import redis

from crawler.cluster_format import pack_batch
from crawler.cluster_records import ClusterRecords, crawl_key, iter_records, read_states
from crawler.output import dumps
from crawler.records import Stats, iso_time
from scripts.redis_proc import RedisProcess
from scripts.site import SiteConfig, expected_records, make_base_urls

HOSTS = 4
MACHINE = "crawler-node-07.example.internal:123456"
FLUSH_SIZES = (1, 8, 64)
COLUMNS = (
    "links/page", "link paths", "records/flush", "JSON B", "packed B",
    "used_memory B", "MEMORY USAGE B", "client CPU µs",
)  # fmt: skip


def noisy(url: str) -> str:
    """A link with 64 random-looking bits in its path, as real sites' slugs and ids are:
    the synthetic site's /p/N links compress far better than the web's."""
    return f"{url.rstrip('/')}/{hashlib.blake2b(url.encode(), digest_size=8).hexdigest()}"


def records(count: int, links: int, *, noise: bool = False) -> list[dict[str, Any]]:
    """`count` page records of the synthetic site, as a crawl would write them."""
    pages = max(count, 10)
    bases = make_base_urls(HOSTS, 8000)
    truth = list(
        expected_records(SiteConfig(pages=pages, links=links, hosts=HOSTS), bases).values()
    )
    out: list[dict[str, Any]] = []
    for n, rec in enumerate(truth[:count]):
        out.append(
            {
                "url": rec.url,
                "final_url": rec.final_url,
                "redirects": list(rec.redirects),
                "depth": rec.depth,
                "referrer": None if rec.depth == 0 else bases[n % HOSTS],
                "status": rec.status,
                "content_type": "text/html",
                "title": rec.title,
                "links": [noisy(link) for link in rec.links] if noise else list(rec.links),
                "bytes": 4000 + 37 * n % 9000,
                "elapsed_ms": round(1.0 + (n * 7919 % 5000) / 1000, 3),
                "fetched_at": iso_time(1_795_831_200.0 + n * 0.0137),
                "retries": 0,
                "worker": n % 8,
                "error": None,
                "machine": MACHINE,
            }
        )
    return out


def measure(
    client: redis.Redis, recs: list[dict[str, Any]], per_flush: int, crawl: str
) -> dict[str, float]:
    cluster = ClusterRecords(client, crawl, MACHINE)
    stats = Stats()
    key = crawl_key(crawl, f"records:{MACHINE}")
    before = int(client.info("memory")["used_memory"])
    cpu = time.process_time()
    for start in range(0, len(recs), per_flush):
        for rec in recs[start : start + per_flush]:
            cluster.add(rec)
            stats.add(rec)
        cluster.flush(stats, started_at=1.0, finished_at=None, complete=False)
    cpu = time.process_time() - cpu
    after = int(client.info("memory")["used_memory"])
    usage = int(client.memory_usage(key, samples=0) or 0)
    (state,) = read_states(client.hgetall(crawl_key(crawl, "machines")))  # type: ignore[arg-type]
    back = [json.loads(line) for line in iter_records(client, crawl, state)]
    if back != recs:
        raise SystemExit("the records read back differ from those stored")
    packed = sum(
        len(pack_batch([dumps(r) for r in recs[s : s + per_flush]]))
        for s in range(0, len(recs), per_flush)
    )
    n = len(recs)
    return {
        "json": sum(len(dumps(r).encode()) for r in recs) / n,
        "packed": packed / n,
        "used_memory": (after - before) / n,
        "memory_usage": usage / n,
        "cpu_us": cpu / n * 1e6,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000)
    parser.add_argument("--links", type=int, nargs="+", default=[10, 50])
    parser.add_argument(
        "--noisy", action="store_true", help="also with 64 random-looking bits in each link"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-cluster-records-") as tmp:
        with RedisProcess(Path(tmp)) as server:
            client = redis.Redis.from_url(server.url, socket_timeout=600)
            version = client.info("server")["redis_version"]
            print(f"Redis {version}, {args.records:,} records a row, machine {MACHINE!r}\n")
            print("| " + " | ".join(COLUMNS) + " |")
            print("| ---: | --- |" + " ---: |" * (len(COLUMNS) - 2))
            for links in args.links:
                for noise in (False, True) if args.noisy else (False,):
                    recs = records(args.records, links, noise=noise)
                    for per_flush in FLUSH_SIZES:
                        crawl = f"bench{links}x{per_flush}{'n' if noise else ''}"
                        m = measure(client, recs, per_flush, crawl)
                        row = [str(links), "+64 bits" if noise else "/p/N", str(per_flush)]
                        row += [f"{m[k]:.0f}" for k in ("json", "packed")]
                        row += [f"{m[k]:.0f}" for k in ("used_memory", "memory_usage")]
                        row.append(f"{m['cpu_us']:.1f}")
                        print("| " + " | ".join(row) + " |")
            client.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Micro-benchmark of the seen set in Redis: memory per URL, wrong "seen" answers, encodings.

    .venv/bin/python -m scripts.bench_seen_redis [--urls 10000000]

Starts its own redis-server (scripts/redis_proc.py: loopback, no snapshot, no AOF, in a
temporary directory) and files N distinct canonical-looking URLs (scripts/bench_seen.py's)
into a seen set laid out as crawler/redis_frontier.py's: one small hash per bucket of
`seen_slot(url)`, key `crawler:<crawl>:seen:<bucket>`, field the 8 raw bytes, value empty,
added with HSETNX (check and add in one step) by a Lua script per batch of URLs, a few
batches per pipeline. Then it offers N other URLs that were never added to a read-only
script (HEXISTS), and reports:

- the growth of `used_memory` (INFO memory) per URL inserted;
- wrong answers: an insert answered "already seen", or a never-added URL found;
- every bucket's encoding (OBJECT ENCODING; a small hash should stay a listpack) and the
  largest bucket, by asking each of the 2**SEEN_BUCKET_BITS keys;
- the chance that any two of the N URLs share a slot: n**2 / 2**(bits + 1).

The target: <= 32 bytes per URL at 10 million, no wrong answer, every bucket a listpack
(the exit code is 1 when any is missed). A small count misses the first: with fewer URLs
than buckets most buckets hold one URL, so each key's own overhead counts per URL.
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import redis

from crawler.frontier import SEEN_BUCKET_BITS, SEEN_FIELD_BYTES, seen_slot
from crawler.redis_frontier import KEY_PREFIX
from scripts.bench_seen import url
from scripts.redis_proc import RedisProcess

BATCH = 1000  # URLs per script call: like a page's links, one call per page
PIPELINE = 4  # script calls per round trip
SCAN_CHUNK = 10_000  # buckets asked about per pipeline when counting and checking them
TARGET_BYTES_PER_URL = 32
# A derived crawl name is 12 hex digits; the key's length is part of the cost.
CRAWL = hashlib.sha256(b"bench_seen_redis").hexdigest()[:12]

# ARGV[1]: the key prefix, then (bucket, field) per URL; 1 = added, 0 = already seen.
_ADD = """
local added = {}
for i = 2, #ARGV, 2 do
  added[#added + 1] = redis.call('HSETNX', ARGV[1] .. ARGV[i], ARGV[i + 1], '')
end
return added
"""
# The same arguments; 1 = seen, 0 = not: a lookup that adds nothing.
_CONTAINS = """
local seen = {}
for i = 2, #ARGV, 2 do
  seen[#seen + 1] = redis.call('HEXISTS', ARGV[1] .. ARGV[i], ARGV[i + 1])
end
return seen
"""


def batches(count: int, kind: str) -> Iterator[list[str | bytes | int]]:
    """Script arguments after the prefix, BATCH URLs of `kind` each: bucket, field, ..."""
    for start in range(0, count, BATCH):
        args: list[str | bytes | int] = []
        for n in range(start, min(start + BATCH, count)):
            args += seen_slot(url(n, kind))
        yield args


def offer(client: redis.Redis, script: str, count: int, kind: str, prefix: str) -> list[int]:
    """Run `script` (its SHA) over `count` URLs of `kind`, PIPELINE calls per round trip;
    how many URLs got each answer: [answered 0, answered 1]."""
    answers = [0, 0]
    pipe = client.pipeline(transaction=False)
    for number, args in enumerate(batches(count, kind), start=1):
        pipe.evalsha(script, 0, prefix, *args)
        if number % PIPELINE == 0:
            _count(pipe.execute(), answers)
    _count(pipe.execute(), answers)
    return answers


def _count(replies: list[list[int]], answers: list[int]) -> None:
    for reply in replies:
        ones = sum(reply)
        answers[1] += ones
        answers[0] += len(reply) - ones


def buckets(client: redis.Redis, prefix: str) -> tuple[Counter[int], Counter[str]]:
    """Every bucket's size (0 for no key) and the encodings of those that exist."""
    sizes: Counter[int] = Counter()
    encodings: Counter[str] = Counter()
    for start in range(0, 2**SEEN_BUCKET_BITS, SCAN_CHUNK):
        pipe = client.pipeline(transaction=False)
        keys = [f"{prefix}{b}" for b in range(start, min(start + SCAN_CHUNK, 2**SEEN_BUCKET_BITS))]
        for key in keys:
            pipe.hlen(key)
            pipe.object("ENCODING", key)
        replies = pipe.execute()
        sizes.update(replies[0::2])
        encodings.update(e.decode() if isinstance(e, bytes) else str(e) for e in replies[1::2])
    encodings.pop("None", None)  # buckets no URL fell into
    return sizes, encodings


def used_memory(client: redis.Redis) -> tuple[int, int]:
    info = client.info("memory")
    return int(info["used_memory"]), int(info["used_memory_rss"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=10_000_000)
    args = parser.parse_args()
    prefix = f"{KEY_PREFIX}{CRAWL}:seen:"
    with tempfile.TemporaryDirectory(prefix="bench-seen-redis-") as tmp:
        with RedisProcess(Path(tmp)) as server:
            client = redis.Redis.from_url(server.url, socket_timeout=600)
            version = client.info("server")["redis_version"]
            add, contains = client.script_load(_ADD), client.script_load(_CONTAINS)
            base, base_rss = used_memory(client)
            started = time.perf_counter()
            seen_on_insert = offer(client, add, args.urls, "a", prefix)[0]
            insert_s = time.perf_counter() - started
            after, after_rss = used_memory(client)
            held, held_rss = after - base, after_rss - base_rss
            started = time.perf_counter()
            found_on_probe = offer(client, contains, args.urls, "b", prefix)[1]
            probe_s = time.perf_counter() - started
            sizes, encodings = buckets(client, prefix)
            client.close()
    bits = SEEN_BUCKET_BITS + 8 * SEEN_FIELD_BYTES
    per_url = held / args.urls
    wrong = seen_on_insert + found_on_probe
    used = 2**SEEN_BUCKET_BITS - sizes[0]
    print(
        f"Redis {version}, URLs: {args.urls:,}, {BATCH} per script call, {PIPELINE} per round trip"
    )
    print(
        f"used_memory grew: {per_url:.1f} bytes per URL"
        f" ({held / 2**20:.0f} MiB; RSS {held_rss / 2**20:.0f} MiB)"
    )
    print(
        f"wrongly seen:     {wrong} of {2 * args.urls:,} distinct URLs offered"
        f" ({seen_on_insert} while inserting, {found_on_probe} of the never-added ones)"
    )
    print(f"encodings:        {dict(encodings)} (of {used:,} buckets holding a URL)")
    print(f"bucket size:      max {max(sizes)}, mean {args.urls / max(used, 1):.2f} of those used")
    print(f"collision chance: n²/2^{bits + 1} = {args.urls**2 / 2 ** (bits + 1):.1e} ({bits} bits)")
    per = 1e6 / max(args.urls, 1)
    print(f"insert / probe:   {insert_s * per:.2f} / {probe_s * per:.2f} µs per URL")
    only_listpack = set(encodings) <= {"listpack"}
    return 0 if per_url <= TARGET_BYTES_PER_URL and wrong == 0 and only_listpack else 1


if __name__ == "__main__":
    raise SystemExit(main())

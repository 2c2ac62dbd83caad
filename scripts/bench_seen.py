"""Micro-benchmark of the frontier's seen set: memory per URL and wrong "seen" answers.

    .venv/bin/python -m scripts.bench_seen [--urls 10000000]

Inserts N distinct canonical-looking URLs into MemoryFrontier's seen set, reports the
bytes it holds per URL (tracemalloc, so only what the seen set allocated), then asks
about N other URLs that were never added and counts how many it wrongly calls seen.
No network. Target (issue 4): <= 100 bytes per URL at 10 million, at most one wrong
answer in 10 million.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

from crawler.frontier import MemoryFrontier


def url(n: int, kind: str) -> str:
    return f"https://www.example-{n % 997}.com/{kind}/section-{n % 101}/page-{n}?id={n}&s=x"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=10_000_000)
    args = parser.parse_args()
    frontier = MemoryFrontier(delay_s=0, per_host=8)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    for n in range(args.urls):
        frontier.mark_seen(url(n, "a"))
    insert_s = time.perf_counter() - started
    held = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    started = time.perf_counter()
    wrong = sum(frontier.is_seen(url(n, "b")) for n in range(args.urls))
    probe_s = time.perf_counter() - started
    print(f"URLs:             {args.urls:,}")
    print(f"seen set holds:   {held / args.urls:.1f} bytes per URL ({held / 2**20:.0f} MiB)")
    print(f"wrongly seen:     {wrong} of {args.urls:,} never-added URLs")
    per = 1e6 / args.urls
    print(f"insert / lookup:  {insert_s * per:.2f} / {probe_s * per:.2f} µs")
    return 0 if held / args.urls <= 100 and wrong * 10_000_000 <= args.urls else 1


if __name__ == "__main__":
    raise SystemExit(main())

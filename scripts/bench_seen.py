"""Micro-benchmark of the frontier's seen set: memory per URL and wrong "seen" answers.

    .venv/bin/python -m scripts.bench_seen [--urls 10000000]

Inserts N distinct canonical-looking URLs into MemoryFrontier's seen set, in batches as
the coordinator does (`mark_seen(urls)`), and reports the bytes it holds per URL
(tracemalloc, so only what the seen set kept: each batch's lists are freed by then).
Then it offers N other URLs that were never added and counts how many it wrongly calls
seen. There is no read-only lookup, so those are added too: a probe may also collide
with an earlier probe, which makes the count an upper bound. No network.

The target: <= 100 bytes per URL at 10 million, at most one wrong answer in 10 million
(the exit code is 1 when either is missed). A small count may miss the first: a
set's table grows in steps, so its bytes per URL only settle at millions.
"""

from __future__ import annotations

import argparse
import time
import tracemalloc

from crawler.memory_frontier import MemoryFrontier

BATCH = 1000  # URLs per call: like a page's links, and small beside the seen set


def url(n: int, kind: str) -> str:
    return f"https://www.example-{n % 997}.com/{kind}/section-{n % 101}/page-{n}?id={n}&s=x"


def offer(frontier: MemoryFrontier, count: int, kind: str) -> int:
    """Mark `count` distinct URLs of `kind` seen, BATCH per call; how many were called
    seen already (each is a wrong answer: these URLs were never offered before)."""
    wrong = 0
    for start in range(0, count, BATCH):
        batch = [url(n, kind) for n in range(start, min(start + BATCH, count))]
        wrong += frontier.mark_seen(batch).count(False)
    return wrong


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=10_000_000)
    args = parser.parse_args()
    frontier = MemoryFrontier(delay_s=0, per_host=1, clock=time.monotonic)
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    started = time.perf_counter()
    wrong_insert = offer(frontier, args.urls, "a")
    insert_s = time.perf_counter() - started
    held = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    started = time.perf_counter()
    wrong_probe = offer(frontier, args.urls, "b")
    probe_s = time.perf_counter() - started
    wrong = wrong_insert + wrong_probe
    print(f"URLs:             {args.urls:,}, {BATCH} per call")
    print(f"seen set holds:   {held / args.urls:.1f} bytes per URL ({held / 2**20:.0f} MiB)")
    print(
        f"wrongly seen:     {wrong} of {2 * args.urls:,} distinct URLs offered"
        f" ({wrong_insert} while inserting, {wrong_probe} of the never-added ones)"
    )
    per = 1e6 / args.urls
    # The insert runs under tracemalloc, which slows every allocation: compare probes.
    print(f"insert / probe:   {insert_s * per:.2f} / {probe_s * per:.2f} µs per URL")
    return 0 if held / args.urls <= 100 and wrong * 10_000_000 <= 2 * args.urls else 1


if __name__ == "__main__":
    raise SystemExit(main())

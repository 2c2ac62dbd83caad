"""The latency scenario's ceiling: plain requests on the same server, nothing else.

    python -m scripts.bench_ceiling --base URL --targets FILE --out FEED [--procs 2] [--threads 8]

Fetches every request target listed in FILE (one per line: the site's ground truth) from
BASE with PROCS processes of THREADS threads, each thread with its own keep-alive
requests.Session, one request after another as fast as the server answers: no parsing, no
links, no robots.txt, no coordinator. A crawler built on requests with the same number of
connections cannot beat this, so the bench (scripts/bench/) reports the crawler against
it. Writes a JSON list of {"url", "status"} (the feed the bench checks for coverage).
"""

from __future__ import annotations

import argparse
import json
import sys
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import requests

TIMEOUT_S = 30.0


def fetch_all(base: str, targets: Sequence[str], threads: int) -> list[tuple[str, int]]:
    """GET every target on `threads` threads; (url, status) in no particular order."""
    todo = list(reversed(targets))
    lock = threading.Lock()
    done: list[tuple[str, int]] = []

    def run() -> None:
        with requests.Session() as session:
            while True:
                with lock:
                    if not todo:
                        return
                    url = base.rstrip("/") + todo.pop()
                # Redirects are answers of their own here, as in the crawler.
                response = session.get(url, allow_redirects=False, timeout=TIMEOUT_S)
                status = response.status_code  # .status_code after the body is read
                with lock:
                    done.append((url, status))

    pool = [threading.Thread(target=run) for _ in range(threads)]
    for thread in pool:
        thread.start()
    for thread in pool:
        thread.join()
    return done


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True)
    parser.add_argument("--targets", type=Path, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args(argv)
    targets = args.targets.read_text(encoding="utf-8").split()
    # Interleaved shares: each process gets the same mix of pages and redirects.
    shares = [targets[n :: args.procs] for n in range(args.procs)]
    with ProcessPoolExecutor(args.procs) as pool:
        futures = [pool.submit(fetch_all, args.base, share, args.threads) for share in shares]
        fetched = [item for future in futures for item in future.result()]
    feed = [{"url": url, "status": status} for url, status in fetched]
    args.out.write_text(json.dumps(feed), encoding="utf-8")
    failed = sum(1 for _, status in fetched if status >= 500)
    if failed:
        print(f"bench_ceiling: {failed} answers were 5xx", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Memory over a crawl: summed PSS of the crawler's process tree, sampled as it runs.

    .venv/bin/python -m scripts.memory_profile [--pages 50000] [--procs 2] [--threads 8]

Serves the synthetic site (python -m scripts.site) and crawls all of it with the real
CLI, sampling the proportional set size (PSS, /proc/PID/smaps_rollup) of the
coordinator and every descendant (forkserver, workers) every half second, and the
number of records so far (lines of --jsonl). Prints the curve at each tenth of the
crawl. The aim: memory that stays flat after warm-up, bounded by the crawler's queues
and caches rather than growing with the pages crawled.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from scripts.proctree import descendants, read_pss_kb

ROOT = Path(__file__).resolve().parent.parent


def count_lines(path: Path) -> int:
    try:
        with open(path, "rb") as fh:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
    except FileNotFoundError:
        return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=50_000)
    parser.add_argument("--procs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=8)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="crawler-mem-"))
    site_cmd = [sys.executable, "-m", "scripts.site", "--pages", str(args.pages)]
    site_cmd += ["--links", "10", "--expected", str(work / "expected.txt")]
    site = subprocess.Popen(site_cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert site.stdout is not None
        base = site.stdout.readline().strip()
        expected = len((work / "expected.txt").read_text(encoding="utf-8").split())
        jsonl = work / "pages.jsonl"
        cmd = [sys.executable, "-m", "crawler", "--seed", base, "--procs", str(args.procs)]
        cmd += ["--threads", str(args.threads), "--max-depth", "1000", "--no-progress"]
        cmd += ["--out", str(work / "out.json"), "--jsonl", str(jsonl), "--log-level", "WARNING"]
        started = time.monotonic()
        crawler = subprocess.Popen(cmd, cwd=ROOT)
        samples: list[tuple[float, int, int, int]] = []
        while crawler.poll() is None:
            coordinator = read_pss_kb(crawler.pid)
            others = sum(map(read_pss_kb, descendants(crawler.pid)))
            samples.append(
                (time.monotonic() - started, count_lines(jsonl), coordinator + others, coordinator)
            )
            time.sleep(0.5)
        elapsed = time.monotonic() - started
    finally:
        site.terminate()
        site.wait(10)
    records = count_lines(jsonl)
    print(f"{records} records of {expected} expected in {elapsed:.1f} s, --procs {args.procs}")
    # The coordinator apart from the rest (forkserver, workers): which side grows.
    print("progress   records   summed PSS   coordinator   the rest")
    # Up to 90 %: once every record is in, the workers exit and the sum drops.
    for tenth in range(1, 10):
        goal = records * tenth // 10
        sample = next((s for s in samples if s[1] >= goal), samples[-1])
        whole_mib, coordinator_mib = sample[2] / 1024, sample[3] / 1024
        print(
            f"{tenth * 10:>7} %  {sample[1]:>8}   {whole_mib:6.1f} MiB   {coordinator_mib:7.1f} MiB"
            f"   {whole_mib - coordinator_mib:6.1f} MiB"
        )
    warm = [s[2] for s in samples if records // 10 <= s[1] < records]
    if warm:
        print(
            f"after warm-up (10 %): min {min(warm) / 1024:.1f} MiB, max {max(warm) / 1024:.1f} MiB"
        )
    return 0 if records == expected else 1


if __name__ == "__main__":
    raise SystemExit(main())

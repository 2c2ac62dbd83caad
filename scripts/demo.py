"""The demo: serve the synthetic site (with sitemaps), crawl it with --procs 4 --threads 8,
--sitemaps, --warc and --report, summarise (crawler.summary, as `crawler-summary
demo-out/out.json` prints it), check the WARC files with `warcio check` and print where
the HTML report is (demo-out/report.html).

Run through scripts/demo.sh, which sets up the virtualenv first. The site runs as its
own process (python -m scripts.site), started here and stopped here by PID; the crawl
is the real CLI. Output goes to demo-out/ (out.json, report.html, warc/, seeds.txt,
expected.txt).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from crawler.summary import summarize, to_text
from scripts.warc_check import warcio_check

ROOT = Path(__file__).resolve().parent.parent
OUT_DIR = ROOT / "demo-out"
SITE_ARGS = [
    "--pages",
    "2000",
    "--links",
    "20",
    "--hosts",
    "3",
    "--latency-ms",
    "2",
    "--max-depth",
    "5",
    "--sitemaps",
]
HOSTS = 3


def main(argv: list[str]) -> int:
    OUT_DIR.mkdir(exist_ok=True)
    expected_path = OUT_DIR / "expected.txt"
    expected_path.unlink(missing_ok=True)
    (OUT_DIR / "report.html").unlink(missing_ok=True)  # never show an earlier run's
    warc = OUT_DIR / "warc"
    shutil.rmtree(warc, ignore_errors=True)
    site = subprocess.Popen(
        [sys.executable, "-m", "scripts.site", *SITE_ARGS, "--expected", str(expected_path)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert site.stdout is not None
        bases = [site.stdout.readline().strip() for _ in range(HOSTS)]
        if not all(bases):
            print("demo: the site did not start", file=sys.stderr)
            return 1
        seeds = OUT_DIR / "seeds.txt"
        seeds.write_text("".join(f"{b}\n" for b in bases), encoding="utf-8")
        print(f"demo: site up at {', '.join(bases)}; crawling ...", file=sys.stderr)
        out, report = OUT_DIR / "out.json", OUT_DIR / "report.html"
        cmd = [sys.executable, "-m", "crawler", "--seeds", str(seeds), "--procs", "4"]
        cmd += ["--threads", "8", "--sitemaps", "--warc", str(warc)]
        cmd += ["--out", str(out), "--report", str(report), *argv]
        started = time.monotonic()
        code = subprocess.call(cmd, cwd=ROOT)
        print(f"demo: crawler exited {code} after {time.monotonic() - started:.1f} s\n")
    finally:
        site.terminate()
        site.wait(10)
    if not out.exists():
        return code or 1
    data = json.loads(out.read_text(encoding="utf-8"))
    print(to_text(summarize(data)))
    expected = set(expected_path.read_text(encoding="utf-8").split())
    found = {page["url"] for page in data["pages"]}
    if not argv:  # only the default crawl is comparable with the ground truth
        missing, extra = expected - found, found - expected
        verdict = "matches" if not missing and not extra else "DOES NOT match"
        print(f"ground truth: {len(expected)} pages expected, {len(found)} crawled: {verdict}")
        for url in sorted(missing)[:10]:
            print(f"  missing: {url}")
        for url in sorted(extra)[:10]:
            print(f"  unexpected: {url}")
        if missing or extra:
            return 1
    files = sorted(warc.glob("*.warc.gz"))
    if files:
        check = warcio_check(files, capture=False, verbose=False)
        verdict = "passes" if check.returncode == 0 else "FAILS"
        print(f"WARC: {len(files)} files in {warc}; warcio check {verdict}")
        if check.returncode:
            return 1
    print(f"\nout.json: {out}")
    where = out.relative_to(ROOT)
    print(f"this summary again (or --format json|csv): python -m crawler.summary {where}")
    if report.exists():
        print(f"the HTML report (open it in a browser): {report}")
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

"""A synthetic out.json of any size, for the report's and the summary's performance
figures (docs/performance.md) and for trying them on a crawl too big to run here.

    python -m scripts.make_out_json --pages 200000 -o big.json [--sitemaps]

Deterministic (--seed) and shaped like a real crawl of three hosts: breadth-first
depths, 20 links a page (navigation, random pages, links to missing pages and to other
hosts), 404s and 5xx that many pages link to, network errors and robots_unavailable
records, redirect chains, PDFs and images with no links, log-normal response times,
pages spread over the crawl's half hour at an uneven rate. With --sitemaps, the
`sitemaps` section and each record's `in_sitemap`, with some orphans (in a sitemap,
linked from nowhere) and some linked pages no sitemap lists.
"""

from __future__ import annotations

import argparse
import json
import math
import random
import sys
from datetime import UTC, datetime
from typing import Any

HOSTS = ("http://127.0.0.1:8001", "http://127.0.0.1:8002", "http://127.0.0.1:8003")
EXTERNAL = ("http://cdn.example/", "http://partner.example/", "http://social.example/")
START = datetime(2026, 11, 28, 2, 0, 0, tzinfo=UTC).timestamp()
DURATION_S = 1800.0
NAV = 5  # the first pages of each host, linked from every page
# What a page is, by a random roll: the first kind whose bound is above it, else "html".
KINDS = (
    ("404", 0.02),
    ("5xx", 0.025),
    ("error", 0.035),
    ("redirect", 0.065),
    ("pdf", 0.08),
    ("image", 0.095),
    ("orphan", 0.1),  # with --sitemaps only
)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


class _Site:
    def __init__(self, pages: int, links: int, sitemaps: bool, seed: int) -> None:
        self.n = pages
        self.links = links
        self.sitemaps = sitemaps
        self.rng = random.Random(seed)
        rng = self.rng
        # Which page index is what, decided up front so links can point at broken pages.
        self.kind: list[str] = []
        for i in range(pages):
            if i < len(HOSTS):
                self.kind.append("html")
                continue
            roll = rng.random()
            kind = next((k for k, below in KINDS if roll < below), "html")
            self.kind.append("html" if kind == "orphan" and not sitemaps else kind)
        self.linkable = [i for i in range(pages) if self.kind[i] != "orphan"]
        self.broken = [i for i in range(pages) if self.kind[i] in ("404", "5xx", "error")]

    def url(self, i: int) -> str:
        host = HOSTS[i % len(HOSTS)]
        if i < len(HOSTS):
            return host + "/"
        if self.kind[i] == "pdf":
            return f"{host}/files/doc-{i}.pdf"
        if self.kind[i] == "image":
            return f"{host}/img/pic-{i}.png"
        return f"{host}/page/{i}"

    def depth(self, i: int) -> int:
        # Breadth-first: each level about `links` times the last.
        if i < len(HOSTS):
            return 0
        return 1 + int(math.log(i / len(HOSTS) + 1, max(2, self.links)))

    def record(self, i: int) -> dict[str, Any]:
        rng, kind, url = self.rng, self.kind[i], self.url(i)
        depth = self.depth(i)
        referrer = None if depth == 0 else self.url(rng.randrange(0, max(1, i // 2)))
        if kind == "orphan":
            referrer, depth = f"{HOSTS[i % len(HOSTS)]}/sitemap.xml", 0
        # Uneven rate: slow start, a fast middle, a tail of slow hosts.
        t = START + DURATION_S * (i / self.n) ** 1.3 + rng.random()
        elapsed = round(rng.lognormvariate(math.log(40), 0.9), 3)
        record: dict[str, Any] = {
            "url": url,
            "final_url": url,
            "redirects": [],
            "depth": depth,
            "referrer": referrer,
            "status": 200,
            "content_type": "text/html",
            "title": f"Page {i}",
            "links": [],
            "bytes": rng.randrange(2_000, 80_000),
            "elapsed_ms": elapsed,
            "fetched_at": _iso(t),
            "retries": 0,
            "worker": rng.randrange(4),
            "error": None,
        }
        if kind in ("html", "orphan", "redirect"):
            record["links"] = self._links(i)
        if kind == "redirect":
            final = f"{HOSTS[i % len(HOSTS)]}/moved/{i}"
            hops = [url] if rng.random() < 0.8 else [url, f"{HOSTS[i % len(HOSTS)]}/via/{i}"]
            record |= {"final_url": final, "redirects": hops}
        elif kind == "404":
            record |= {"status": 404, "title": None, "bytes": 512}
        elif kind == "5xx":
            record |= {"status": rng.choice((500, 502, 503)), "title": None, "bytes": 300}
            record["retries"] = 2
        elif kind == "error":
            self._error(record)
        elif kind == "pdf":
            record |= {"content_type": "application/pdf", "title": None}
        elif kind == "image":
            record |= {"content_type": "image/png", "title": None}
        if self.sitemaps:
            listed = kind == "orphan" or (kind == "html" and rng.random() < 0.9)
            record["in_sitemap"] = listed
        return record

    def _error(self, record: dict[str, Any]) -> None:
        rng = self.rng
        kind = rng.choice(("timeout", "timeout", "connect", "dns", "too_large", "robots"))
        record |= {"title": None, "content_type": None, "bytes": 0}
        if kind == "too_large":
            record["content_type"] = "application/octet-stream"
            record["bytes"] = 10_485_760
            record["error"] = {"kind": "too_large", "message": "body over --max-bytes"}
            return
        record["status"] = None
        if kind == "robots":
            record |= {"worker": None, "elapsed_ms": 0.0}
            record["error"] = {"kind": "robots_unavailable", "message": "connect: refused"}
            return
        record["retries"] = 2
        if kind == "timeout":
            record["elapsed_ms"] = 10000.0 + rng.random() * 5
        record["error"] = {"kind": kind, "message": f"{kind}: no usable answer"}

    def _links(self, i: int) -> list[str]:
        rng = self.rng
        host = i % len(HOSTS)
        found = [self.url(n) for n in range(host, min(self.n, NAV * len(HOSTS)), len(HOSTS))]
        while len(found) < self.links:
            roll = rng.random()
            if roll < 0.03 and self.broken:
                found.append(self.url(rng.choice(self.broken)))
            elif roll < 0.08:
                found.append(f"{rng.choice(EXTERNAL)}item/{rng.randrange(2000)}")
            else:
                found.append(self.url(rng.choice(self.linkable)))
        return list(dict.fromkeys(found))


def write(out: Any, pages: int, links: int, sitemaps: bool, seed: int) -> None:
    site = _Site(pages, links, sitemaps, seed)
    stats: dict[str, Any] = {"pages": 0, "ok": 0, "failed": 0, "bytes": 0}
    by_status: dict[str, int] = {}
    by_error: dict[str, int] = {}
    retries = 0
    records = []
    for i in range(pages):
        record = site.record(i)
        records.append(json.dumps(record, separators=(",", ":")))
        status, error = record["status"], record["error"]
        stats["pages"] += 1
        ok = error is None and status is not None and status < 400
        stats["ok" if ok else "failed"] += 1
        stats["bytes"] += record["bytes"]
        if status is not None:
            by_status[str(status)] = by_status.get(str(status), 0) + 1
        if error is not None:
            by_error[error["kind"]] = by_error.get(error["kind"], 0) + 1
        retries += record["retries"]
    stats |= {
        "elapsed_s": DURATION_S,
        "pages_per_s": round(pages / DURATION_S, 1),
        "by_status": dict(sorted(by_status.items())),
        "by_error": dict(sorted(by_error.items())),
        "retries": retries,
        "robots_excluded": pages // 50,
        "out_of_scope": pages // 4,
        "duplicates": pages * links // 2,
        "dropped_links": 3,
        "rejected": 0,
        "beyond_depth": 0,
        "plugin_errors": 0,
    }
    header: dict[str, Any] = {
        "version": 1,
        "complete": True,
        "started_at": _iso(START),
        "finished_at": _iso(START + DURATION_S),
        "settings": {"procs": 4, "threads": 8, "max_depth": 5, "scope": "host"},
        "seeds": [host + "/" for host in HOSTS],
        "rejected_seeds": [],
        "stats": stats,
    }
    if sitemaps:
        files = [
            {"url": f"{host}/sitemap.xml", "status": 200, "urls": 0, "error": None}
            for host in HOSTS
        ]
        files.append(
            {
                "url": f"{HOSTS[0]}/sitemap-old.xml",
                "status": 404,
                "urls": 0,
                "error": None,
            }
        )
        listed = sum(1 for line in records if '"in_sitemap":true' in line)
        for n, entry in enumerate(files[: len(HOSTS)]):
            entry["urls"] = listed // len(HOSTS) + (1 if n < listed % len(HOSTS) else 0)
        header["sitemaps"] = {"files": files, "urls": listed}
    head = json.dumps(header, indent=1)
    out.write(head[:-2] + ',\n "pages": [\n  ')
    out.write(",\n  ".join(records))
    out.write("\n ]\n}\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=200_000)
    parser.add_argument("--links", type=int, default=20, help="links per HTML page")
    parser.add_argument("--sitemaps", action="store_true", help="as a crawl with --sitemaps")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("-o", "--out", default="-", help="the file to write (default stdout)")
    args = parser.parse_args(argv)
    if args.out == "-":
        write(sys.stdout, args.pages, args.links, args.sitemaps, args.seed)
    else:
        with open(args.out, "w", encoding="utf-8") as out:
            write(out, args.pages, args.links, args.sitemaps, args.seed)
    return 0


if __name__ == "__main__":
    sys.exit(main())

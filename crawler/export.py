"""`python -m crawler.export`: the whole of a cluster crawl as one out.json.

    python -m crawler.export --frontier redis://host:6379/0 --crawl NAME --out all.json

Reads what every machine of the crawl stored in Redis (crawler/cluster_records.py) and
writes it in the out.json schema: every machine's records (each with its "machine"),
the stats added up, the crawl's settings and seeds as the first machine stored them,
"complete" as the crawl's `finished` key says. It works at any time, also while the
crawl runs: it reads one consistent snapshot of the machines' states (each machine's
records and the stats that count them), then streams those records from Redis into
out.json's temporary file, a few batches at a time, and renames it into place.

Exit 0 when written; 2 when Redis cannot be reached, the crawl is unknown there (no
settings key) or --out cannot be written, the last stderr line naming the problem; 1
when something fails on the way (Redis lost, damaged data, a full disk), --out then
untouched. The password of the Redis URL is never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import redis

from crawler.cluster_format import MachineState, export_header, export_order
from crawler.cluster_records import (
    FINISHED_KEY,
    MACHINES_KEY,
    SETTINGS_KEY,
    crawl_key,
    iter_records,
    read_states,
)
from crawler.errors import UsageError
from crawler.output import RecordSink, check_output_paths
from crawler.settings import MASK, masked_url

PROG = "crawler-export"
CONNECT_TIMEOUT_S = 10.0
READ_TIMEOUT_S = 60.0
FRONTIER_ENV = "CRAWLER_FRONTIER"
REDIS_SCHEMES = ("redis", "rediss")
DOC_KEYS = ("settings", "seeds", "rejected_seeds")  # what the header takes from it


def _secrets(url: str) -> list[str]:
    """The password(s) in a Redis URL, to scrub from messages that might echo them."""
    parts = urlsplit(url)
    found = [parts.password] if parts.password else []
    found += [v for k, v in parse_qsl(parts.query) if k == "password" and v]
    return found


def _scrub(message: str, url: str) -> str:
    for secret in _secrets(url):
        message = message.replace(secret, MASK)
    return message


class ExportFailed(Exception):
    """Something failed after the export began (exit 1); the message is one line."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Write the whole of a cluster crawl (--frontier redis://…) as one out.json.",
    )
    parser.add_argument(
        "--frontier",
        metavar="URL",
        default=os.environ.get(FRONTIER_ENV),
        help=f"the crawl's Redis: redis://[:password@]host[:port][/db] (also {FRONTIER_ENV})",
    )
    parser.add_argument(
        "--crawl",
        metavar="NAME",
        required=True,
        help="the crawl's name (logged by every machine at start, settings.crawl in out.json)",
    )
    parser.add_argument(
        "-o",
        "--out",
        metavar="PATH",
        default="all.json",
        help="the file to write, atomically (default: all.json)",
    )
    return parser


def connect(url: str) -> redis.Redis:
    """A client of the crawl's Redis, which answered PING; UsageError naming it if not."""
    if urlsplit(url).scheme not in REDIS_SCHEMES:
        raise UsageError(f"--frontier {masked_url(url)}: not a redis:// or rediss:// URL")
    where = masked_url(url)
    try:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=CONNECT_TIMEOUT_S, socket_timeout=READ_TIMEOUT_S
        )
        client.ping()
    except (redis.RedisError, ValueError) as exc:
        raise UsageError(f"cannot reach Redis at {where}: {_scrub(str(exc), url)}") from None
    return client


def snapshot(
    client: redis.Redis, crawl: str, where: str
) -> tuple[dict[str, Any], bool, list[MachineState]]:
    """The crawl's settings document, whether it finished, and its machines' states,
    read in one transaction; UsageError for a crawl Redis does not know."""
    pipe = client.pipeline(transaction=True)
    pipe.get(crawl_key(crawl, SETTINGS_KEY))
    pipe.exists(crawl_key(crawl, FINISHED_KEY))
    pipe.hgetall(crawl_key(crawl, MACHINES_KEY))
    settings_raw, finished, machines = pipe.execute()
    if settings_raw is None:
        raise UsageError(
            f"no crawl named {crawl!r} in Redis at {where} "
            f"(no key {crawl_key(crawl, SETTINGS_KEY)})"
        )
    try:
        doc = json.loads(settings_raw)
        missing = [key for key in DOC_KEYS if key not in doc]
        if missing:
            raise ValueError(f"its settings lack {', '.join(missing)}")
        states = read_states(machines)
    except (TypeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise ExportFailed(f"crawl {crawl!r} in Redis at {where} is damaged: {exc}") from None
    return doc, bool(finished), export_order(states)


def export(client: redis.Redis, crawl: str, out: str, where: str) -> tuple[int, int, bool]:
    """Write the crawl to `out`; (records, machines, complete)."""
    doc, complete, states = snapshot(client, crawl, where)
    header = export_header(doc, states, complete=complete, now=time.time())
    sink = RecordSink(out)
    try:
        lines = (line for state in states for line in iter_records(client, crawl, state))
        sink.write_out(header, lines)
    finally:
        sink.close()
    return int(header["stats"]["pages"]), len(states), complete


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.frontier:
        parser.error(f"--frontier URL is required (or {FRONTIER_ENV})")
    where = masked_url(args.frontier)
    try:
        check_output_paths(args.out, None, None)
        client = connect(args.frontier)
        with client:
            pages, machines, complete = export(client, args.crawl, args.out, where)
    except UsageError as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 2
    except ExportFailed as exc:
        print(f"{PROG}: {exc}", file=sys.stderr)
        return 1
    except redis.RedisError as exc:
        print(
            f"{PROG}: lost Redis at {where} while exporting ({_scrub(str(exc), args.frontier)}); "
            f"{args.out} untouched",
            file=sys.stderr,
        )
        return 1
    except ValueError as exc:  # a damaged record batch
        print(f"{PROG}: crawl {args.crawl!r} in Redis at {where}: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"{PROG}: cannot write {args.out}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    state = "complete" if complete else "not finished yet"
    print(
        f"{PROG}: wrote {args.out}: {pages} records from {machines} "
        f"machine{'' if machines == 1 else 's'} ({state})",
        file=sys.stderr,
    )
    return 0


def console_main() -> None:
    """Entry point of the `crawler-export` console script."""
    sys.exit(main())


if __name__ == "__main__":
    console_main()

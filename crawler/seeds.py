"""Reading seeds: one URL per line, blank lines and `#` comments ignored.

Pure parsing (`parse_seeds`) plus one small reader. A bad line is reported in
`rejected_seeds` and skipped; the crawl goes on with the good ones.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from typing import Any

from crawler.errors import UsageError
from crawler.urls import InvalidURL, canonicalize

MAX_SEED_TEXT = 200  # how much of a rejected line is echoed back


def parse_seeds(lines: Iterable[str]) -> tuple[list[str], list[dict[str, Any]]]:
    """Canonical seeds (first occurrence kept) and the rejected lines with reasons."""
    seeds: dict[str, None] = {}
    rejected: list[dict[str, Any]] = []
    for number, raw in enumerate(lines, start=1):
        text = raw.strip()
        if not text or text.startswith("#"):
            continue
        try:
            seeds.setdefault(canonicalize(text), None)
        except InvalidURL as exc:
            reason = str(exc)
            if reason == "not an absolute URL":
                reason = "not an absolute URL (missing http:// or https://)"
            rejected.append({"line": number, "text": text[:MAX_SEED_TEXT], "reason": reason})
    return list(seeds), rejected


def read_seed_lines(path: str) -> list[str]:
    """The lines of the seeds file (`-` is stdin); UsageError if it cannot be read."""
    try:
        if path == "-":
            return sys.stdin.read().splitlines()
        with open(path, encoding="utf-8", errors="replace") as fh:
            return fh.read().splitlines()
    except FileNotFoundError:
        raise UsageError(f"seeds file not found: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"seeds file is a directory: {path}") from None
    except OSError as exc:
        raise UsageError(f"cannot read seeds file {path}: {exc.strerror}") from None

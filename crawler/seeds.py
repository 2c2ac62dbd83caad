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

MAX_SEED_TEXT = 200  # how much of a rejected line out.json keeps
SHOWN_SEED_TEXT = 60  # how much of it a warning on the terminal shows


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


def shown(text: str, limit: int = SHOWN_SEED_TEXT) -> str:
    """`text` quoted for a terminal: unprintable characters escaped as repr() does, cut
    to about `limit` characters with `...` (a binary line must not reach the terminal raw:
    control characters would move the cursor or change colours)."""
    out: list[str] = []
    width = 0
    for char in text:
        if char in "'\\":
            piece = "\\" + char
        else:
            piece = char if char.isprintable() else repr(char)[1:-1]
        if width + len(piece) > limit:
            return "'" + "".join(out) + "'..."
        out.append(piece)
        width += len(piece)
    return "'" + "".join(out) + "'"


def read_seed_lines(path: str) -> list[str]:
    """The lines of the seeds file (`-` is stdin); UsageError if it cannot be read.

    Bytes that are not UTF-8 become U+FFFD, and lines end at "\\n" only, so line numbers
    match what an editor shows, also in a file with stray form feeds or binary junk.
    """
    try:
        if path == "-":
            # The bytes, not the locale's decoding of them (which may refuse junk).
            stdin = getattr(sys.stdin, "buffer", None)
            data = stdin.read() if stdin is not None else sys.stdin.read().encode()
        else:
            with open(path, "rb") as fh:
                data = fh.read()
    except FileNotFoundError:
        raise UsageError(f"seeds file not found: {path}") from None
    except IsADirectoryError:
        raise UsageError(f"seeds file is a directory: {path}") from None
    except OSError as exc:
        raise UsageError(f"cannot read seeds file {path}: {exc.strerror}") from None
    lines = data.decode("utf-8", errors="replace").split("\n")
    if lines[-1] == "":
        lines.pop()  # the newline that ends the last line starts no new one
    return lines

"""--state DIR: the crawl checkpointed continuously to SQLite (WAL), and resumed from it.

What is stored is exactly what a resumed crawl needs and no more: every URL seen (pending
or done), every finished record in order, and the stats counters. The coordinator writes
as it goes and commits once per loop turn, so a SIGKILL loses at most the last turn: the
URLs in flight then, which the next run fetches again. A redirect chain's targets are
written only with the record that followed them, so a chain cut by a kill is followed
again from its start. robots.txt is not stored; a resumed run asks each host again.
"""

from __future__ import annotations

import json
import sqlite3
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crawler.errors import UsageError
from crawler.urls import host_key

DB_NAME = "crawl.sqlite"
SCHEMA_VERSION = "1"
_PENDING, _DONE = 0, 1
# The identity's keys as the user typed them, for the message when they differ.
_IDENTITY_NAMES = {"seeds": "the seeds", "scope": "--scope", "allow": "--allow", "deny": "--deny"}

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS urls (
    url TEXT PRIMARY KEY, state INTEGER NOT NULL, depth INTEGER, referrer TEXT
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS records (
    id INTEGER PRIMARY KEY AUTOINCREMENT, host TEXT NOT NULL, line TEXT NOT NULL
);
"""


@dataclass(slots=True)
class Loaded:
    """What a resumed crawl starts from."""

    seen: list[str] = field(default_factory=list)
    pending: list[tuple[str, int, str | None]] = field(default_factory=list)
    counters: dict[str, int] = field(default_factory=dict)
    records_per_host: Counter[str] = field(default_factory=Counter)

    @property
    def records(self) -> int:
        return sum(self.records_per_host.values())


class CrawlState:
    """One crawl's checkpoint in DIR/crawl.sqlite."""

    def __init__(self, directory: str, identity: dict[str, Any]) -> None:
        path = Path(directory)
        try:
            path.mkdir(parents=True, exist_ok=True)
        except FileExistsError:
            raise UsageError(
                f"cannot use --state {directory}: it is a file, not a directory"
            ) from None
        except OSError as exc:
            raise UsageError(
                f"cannot use --state {directory}: cannot create directory {exc.filename}: "
                f"{exc.strerror}"
            ) from None
        try:
            self._db = sqlite3.connect(path / DB_NAME, isolation_level="DEFERRED")
            # WAL: readers never block the writer and a commit is one append; NORMAL
            # sync survives a killed process (not a power cut), which is what we need.
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(_SCHEMA)
        except (OSError, sqlite3.Error) as exc:
            raise UsageError(f"cannot use --state {directory}: {exc}") from None
        self.directory = directory
        try:
            self.resumed = self._check_identity(identity)
        except BaseException:
            self._db.close()
            raise
        self._new_lines: list[str] = []

    def _check_identity(self, identity: dict[str, Any]) -> bool:
        """True when resuming; UsageError when DIR holds a different crawl."""
        text = json.dumps(identity, sort_keys=True)
        row = self._db.execute("SELECT value FROM meta WHERE key='identity'").fetchone()
        if row is None:
            self._db.execute("INSERT INTO meta VALUES ('identity', ?)", (text,))
            self._db.execute("INSERT INTO meta VALUES ('schema', ?)", (SCHEMA_VERSION,))
            self._db.commit()
            return False
        stored = json.loads(row[0])
        differs = [key for key in identity if stored.get(key) != identity[key]]
        if differs:
            raise UsageError(
                f"--state {self.directory} holds another crawl ({_differ(differs)}); "
                "resume with the same seeds, --scope, --allow and --deny, or use a new DIR"
            )
        return True

    # -- loading ------------------------------------------------------------------------
    def load(self) -> Loaded:
        loaded = Loaded()
        for url, state, depth, referrer in self._db.execute(
            "SELECT url, state, depth, referrer FROM urls"
        ):
            loaded.seen.append(url)
            if state == _PENDING:
                loaded.pending.append((url, depth, referrer))
        loaded.pending.sort(key=lambda item: item[1])  # breadth-first again
        for host, count in self._db.execute("SELECT host, count(*) FROM records GROUP BY host"):
            loaded.records_per_host[host] = count
        row = self._db.execute("SELECT value FROM meta WHERE key='counters'").fetchone()
        loaded.counters = json.loads(row[0]) if row else {}
        return loaded

    def iter_records(self, after: int = 0) -> Iterator[str]:
        """Record JSON lines in the order they finished, skipping the first `after`."""
        cursor = self._db.execute(
            "SELECT line FROM records ORDER BY id LIMIT -1 OFFSET ?", (after,)
        )
        for (line,) in cursor:
            yield line

    # -- writing (committed by commit()) --------------------------------------------------
    def add_pending(self, url: str, depth: int, referrer: str | None) -> None:
        self._db.execute(
            "INSERT OR IGNORE INTO urls VALUES (?, ?, ?, ?)", (url, _PENDING, depth, referrer)
        )

    def mark_done(self, urls: Iterable[str]) -> None:
        """URLs never to fetch again: finished, refused by robots.txt, out of scope."""
        self._db.executemany(
            "INSERT INTO urls (url, state) VALUES (?, 1) ON CONFLICT(url) DO UPDATE SET state=1",
            ((url,) for url in urls),
        )

    def add_record(self, record: dict[str, Any], line: str, done: Iterable[str]) -> None:
        """A finished record; `done` are the URLs its chain fetched (or robots refused).

        A chain that ended at a URL seen elsewhere does not list it: that URL may still
        be pending, and its own record will mark it.
        """
        self._db.execute(
            "INSERT INTO records (host, line) VALUES (?, ?)", (host_key(record["url"]), line)
        )
        self.mark_done(done)
        self._new_lines.append(line)

    def commit(self, counters: dict[str, int], complete: bool = False) -> list[str]:
        """Make everything since the last commit durable; return the new record lines."""
        self._db.execute(
            "INSERT OR REPLACE INTO meta VALUES ('counters', ?)", (json.dumps(counters),)
        )
        self._db.execute(
            "INSERT OR REPLACE INTO meta VALUES ('complete', ?)", ("1" if complete else "0",)
        )
        self._db.commit()
        lines, self._new_lines = self._new_lines, []
        return lines

    def close(self) -> None:
        self._db.close()


def _differ(keys: list[str]) -> str:
    """In words: 'the seeds differ', '--scope differs', 'the seeds and --scope differ'."""
    names = [_IDENTITY_NAMES.get(key, key) for key in keys]
    if len(names) == 1:
        return f"{names[0]} {'differ' if keys[0] == 'seeds' else 'differs'}"
    return f"{', '.join(names[:-1])} and {names[-1]} differ"

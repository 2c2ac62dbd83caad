"""The frontier's overflow on disk: long host queues wait in a temporary SQLite file.

A crawl of a site that generates endless URLs must not grow memory without bound, so
the frontier keeps a bounded head of each host's queue in memory and puts the tail
here, in order. Nothing here needs to survive the process (--state stores the pending
URLs itself), so it is SQLite's private temporary database (an empty file name): kept in
memory up to SQLite's page cache (2 MB), then in a file under $SQLITE_TMPDIR or $TMPDIR
that SQLite unlinks as soon as it opens it, so even a killed crawl leaves nothing behind.
It is unjournaled and unsynced.
"""

from __future__ import annotations

import sqlite3


class SpillOverflow:
    def __init__(self) -> None:
        self._db = sqlite3.connect("", isolation_level=None)
        self._db.execute("PRAGMA journal_mode=OFF")
        self._db.execute("PRAGMA synchronous=OFF")
        self._db.execute(
            "CREATE TABLE spill (id INTEGER PRIMARY KEY, host TEXT NOT NULL, url TEXT NOT NULL,"
            " depth INTEGER NOT NULL, referrer TEXT)"
        )
        self._db.execute("CREATE INDEX spill_host ON spill (host, id)")

    def put(self, host: str, url: str, depth: int, referrer: str | None) -> None:
        self._db.execute(
            "INSERT INTO spill (host, url, depth, referrer) VALUES (?, ?, ?, ?)",
            (host, url, depth, referrer),
        )

    def take(self, host: str, count: int) -> list[tuple[str, int, str | None]]:
        rows = self._db.execute(
            "SELECT id, url, depth, referrer FROM spill WHERE host = ? ORDER BY id LIMIT ?",
            (host, count),
        ).fetchall()
        if rows:
            self._db.execute("DELETE FROM spill WHERE host = ? AND id <= ?", (host, rows[-1][0]))
        return [(url, depth, referrer) for _, url, depth, referrer in rows]

    def close(self) -> None:
        self._db.close()

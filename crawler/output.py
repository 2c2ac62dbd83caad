"""Where records go: a spool file while crawling, --jsonl as they arrive, out.json at the end.

Records are never all held in memory: each one is appended to a spool file beside
out.json, and out.json is assembled from it at the end, written to a temporary file
and renamed into place, so out.json is always either the previous file or a whole new one.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import IO, Any

from crawler.errors import UsageError


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


class RecordSink:
    def __init__(self, out_path: str, jsonl_path: str | None = None) -> None:
        self._out = Path(out_path)
        directory = self._out.parent
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._spool: IO[str] = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed in close()
                "w+", encoding="utf-8", dir=directory, prefix=f".{self._out.name}.", suffix=".spool"
            )
        except OSError as exc:
            raise UsageError(f"cannot write output in {directory}: {exc.strerror}") from None
        self._jsonl: IO[str] | None = None
        if jsonl_path:
            try:
                self._jsonl = open(jsonl_path, "a", encoding="utf-8")  # noqa: SIM115
            except OSError as exc:
                self._spool.close()
                raise UsageError(f"cannot open --jsonl {jsonl_path}: {exc.strerror}") from None
        self.count = 0

    def add(self, record: dict[str, Any]) -> None:
        line = dumps(record)
        self._spool.write(line)
        self._spool.write("\n")
        if self._jsonl is not None:
            self._jsonl.write(line)
            self._jsonl.write("\n")
            self._jsonl.flush()
        self.count += 1

    def write_out(self, header: dict[str, Any]) -> None:
        """Write out.json atomically: `header` fields, then "pages" from the spool."""
        self._spool.flush()
        self._spool.seek(0)
        fd, tmp = tempfile.mkstemp(
            dir=self._out.parent, prefix=f".{self._out.name}.", suffix=".tmp"
        )
        try:
            os.fchmod(fd, 0o644)  # mkstemp makes 0600; out.json is an ordinary file
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                head = json.dumps(header, ensure_ascii=False, indent=1)
                fh.write(head[:-2] if header else "{")  # drop the closing "\n}"
                fh.write(',\n "pages": [' if header else '"pages": [')
                first = True
                for line in self._spool:
                    fh.write("\n  " if first else ",\n  ")
                    fh.write(line.rstrip("\n"))
                    first = False
                fh.write("\n ]\n}\n")
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self._out)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        self._spool.seek(0, os.SEEK_END)

    def close(self) -> None:
        self._spool.close()
        if self._jsonl is not None:
            self._jsonl.close()

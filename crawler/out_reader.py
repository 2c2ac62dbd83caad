"""out.json read as a stream: the page records one at a time, the other fields at the end.

For tools that read a crawl's result (crawler.summary): a 200 000-record out.json is
never held whole. Read-only; any key order and any whitespace that JSON allows.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import IO, Any

READ_CHUNK = 1 << 20  # characters per read
_WHITESPACE = re.compile(r"[ \t\n\r]*")  # JSON's whitespace, as the json module skips it


class _Reader:
    """JSON values read one at a time from a text stream, so that out.json's "pages"
    array can be walked record by record instead of being loaded whole."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream
        self._buf = ""
        self._pos = 0
        self._eof = False
        self._decoder = json.JSONDecoder()

    def _read_more(self) -> bool:
        if self._eof:
            return False
        # At least as much as is still unread: a value larger than a chunk is decoded
        # again only O(log size) times, never once per chunk.
        chunk = self._stream.read(max(READ_CHUNK, len(self._buf) - self._pos))
        if not chunk:
            self._eof = True
            return False
        self._buf = self._buf[self._pos :] + chunk
        self._pos = 0
        return True

    def peek(self) -> str:
        """The next character after whitespace ("" at the end), not consumed."""
        while True:
            space = _WHITESPACE.match(self._buf, self._pos)
            self._pos = space.end() if space else self._pos
            if self._pos < len(self._buf) or not self._read_more():
                return self._buf[self._pos : self._pos + 1]

    def take(self, expected: str) -> str:
        """Consume the next character, which must be one of `expected`."""
        char = self.peek()
        if not char or char not in expected:
            found = repr(char) if char else "the end"
            raise ValueError(f"expected one of {expected!r}, found {found}")
        self._pos += 1
        return char

    def value(self) -> Any:
        """The next whole JSON value."""
        self.peek()
        while True:
            try:
                value, end = self._decoder.raw_decode(self._buf, self._pos)
            except json.JSONDecodeError:
                if self._read_more():
                    continue
                raise
            # A number that ends where the buffer ends may go on in the next chunk.
            if end < len(self._buf) or not self._read_more():
                self._pos = end
                return value


def read_out_json(stream: IO[str], on_record: Callable[[dict[str, Any]], None]) -> dict[str, Any]:
    """Call `on_record` with each page record of the out.json in `stream`, in order, and
    return the other top-level fields. Raises ValueError if it is not an out.json."""
    reader = _Reader(stream)
    header: dict[str, Any] = {}
    reader.take("{")
    if reader.peek() == "}":
        reader.take("}")
    else:
        while True:
            key = reader.value()
            if not isinstance(key, str):
                raise ValueError("expected a key")
            reader.take(":")
            if key == "pages" and reader.peek() == "[":
                _read_pages(reader, on_record)
            else:
                header[key] = reader.value()
            if reader.take(",}") == "}":
                break
    if reader.peek():
        raise ValueError("extra data after the object")
    return header


def _read_pages(reader: _Reader, on_record: Callable[[dict[str, Any]], None]) -> None:
    reader.take("[")
    if reader.peek() == "]":
        reader.take("]")
        return
    while True:
        record = reader.value()
        if not isinstance(record, dict) or not isinstance(record.get("url"), str):
            raise ValueError("a page record without a url")
        on_record(record)
        if reader.take(",]") == "]":
            return

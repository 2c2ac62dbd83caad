"""Reading what --warc wrote, the way a user checks it: `warcio check` and ArchiveIterator.

warcio 1.8.1 cannot decode a `br` payload when brotli >= 1.2 is installed beside it (its
br decompressor sets an attribute brotli's no longer allows), and our requirements
install brotli 1.2.1. So `warcio check` runs as if warcio were installed alone
(scripts/warc_check.py, shared with the demo): what the contract promises. Payloads
are read raw (no decoding by warcio: the digests are over the raw bytes) and decoded
here.
"""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import brotli
from warcio.archiveiterator import ArchiveIterator

from scripts.warc_check import warcio_check  # noqa: F401  (the tests import it from here)


@dataclass(frozen=True)
class Record:
    """One WARC record, read raw."""

    path: Path
    type: str
    headers: dict[str, str]  # the WARC headers (the last of a repeated name)
    http_status: str | None  # the status code of a response, the request line of a request
    http_headers: list[tuple[str, str]]  # in order
    payload: bytes  # after the HTTP headers, as stored (transfer/content codings intact)
    digests_passed: bool | None  # warcio's verdict on the digests while reading

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        found = [v for k, v in self.http_headers if k.lower() == lowered]
        return found[-1] if found else None

    def body(self) -> bytes:
        """The payload without its transfer and content codings: the body as served."""
        data = self.payload
        if (self.header("Transfer-Encoding") or "").lower() == "chunked":
            data = dechunk(data)
        return decode(data, self.header("Content-Encoding"))


def read_records(paths: Iterable[Path]) -> list[Record]:
    records: list[Record] = []
    for path in sorted(paths):
        with path.open("rb") as fh:
            for record in ArchiveIterator(fh, check_digests=True):
                payload = record.raw_stream.read()
                http = record.http_headers
                status = None
                if http is not None:
                    status = (
                        http.get_statuscode()
                        if record.rec_type == "response"
                        else http.protocol + " " + http.statusline
                    )
                records.append(
                    Record(
                        path=path,
                        type=record.rec_type,
                        headers=dict(record.rec_headers.headers),
                        http_status=status,
                        http_headers=list(http.headers) if http is not None else [],
                        payload=payload,
                        digests_passed=record.digest_checker.passed,
                    )
                )
    return records


def dechunk(data: bytes) -> bytes:
    """A chunked body without its framing; a cut-off last chunk keeps what arrived."""
    out = bytearray()
    while data:
        size_line, sep, rest = data.partition(b"\r\n")
        if not sep:
            break
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            break
        out += rest[:size]
        data = rest[size + 2 :]
    return bytes(out)


def decode(data: bytes, encoding: str | None) -> bytes:
    """Undo one Content-Encoding (what a cut-off stream holds, for a truncated body)."""
    coding = (encoding or "identity").strip().lower()
    if coding == "gzip":
        return zlib.decompressobj(31).decompress(data)
    if coding == "deflate":
        return zlib.decompressobj().decompress(data)
    if coding == "br":
        return bytes(brotli.Decompressor().process(data))
    if coding == "identity":
        return data
    raise AssertionError(f"unexpected Content-Encoding {encoding!r}")


def gzip_bytes(data: bytes) -> bytes:
    return gzip.compress(data, mtime=0)

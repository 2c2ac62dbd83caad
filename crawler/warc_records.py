"""The WARC records of one exchange, built with warcio: pure functions, no files.

An Exchange (crawler/fetcher.py) becomes, the way warcio's own capture of a live
exchange writes it, a `response` record (status line and headers as received, the
payload as received, content-encoding intact) and a `request` record (the request as
sent, --header values written as `***`) that names the response in
`WARC-Concurrent-To`; each gzipped as a member of its own. An attempt that got no
answer has its request record alone.
"""

from __future__ import annotations

import io
import json
import re
import struct
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from crawler import PROJECT_URL, __version__

if TYPE_CHECKING:
    from crawler.fetcher import Exchange

WARC_VERSION = "WARC/1.1"
MASK = b"***"
# zlib's memLevel: its hash table (cleared by every full flush, so once per record) is
# 8 KiB instead of the default 64 KiB; on HTML and text the files grew by < 0.3 %.
_MEM_LEVEL = 5
# zlib's default level. warcio's 9 took 1.4x the CPU of 6 on text for files 0.3 %
# smaller, 1 half the CPU for files 11 % larger (docs/performance.md).
GZIP_LEVEL = 6
_INFORMATIONAL = re.compile(rb"^HTTP/\S+[ \t]+1\d\d\b")


class RecordMaker:
    """warcio's record builder and serialiser, each record out as one gzip member.

    warcio's writers gzip at level 9 straight into a file; this keeps its record layout
    (headers, digests, Content-Length) and compresses at GZIP_LEVEL as warcio serialises,
    into memory, so that the records of an exchange reach the file in one write. Not
    thread-safe: a worker keeps one per fetch thread.
    """

    def __init__(self) -> None:
        self._writer = WARCWriter(None, gzip=False, warc_version=WARC_VERSION)
        self._members = GzipMembers()

    def create_warc_record(self, uri: str, record_type: str, **options: Any) -> Any:
        return self._writer.create_warc_record(uri, record_type, **options)

    def create_warcinfo_record(self, filename: str, info: Mapping[str, Any]) -> Any:
        return self._writer.create_warcinfo_record(filename, info)

    def member(self, record: Any) -> bytes:
        """The record as one whole gzip member (concatenated members make a .warc.gz)."""
        self._members.start()
        self._writer.out = self._members
        try:
            self._writer.write_record(record)  # ends with self._members.flush()
        except BaseException:
            self._members = GzipMembers()  # the stream holds part of a record: start anew
            raise
        return self._members.value()


class GzipMembers:
    """A write-only stream of gzip members: flush() ends one, start() begins the next.

    One raw deflate stream serves every member, each member's part ended by a full
    flush, which empties the compressor's dictionary (so a member never refers back to
    another and decodes alone) and ends on a byte; an empty final block and the gzip
    trailer close the member. A new compressor per record would cost more than the
    compressing: its ~256 KiB of state comes from mmap in a worker (see
    crawler/worker.py, mmap_large_blocks) and is faulted in page by page each time.
    """

    _HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, mtime 0
    _FINAL_EMPTY_BLOCK = b"\x03\x00"  # BFINAL, fixed Huffman codes, end of block

    def __init__(self, level: int = GZIP_LEVEL) -> None:
        self._deflate = zlib.compressobj(level, zlib.DEFLATED, -zlib.MAX_WBITS, _MEM_LEVEL)
        self.start()

    def start(self) -> None:
        self._parts = [self._HEADER]
        self._crc = 0
        self._size = 0

    def write(self, data: bytes) -> None:
        self._crc = zlib.crc32(data, self._crc)
        self._size += len(data)
        self._parts.append(self._deflate.compress(data))

    def flush(self) -> None:
        self._parts.append(self._deflate.flush(zlib.Z_FULL_FLUSH))
        self._parts.append(self._FINAL_EMPTY_BLOCK)
        self._parts.append(struct.pack("<II", self._crc, self._size & 0xFFFFFFFF))

    def value(self) -> bytes:
        return b"".join(self._parts)


def exchange_records(maker: RecordMaker, exchange: Exchange) -> list[Any]:
    """The records of one attempt: [response, request], or [request] with no answer."""
    date = warc_date(exchange.started_at)

    def warc_headers(record_type: str, **more: str | None) -> dict[str, str]:
        # In the order readers expect them first; warcio fills in the digests and length.
        fields: dict[str, str | None] = {
            "WARC-Type": record_type,
            "WARC-Record-ID": StatusAndHeadersParser.make_warc_id(),
            "WARC-Date": date,
            "WARC-Target-URI": exchange.url,
            "WARC-IP-Address": exchange.ip,
            **more,
        }
        return {name: value for name, value in fields.items() if value}

    request_head = mask_header_values(exchange.request, exchange.secret_headers)
    if not exchange.response_head:
        return [_record(maker, exchange.url, warc_headers("request"), request_head)]
    truncated = str(exchange.truncated) if exchange.truncated is not None else None
    body = _Pieces(exchange.response_body)
    response = maker.create_warc_record(
        exchange.url,
        "response",
        payload=body,
        length=body.length,
        warc_headers_dict=warc_headers("response", **{"WARC-Truncated": truncated}),
        http_headers=parse_response_head(exchange.response_head),
    )
    request = _record(
        maker,
        exchange.url,
        warc_headers(
            "request", **{"WARC-Concurrent-To": response.rec_headers.get_header("WARC-Record-ID")}
        ),
        request_head,
    )
    return [response, request]


class _Pieces:
    """The body's pieces as a stream warcio reads twice (digests, then the record),
    handing out the pieces themselves: no copy of the body is made."""

    def __init__(self, pieces: tuple[bytes, ...]) -> None:
        self._pieces = pieces
        self._next = 0
        self._offset = 0
        self.length = sum(len(piece) for piece in pieces)

    def read(self, size: int = -1) -> bytes:
        if self._next >= len(self._pieces):
            return b""
        piece = self._pieces[self._next]
        self._next += 1
        self._offset += len(piece)
        return piece

    def tell(self) -> int:
        return self._offset

    def seek(self, offset: int) -> None:
        if offset != 0:
            raise io.UnsupportedOperation("only back to the start")
        self._next = self._offset = 0

    def close(self) -> None:
        pass


def _record(maker: RecordMaker, url: str, headers: dict[str, str], request_head: bytes) -> Any:
    return maker.create_warc_record(
        url,
        "request",
        payload=io.BytesIO(request_head),
        length=len(request_head),
        warc_headers_dict=headers,
    )


def parse_response_head(head: bytes) -> StatusAndHeaders:
    """The final answer's status line and headers, in order, as warcio keeps them.

    Not verified: http.client accepted them, so an odd version ("HTTP/1.2") or header
    stays as it came. Interim 1xx answers before it (which http.client skips) are left out.
    """
    while _INFORMATIONAL.match(head):
        end = _head_end(head)
        if end <= 0 or end >= len(head):
            break
        head = head[end:]
    return StatusAndHeadersParser([], verify=False).parse(io.BytesIO(head))


def _head_end(head: bytes) -> int:
    """Where the first blank line ends (CRLF or bare LF line ends), or -1."""
    ends = [i + len(sep) for sep in (b"\r\n\r\n", b"\n\n") if (i := head.find(sep)) >= 0]
    return min(ends) if ends else -1


def mask_header_values(head: bytes, names: frozenset[str]) -> bytes:
    """The request head with the values of the headers `names` (lower-case) as `***`."""
    if not names:
        return head
    lines = head.split(b"\r\n")
    for i, line in enumerate(lines[1:], start=1):
        name, sep, _value = line.partition(b":")
        if sep and name.strip().decode("latin-1").lower() in names:
            lines[i] = name + b": " + MASK
    return b"\r\n".join(lines)


def warc_date(epoch_s: float) -> str:
    """WARC/1.1's WARC-Date, to the microsecond: 2026-11-30T05:10:26.123456Z."""
    moment = datetime.fromtimestamp(epoch_s, UTC).replace(tzinfo=None)
    return str(datetime_to_iso_date(moment, use_micros=True))


def warcinfo_record(maker: RecordMaker, filename: str, settings_json: Mapping[str, Any]) -> Any:
    """The record each file starts with: what wrote it, and with which settings."""
    info = {
        "software": f"crawler/{__version__} (+{PROJECT_URL})",
        "format": "WARC File Format 1.1",
        "conformsTo": "https://iipc.github.io/warc-specifications/specifications/warc-format/warc-1.1/",
        "robots": "ignore" if settings_json.get("ignore_robots") else "obey",
        "http-header-user-agent": settings_json.get("user_agent"),
        "crawler-settings": json.dumps(settings_json, sort_keys=True, separators=(",", ":")),
    }
    return maker.create_warcinfo_record(filename, info)

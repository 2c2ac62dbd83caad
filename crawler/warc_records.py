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
import zlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from warcio.statusandheaders import StatusAndHeaders, StatusAndHeadersParser
from warcio.timeutils import datetime_to_iso_date
from warcio.warcwriter import WARCWriter

from crawler import PROJECT_URL, __version__
from crawler.warc_files import GZIP_WBITS

if TYPE_CHECKING:
    from crawler.fetcher import Exchange

WARC_VERSION = "WARC/1.1"
MASK = b"***"
# zlib's default level. warcio's 9 took 1.4x the CPU of 6 on text for files 0.3 %
# smaller, 1 half the CPU for files 11 % larger (docs/performance.md).
GZIP_LEVEL = 6
_INFORMATIONAL = re.compile(rb"^HTTP/\S+[ \t]+1\d\d\b")


class RecordMaker:
    """warcio's record builder and serialiser, each record out as one gzip member.

    warcio's writers gzip at level 9 straight into a file; this keeps its record layout
    (headers, digests, Content-Length) and compresses at GZIP_LEVEL as warcio serialises,
    into memory, so that the records of an exchange reach the file in one write.
    """

    def __init__(self) -> None:
        self._writer = WARCWriter(None, gzip=False, warc_version=WARC_VERSION)

    def create_warc_record(self, uri: str, record_type: str, **options: Any) -> Any:
        return self._writer.create_warc_record(uri, record_type, **options)

    def create_warcinfo_record(self, filename: str, info: Mapping[str, Any]) -> Any:
        return self._writer.create_warcinfo_record(filename, info)

    def member(self, record: Any) -> bytes:
        """The record as one whole gzip member (concatenated members make a .warc.gz)."""
        sink = _GzipMember()
        self._writer.out = sink
        self._writer.write_record(record)  # ends with sink.flush()
        return sink.value()


class _GzipMember:
    """A write-only stream that gzips what it is given; flush() ends the member."""

    def __init__(self) -> None:
        self._compressor = zlib.compressobj(GZIP_LEVEL, zlib.DEFLATED, GZIP_WBITS)
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> None:
        self._parts.append(self._compressor.compress(data))

    def flush(self) -> None:
        self._parts.append(self._compressor.flush())

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
    body = exchange.response_body
    response = maker.create_warc_record(
        exchange.url,
        "response",
        payload=io.BytesIO(body),
        length=len(body),
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

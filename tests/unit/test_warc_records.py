"""The WARC rules and files without a crawl: records of an exchange, secrets, names, and
what a record cut short at the end of a file does to `warcio check` (and its repair)."""

from __future__ import annotations

import gzip
import io
import os
import subprocess
import sys
import zlib
from pathlib import Path

import pytest

from crawler.fetcher import Exchange, Truncation
from crawler.warc_files import (
    ArchivePlan,
    public_settings,
    trim_files_of,
    trim_partial_tail,
    whole_members_length,
)
from crawler.warc_records import (
    GzipMembers,
    RecordMaker,
    exchange_records,
    mask_header_values,
    parse_response_head,
)
from crawler.warc_writer import WarcWriter
from tests.helpers.warc import read_records, warcio_check

REQUEST = (
    b"GET /a?b=1 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUser-Agent: crawler/0.1\r\n"
    b"X-Token: secret\r\nauthorization: Bearer abc\r\n\r\n"
)
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 11\r\n\r\n"


def exchange(**changes: object) -> Exchange:
    fields: dict[str, object] = {
        "url": "http://127.0.0.1:8000/a?b=1",
        "started_at": 1_800_000_000.25,
        "ip": "127.0.0.1",
        "request": REQUEST,
        "secret_headers": frozenset({"x-token", "authorization"}),
        "response_head": HEAD,
        "response_body": (b"hello", b" world"),
        "truncated": None,
    }
    fields.update(changes)
    return Exchange(**fields)  # type: ignore[arg-type]


def plan(directory: Path, max_size: int = 1 << 30) -> ArchivePlan:
    return ArchivePlan(
        directory=str(directory),
        crawl_start="20261130051026123",
        machine="box",
        max_size=max_size,
        settings={"max_bytes": 100, "header": ["X-Token"]},
    )


def test_header_values_are_masked_by_name_case_insensitively() -> None:
    masked = mask_header_values(REQUEST, frozenset({"x-token", "authorization"}))
    assert masked == (
        b"GET /a?b=1 HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUser-Agent: crawler/0.1\r\n"
        b"X-Token: ***\r\nauthorization: ***\r\n\r\n"
    )
    assert mask_header_values(REQUEST, frozenset()) == REQUEST
    # The request line is never taken for a header, whatever its path holds.
    line = b"GET /x-token:1 HTTP/1.1\r\n\r\n"
    assert mask_header_values(line, frozenset({"get /x-token"})) == line


def test_passwords_in_url_settings_are_masked() -> None:
    shown = public_settings(
        {
            "frontier": "redis://:hunter2@127.0.0.1:6379/0",
            "other": "redis://user:pw@host/1",
            "seed": ["http://example.com/", "https://u:p@example.com/x"],
            "threads": 8,
        }
    )
    assert shown == {
        "frontier": "redis://:***@127.0.0.1:6379/0",
        "other": "redis://user:***@host/1",
        "seed": ["http://example.com/", "https://u:***@example.com/x"],
        "threads": 8,
    }


def test_interim_answers_are_left_out_of_the_response_head() -> None:
    head = parse_response_head(b"HTTP/1.1 100 Continue\r\n\r\n" + HEAD)
    assert head.get_statuscode() == "200"
    assert head.headers == [("Content-Type", "text/html"), ("Content-Length", "11")]
    odd = parse_response_head(b"HTTP/1.2 299 Odd\nX-A: 1\n\n")  # http.client takes it
    assert (odd.protocol, odd.get_statuscode(), odd.headers) == ("HTTP/1.2", "299", [("X-A", "1")])


def test_an_exchange_is_a_response_and_a_request_naming_it(tmp_path: Path) -> None:
    maker = RecordMaker()
    response, request = exchange_records(maker, exchange(truncated=Truncation.LENGTH))
    path = tmp_path / "x.warc.gz"
    path.write_bytes(maker.member(response) + maker.member(request))
    assert warcio_check([path]).returncode == 0
    stored_response, stored_request = read_records([path])
    assert stored_response.type == "response" and stored_request.type == "request"
    assert stored_response.payload == b"hello world"
    assert stored_response.headers["WARC-Truncated"] == "length"
    assert stored_request.headers["WARC-Concurrent-To"] == stored_response.headers["WARC-Record-ID"]
    for record in (stored_response, stored_request):
        assert record.headers["WARC-Date"] == "2027-01-15T08:00:00.250000Z"
        assert record.headers["WARC-IP-Address"] == "127.0.0.1"
        assert record.headers["WARC-Target-URI"] == "http://127.0.0.1:8000/a?b=1"
        assert record.digests_passed is True
    assert stored_request.header("X-Token") == "***"
    assert stored_request.header("Authorization") == "***"
    assert b"secret" not in zlib.decompressobj(31).decompress(path.read_bytes())


def test_an_attempt_without_an_answer_is_a_request_alone() -> None:
    (request,) = exchange_records(RecordMaker(), exchange(response_head=b"", response_body=()))
    assert request.rec_type == "request"
    assert request.rec_headers.get_header("WARC-Concurrent-To") is None


def test_files_roll_over_and_never_reuse_a_name(tmp_path: Path) -> None:
    archive = plan(tmp_path, max_size=3000)
    taken = tmp_path / archive.file_name(77, 0)
    taken.write_bytes(b"another process's file")
    writer = WarcWriter(archive, pid=77)
    body = os.urandom(1000)  # does not compress: each exchange ~1.5 KB gzipped
    for _ in range(5):
        writer.write(exchange(response_body=(body,)))
    writer.close()
    assert taken.read_bytes() == b"another process's file"
    files = [p for p in sorted(tmp_path.glob("*-box-77-*.warc.gz")) if p != taken]
    assert [p.name for p in files] == [archive.file_name(77, n + 1) for n in range(len(files))]
    assert warcio_check(files).returncode == 0
    records = read_records(files)
    assert sum(r.type == "response" for r in records) == 5
    assert len(files) >= 2
    for path in files:
        exchanges = sum(r.type == "response" for r in records if r.path == path)
        assert path.stat().st_size <= 3000 or exchanges == 1
    assert [r.type for r in records if r.path == files[0]][0] == "warcinfo"


@pytest.fixture
def whole_file(tmp_path: Path) -> tuple[Path, bytes, int]:
    """A file of 3 exchanges, and the gzip member of a 4th that a kill cut short."""
    archive = plan(tmp_path)
    writer = WarcWriter(archive, pid=5)
    for n in range(3):
        writer.write(exchange(url=f"http://127.0.0.1:8000/{n}", response_body=(b"x" * 5000,)))
    writer.close()
    path = tmp_path / archive.file_name(5, 0)
    maker = RecordMaker()
    member = maker.member(exchange_records(maker, exchange())[0])
    return path, member, path.stat().st_size


def test_a_record_cut_short_at_the_end_can_fail_warcio_check(
    whole_file: tuple[Path, bytes, int],
) -> None:
    # Why the partial tail matters: cut inside its WARC headers, the record has no
    # WARC-Target-URI and warcio check dies on it (a traceback, exit 1).
    path, member, size = whole_file
    failed_at = None
    with path.open("ab") as fh:
        for cut in range(1, len(member), 5):
            fh.truncate(size)
            fh.seek(size)
            fh.write(member[:cut])
            fh.flush()
            if warcio_check([path]).returncode != 0:
                failed_at = cut
                break
    assert failed_at is not None


@pytest.mark.parametrize("cut", [1, 10, 40, 80, 120, -9, -1])
def test_trimming_cuts_the_partial_record_and_keeps_every_whole_one(
    cut: int, whole_file: tuple[Path, bytes, int], tmp_path: Path
) -> None:
    path, member, size = whole_file
    with path.open("ab") as fh:
        fh.write(member[:cut])
    assert whole_members_length(io.BytesIO(path.read_bytes()), chunk_bytes=100) == size
    trim_files_of(plan(tmp_path), 5)
    assert path.stat().st_size == size
    assert warcio_check([path]).returncode == 0
    assert sum(r.type == "response" for r in read_records([path])) == 3
    assert trim_partial_tail(str(path)) == 0  # a whole file is left as it is


def test_member_ends_are_found_across_reads_of_any_size() -> None:
    members = [gzip.compress(os.urandom(n)) for n in (0, 10, 5000, 70_000)]
    data = b"".join(members)
    for chunk_bytes in (1, 7, 100, 4096, 1 << 20):
        assert whole_members_length(io.BytesIO(data), chunk_bytes) == len(data)
        assert whole_members_length(io.BytesIO(data[:-1]), chunk_bytes) == len(data) - len(
            members[-1]
        )
    assert whole_members_length(io.BytesIO(b"")) == 0
    assert whole_members_length(io.BytesIO(data + b"not gzip")) == len(data)


_FULL_DISK = """
import resource, signal, sys
from tests.unit.test_warc_records import exchange, plan
from crawler.warc_writer import WarcWriter
from pathlib import Path
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # past the limit, write() fails with EFBIG
resource.setrlimit(resource.RLIMIT_FSIZE, (6000, 6000))
writer = WarcWriter(plan(Path(sys.argv[1])), pid=9)
for n in range(12):
    writer.write(exchange(url=f"http://127.0.0.1:8000/{n}", response_body=(bytes(range(256)) * 4,)))
writer.close()
"""


def test_a_write_that_fails_leaves_the_file_whole_and_says_so_once(tmp_path: Path) -> None:
    # A file size limit stands in for a full disk: writes fail part way, as there.
    done = subprocess.run(
        [sys.executable, "-c", _FULL_DISK, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.count("cannot write WARC file") == 1, done.stderr
    assert "File too large" in done.stderr
    (path,) = tmp_path.glob("*.warc.gz")
    assert 0 < path.stat().st_size <= 6000
    assert warcio_check([path]).returncode == 0
    responses = [r for r in read_records([path]) if r.type == "response"]
    assert 1 <= len(responses) < 12


def test_gzip_members_of_one_deflate_stream_each_decode_alone() -> None:
    members = GzipMembers()
    made = []
    texts = [b"", b"abc" * 1000, os.urandom(70_000), b"abc" * 1000]
    for text in texts:
        members.start()
        for i in range(0, len(text), 4096):
            members.write(text[i : i + 4096])
        members.flush()
        made.append(members.value())
    for text, member in zip(texts, made, strict=True):
        decoder = zlib.decompressobj(31)
        assert decoder.decompress(member) == text and decoder.eof and not decoder.unused_data
        assert gzip.decompress(member) == text
    # The last member repeats the second's text: it refers to nothing before it.
    assert made[3] == made[1]
    assert gzip.decompress(b"".join(made)) == b"".join(texts)

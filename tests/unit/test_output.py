"""RecordSink: records spooled while crawling, assembled into out.json at the end."""

from __future__ import annotations

import errno
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from crawler import output
from crawler.output import RecordSink
from crawler.recorder import Recorder
from crawler.settings import Settings

HEADER = {"version": 1, "complete": True, "note": "é"}
PAGE = {  # a whole page record, for the recorder's stats
    "url": "http://a.test/",
    "final_url": "http://a.test/",
    "redirects": [],
    "depth": 0,
    "referrer": None,
    "status": 200,
    "content_type": "text/html",
    "title": None,
    "links": [],
    "bytes": 10,
    "elapsed_ms": 1.0,
    "fetched_at": "2026-11-28T02:00:00.000Z",
    "retries": 0,
    "worker": 0,
    "error": None,
}


def _records(count: int) -> list[dict[str, object]]:
    return [
        {"url": f"http://127.0.0.1/p/{n}", "title": "caf\u00e9 \n line" * (n % 3), "links": []}
        for n in range(count)
    ]


@pytest.mark.parametrize("chunk", [1, 7, 64, 1 << 20])
@pytest.mark.parametrize("count", [0, 1, 2, 25])
def test_out_json_holds_every_spooled_record_whatever_the_copy_block(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, chunk: int, count: int
) -> None:
    monkeypatch.setattr(output, "COPY_CHUNK_BYTES", chunk)
    out = tmp_path / "out.json"
    sink = RecordSink(str(out))
    records = _records(count)
    for record in records:
        sink.add(record)
    sink.write_out(HEADER)
    sink.close()
    text = out.read_text(encoding="utf-8")
    assert json.loads(text) == {**HEADER, "pages": records}
    # One record per line, indented, as the line-by-line writer laid it out.
    lines = text.splitlines()
    assert lines[len(lines) - count - 2 : -2] == [
        f"  {output.dumps(r)}{',' if n < count - 1 else ''}" for n, r in enumerate(records)
    ]


def test_records_given_instead_of_the_spool(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    sink = RecordSink(str(out))
    sink.add({"url": "ignored"})  # --state: the checkpoint's records are the ones written
    records = _records(3)
    sink.write_out(HEADER, [output.dumps(r) + "\n" for r in records])
    sink.close()
    assert json.loads(out.read_text(encoding="utf-8"))["pages"] == records


def test_written_twice_the_second_file_has_the_records_added_between(tmp_path: Path) -> None:
    out = tmp_path / "out.json"
    sink = RecordSink(str(out))
    sink.add({"n": 1})
    sink.write_out(HEADER)
    sink.add({"n": 2})
    sink.write_out(HEADER)
    sink.close()
    assert json.loads(out.read_text(encoding="utf-8"))["pages"] == [{"n": 1}, {"n": 2}]
    assert not [p.name for p in tmp_path.iterdir() if p.name != "out.json"]


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system temporary directory, for this test: where a fallback copy goes."""
    temp = tmp_path / "temp"
    temp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(temp))
    return temp


def test_out_json_that_cannot_be_written_goes_whole_to_a_fallback_file(
    tmp_path: Path, temp_dir: Path
) -> None:
    results = tmp_path / "results"
    out = results / "out.json"
    sink = RecordSink(str(out))
    records = _records(3)
    for record in records:
        sink.add(record)
    shutil.rmtree(results)  # mid-crawl: the spool, unnamed, lives on
    with pytest.raises(FileNotFoundError):
        sink.write_out(HEADER)
    fallback = sink.write_fallback(HEADER)
    sink.close()
    assert fallback.parent == temp_dir
    assert re.fullmatch(rf"crawler-out-\d{{8}}T\d{{6}}Z-{os.getpid()}\.json", fallback.name)
    assert json.loads(fallback.read_text(encoding="utf-8")) == {**HEADER, "pages": records}
    assert not results.exists()


def test_fallback_with_records_given_and_temp_unusable_goes_to_the_current_directory(
    tmp_path: Path, temp_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = RecordSink(str(tmp_path / "out.json"))
    records = _records(2)
    temp_dir.rmdir()
    monkeypatch.chdir(tmp_path)
    fallback = sink.write_fallback(HEADER, [output.dumps(r) for r in records])
    sink.close()
    assert fallback.parent == tmp_path
    assert json.loads(fallback.read_text(encoding="utf-8"))["pages"] == records


def test_no_place_for_the_fallback_is_an_oserror_and_leaves_nothing(
    tmp_path: Path, temp_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sink = RecordSink(str(tmp_path / "out.json"))
    sink.add({"n": 1})

    def full(*args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(output, "_write_pages", full)
    monkeypatch.chdir(temp_dir)
    with pytest.raises(OSError, match="No space left"):
        sink.write_out(HEADER)
    with pytest.raises(OSError, match="No space left"):
        sink.write_fallback(HEADER)
    sink.close()
    assert list(temp_dir.iterdir()) == []
    assert [p.name for p in tmp_path.iterdir()] == ["temp"]


def test_with_state_the_fallback_holds_the_checkpoints_records(
    tmp_path: Path, temp_dir: Path
) -> None:
    results = tmp_path / "results"
    settings = Settings(
        seed=("http://a.test/",), out=str(results / "out.json"), state=str(tmp_path / "state")
    )
    recorder = Recorder.open(settings, ["http://a.test/"], [])
    for n in range(3):
        url = f"http://a.test/{n}"
        record = {**PAGE, "url": url, "final_url": url}
        recorder.add(record, [url], dropped_links=0)
    recorder.commit(force=True)
    header = recorder.header(complete=True, started_at=1.0, finished_at=2.0)
    shutil.rmtree(results)
    with pytest.raises(FileNotFoundError):
        recorder.write(header)
    fallback = recorder.write_fallback(header)
    recorder.close()
    data = json.loads(fallback.read_text(encoding="utf-8"))
    assert data["complete"] is True
    assert [p["url"] for p in data["pages"]] == [f"http://a.test/{n}" for n in range(3)]

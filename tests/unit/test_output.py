"""RecordSink: records spooled while crawling, assembled into out.json at the end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crawler import output
from crawler.output import RecordSink

HEADER = {"version": 1, "complete": True, "note": "é"}


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

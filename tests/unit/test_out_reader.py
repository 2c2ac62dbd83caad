"""crawler.out_reader against json.loads: the same values, whatever the chunk size, the
key order or the whitespace."""

from __future__ import annotations

import io
import json
from typing import Any

import pytest

from crawler import out_reader
from crawler.out_reader import read_out_json

RECORDS = [
    {"url": "http://127.0.0.1:8000/", "status": 200, "links": ["http://127.0.0.1:8000/ü"]},
    {"url": "http://127.0.0.1:8000/ü", "status": None, "error": {"kind": "timeout"}},
    {"url": "http://127.0.0.1:8000/n", "elapsed_ms": 12345678901234567890, "title": 'a"]}'},
]
HEADER = {"version": 1, "complete": False, "seeds": ["http://127.0.0.1:8000/"], "stats": {}}


def _as_crawler_writes(header: dict[str, Any], pages: list[dict[str, Any]]) -> str:
    lines = ",\n".join(json.dumps(record, ensure_ascii=False) for record in pages)
    return json.dumps(header, indent=1)[:-2] + ',\n "pages": [\n' + lines + "\n]}\n"


TEXTS = {
    "as written": _as_crawler_writes(HEADER, RECORDS),
    "pages first": json.dumps({"pages": RECORDS, **HEADER}),
    "spaced": json.dumps({**HEADER, "pages": RECORDS}, separators=(" \t,\r\n ", "\n : \t")),
    "no pages": json.dumps(HEADER),
    "empty pages": _as_crawler_writes(HEADER, []),
    "empty object": " { } ",
}


@pytest.mark.parametrize("chunk", [1, 2, 7, 1 << 20])
@pytest.mark.parametrize("name", list(TEXTS))
def test_same_as_json_loads(name: str, chunk: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(out_reader, "READ_CHUNK", chunk)
    text = TEXTS[name]
    records: list[dict[str, Any]] = []
    header = read_out_json(io.StringIO(text), records.append)
    expected = json.loads(text)
    assert records == expected.pop("pages", [])
    assert header == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[]",
        "{1: 2}",
        '{"pages": [1]}',
        '{"pages": [{"status": 200}]}',
        '{"pages": [{"url": "x"}',
        '{"pages": [{"url": "x"},]}',
        '{"pages": []} {}',
        '{"version": 1 "pages": []}',
    ],
)
def test_not_an_out_json(text: str) -> None:
    with pytest.raises(ValueError):
        read_out_json(io.StringIO(text), lambda record: None)

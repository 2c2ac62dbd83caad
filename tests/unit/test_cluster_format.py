"""A cluster crawl's results in Redis: record batches, machine states, and their sums."""

from __future__ import annotations

import json
import zlib
from collections import Counter
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from crawler.cluster_format import (
    BATCH_FORMAT,
    MachineState,
    crawl_span,
    decode_state,
    encode_state,
    export_header,
    export_order,
    merge_stats,
    pack_batch,
    stats_fields,
    unpack_batch,
)
from crawler.output import dumps
from crawler.records import Stats


def record(url: str, **changes: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "url": url,
        "final_url": url,
        "redirects": [],
        "depth": 1,
        "referrer": "http://a.test/",
        "status": 200,
        "content_type": "text/html",
        "title": "Ü — ok",
        "links": [f"{url}x", f"{url}y"],
        "bytes": 100,
        "elapsed_ms": 1.5,
        "fetched_at": "2026-11-28T02:00:00.000Z",
        "retries": 0,
        "worker": 1,
        "error": None,
        "machine": "m1:1",
    }
    return {**base, **changes}


def state(machine: str, started_at: float, ended: float, **stats: Any) -> MachineState:
    return MachineState(
        machine=machine,
        started_at=started_at,
        updated_at=ended,
        finished_at=None,
        complete=False,
        batches=1,
        stats=stats,
    )


# -- record batches ---------------------------------------------------------------------


def test_a_batch_gives_back_its_lines_in_order() -> None:
    lines = [dumps(record(f"http://a.test/{n}")) for n in range(50)]
    packed = pack_batch(lines)
    assert packed[:1] == BATCH_FORMAT
    assert unpack_batch(packed) == lines
    assert len(packed) < sum(map(len, lines)) / 4  # records repeat their keys and URLs


def test_the_dictionary_makes_a_single_record_smaller() -> None:
    line = dumps(record("http://a.test/page"))
    plain = zlib.compress(line.encode(), 6)
    assert len(pack_batch([line])) < len(plain) * 0.8


@given(st.lists(st.text(), max_size=5))
def test_any_json_lines_survive(texts: list[str]) -> None:
    lines = [json.dumps({"title": t}, ensure_ascii=False) for t in texts]  # lone surrogates too
    assert unpack_batch(pack_batch(lines)) == lines


def test_an_empty_batch_is_no_lines() -> None:
    assert unpack_batch(pack_batch([])) == []


@pytest.mark.parametrize("element", [b"", b"\x02abc", BATCH_FORMAT + b"not zlib"])
def test_an_unknown_or_damaged_batch_is_a_value_error(element: bytes) -> None:
    with pytest.raises(ValueError, match="batch"):
        unpack_batch(element)


# -- machine states ----------------------------------------------------------------------


def test_a_state_survives_encoding() -> None:
    stats = Stats()
    stats.add(record("http://a.test/"))
    stats.add(record("http://a.test/x", status=None, error={"kind": "dns", "message": "x"}))
    stats.duplicates = 7
    original = MachineState("h:1", 10.0, 12.5, 13.0, True, 4, stats_fields(stats))
    data = encode_state(original)
    assert "h:1" not in data  # the machine is the hash field, not in the value
    assert decode_state("h:1", data) == original
    assert merge_stats([decode_state("h:1", data).stats]) == stats


@pytest.mark.parametrize("data", ["{", "[]", '{"started_at": 1}', '{"started_at": "x"}'])
def test_a_damaged_state_is_a_value_error_naming_the_machine(data: str) -> None:
    with pytest.raises(ValueError, match="machine h:1"):
        decode_state("h:1", data)


def test_stats_fields_are_plain_json() -> None:
    stats = Stats()
    stats.add(record("http://a.test/", status=404))
    fields = stats_fields(stats)
    assert json.loads(json.dumps(fields)) == fields
    assert fields["by_status"] == {"404": 1} and fields["pages"] == 1


# -- adding up -----------------------------------------------------------------------


def test_counters_are_summed_and_status_and_error_counts_merged() -> None:
    a = {"pages": 3, "ok": 2, "failed": 1, "bytes": 30, "retries": 1, "duplicates": 5,
         "by_status": {"200": 2}, "by_error": {"dns": 1}}  # fmt: skip
    b = {"pages": 2, "ok": 1, "failed": 1, "bytes": 5, "robots_excluded": 4,
         "by_status": {"200": 1, "404": 1}, "by_error": {}}  # fmt: skip
    total = merge_stats([a, b])
    assert (total.pages, total.ok, total.failed, total.bytes) == (5, 3, 2, 35)
    assert (total.retries, total.duplicates, total.robots_excluded) == (1, 5, 4)
    assert total.by_status == Counter({"200": 3, "404": 1})
    assert total.by_error == Counter({"dns": 1})


def test_merging_ignores_fields_it_does_not_know_and_nothing_is_zero() -> None:
    assert merge_stats([]) == Stats()
    assert merge_stats([{"pages": 1, "from_a_newer_crawler": 9}]) == Stats(pages=1)


def test_the_span_is_the_earliest_start_to_the_latest_end() -> None:
    running = state("b:2", 105.0, 130.0)  # still running: ends at its last store
    finished = MachineState("a:1", 100.0, 120.0, 121.0, True, 1, {})
    assert crawl_span([running, finished], now=999.0) == (100.0, 130.0)
    assert crawl_span([finished], now=999.0) == (100.0, 121.0)
    assert crawl_span([], now=999.0) == (999.0, 999.0)


def test_machines_are_exported_by_start_then_name() -> None:
    states = [state("c:1", 2.0, 3.0), state("b:1", 1.0, 3.0), state("a:1", 2.0, 3.0)]
    assert [s.machine for s in export_order(states)] == ["b:1", "a:1", "c:1"]


def test_the_header_is_out_json_for_the_whole_cluster() -> None:
    doc = {
        "identity": {"seeds": ["http://a.test/"]},
        "settings": {"procs": 2, "frontier": "redis://:***@h:6379/0", "crawl": "c"},
        "seeds": ["http://a.test/"],
        "rejected_seeds": [{"line": 2, "text": "x", "reason": "bad"}],
    }
    states = [
        state("a:1", 1764295200.0, 1764295204.0, pages=6, ok=6, by_status={"200": 6}),
        state(
            "b:2",
            1764295201.0,
            1764295210.0,
            pages=4,
            ok=3,
            failed=1,
            by_status={"200": 3, "500": 1},
            dropped_links=2,
            plugin_errors=1,
        ),
    ]
    header = export_header(doc, states, complete=True, now=0.0)
    assert header == {
        "version": 1,
        "complete": True,
        "started_at": "2025-11-28T02:00:00.000Z",
        "finished_at": "2025-11-28T02:00:10.000Z",
        "settings": doc["settings"],
        "seeds": ["http://a.test/"],
        "rejected_seeds": [{"line": 2, "text": "x", "reason": "bad"}],
        "stats": {
            "pages": 10,
            "ok": 9,
            "failed": 1,
            "bytes": 0,
            "elapsed_s": 10.0,
            "pages_per_s": 1.0,
            "by_status": {"200": 9, "500": 1},
            "by_error": {},
            "retries": 0,
            "robots_excluded": 0,
            "out_of_scope": 0,
            "duplicates": 0,
            "dropped_links": 2,
            "rejected": 0,
            "beyond_depth": 0,
            "plugin_errors": 1,
        },  # fmt: skip
    }


# -- the Redis URL in messages ---------------------------------------------------------

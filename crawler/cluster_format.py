"""How a cluster crawl's results look in Redis, and how they add up: pure, no I/O.

Each machine (one coordinator: host name and pid) keeps its page records in Redis as
batches, one list element per flush: the records' JSON lines, newline-joined and
zlib-compressed against a fixed dictionary of a record's keys, behind a format byte.
Beside them, one JSON state per machine: its stats, its times, and how many batches
those stats cover. `python -m crawler.export` reads them back and adds them up into one
out.json (docs/scale.md, docs/contract.md#one-crawl-on-many-machines).
"""

from __future__ import annotations

import dataclasses
import json
import zlib
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crawler.recorder import OUT_VERSION
from crawler.records import Stats, iso_time

BATCH_FORMAT = b"\x01"  # zlib with ZDICT below; another dictionary gets another byte
ZLIB_LEVEL = 6
# A record's keys and the values most records share, in out.json's order: zlib finds
# them here instead of in the batch, so even a batch of one record compresses (about a
# third smaller than without; measured in docs/scale.md). Never change it in place: a
# new dictionary is a new BATCH_FORMAT, and unpack_batch keeps reading the old one.
ZDICT = (
    b'{"kind":"timeout","message":"connect: https://www.'
    b'{"url":"http://","final_url":"http://","redirects":[],"depth":1,"referrer":"http://",'
    b'"status":200,"content_type":"text/html","title":null,"links":["https://'
    b'"],"bytes":0,"elapsed_ms":0.0,"fetched_at":"2026-11-28T02:00:00.000Z",'
    b'"retries":0,"worker":0,"error":null,"machine":"'
)


def pack_batch(lines: Sequence[str]) -> bytes:
    """Records as JSON lines (no raw newline inside one) into one list element."""
    compressor = zlib.compressobj(ZLIB_LEVEL, zdict=ZDICT)
    data = "\n".join(lines).encode("utf-8", "surrogatepass")
    return BATCH_FORMAT + compressor.compress(data) + compressor.flush()


def unpack_batch(element: bytes) -> list[str]:
    """The JSON lines of one list element; ValueError if it is not a batch we know."""
    if element[:1] != BATCH_FORMAT:
        raise ValueError(f"unknown record batch format {element[:1]!r}")
    decompressor = zlib.decompressobj(zdict=ZDICT)
    try:
        data = decompressor.decompress(element[1:]) + decompressor.flush()
    except zlib.error as exc:
        raise ValueError(f"damaged record batch: {exc}") from None
    return data.decode("utf-8", "surrogatepass").split("\n") if data else []


@dataclass(frozen=True, slots=True)
class MachineState:
    """What one machine last stored about its part of the crawl."""

    machine: str
    started_at: float  # epoch seconds, the machine's clock
    updated_at: float  # when it stored this
    finished_at: float | None  # None while it runs (or if it died)
    complete: bool  # its own run ended without an interrupt
    batches: int  # the first `batches` elements of its record list are covered here
    stats: dict[str, Any]  # stats_fields() of its Stats

    @property
    def ended_at(self) -> float:
        """The last moment its records speak for: the end, or its last store."""
        return self.finished_at if self.finished_at is not None else self.updated_at


def stats_fields(stats: Stats) -> dict[str, Any]:
    """Every field of a Stats as plain JSON values (whatever fields Stats grows)."""
    return {
        f.name: dict(value) if isinstance(value := getattr(stats, f.name), Counter) else value
        for f in dataclasses.fields(stats)
    }


def encode_state(state: MachineState) -> str:
    fields = dataclasses.asdict(state)
    del fields["machine"]  # it is the hash field's name
    return json.dumps(fields, separators=(",", ":"), sort_keys=True)


def decode_state(machine: str, data: bytes | str) -> MachineState:
    """ValueError if `data` is not a state encode_state wrote."""
    try:
        fields = json.loads(data)
        return MachineState(
            machine=machine,
            started_at=float(fields["started_at"]),
            updated_at=float(fields["updated_at"]),
            finished_at=None if fields["finished_at"] is None else float(fields["finished_at"]),
            complete=bool(fields["complete"]),
            batches=int(fields["batches"]),
            stats=dict(fields["stats"]),
        )
    except (KeyError, TypeError, ValueError) as exc:  # JSONDecodeError is a ValueError
        raise ValueError(f"machine {machine}: not a stored state ({exc})") from None


def merge_stats(parts: Iterable[Mapping[str, Any]]) -> Stats:
    """The machines' stats added up: counters summed, by_status and by_error merged.

    Fields a Stats does not have (stored by a newer crawler) are left out; a field a
    machine did not store counts 0.
    """
    total = Stats()
    for part in parts:
        for f in dataclasses.fields(total):
            value = part.get(f.name)
            if value is None:
                continue
            current = getattr(total, f.name)
            if isinstance(current, Counter):
                current.update({str(k): int(v) for k, v in value.items()})
            else:
                setattr(total, f.name, current + int(value))
    return total


def crawl_span(states: Sequence[MachineState], now: float) -> tuple[float, float]:
    """(started, finished): the earliest start and the latest end of the machines.

    A machine still running (or dead) ends at its last store. With no machine yet, the
    crawl has neither: both are `now`.
    """
    if not states:
        return now, now
    started = min(s.started_at for s in states)
    return started, max(started, max(s.ended_at for s in states))


def export_order(states: Iterable[MachineState]) -> list[MachineState]:
    """The order of the machines' records in the export: by start, then by name."""
    return sorted(states, key=lambda s: (s.started_at, s.machine))


def export_header(
    crawl_doc: Mapping[str, Any],
    states: Sequence[MachineState],
    *,
    complete: bool,
    now: float,
) -> dict[str, Any]:
    """out.json's fields before "pages" for the whole cluster crawl.

    `crawl_doc`: the crawl's stored settings document ("settings", "seeds",
    "rejected_seeds"); `complete`: whether the whole crawl has finished.
    """
    started, finished = crawl_span(states, now)
    stats = merge_stats(s.stats for s in states)
    return {
        "version": OUT_VERSION,
        "complete": complete,
        "started_at": iso_time(started),
        "finished_at": iso_time(finished),
        "settings": crawl_doc["settings"],
        "seeds": crawl_doc["seeds"],
        "rejected_seeds": crawl_doc["rejected_seeds"],
        "stats": stats.to_json(finished - started),
    }

"""The page records of a cluster crawl, kept in Redis so that any machine can export them.

Each coordinator (a "machine": host name and pid) buffers its records and, at every
flush (the recorder's commit: once a loop turn), stores them and its stats in one
round trip (one Lua script, so one atomic step): the buffered records as one
compressed batch pushed onto its list, and its state (stats, times, how many batches
they cover) into the crawl's `machines` hash. So what an export reads of a machine is
always the records of some flush and the stats that count exactly those. The encoding
is crawler/cluster_format.py's.

Keys, under `crawler:<crawl>:` like the frontier's (crawler/redis_frontier.py):
`machines` (hash: machine -> JSON state), `records:<machine>` (list of batches), and
the two the command line writes: `settings` (the crawl's settings document) and
`finished` (set once the whole crawl has finished).
"""

from __future__ import annotations

import os
import socket
import time
from collections.abc import Callable, Iterator
from typing import Any

import redis

from crawler.cluster_format import (
    MachineState,
    decode_state,
    encode_state,
    pack_batch,
    stats_fields,
    unpack_batch,
)
from crawler.output import dumps
from crawler.records import Stats
from crawler.redis_frontier import KEY_PREFIX

SETTINGS_KEY = "settings"
FINISHED_KEY = "finished"
MACHINES_KEY = "machines"
RECORDS_KEY = "records:"
READ_BATCHES = 64  # batches per LRANGE when exporting: a few MB at most in memory


def machine_name(hostname: str | None = None, pid: int | None = None) -> str:
    """This coordinator's name in a cluster crawl: `host:pid` ("myhost:12345")."""
    host = socket.gethostname() if hostname is None else hostname
    return f"{host}:{os.getpid() if pid is None else pid}"


def crawl_key(crawl: str, name: str) -> str:
    """The Redis key `name` of crawl `crawl` (`crawler:<crawl>:<name>`)."""
    return f"{KEY_PREFIX}{crawl}:{name}"


# Store a flush: push the batches the list does not hold yet, then the machine's state.
# A batch's place in the list is its number (ARGV[3] for the first one), so a flush
# retried after a lost reply does not push a batch twice. KEYS: the record list, the
# machines hash; ARGV: machine, state, first batch number, the batches.
_FLUSH = """
local stored = redis.call('LLEN', KEYS[1])
local number = tonumber(ARGV[3])
for i = 4, #ARGV do
  if number > stored then
    stored = redis.call('RPUSH', KEYS[1], ARGV[i])
  end
  number = number + 1
end
redis.call('HSET', KEYS[2], ARGV[1], ARGV[2])
return stored
"""


class ClusterRecords:
    """One machine's records and stats in Redis; add() buffers, flush() stores."""

    def __init__(
        self,
        client: redis.Redis,
        crawl: str,
        machine: str,
        *,
        clock: Callable[[], float] = time.time,
        call: Callable[[Callable[[], Any]], Any] | None = None,
    ) -> None:
        """`call`: how a Redis call is made, e.g. the frontier's retry loop while Redis
        is away (RedisFrontier.call); a flush is safe to repeat."""
        self.machine = machine
        self._call = call or (lambda fn: fn())
        self._keys = [crawl_key(crawl, RECORDS_KEY + machine), crawl_key(crawl, MACHINES_KEY)]
        self._clock = clock
        self._script = client.register_script(_FLUSH)
        self._buffer: list[str] = []
        self._unsent: list[bytes] = []  # packed batches whose flush has not been answered
        self._batches = 0  # stored, as far as we know
        self._stored: tuple[Any, ...] | None = None  # what the last flush stored

    def add(self, record: dict[str, Any]) -> None:
        """Buffer one record (stored by the next flush)."""
        self.add_line(dumps(record))

    def add_line(self, line: str) -> None:
        """Buffer one record already encoded (the Recorder encodes each record once)."""
        self._buffer.append(line)

    def flush(
        self, stats: Stats, *, started_at: float, finished_at: float | None, complete: bool
    ) -> None:
        """Store the buffered records and this machine's stats and times: one round trip.

        Nothing is sent when no record waits and the stats and times are those already
        stored. redis.RedisError if Redis cannot be reached: the records are kept and
        go with the next flush (once, even if this one did reach Redis).
        """
        pending = self.pending(
            stats, started_at=started_at, finished_at=finished_at, complete=complete
        )
        if pending is None:
            return
        argv, stored = pending
        self._call(lambda: self._script(keys=argv[1:3], args=argv[3:]))
        stored(None)

    def pending(
        self, stats: Stats, *, started_at: float, finished_at: float | None, complete: bool
    ) -> tuple[list[Any], Callable[[Any], None]] | None:
        """The flush as EVALSHA arguments (numkeys, keys, args) and what to call once it
        was stored, or None if nothing changed: for a caller that sends it in a pipeline
        of its own (the frontier's, before the finishes: crawler/redis_frontier.py)."""
        fields = stats_fields(stats)
        current = (dumps(fields), started_at, finished_at, complete)
        if self._buffer:
            self._unsent.append(pack_batch(self._buffer))
            self._buffer.clear()
        if not self._unsent and current == self._stored:
            return None
        batches = self._batches + len(self._unsent)
        state = MachineState(
            machine=self.machine,
            started_at=started_at,
            updated_at=self._clock(),
            finished_at=finished_at,
            complete=complete,
            batches=batches,
            stats=fields,
        )
        sent = len(self._unsent)
        argv: list[Any] = [2, *self._keys, self.machine, encode_state(state), self._batches + 1]
        argv += self._unsent

        def stored(_reply: Any) -> None:
            del self._unsent[:sent]
            self._batches += sent
            self._stored = current

        return argv, stored

    @property
    def script(self) -> Any:
        """The flush's script (its sha for EVALSHA; loaded by whoever pipelines it)."""
        return self._script


# -- reading it back (the export) --------------------------------------------------------


def read_states(raw: dict[bytes, bytes]) -> list[MachineState]:
    """The machines hash's contents (HGETALL) as states; ValueError if one is damaged."""
    return [decode_state(name.decode(), data) for name, data in raw.items()]


def iter_records(client: redis.Redis, crawl: str, state: MachineState) -> Iterator[str]:
    """The JSON lines of the records that `state` counts, in the order they were stored.

    READ_BATCHES list elements per round trip, so memory holds a few batches at most.
    """
    key = crawl_key(crawl, RECORDS_KEY + state.machine)
    for start in range(0, state.batches, READ_BATCHES):
        stop = min(start + READ_BATCHES, state.batches) - 1
        elements: list[bytes] = client.lrange(key, start, stop)  # type: ignore[assignment]
        if len(elements) != stop - start + 1:
            raise ValueError(
                f"machine {state.machine}: {state.batches} record batches counted, "
                f"{start + len(elements)} stored"
            )
        for element in elements:
            yield from unpack_batch(element)

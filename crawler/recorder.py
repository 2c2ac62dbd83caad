"""Everything a crawl writes, in one place: records, stats, --jsonl, the checkpoint, out.json.

The coordinator hands it finished records and the URLs it queued or gave up; it owns
the stats, the crawl's identity (what --state must match to resume), the catch-up of
--jsonl on resume, the checkpoint's counters, and the out.json header.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crawler.checkpoint import CrawlState, Loaded
from crawler.errors import UsageError
from crawler.output import RecordSink, check_output_paths, dumps
from crawler.records import Stats, iso_time
from crawler.settings import Settings

if TYPE_CHECKING:  # cluster_records needs redis and imports OUT_VERSION from here
    from crawler.cluster_records import ClusterRecords

log = logging.getLogger(__name__)

OUT_VERSION = 1


def crawl_identity(settings: Settings, seeds: Sequence[str]) -> dict[str, Any]:
    """What makes a crawl the same crawl when resumed: the seeds and what may be followed.

    Limits are not part of it: raising --max-pages and running again goes on.
    """
    return {
        "seeds": list(seeds),
        "scope": settings.scope,
        "allow": list(settings.allow),
        "deny": list(settings.deny),
    }


class Recorder:
    def __init__(
        self,
        settings: Settings,
        seeds: Sequence[str],
        rejected_seeds: Sequence[dict[str, Any]],
        sink: RecordSink,
        state: CrawlState | None = None,
        *,
        cluster: ClusterRecords | None = None,
        started_at: float | None = None,
    ) -> None:
        """`cluster`: a crawl on many machines (--frontier redis://…): every record also
        gets "machine" and goes to Redis, and each commit stores this machine's stats
        there, with `started_at` (default: now) and, at the end, the time it ended."""
        self._settings = settings
        self._seeds = list(seeds)
        self._rejected_seeds = list(rejected_seeds)
        self._sink = sink
        self._state = state
        self._cluster = cluster
        self._started_at = time.time() if started_at is None else started_at
        self._dirty = False  # something to commit to the state
        # The frontier sends the cluster flush first in each of its pipelines
        # (cluster_pending): a commit then stores nothing itself, but the last one.
        self.cluster_piggybacked = False
        # Whether this machine still owns these hosts (RedisFrontier.still_own), and the
        # records that wait for its answer: record, used, dropped links, host.
        self.gate: Callable[[Sequence[str]], list[bool]] | None = None
        self._provisional: list[tuple[dict[str, Any], list[str], int, str]] = []
        self.dropped_records = 0
        self.stats = Stats()
        self.elapsed_before_s = 0.0  # of the earlier runs of a resumed crawl

    @classmethod
    def open(
        cls,
        settings: Settings,
        seeds: Sequence[str],
        rejected_seeds: Sequence[dict[str, Any]],
        *,
        cluster: ClusterRecords | None = None,
        started_at: float | None = None,
    ) -> Recorder:
        """Open the outputs and the checkpoint; UsageError if one cannot be used.

        Every path is looked at before anything is made, and the checkpoint, the one
        that holds data, is opened last: a UsageError leaves nothing behind.
        """
        check_output_paths(settings.out, settings.jsonl, settings.state)
        sink = RecordSink(settings.out, settings.jsonl)
        state = None
        try:
            if settings.state:
                state = CrawlState(settings.state, crawl_identity(settings, seeds))
        except UsageError:
            sink.abandon()
            raise
        return cls(
            settings, seeds, rejected_seeds, sink, state, cluster=cluster, started_at=started_at
        )

    @property
    def resuming(self) -> bool:
        return self._state is not None and self._state.resumed

    def resume(self) -> Loaded | None:
        """Pick up an earlier run of this crawl, if there is one: what the frontier needs.

        --jsonl gets the records committed by the earlier run but not yet written
        there (it was killed in between); the stats are folded again from the stored
        records, and the other counters read back.
        """
        if self._state is None or not self._state.resumed:
            return None
        self._sink.append_jsonl(self._state.iter_records(after=self._sink.jsonl_lines()))
        loaded = self._state.load()
        for line in self._state.iter_records():
            self.stats.add(json.loads(line))
        self.stats.restore_counters(loaded.counters)
        self.elapsed_before_s = float(loaded.counters.get("elapsed_s", 0.0))
        log.info(
            "resuming from %s: %d records, %d URLs seen, %d pending",
            self._state.directory,
            loaded.records,
            len(loaded.seen),
            len(loaded.pending),
        )
        return loaded

    # -- during the crawl ---------------------------------------------------------
    def queued(self, url: str, depth: int, referrer: str | None) -> None:
        """A new URL is queued (the checkpoint keeps it pending until its record)."""
        if self._state is not None:
            self._state.add_pending(url, depth, referrer)
            self._dirty = True

    def given_up(self, urls: Iterable[str]) -> None:
        """URLs never to fetch, with no record: robots.txt disallows them, out of scope."""
        if self._state is not None:
            self._state.mark_done(urls)
            self._dirty = True

    def add(
        self,
        record: dict[str, Any],
        used: Iterable[str],
        dropped_links: int,
        *,
        host: str | None = None,
    ) -> None:
        """A finished record; `used` are the URLs its chain fetched or robots refused.

        A chain that ended at a URL seen elsewhere does not list that URL: it may still
        be pending, and its own record will mark it. `host`: of the task whose answer
        it is; with a `gate` (a cluster crawl) the record counts only once the gate says
        this machine still owns that host (settle_provisional).
        """
        if self.gate is not None and host is not None:
            self._provisional.append((record, list(used), dropped_links, host))
            return
        self._accept(record, used, dropped_links)

    def settle_provisional(self, *, trust: bool = False) -> None:
        """Count the records waiting for the gate whose hosts this machine still owns;
        drop the others (their tasks went to another machine, which fetches them again:
        docs/design.md, "One record per URL"). `trust`: count them all (the end, Redis
        gone: out.json keeps what was fetched)."""
        if not self._provisional:
            return
        waiting = self._provisional
        if trust or self.gate is None:
            owned = dict.fromkeys((w[3] for w in waiting), True)
        else:  # kept waiting if the gate cannot answer (Redis lost)
            hosts = sorted({w[3] for w in waiting})
            owned = dict(zip(hosts, self.gate(hosts), strict=True))
        self._provisional = []
        for record, used, dropped_links, host in waiting:
            if owned[host]:
                self._accept(record, used, dropped_links)
            else:
                self.dropped_records += 1
                log.warning(
                    "%s: the lease of %s ran out before this record was stored and "
                    "another machine has the host now: the record is dropped",
                    record["url"],
                    host,
                )

    def _accept(self, record: dict[str, Any], used: Iterable[str], dropped_links: int) -> None:
        if self._cluster is not None:
            record = {**record, "machine": self._cluster.machine}
        line = dumps(record)  # once, for every place it goes
        if self._cluster is not None:
            self._cluster.add_line(line)
        self.stats.add(record)
        self.stats.dropped_links += dropped_links
        if self._state is None:
            self._sink.add_line(line)
        else:
            self._state.add_record(record, line, dict.fromkeys(used))
            self._dirty = True

    def cluster_pending(self) -> tuple[list[Any], Callable[[Any], None]] | None:
        """The cluster flush of what changed, for the frontier's next pipeline
        (ClusterRecords.pending); None if nothing did."""
        assert self._cluster is not None
        self.settle_provisional()
        return self._cluster.pending(
            self.stats, started_at=self._started_at, finished_at=None, complete=False
        )

    def commit(
        self, *, force: bool = False, complete: bool = False, elapsed_s: float = 0.0
    ) -> None:
        """Checkpoint what changed since the last call; stream committed records to --jsonl.

        `elapsed_s`: of this run so far (0 until it ends). In a cluster crawl, every
        call also stores the new records and the stats in Redis (redis.RedisError if it
        cannot: the records are kept for the next call).
        """
        if force:
            try:
                self.settle_provisional()
            finally:
                self.settle_provisional(trust=True)  # Redis gone: out.json keeps them
        if self._cluster is not None and (force or not self.cluster_piggybacked):
            ended = elapsed_s > 0
            self._cluster.flush(
                self.stats,
                started_at=self._started_at,
                finished_at=time.time() if ended else None,
                complete=complete,
            )
        if self._state is None or not (self._dirty or force):
            return
        counters: dict[str, Any] = self.stats.counters()
        counters["elapsed_s"] = self.elapsed_before_s + elapsed_s
        self._sink.append_jsonl(self._state.commit(counters, complete=complete))
        self._dirty = False

    # -- at the end ---------------------------------------------------------------
    def header(self, *, complete: bool, started_at: float, finished_at: float) -> dict[str, Any]:
        """out.json's fields before "pages"."""
        self.settle_provisional(trust=True)  # normally none left: the last commit counted them
        elapsed_s = self.elapsed_before_s + finished_at - started_at
        return {
            "version": OUT_VERSION,
            "complete": complete,
            "started_at": iso_time(started_at),
            "finished_at": iso_time(finished_at),
            "settings": self._settings.to_json(),
            "seeds": self._seeds,
            "rejected_seeds": self._rejected_seeds,
            "stats": self.stats.to_json(elapsed_s),
        }

    def write(self, header: dict[str, Any]) -> None:
        """Write out.json atomically: `header`, then every record of the crawl.

        OSError if it cannot be written; out.json is then untouched.
        """
        self.settle_provisional(trust=True)
        self._sink.write_out(header, self._records())

    def write_fallback(self, header: dict[str, Any]) -> Path:
        """The document write() could not put in place, in a new file; its path (or OSError)."""
        self.settle_provisional(trust=True)
        return self._sink.write_fallback(header, self._records())

    def _records(self) -> Iterable[str] | None:
        """The checkpoint's records with --state; None: the spool's."""
        return self._state.iter_records() if self._state is not None else None

    def close(self) -> None:
        self._sink.close()
        if self._state is not None:
            self._state.close()

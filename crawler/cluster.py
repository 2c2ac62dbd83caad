"""One crawl on many machines: its name, its identity, and joining it in Redis.

Every machine runs the same command against one Redis (docs/contract.md#many-machines).
The first one stores the crawl's settings under `crawler:<name>:settings`; each one that
joins compares its own with them, and a difference that matters is a usage error (exit
2) naming it. The rules (name, identity, which settings may differ) are pure functions;
`join` is the one place that talks to Redis, once, at start.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol

import redis

from crawler.errors import UsageError
from crawler.frontier import Task
from crawler.settings import Settings, masked_url

# What each machine may set for itself (SPEC): how it runs and where it writes.
# `seeds`/`seed` name where this machine read the seed URLs (the URLs themselves are in the
# identity), `frontier` how it reaches Redis, `crawl` is the key itself, `redis_timeout`
# how long this machine works on without Redis (its own patience, like --procs).
MACHINE_SETTINGS = frozenset(
    {
        "procs",
        "threads",
        "out",
        "jsonl",
        "warc",
        "report",
        "log_level",
        "progress",
        "seeds",
        "seed",
        "frontier",
        "crawl",
        "redis_timeout",
    }
)
# A finished crawl may be run again with other limits (like --state): it goes on.
LIMITS = frozenset({"max_pages", "max_pages_per_host", "max_depth"})
NAME_HEX_DIGITS = 12


class SharedFrontier(Protocol):
    """What a coordinator needs of a shared frontier beyond the Frontier protocol."""

    abort: bool

    def deadline(self, host: str) -> float: ...

    def maintain(self) -> None: ...

    def leave(self) -> int: ...

    def store_robots(self, host: str, answer: dict[str, Any]) -> None: ...

    def robots_answers(self, hosts: Sequence[str]) -> dict[str, dict[str, Any]]: ...

    def mark_finished(self) -> None: ...

    def hold_back(self, task: Task) -> None: ...

    def add_later(self, tasks: Sequence[Task], then: Callable[[list[bool]], None]) -> None: ...

    def ask_robots_later(self, task: Task) -> None: ...

    def mark_seen_later(self, urls: Sequence[str], then: Callable[[list[bool]], None]) -> None: ...

    def beyond_later(self, urls: Sequence[str], then: Callable[[list[bool]], None]) -> None: ...

    def check_later(self, tasks: Sequence[Task], then: Callable[[list[bool]], None]) -> None: ...

    def pending(self) -> bool: ...

    def ends_pending(self) -> bool: ...

    def flush(self) -> None: ...


def identity(settings: Settings, seeds: Sequence[str]) -> dict[str, Any]:
    """What makes two commands the same crawl: sorted canonical seeds, scope, allow, deny."""
    return {
        "seeds": sorted(set(seeds)),
        "scope": settings.scope,
        "allow": sorted(settings.allow),
        "deny": sorted(settings.deny),
    }


def crawl_name(ident: Mapping[str, Any]) -> str:
    """The derived name: the first 12 hex digits of the SHA-256 of the identity."""
    text = json.dumps(ident, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:NAME_HEX_DIGITS]


def settings_key(name: str) -> str:
    return f"crawler:{name}:settings"


def document(
    settings: Settings, seeds: Sequence[str], rejected_seeds: Sequence[dict[str, Any]]
) -> dict[str, Any]:
    """What the first machine stores under crawler:<name>:settings (export reads it)."""
    return {
        "identity": identity(settings, seeds),
        "settings": settings.to_json(),
        "seeds": list(seeds),
        "rejected_seeds": list(rejected_seeds),
        "header_digest": header_digest(settings),
    }


def header_digest(settings: Settings) -> str:
    """The --header values, compared between machines without being stored: "settings"
    shows header names only (values are secrets: a token, a cookie), so a joiner with
    other values would pass unseen. A SHA-256 of the sorted header lines is enough to
    tell them apart; whoever can read it can read the whole crawl in Redis anyway."""
    lines = "\n".join(sorted(settings.header))
    return hashlib.sha256(lines.encode("utf-8", "surrogatepass")).hexdigest()


def differences(stored: Mapping[str, Any], mine: Mapping[str, Any]) -> list[str]:
    """The crawl settings in which `mine` differs from `stored` (each document's
    "settings"), as option names; those a machine sets for itself are not compared."""
    keys = sorted((set(stored) | set(mine)) - MACHINE_SETTINGS)
    return [key for key in keys if stored.get(key) != mine.get(key)]


def describe(key: str, stored: Mapping[str, Any], mine: Mapping[str, Any]) -> str:
    option = "--" + key.replace("_", "-")
    return f"{option} {json.dumps(mine.get(key))} (the crawl has {json.dumps(stored.get(key))})"


STARTED, JOINED, REOPENED = "started", "joined", "reopened"


def join(client: redis.Redis, name: str, doc: dict[str, Any], url: str) -> str:
    """Store the crawl's settings, or check ours against those stored: STARTED (this
    machine is the first), JOINED, or REOPENED (a finished crawl, run with other limits).

    UsageError if Redis cannot be reached or our crawl differs from the stored one.
    """
    key = settings_key(name)
    try:
        client.ping()
        if client.set(key, json.dumps(doc), nx=True):
            return STARTED
        raw = client.get(key)
        finished = bool(client.exists(f"crawler:{name}:finished"))
    except redis.RedisError as exc:
        raise UsageError(f"cannot use Redis at {masked_url(url)}: {exc}") from None
    if raw is None:  # deleted between the two calls: try once more
        return join(client, name, doc, url)
    stored = json.loads(raw)
    if stored.get("identity") != doc["identity"]:
        raise UsageError(
            f"crawl {name} in Redis has other seeds, --scope, --allow or --deny: "
            f"{json.dumps(stored.get('identity'))}; give another --crawl NAME"
        )
    diff = differences(stored.get("settings", {}), doc["settings"])
    if "header_digest" in stored and stored["header_digest"] != doc["header_digest"]:
        raise UsageError(
            f"crawl {name} in Redis was started with other --header values "
            "(names and values must be the same on every machine)"
        )
    if not diff:
        return JOINED
    if finished and set(diff) <= LIMITS:
        # Like --state: a finished crawl run again with other limits goes on.
        client.set(key, json.dumps(doc))
        client.delete(f"crawler:{name}:finished")
        return REOPENED
    shown = "; ".join(describe(k, stored["settings"], doc["settings"]) for k in diff)
    raise UsageError(f"crawl {name} in Redis was started with other settings: {shown}")

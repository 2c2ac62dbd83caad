"""Scope: which URLs a crawl may follow, from the seeds, --scope, --allow and --deny.

Pure. Scope host means the seeds' hosts (host and port); domain means the seeds'
host names and their subdomains, any port; any means no host limit. --allow/--deny
apply to discovered links and redirect targets, never to the seeds themselves.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from crawler.urls import host_key, hostname


@dataclass(frozen=True, slots=True)
class Scope:
    mode: str
    seed_hosts: frozenset[str]
    seed_hostnames: frozenset[str]
    allow: tuple[re.Pattern[str], ...] = ()
    deny: tuple[re.Pattern[str], ...] = ()

    @classmethod
    def build(
        cls, seeds: Iterable[str], mode: str, allow: Iterable[str] = (), deny: Iterable[str] = ()
    ) -> Scope:
        seeds = list(seeds)
        return cls(
            mode=mode,
            seed_hosts=frozenset(host_key(s) for s in seeds),
            seed_hostnames=frozenset(hostname(s) for s in seeds),
            allow=tuple(re.compile(p) for p in allow),
            deny=tuple(re.compile(p) for p in deny),
        )

    def is_seed_host(self, url: str) -> bool:
        """True when `url` is on one of the seeds' hosts (where --header may go)."""
        return host_key(url) in self.seed_hosts

    def allows(self, url: str) -> bool:
        """May a discovered link or redirect target (canonical) be followed?"""
        return self._host_allowed(url) and self._patterns_allow(url)

    def _host_allowed(self, url: str) -> bool:
        if self.mode == "any":
            return True
        if self.mode == "host":
            return host_key(url) in self.seed_hosts
        name = hostname(url)
        if name in self.seed_hostnames:
            return True
        return any(name.endswith("." + seed) for seed in self.seed_hostnames)

    def _patterns_allow(self, url: str) -> bool:
        if self.allow and not any(p.search(url) for p in self.allow):
            return False
        return not any(p.search(url) for p in self.deny)

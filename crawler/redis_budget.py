"""The page budget of a crawl on many machines: its counters in Redis.

`try_spend` is one Lua script (check both limits, then count): two machines can never
both take the last page of --max-pages or of a host's --max-pages-per-host. Without
limits it costs no round trip at all. Keys: `crawler:<crawl>:spent` (records started)
and `crawler:<crawl>:spent_per_host` (a hash by host).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import redis

# ARGV 1: max pages (0: none), 2: max per host (0: none), 3: host. 1 if spent.
_TRY_SPEND = """
local max_pages = tonumber(ARGV[1])
local max_per_host = tonumber(ARGV[2])
if max_pages > 0 and tonumber(redis.call('GET', KEYS[1]) or '0') >= max_pages then return 0 end
if max_per_host > 0 and tonumber(redis.call('HGET', KEYS[2], ARGV[3]) or '0') >= max_per_host then
  return 0
end
redis.call('INCR', KEYS[1])
redis.call('HINCRBY', KEYS[2], ARGV[3], 1)
return 1
"""


class RedisBudget:
    """The Budget shared by every coordinator of one crawl."""

    def __init__(
        self,
        client: redis.Redis,
        prefix: str,
        max_pages: int = 0,
        max_per_host: int = 0,
        call: Callable[[Callable[[], Any]], Any] | None = None,
    ) -> None:
        self.max_pages = max_pages
        self.max_per_host = max_per_host
        self._client = client
        self._keys = [f"{prefix}spent", f"{prefix}spent_per_host"]
        self._script = client.register_script(_TRY_SPEND)
        # How calls are made: the frontier's retry loop (Redis lost: --redis-timeout).
        self._call = call or (lambda fn: fn())

    def _limited(self) -> bool:
        return bool(self.max_pages or self.max_per_host)

    def has_room(self, host: str) -> bool:
        if not self._limited():
            return True

        def read() -> list[Any]:
            pipe = self._client.pipeline(transaction=False)  # one round trip, not two
            pipe.get(self._keys[0])
            pipe.hget(self._keys[1], host)
            return list(pipe.execute())

        total, mine = self._call(read)
        if self.max_pages and int(total or 0) >= self.max_pages:
            return False
        return not (self.max_per_host and int(mine or 0) >= self.max_per_host)

    def try_spend(self, host: str) -> bool:
        if not self._limited():
            return True  # nothing to check: no round trip
        args: list[int | str] = [self.max_pages, self.max_per_host, host]
        return bool(self._call(lambda: self._script(keys=self._keys, args=args)))

    def spend(self, host: str) -> None:
        self.restore({host: 1})

    def restore(self, records_per_host: Mapping[str, int]) -> None:
        def add() -> None:
            pipe = self._client.pipeline()
            for host, count in records_per_host.items():
                pipe.incrby(self._keys[0], count)
                pipe.hincrby(self._keys[1], host, count)
            pipe.execute()

        if records_per_host:
            self._call(add)

    @property
    def started(self) -> int:
        return int(self._call(lambda: self._client.get(self._keys[0])) or 0)

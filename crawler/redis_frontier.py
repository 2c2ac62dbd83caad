"""A frontier in Redis, shared by every coordinator of one crawl (on one or many machines).

The same Frontier protocol as MemoryFrontier, and the same contract tests: each call is
one Lua script, so each is one atomic step and one round trip whoever else is calling.
The seen set, the host queues, each host's politeness state (requests in flight, the
last start, its delay, the robots.txt hold) and the ready hosts all live in Redis under
`crawler:<crawl>:`, timed by the Redis server's clock (or by `clock`, in tests), so
`--per-host` and `--delay` hold across machines.

Hosts are owned through leases: `take` claims a host for this coordinator for
`lease_ttl_s` (renewed whenever it touches the host again) and never takes from a host
another coordinator holds; a host whose lease ran out may be claimed by another one.
A host is let go once nothing of it is queued or in flight.

Not yet here (see docs/design.md): renewing leases of hosts waiting only on time,
fencing a coordinator that was paused past its lease, and handing a dead coordinator's
in-flight URLs to the next owner.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any, cast

import redis

from crawler.frontier import Task, seen_slot
from crawler.messages import Result

KEY_PREFIX = "crawler:"
LEASE_TTL_S = 30.0
# How many ready hosts one take() looks at per task it may return: hosts owned by
# another coordinator, or whose next task is too deep, are skipped.
CANDIDATES_PER_TASK = 4

# Shared by every script: keys, the clock, and one host's politeness state.
# ARGV: 1 prefix, 2 now ('' = the server's clock), 3 owner, 4 lease ttl, 5 per_host,
# 6 the crawl's delay; the script's own arguments follow.
_COMMON = """
local P = ARGV[1]
local OWNER = ARGV[3]
local TTL = tonumber(ARGV[4])
local PER_HOST = tonumber(ARGV[5])
local DELAY = tonumber(ARGV[6])
local NOW
if ARGV[2] ~= '' then
  NOW = tonumber(ARGV[2])
else
  local t = redis.call('TIME')
  NOW = tonumber(t[1]) + tonumber(t[2]) / 1000000
end

local function num(v, default)
  if v then return tonumber(v) end
  return default
end

local function host_delay(h)
  return math.max(DELAY, num(redis.call('HGET', h, 'delay'), 0))
end

local function may_own(h)
  local owner = redis.call('HGET', h, 'owner')
  if (not owner) or owner == OWNER then return true end
  return num(redis.call('HGET', h, 'until'), 0) <= NOW
end

local function claim(h)
  redis.call('HSET', h, 'owner', OWNER, 'until', NOW + TTL)
end

local function next_depth(host)
  local first = redis.call('LINDEX', P .. 'q:' .. host, 0)
  if not first then return nil end
  return cjson.decode(first)[2]
end

-- When the host's next task may start (nil: not for now), as MemoryFrontier's gate.
local function ready_time(host)
  local h = P .. 'h:' .. host
  if num(redis.call('HGET', h, 'in'), 0) >= PER_HOST then return nil end
  local robots = redis.call('LLEN', P .. 'r:' .. host)
  local queued = redis.call('LLEN', P .. 'q:' .. host)
  local held = redis.call('HGET', h, 'held')
  if robots == 0 and (queued == 0 or held) then return nil end
  local last = redis.call('HGET', h, 'last')
  if not last then return 0 end
  return tonumber(last) + host_delay(h)
end

local function schedule(host)
  local when = ready_time(host)
  if when then
    redis.call('ZADD', P .. 'ready', when, host)
  else
    redis.call('ZREM', P .. 'ready', host)
  end
end

local function enqueue(host, task, robots, front)
  local key = P .. (robots and 'r:' or 'q:') .. host
  if front and not robots then
    redis.call('LPUSH', key, task)
  else
    redis.call('RPUSH', key, task)
  end
end

-- Let the host go when nothing of it is queued or in flight.
local function settle(host)
  local h = P .. 'h:' .. host
  schedule(host)
  if num(redis.call('HGET', h, 'in'), 0) == 0
      and redis.call('LLEN', P .. 'q:' .. host) == 0
      and redis.call('LLEN', P .. 'r:' .. host) == 0 then
    redis.call('HDEL', h, 'owner', 'until')
  end
end
"""

# ARGV 7..: front flag, then (bucket, field, host, robots flag, task) per task.
_ADD = """
local front = ARGV[7] == '1'
local added = {}
local new = 0
for i = 8, #ARGV, 5 do
  local fresh = redis.call('HSETNX', P .. 'seen:' .. ARGV[i], ARGV[i + 1], '')
  added[#added + 1] = fresh
  if fresh == 1 then
    enqueue(ARGV[i + 2], ARGV[i + 4], ARGV[i + 3] == '1', front)
    schedule(ARGV[i + 2])
    new = new + 1
  end
end
redis.call('INCRBY', P .. 'queued', new)
return added
"""

# ARGV 7..: (bucket, field) per URL.
_MARK_SEEN = """
local added = {}
for i = 7, #ARGV, 2 do
  added[#added + 1] = redis.call('HSETNX', P .. 'seen:' .. ARGV[i], ARGV[i + 1], '')
end
return added
"""

# ARGV 7..: (bucket, field) per URL.
_SEEN = """
local found = {}
for i = 7, #ARGV, 2 do
  found[#found + 1] = redis.call('HEXISTS', P .. 'seen:' .. ARGV[i], ARGV[i + 1])
end
return found
"""

# ARGV 7: front flag, 8: delay seconds, then (host, robots flag, task) per task.
_PUSH = """
local front = ARGV[7] == '1'
local wait = tonumber(ARGV[8])
local n = 0
for i = 9, #ARGV, 3 do
  if wait > 0 then
    local seq = redis.call('INCR', P .. 'seq')
    redis.call('ZADD', P .. 'delayed', NOW + wait,
      seq .. '|' .. ARGV[i] .. '|' .. ARGV[i + 1] .. '|' .. ARGV[i + 2])
  else
    enqueue(ARGV[i], ARGV[i + 2], ARGV[i + 1] == '1', front)
    schedule(ARGV[i])
  end
  n = n + 1
end
redis.call('INCRBY', P .. 'queued', n)
return n
"""

# ARGV 7: count, 8: max depth ('' = any). Returns the tasks taken.
_TAKE = """
local count = tonumber(ARGV[7])
local max_depth = num(ARGV[8] ~= '' and ARGV[8] or nil, nil)
-- Retries whose wait is over go to the front of their hosts' queues.
for _, member in ipairs(redis.call('ZRANGEBYSCORE', P .. 'delayed', '-inf', NOW)) do
  redis.call('ZREM', P .. 'delayed', member)
  local a = string.find(member, '|', 1, true)
  local b = string.find(member, '|', a + 1, true)
  local host = string.sub(member, a + 1, b - 1)
  local robots = string.sub(member, b + 1, b + 1) == '1'
  enqueue(host, string.sub(member, b + 3), robots, true)
  schedule(host)
end
local taken = {}
local limit = count * CANDIDATES_PER_TASK + 16
for _, host in ipairs(redis.call('ZRANGEBYSCORE', P .. 'ready', '-inf', NOW, 'LIMIT', 0, limit)) do
  if #taken >= count then break end
  local h = P .. 'h:' .. host
  if may_own(h) then
    while #taken < count do
      local when = ready_time(host)
      if (not when) or when > NOW then break end
      local key = P .. 'r:' .. host
      if redis.call('LLEN', key) == 0 then
        key = P .. 'q:' .. host
        if max_depth and next_depth(host) > max_depth then break end
      end
      taken[#taken + 1] = redis.call('LPOP', key)
      claim(h)
      redis.call('HSET', h, 'prev', redis.call('HGET', h, 'last') or '', 'last', NOW)
      redis.call('HINCRBY', h, 'in', 1)
    end
    schedule(host)
  end
end
redis.call('DECRBY', P .. 'queued', #taken)
return taken
""".replace("CANDIDATES_PER_TASK", str(CANDIDATES_PER_TASK))

# ARGV 7: host, 8: max depth ('' = any).
_TAKE_NEXT = """
local host = ARGV[7]
local max_depth = num(ARGV[8] ~= '' and ARGV[8] or nil, nil)
local h = P .. 'h:' .. host
if redis.call('HGET', h, 'owner') ~= OWNER or redis.call('HGET', h, 'held') then return false end
if host_delay(h) > 0 or num(redis.call('HGET', h, 'in'), 0) == 0 then return false end
if redis.call('LLEN', P .. 'r:' .. host) > 0 then return false end
if redis.call('LLEN', P .. 'q:' .. host) == 0 then return false end
for _, other in ipairs(redis.call('ZRANGEBYSCORE', P .. 'ready', '-inf', NOW, 'LIMIT', 0, 2)) do
  if other ~= host then return false end
end
if max_depth and next_depth(host) > max_depth then return false end
local task = redis.call('LPOP', P .. 'q:' .. host)
redis.call('HSET', h, 'last', NOW)
claim(h)
redis.call('DECRBY', P .. 'queued', 1)
schedule(host)
return task
"""

# ARGV 7: host, 8: 'finish' or 'cancel'.
_END = """
local host = ARGV[7]
local h = P .. 'h:' .. host
if num(redis.call('HGET', h, 'in'), 0) <= 0 then
  return redis.error_reply('frontier: ' .. ARGV[8] .. ' without a start for ' .. host)
end
redis.call('HINCRBY', h, 'in', -1)
if ARGV[8] == 'cancel' then
  local prev = redis.call('HGET', h, 'prev')
  if prev and prev ~= '' then
    redis.call('HSET', h, 'last', prev)
  else
    redis.call('HDEL', h, 'last')
  end
else
  claim(h)
end
settle(host)
return 1
"""

# ARGV 7: host, 8: 'hold' or 'release', 9: delay seconds ('' = none).
_HOLD = """
local host = ARGV[7]
local h = P .. 'h:' .. host
if ARGV[8] == 'hold' then
  redis.call('HSET', h, 'held', '1')
else
  redis.call('HDEL', h, 'held')
  local delay = num(ARGV[9] ~= '' and ARGV[9] or nil, nil)
  if delay and delay > host_delay(h) then redis.call('HSET', h, 'delay', delay) end
end
schedule(host)
return 1
"""

# Returns {seconds until the first ready host or retry, or -1; tasks queued}.
_STATUS = """
local first = nil
for _, key in ipairs({P .. 'ready', P .. 'delayed'}) do
  local head = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  if head[2] then
    local at = tonumber(head[2])
    if (not first) or at < first then first = at end
  end
end
local wait = -1
if first then wait = math.max(0, first - NOW) end
return {tostring(wait), num(redis.call('GET', P .. 'queued'), 0)}
"""


def _encode(task: Task) -> str:
    """A task as JSON, depth second (the scripts read it to hold deeper tasks back)."""
    attempt = None
    if task.last_attempt is not None:
        # Every field by name but the body: a hop's attempt is a 3xx page answer, never a
        # robots.txt one, so it has no body (and bytes are not JSON).
        attempt = {k: v for k, v in task.last_attempt._asdict().items() if k != "body"}
    return json.dumps(
        [
            task.url,
            task.depth,
            task.referrer,
            task.origin,
            task.redirects,
            task.retries,
            task.hop_retries,
            task.robots,
            task.robots_for,
            attempt,
            task.counted,
            task.deaths,
            task.sitemap_for,
            task.sitemap_level,
        ],
        separators=(",", ":"),
    )


def _decode(data: bytes | str) -> Task:
    (url, depth, referrer, origin, redirects, retries, hop_retries, robots, robots_for,
     attempt, counted, deaths, sitemap_for, sitemap_level) = json.loads(data)  # fmt: skip
    return Task(
        url=url,
        depth=depth,
        referrer=referrer,
        origin=origin,
        redirects=redirects,
        retries=retries,
        hop_retries=hop_retries,
        robots=robots,
        robots_for=robots_for,
        last_attempt=Result(**attempt) if attempt is not None else None,
        counted=counted,
        deaths=deaths,
        sitemap_for=sitemap_for,
        sitemap_level=sitemap_level,
    )


class RedisFrontier:
    """The Frontier in Redis; one instance per coordinator, `owner` naming it."""

    def __init__(
        self,
        client: redis.Redis,
        *,
        crawl: str,
        owner: str,
        delay_s: float,
        per_host: int,
        lease_ttl_s: float = LEASE_TTL_S,
        clock: Callable[[], float] | None = None,
    ) -> None:
        self._client = client
        self._prefix = f"{KEY_PREFIX}{crawl}:"
        self._owner = owner
        self._clock = clock
        self._fixed = [str(lease_ttl_s), str(per_host), repr(float(delay_s))]
        self._scripts = {
            name: client.register_script(_COMMON + body)
            for name, body in (
                ("add", _ADD),
                ("mark_seen", _MARK_SEEN),
                ("seen", _SEEN),
                ("push", _PUSH),
                ("take", _TAKE),
                ("take_next", _TAKE_NEXT),
                ("end", _END),
                ("hold", _HOLD),
                ("status", _STATUS),
            )
        }

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisFrontier:
        return cls(redis.Redis.from_url(url), **kwargs)

    def _run(self, name: str, *args: str | bytes | int | float) -> Any:
        now = "" if self._clock is None else repr(self._clock())
        argv = [self._prefix, now, self._owner, *self._fixed, *args]
        return self._scripts[name](args=argv)

    # -- the protocol -----------------------------------------------------------------
    def add(self, tasks: Sequence[Task], *, front: bool = False) -> list[bool]:
        args: list[str | bytes | int] = ["1" if front else "0"]
        for task in tasks:
            bucket, field = seen_slot(task.url)
            args += [bucket, field, task.host, "1" if task.robots else "0", _encode(task)]
        return [bool(new) for new in self._run("add", *args)] if tasks else []

    def mark_seen(self, urls: Sequence[str]) -> list[bool]:
        if not urls:
            return []
        args: list[str | bytes | int] = []
        for url in urls:
            args += list(seen_slot(url))
        return [bool(new) for new in self._run("mark_seen", *args)]

    def seen(self, urls: Sequence[str]) -> list[bool]:
        if not urls:
            return []
        args: list[str | bytes | int] = []
        for url in urls:
            args += list(seen_slot(url))
        return [bool(found) for found in self._run("seen", *args)]

    def push(self, tasks: Sequence[Task], *, front: bool = False, delay_s: float = 0.0) -> None:
        if not tasks:
            return
        args: list[str | bytes | int | float] = ["1" if front else "0", repr(float(delay_s))]
        for task in tasks:
            args += [task.host, "1" if task.robots else "0", _encode(task)]
        self._run("push", *args)

    def take(self, count: int, max_depth: int | None = None) -> list[Task]:
        depth = "" if max_depth is None else str(max_depth)
        return [_decode(data) for data in self._run("take", count, depth)]

    def take_next(self, host: str, max_depth: int | None = None) -> Task | None:
        depth = "" if max_depth is None else str(max_depth)
        data = self._run("take_next", host, depth)
        return None if data is None else _decode(data)

    def cancel(self, host: str) -> None:
        self._run("end", host, "cancel")

    def finish(self, host: str) -> None:
        self._run("end", host, "finish")

    def hold(self, host: str) -> None:
        self._run("hold", host, "hold", "")

    def release(self, host: str, delay_s: float | None) -> None:
        self._run("hold", host, "release", "" if delay_s is None else repr(float(delay_s)))

    def wait_s(self) -> float | None:
        wait = float(cast(list[bytes], self._run("status"))[0])
        return None if wait < 0 else wait

    def queued(self) -> int:
        return int(cast(list[int], self._run("status"))[1])

"""A frontier in Redis, shared by every coordinator of one crawl (on one or many machines).

The same Frontier protocol as MemoryFrontier, and the same contract tests: each call is
one Lua script, so each is one atomic step and one round trip whoever else is calling.
The seen set, the host queues, each host's politeness state (requests in flight, the
last start, its delay, the robots.txt hold) and the ready hosts all live in Redis under
`crawler:<crawl>:`, timed by the Redis server's clock (or by `clock`, in tests), so
`--per-host` and `--delay` hold across machines.

Hosts are owned through leases: `take` claims a host for this coordinator for
`lease_ttl_s` (renewed whenever it takes or finishes there, and by `maintain()` a few
times per lease) and never takes from a host another coordinator holds. Every task
taken is kept in the host's in-flight hash until its owner ends it; when a lease runs
out (the owner died, or was paused past it), the next `take` of any coordinator puts
those tasks back at the front of the queue, one death more each, and the host is free.
A coordinator fences itself: `deadline(host)` is when its lease ends by its own clock,
and no request may start after it (crawler/worker.py answers "fenced"). A host is let
go once nothing of it is queued or in flight.
"""

from __future__ import annotations

import base64
import itertools
import json
import logging
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, cast

import redis

from crawler.frontier import Task, seen_slot
from crawler.messages import Result

log = logging.getLogger(__name__)

KEY_PREFIX = "crawler:"
# While Redis does not answer: the first pause before trying again, doubled up to the last.
RETRY_FIRST_S = 0.05
RETRY_MAX_S = 2.0
# Leases are renewed this many times per --lease-ttl.
RENEWALS_PER_LEASE = 4
# A task is fenced this long (at most a tenth of the lease) before its lease ends here.
FENCE_MARGIN_S = 1.0
LEASE_TTL_S = 30.0
# How many ready hosts one take() looks at per task it may return: hosts owned by
# another coordinator, or whose next task is too deep, are skipped.
CANDIDATES_PER_TASK = 4
# How long a status read may be reused while this coordinator changed nothing (other
# machines may have, but a few ms is nothing to them). Never with a test's clock.
STATUS_REUSE_S = 0.005
# Records go to Redis first in each pipeline that ends tasks, and at least this often.
RECORDS_EVERY_S = 1.0
# At most this many URLs in a coordinator's seen cache (add_later): ~130 bytes each in
# CPython; emptied when full (it only saves work: Redis keeps the whole seen set).
SEEN_CACHE_MAX = 1 << 18
# How many ready hosts wait_s() looks at for one this coordinator may take from.
STATUS_SCAN = 32

# Shared by every script: keys, the clock, and one host's politeness state.
# ARGV: 1 prefix, 2 now ('' = the server's clock), 3 owner, 4 lease ttl, 5 per_host,
# 6 the crawl's delay, 7 a request id ('' = none: see first_run); the script's own
# arguments follow.
_COMMON = """
local P = ARGV[1]
local OWNER = ARGV[3]
local TTL = tonumber(ARGV[4])
local PER_HOST = tonumber(ARGV[5])
local DELAY = tonumber(ARGV[6])
local RID = ARGV[7]
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

-- A call whose answer was lost is sent again with the same request id (and no other
-- call of its owner comes in between: a coordinator waits for each answer), so one key
-- per owner remembers the last push: a script not safe to run twice runs once. Kept a
-- day, for an owner that died before its retry.
local OWNER_TTL_S = 86400
local function first_run()
  if RID == '' then return true end
  local key = P .. 'pushed:' .. OWNER
  if redis.call('GET', key) == RID then return false end
  redis.call('SET', key, RID, 'EX', OWNER_TTL_S)
  return true
end

local function host_delay(h)
  return math.max(DELAY, num(redis.call('HGET', h, 'delay'), 0))
end

-- A host with requests in flight is its owner's until the lease ends; one with none in
-- flight goes to whoever has a free thread for it (no request of the owner can be
-- running there, so nothing needs fencing): hosts follow free capacity.
local function may_own(h)
  local owner = redis.call('HGET', h, 'owner')
  if (not owner) or owner == OWNER then return true end
  if num(redis.call('HGET', h, 'in'), 0) == 0 then return true end
  return num(redis.call('HGET', h, 'until'), 0) <= NOW
end

local function claim(host)
  redis.call('HSET', P .. 'h:' .. host, 'owner', OWNER, 'until', NOW + TTL)
  redis.call('ZADD', P .. 'leases', NOW + TTL, host)
end

local function next_depth(host)
  local first = redis.call('LINDEX', P .. 'q:' .. host, 0)
  if not first then return nil end
  return cjson.decode(first)[2]
end

-- When the host's next task may start (nil: not for now), as MemoryFrontier's gate.
local function ready_time(host)
  local state = redis.call('HMGET', P .. 'h:' .. host, 'in', 'held', 'last', 'delay')
  if num(state[1], 0) >= PER_HOST then return nil end
  if redis.call('LLEN', P .. 'r:' .. host) == 0
      and (state[2] or redis.call('LLEN', P .. 'q:' .. host) == 0) then
    return nil
  end
  if not state[3] then return 0 end
  return tonumber(state[3]) + math.max(DELAY, num(state[4], 0))
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
    redis.call('ZREM', P .. 'leases', host)
  end
end

-- A task in flight is kept in f:<host>, field = its key, value = 'owner|task', until its
-- owner ends it; the key is what Python's task_key() computes from the same task.
local function key_of(t)
  local robots_for = t[9]
  if robots_for == cjson.null then robots_for = '' end
  return (t[8] and 'R' or 'P') .. robots_for .. ' ' .. t[1]
end

local function task_key(task)
  return key_of(cjson.decode(task))
end

local function hex(bytes)
  return (string.gsub(bytes, '.', function(c) return string.format('%02x', string.byte(c)) end))
end

local function unhex(text)
  return (string.gsub(text, '..', function(h) return string.char(tonumber(h, 16)) end))
end

-- The smallest depth the task's URL was found at so far (its seen slot's value), or -1.
local function found_depth(t)
  if t[8] or t[14] == cjson.null then return -1 end
  return num(redis.call('HGET', P .. 'seen:' .. t[14], unhex(t[15])), -1)
end

-- The host's lease ended (its owner died, or was paused past it): what was in flight goes
-- back to the front of its queue, one death more (its last element), and the host has no
-- owner and nothing in flight. With `death` false (the owner leaves), no death counted.
local function take_back(host, death)
  local h = P .. 'h:' .. host
  local f = P .. 'f:' .. host
  local entries = redis.call('HVALS', f)
  for _, value in ipairs(entries) do
    local task = string.sub(value, string.find(value, '|', 1, true) + 1)
    local t = cjson.decode(task)
    if not t[8] and not t[11] then
      -- A page taken uncounted was counted by its owner when it started (or is about
      -- to be, and then it is fenced): the next owner counts it again, so the page
      -- budget (crawler/redis_budget.py) gives that back here.
      if num(redis.call('GET', P .. 'spent'), 0) > 0 then
        redis.call('DECRBY', P .. 'spent', 1)
      end
      if num(redis.call('HGET', P .. 'spent_per_host', host), 0) > 0 then
        redis.call('HINCRBY', P .. 'spent_per_host', host, -1)
      end
    end
    if death then
      task = string.gsub(task, '(%d+)%]$', function(d) return tostring(tonumber(d) + 1) .. ']' end)
    end
    enqueue(host, task, t[8], true)
  end
  redis.call('DEL', f)
  redis.call('HSET', h, 'in', 0)
  redis.call('HDEL', h, 'owner', 'until')
  redis.call('ZREM', P .. 'leases', host)
  redis.call('INCRBY', P .. 'queued', #entries)
  redis.call('DECRBY', P .. 'inflight', #entries)
  if death then
    redis.call('HINCRBY', P .. 'counts', 'takeovers', 1)
    redis.call('HINCRBY', P .. 'counts', 'taken_back', #entries)
  end
  settle(host)
  return #entries
end

-- Hosts whose lease ran out are taken back (a few per call: each call does its share).
local function reap()
  for _, host in ipairs(redis.call('ZRANGEBYSCORE', P .. 'leases', '-inf', NOW, 'LIMIT', 0, 8)) do
    local h = P .. 'h:' .. host
    local ends = num(redis.call('HGET', h, 'until'), nil)
    if ends and ends > NOW then
      redis.call('ZADD', P .. 'leases', ends, host)
    elseif ends then
      take_back(host, true)
    else
      redis.call('ZREM', P .. 'leases', host)
    end
  end
end

-- {seconds until the first host this owner may take from, or a retry, is ready (-1:
-- none); tasks queued; tasks in flight}. Hosts another owner holds are skipped (they
-- count from when their lease ends): they are never ready for this one.
local function status()
  local first = nil
  local function sooner(at)
    if (not first) or at < first then first = at end
  end
  local ready = redis.call('ZRANGE', P .. 'ready', 0, STATUS_SCAN - 1, 'WITHSCORES')
  for i = 1, #ready, 2 do
    local h = P .. 'h:' .. ready[i]
    local at = tonumber(ready[i + 1])
    if may_own(h) then
      sooner(at)
      break
    end
    sooner(math.max(at, num(redis.call('HGET', h, 'until'), 0)))
  end
  local delayed = redis.call('ZRANGE', P .. 'delayed', 0, 0, 'WITHSCORES')
  if delayed[2] then sooner(tonumber(delayed[2])) end
  local wait = -1
  if first then wait = math.max(0, first - NOW) end
  return {tostring(wait), num(redis.call('GET', P .. 'queued'), 0),
          num(redis.call('GET', P .. 'inflight'), 0)}
end

-- End the in-flight entry `key` of `host` if it is this owner's; false if it is not (the
-- lease ran out and the task went back to the queue, or another owner took it since).
local function end_entry(host, key)
  if key == '' then return true end
  local f = P .. 'f:' .. host
  local value = redis.call('HGET', f, key)
  if (not value) or string.sub(value, 1, #OWNER + 1) ~= OWNER .. '|' then return false end
  redis.call('HDEL', f, key)
  return true
end
""".replace("STATUS_SCAN", str(STATUS_SCAN))

# ARGV 8..: front flag, then (bucket, field, host, robots flag, task, depth) per task. The
# seen set keeps the smallest depth each URL was found at: a task taken later gets it.
_ADD = """
local front = ARGV[8] == '1'
local added = {}
local hosts = {}  -- each scheduled once
local new = 0
for i = 9, #ARGV, 6 do
  local seen = P .. 'seen:' .. ARGV[i]
  local depth = tonumber(ARGV[i + 5])
  local fresh = redis.call('HSETNX', seen, ARGV[i + 1], depth)
  if fresh == 0 then
    local found = redis.call('HGET', seen, ARGV[i + 1])
    if found ~= '' and tonumber(found) > depth then
      redis.call('HSET', seen, ARGV[i + 1], depth)
    end
  end
  added[#added + 1] = fresh
  if fresh == 1 then
    enqueue(ARGV[i + 2], ARGV[i + 4], ARGV[i + 3] == '1', front)
    hosts[ARGV[i + 2]] = true
    new = new + 1
  end
end
for host in pairs(hosts) do schedule(host) end
redis.call('INCRBY', P .. 'queued', new)
return added
"""

# ARGV 8: depth, 9: referrer ('' = none), then (bucket, field, host, url) per link: new
# page tasks, the JSON of those that are new built here as _encode() would (most links of
# a page are seen already: no JSON is made for them). Returns, per link, whether new.
_ADD_LINKS = """
local depth = tonumber(ARGV[8])
local referrer = ARGV[9] == '' and 'null' or cjson.encode(ARGV[9])
local added = {}
local hosts = {}
local new = 0
for i = 10, #ARGV, 4 do
  local seen = P .. 'seen:' .. ARGV[i]
  local fresh = redis.call('HSETNX', seen, ARGV[i + 1], depth)
  if fresh == 0 then
    local found = redis.call('HGET', seen, ARGV[i + 1])
    if found ~= '' and tonumber(found) > depth then redis.call('HSET', seen, ARGV[i + 1], depth) end
  else
    enqueue(ARGV[i + 2], '[' .. cjson.encode(ARGV[i + 3]) .. ',' .. depth .. ',' .. referrer
      .. ',null,[],0,0,false,null,null,false,null,0,' .. ARGV[i] .. ',"' .. hex(ARGV[i + 1])
      .. '",0]',
      false, false)
    hosts[ARGV[i + 2]] = true
    new = new + 1
  end
  added[#added + 1] = fresh
end
for host in pairs(hosts) do schedule(host) end
redis.call('INCRBY', P .. 'queued', new)
return added
"""

# ARGV 8..: (bucket, field) per URL.
_MARK_SEEN = """
local added = {}
for i = 8, #ARGV, 2 do
  added[#added + 1] = redis.call('HSETNX', P .. 'seen:' .. ARGV[i], ARGV[i + 1], '')
end
return added
"""

# ARGV 8..: (bucket, field) per URL.
_SEEN = """
local found = {}
for i = 8, #ARGV, 2 do
  found[#found + 1] = redis.call('HEXISTS', P .. 'seen:' .. ARGV[i], ARGV[i + 1])
end
return found
"""

# ARGV 8..: (bucket, field) per URL. Per URL, 1 if it is to be counted in
# stats.beyond_depth now: not seen, and not counted before by any machine (`beyond:`, a
# bucketed set like the seen set), so the cluster counts each distinct URL once.
_BEYOND = """
local new = {}
for i = 8, #ARGV, 2 do
  if redis.call('HEXISTS', P .. 'seen:' .. ARGV[i], ARGV[i + 1]) == 1 then
    new[#new + 1] = 0
  else
    new[#new + 1] = redis.call('HSETNX', P .. 'beyond:' .. ARGV[i], ARGV[i + 1], '')
  end
end
return new
"""

# ARGV 8: front flag, 9: delay seconds, then (host, robots flag, task) per task.
_PUSH = """
if not first_run() then return 0 end
local front = ARGV[8] == '1'
local wait = tonumber(ARGV[9])
local n = 0
for i = 10, #ARGV, 3 do
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

# ARGV 8: count, 9: max depth ('' = any). Returns {the tasks taken, status() after, the
# smallest depth each task's URL was found at (-1: not known)}.
_TAKE = """
local count = tonumber(ARGV[8])
local max_depth = num(ARGV[9] ~= '' and ARGV[9] or nil, nil)
-- The same request again (its answer was lost): the same tasks, not more. One memo per
-- owner, its last take (see first_run).
local memo = P .. 'took:' .. OWNER
if RID ~= '' then
  local done = redis.call('HMGET', memo, 'rid', 'tasks', 'depths')
  if done[1] == RID then
    -- Tasks are JSON, never with a raw newline: joined by one, not encoded again.
    local tasks, depths = {}, {}
    for task in string.gmatch(done[2], '[^\\n]+') do tasks[#tasks + 1] = task end
    for d in string.gmatch(done[3], '[^,]+') do depths[#depths + 1] = tonumber(d) end
    return {tasks, status(), depths}
  end
end
reap()
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
local depths = {}
local limit = count * CANDIDATES_PER_TASK + 16
for _, host in ipairs(redis.call('ZRANGEBYSCORE', P .. 'ready', '-inf', NOW, 'LIMIT', 0, limit)) do
  if #taken >= count then break end
  local h = P .. 'h:' .. host
  if may_own(h) then
    if redis.call('HGET', h, 'owner') ~= OWNER and redis.call('EXISTS', P .. 'f:' .. host) == 1 then
      -- A lapsed lease not reaped yet: its tasks in flight come back first.
      take_back(host, true)
    end
    -- The host's state read once, its gate (as ready_time()) applied per task here.
    local state = redis.call('HMGET', h, 'in', 'held', 'last', 'delay')
    local inflight, held = num(state[1], 0), state[2]
    local last = num(state[3], nil)
    local delay = math.max(DELAY, num(state[4], 0))
    local rkey, qkey = P .. 'r:' .. host, P .. 'q:' .. host
    local robots, queued = redis.call('LLEN', rkey), redis.call('LLEN', qkey)
    local n, prev = 0, nil
    while #taken < count and inflight < PER_HOST do
      if last and last + delay > NOW then break end
      local key
      if robots > 0 then
        key, robots = rkey, robots - 1
      elseif queued > 0 and not held then
        if max_depth and next_depth(host) > max_depth then break end
        key, queued = qkey, queued - 1
      else
        break
      end
      local task = redis.call('LPOP', key)
      local t = cjson.decode(task)
      taken[#taken + 1] = task
      depths[#depths + 1] = found_depth(t)
      redis.call('HSET', P .. 'f:' .. host, key_of(t), OWNER .. '|' .. task)
      n, inflight = n + 1, inflight + 1
      prev, last = last, NOW
    end
    if n > 0 then
      claim(host)
      redis.call('HSET', h, 'prev', prev or '', 'last', NOW, 'in', inflight)
    end
    schedule(host)
  else
    -- Another owner's, with requests in flight: out of every scan until its lease ends
    -- (its owner's next finish there schedules it again), so it hides no free host.
    redis.call('ZADD', P .. 'ready', num(redis.call('HGET', h, 'until'), NOW), host)
  end
end
redis.call('DECRBY', P .. 'queued', #taken)
redis.call('INCRBY', P .. 'inflight', #taken)
if RID ~= '' then
  redis.call('HSET', memo, 'rid', RID, 'tasks', table.concat(taken, '\\n'),
             'depths', table.concat(depths, ','))
  redis.call('EXPIRE', memo, OWNER_TTL_S)
end
return {taken, status(), depths}
""".replace("CANDIDATES_PER_TASK", str(CANDIDATES_PER_TASK))

# ARGV 8: host, 9: max depth ('' = any). The coordinator does not use it on a shared
# frontier (see take_next()).
_TAKE_NEXT = """
local host = ARGV[8]
local max_depth = num(ARGV[9] ~= '' and ARGV[9] or nil, nil)
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
claim(host)
redis.call('DECRBY', P .. 'queued', 1)
schedule(host)
return task
"""

# ARGV 8: host, 9: 'finish' or 'cancel', 10: the task's key ('' = none given).
# Returns 1, or 0 when the task was no longer this owner's (nothing changes then).
_END = """
local host = ARGV[8]
local h = P .. 'h:' .. host
if not end_entry(host, ARGV[10]) then return 0 end
if num(redis.call('HGET', h, 'in'), 0) <= 0 then
  return redis.error_reply('frontier: ' .. ARGV[9] .. ' without a start for ' .. host)
end
redis.call('HINCRBY', h, 'in', -1)
redis.call('DECRBY', P .. 'inflight', 1)
if ARGV[9] == 'cancel' then
  local prev = redis.call('HGET', h, 'prev')
  if prev and prev ~= '' then
    redis.call('HSET', h, 'last', prev)
  else
    redis.call('HDEL', h, 'last')
  end
end
settle(host)  -- the lease is renewed by take and renew, not here
return 1
"""

# ARGV 8..: host and task key ('' = none given), pairs: the finishes of a loop turn in one
# script (each as _END's 'finish'; the hosts settled once each). How many were this
# owner's (the others changed nothing: taken back from it).
_END_MANY = """
local ended = 0
local hosts = {}
for i = 8, #ARGV, 2 do
  local host = ARGV[i]
  if end_entry(host, ARGV[i + 1]) then
    local h = P .. 'h:' .. host
    if num(redis.call('HGET', h, 'in'), 0) <= 0 then
      return redis.error_reply('frontier: finish without a start for ' .. host)
    end
    redis.call('HINCRBY', h, 'in', -1)
    ended = ended + 1
    hosts[host] = true
  end
end
if ended > 0 then redis.call('DECRBY', P .. 'inflight', ended) end
for host in pairs(hosts) do settle(host) end
return ended
"""

# ARGV 8: host, 9: the task's key, 10: robots flag, 11: the task as it goes back.
# A task taken but not ended normally (its worker died, or it was fenced) goes back to
# the front of its host's queue, if it is still this owner's; 1 if it was.
_GIVE_BACK = """
local host = ARGV[8]
local h = P .. 'h:' .. host
if not end_entry(host, ARGV[9]) then return 0 end
redis.call('HINCRBY', h, 'in', -1)
redis.call('DECRBY', P .. 'inflight', 1)
enqueue(host, ARGV[11], ARGV[10] == '1', true)
redis.call('INCRBY', P .. 'queued', 1)
settle(host)
return 1
"""

# ARGV 8: host, 9: the task's key, 10: the task. A task a page limit holds back: its start
# is uncounted (as cancel) and it waits in `held` for a run with a higher limit.
_HOLD_BACK = """
local host = ARGV[8]
local h = P .. 'h:' .. host
if not end_entry(host, ARGV[9]) then return 0 end
redis.call('HINCRBY', h, 'in', -1)
redis.call('DECRBY', P .. 'inflight', 1)
local prev = redis.call('HGET', h, 'prev')
if prev and prev ~= '' then
  redis.call('HSET', h, 'last', prev)
else
  redis.call('HDEL', h, 'last')
end
redis.call('RPUSH', P .. 'held', host .. '|' .. ARGV[10])
settle(host)
return 1
"""

# The tasks held back go to the back of their hosts' queues; how many.
_REQUEUE_HELD = """
local n = 0
while true do
  local member = redis.call('LPOP', P .. 'held')
  if not member then break end
  local bar = string.find(member, '|', 1, true)
  local host = string.sub(member, 1, bar - 1)
  enqueue(host, string.sub(member, bar + 1), false, false)
  schedule(host)
  n = n + 1
end
redis.call('INCRBY', P .. 'queued', n)
return n
"""

# ARGV 8: the host whose robots.txt it is, 9: the task's host, 10: the robots.txt task.
# Holds the host and queues its robots.txt fetch, once per crawl whoever asks; 1 if now.
_ASK_ROBOTS = """
local host = ARGV[8]
local h = P .. 'h:' .. host
if redis.call('HSETNX', h, 'asked', '1') == 0 then return 0 end
redis.call('HSET', h, 'held', '1')
enqueue(ARGV[9], ARGV[10], true, false)
redis.call('INCRBY', P .. 'queued', 1)
schedule(ARGV[9])
schedule(host)
return 1
"""

# ARGV 8: host, 9: 'hold' or 'release', 10: delay seconds ('' = none).
_HOLD = """
local host = ARGV[8]
local h = P .. 'h:' .. host
if ARGV[9] == 'hold' then
  redis.call('HSET', h, 'held', '1')
else
  redis.call('HDEL', h, 'held')
  local delay = num(ARGV[10] ~= '' and ARGV[10] or nil, nil)
  if delay and delay > host_delay(h) then redis.call('HSET', h, 'delay', delay) end
end
schedule(host)
return 1
"""

# ARGV 8..: hosts. Renews this owner's lease of each; per host 1 if renewed, 0 if the host
# is not (or no longer) this owner's.
_RENEW = """
local renewed = {}
for i = 8, #ARGV do
  local host = ARGV[i]
  if redis.call('HGET', P .. 'h:' .. host, 'owner') == OWNER then
    claim(host)
    renewed[#renewed + 1] = 1
  else
    renewed[#renewed + 1] = 0
  end
end
return renewed
"""

# ARGV 8..: host and task key, pairs. Per task, 1 if it is still this owner's in flight
# (its lease is renewed then: no other owner can take it back before it is ended), else
# 0: its lease ran out and it went back to the queue (another owner may have fetched it
# again), so its answer must not count (docs/design.md, "one record per URL").
_OWNED = """
local mine = {}
for i = 8, #ARGV, 2 do
  local host = ARGV[i]
  local value = redis.call('HGET', P .. 'f:' .. host, ARGV[i + 1])
  if value and string.sub(value, 1, #OWNER + 1) == OWNER .. '|' then
    claim(host)
    mine[#mine + 1] = 1
  else
    mine[#mine + 1] = 0
  end
end
return mine
"""

# ARGV 8..: hosts. This owner leaves: what it has in flight there goes back to the queue
# (no death counted) and the hosts are free at once. Returns the tasks given back.
_LEAVE = """
local n = 0
for i = 8, #ARGV do
  local host = ARGV[i]
  if redis.call('HGET', P .. 'h:' .. host, 'owner') == OWNER then
    n = n + take_back(host, false)
  end
end
return n
"""

# Returns status() (see _COMMON).
_STATUS = """
return status()
"""


def _encode(task: Task) -> str:
    """A task as JSON, depth second (the scripts read it to hold deeper tasks back).

    `deaths` stays the last element: the takeover script counts a death by rewriting the
    number before the closing bracket. A new field of Task goes before it.
    """
    attempt = None
    if task.last_attempt is not None:
        # Every field by name but the body: a hop's attempt is a 3xx page answer, never a
        # robots.txt one, so it has no body (and bytes are not JSON).
        attempt = {k: v for k, v in task.last_attempt._asdict().items() if k != "body"}
    bucket, field = (None, None) if task.robots else seen_slot(task.url)
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
            task.sitemap_for,
            task.sitemap_level,
            bucket,  # the URL's seen slot: take reads the smallest depth it was found at
            None if field is None else field.hex(),
            task.deaths,
        ],
        separators=(",", ":"),
    )


def _decode(data: bytes | str) -> Task:
    (url, depth, referrer, origin, redirects, retries, hop_retries, robots, robots_for,
     attempt, counted, sitemap_for, sitemap_level, _bucket, _field,
     deaths) = json.loads(data)  # fmt: skip
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


def _status_of(reply: Any) -> tuple[float, int, int]:
    wait, queued, inflight = cast(list[Any], reply)
    return float(wait), int(queued), int(inflight)


def _plain(task: Task, depth: int, referrer: str | None) -> bool:
    """A new link: nothing but its URL, this depth and this referrer."""
    return task == Task(url=task.url, depth=depth, referrer=referrer)


def _add_args(tasks: Sequence[Task], front: bool) -> list[str | bytes | int]:
    args: list[str | bytes | int] = ["1" if front else "0"]
    for task in tasks:
        bucket, field = seen_slot(task.url)
        args += [bucket, field, task.host, "1" if task.robots else "0", _encode(task), task.depth]
    return args


def task_key(task: Task) -> str:
    """A task's key among the tasks in flight of its host (the scripts' task_key()).

    Made of what stays the same while a task is retried: one canonical URL is in flight
    once, but a robots.txt redirect may lead to another host's /robots.txt.
    """
    return f"{'R' if task.robots else 'P'}{task.robots_for or ''} {task.url}"


class RedisLost(Exception):
    """Redis did not answer within --redis-timeout (or the crawl was interrupted while
    waiting for it)."""


def connect(url: str, timeout_s: float) -> redis.Redis:
    """A client of the frontier's Redis; each call waits at most `timeout_s` for it."""
    return redis.Redis.from_url(
        url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s, health_check_interval=0
    )


class RedisFrontier:
    """The Frontier in Redis; one instance per coordinator, `owner` naming it.

    Besides the Frontier protocol, what a coordinator of a shared crawl needs (the
    SharedFrontier protocol, crawler/cluster.py): lease deadlines for fencing, lease
    renewal, robots.txt answers shared between machines, leaving, and the flag that says
    the whole crawl is finished.
    """

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
        timeout_s: float = 60.0,
    ) -> None:
        self._client = client
        self._prefix = f"{KEY_PREFIX}{crawl}:"
        self._owner = owner
        self._clock = clock
        self._ttl_s = lease_ttl_s
        self._timeout_s = timeout_s
        self._fixed = [str(lease_ttl_s), str(per_host), repr(float(delay_s))]
        # Hosts this coordinator took from, with when its lease ends by the local
        # monotonic clock (measured from before the call that claimed it: never later
        # than Redis's own deadline, whatever the clocks say).
        self._leases: dict[str, float] = {}
        self._renewed_at = time.monotonic()
        self.abort = False  # set on an interrupt: waiting for Redis ends at once
        self._status_cache: tuple[float, tuple[float, int, int]] | None = None
        # Calls sent with the next one (finishes, links): name, arguments, what gets the answer.
        self._deferred: list[tuple[str, list[Any], Callable[[Any], None] | None]] = []
        self.round_trips = 0  # calls to Redis (a pipeline is one), for the log
        # What goes first in every pipeline (the records of the answers handled so far,
        # before their finishes): attach_records().
        self._before_send: Callable[[], tuple[list[Any], Callable[[Any], None]] | None] | None
        self._before_send = None
        self._records_sent = 0.0
        self._ends: list[str] = []  # finishes for the next call: host, task key, ...
        self._extra_scripts: list[Any] = []
        # URLs this coordinator added as links (key: seen slot), with the smallest depth
        # it sent each at: found again no nearer a seed, they need no call to Redis.
        self._seen_cache: dict[bytes, int] = {}
        self.seen_cached = 0  # links answered from it, for the log
        self._request_ids: Iterator[int] = itertools.count(1)
        self._rid_prefix = secrets.token_hex(4)  # a later process may get the same pid
        self._scripts = {
            name: client.register_script(_COMMON + body)
            for name, body in (
                ("add", _ADD),
                ("add_links", _ADD_LINKS),
                ("mark_seen", _MARK_SEEN),
                ("seen", _SEEN),
                ("beyond", _BEYOND),
                ("push", _PUSH),
                ("take", _TAKE),
                ("take_next", _TAKE_NEXT),
                ("end", _END),
                ("end_many", _END_MANY),
                ("give_back", _GIVE_BACK),
                ("hold_back", _HOLD_BACK),
                ("requeue_held", _REQUEUE_HELD),
                ("ask_robots", _ASK_ROBOTS),
                ("hold", _HOLD),
                ("renew", _RENEW),
                ("owned", _OWNED),
                ("leave", _LEAVE),
                ("status", _STATUS),
            )
        }
        # Loaded now: a pipeline of EVALSHAs must not meet one unknown to Redis (only a
        # restart of Redis can unload them, and then it unloads them all).
        self.call(self._load_scripts)

    @classmethod
    def from_url(cls, url: str, **kwargs: Any) -> RedisFrontier:
        return cls(redis.Redis.from_url(url), **kwargs)

    @property
    def prefix(self) -> str:
        return self._prefix

    @property
    def client(self) -> redis.Redis:
        return self._client

    def _argv(self, name: str, args: tuple[str | bytes | int | float, ...]) -> list[Any]:
        now = "" if self._clock is None else repr(self._clock())
        # A request id for the scripts not safe to run twice: sent again after a lost
        # answer, the same id makes the second run a no-op (push) or the same answer (take).
        rid = f"{self._rid_prefix}{next(self._request_ids)}" if name in ("push", "take") else ""
        return [self._prefix, now, self._owner, *self._fixed, rid, *args]

    def attach_records(
        self,
        script: Any,
        pending: Callable[[], tuple[list[Any], Callable[[Any], None]] | None],
    ) -> None:
        """Send what `pending` gives (EVALSHA arguments of `script` and what gets its
        answer: the records flush, crawler/cluster_records.py) first in every pipeline:
        the records of the answers handled so far reach Redis before their finishes, so
        no kill between the two can lose a record whose task counts as done."""
        self._extra_scripts.append(script)
        self.call(lambda: self._client.script_load(script.script))
        self._before_send = pending

    def pending(self) -> bool:
        """Calls wait to go with the next one."""
        return bool(self._deferred or self._ends)

    def ends_pending(self) -> bool:
        """A finish waits to go with the next call: the crawl is not settled (that task
        still counts in flight), whatever Redis says now."""
        return bool(self._ends)

    def _run(self, name: str, *args: str | bytes | int | float) -> Any:
        """Run one script, after the calls deferred so far, in one round trip."""
        if name != "status":
            self._status_cache = None  # it may change what status says
        argv = self._argv(name, args)
        if self._before_send is not None and (
            self.ends_pending() or time.monotonic() - self._records_sent >= RECORDS_EVERY_S
        ):
            # Needed before a finish; else now and then, for an export while it runs.
            self._records_sent = time.monotonic()
            if (first := self._before_send()) is not None:
                records, stored = first
                self._deferred.insert(0, ("", [self._extra_scripts[0].sha, *records], stored))
        if self._ends:
            ends, self._ends = tuple(self._ends), []
            self._deferred.append(("end_many", self._argv("end_many", ends), None))
        if not self._deferred:
            return self.call(lambda: self._scripts[name](args=argv))
        deferred, self._deferred = self._deferred, []
        calls = [(n, a) for n, a, _ in deferred] + [(name, argv)]
        replies = self.call(lambda: self._pipelined(calls))
        for (_, _, then), reply in zip(deferred, replies, strict=False):
            if then is not None:
                then(reply)
        return replies[-1]

    def _load_scripts(self) -> None:
        for script in [*self._scripts.values(), *self._extra_scripts]:
            self._client.script_load(script.script)

    def _pipelined(self, calls: Sequence[tuple[str, list[Any]]]) -> list[Any]:
        """Scripts by EVALSHA in one pipeline (not a transaction: each is atomic anyway)."""
        for attempt in range(2):
            pipe = self._client.pipeline(transaction=False)
            for name, argv in calls:
                if name:
                    pipe.evalsha(self._scripts[name].sha, 0, *argv)
                else:  # another script's: sha, numkeys, keys, args
                    pipe.evalsha(*argv)
            try:
                return list(pipe.execute())
            except redis.exceptions.NoScriptError:
                if attempt:
                    raise
                # Redis restarted without them: none of these ran (each failed alike).
                self._load_scripts()
        raise AssertionError("unreachable")

    def _defer(
        self,
        name: str,
        *args: str | bytes | int | float,
        then: Callable[[Any], None] | None = None,
    ) -> None:
        """Run a script with the next call, in the same pipeline, in order; `then` gets
        its answer. For what needs no answer at once (a finish, a page's links): the
        status read that decides "finished" always goes after them."""
        self._status_cache = None
        self._deferred.append((name, self._argv(name, args), then))

    def call(self, call: Callable[[], Any]) -> Any:
        """Run `call` (Redis calls); while Redis is unreachable, again with backoff, up to
        --redis-timeout; then RedisLost.

        A script whose answer was lost may run twice: every script is safe to repeat
        but push (a task queued twice is fetched twice, no worse).
        """
        deadline = None
        pause = RETRY_FIRST_S
        while True:
            self.round_trips += 1
            try:
                return call()
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                now = time.monotonic()
                if deadline is None:
                    deadline = now + self._timeout_s
                    log.warning(
                        "Redis unreachable (%s); trying again for up to %.0f s",
                        exc,
                        self._timeout_s,
                    )
                if self.abort or now >= deadline:
                    raise RedisLost(
                        f"Redis unreachable for {self._timeout_s:g} s (--redis-timeout): {exc}"
                    ) from exc
                time.sleep(min(pause, max(0.0, deadline - now)))
                pause = min(pause * 2, RETRY_MAX_S)

    # -- the protocol -----------------------------------------------------------------
    def add(self, tasks: Sequence[Task], *, front: bool = False) -> list[bool]:
        return [bool(new) for new in self._run("add", *_add_args(tasks, front))] if tasks else []

    def add_later(self, tasks: Sequence[Task], then: Callable[[list[bool]], None]) -> None:
        """add() with the next call: `then` gets, per task, whether it was new."""
        if not tasks:
            return
        first = tasks[0]
        if not all(_plain(t, first.depth, first.referrer) for t in tasks):
            args = _add_args(tasks, False)
            self._defer("add", *args, then=lambda reply: then([bool(n) for n in reply]))
            return
        # A page's links (or the seeds): Redis makes the tasks of the new ones. Those this
        # coordinator sent at this depth or nearer a seed before are seen in Redis with
        # that depth or a smaller one (Redis never forgets a URL): not new, no need to ask.
        depth = first.depth
        cache = self._seen_cache
        args = [depth, first.referrer or ""]
        sent: list[int] = []
        keys: list[bytes] = []
        for i, task in enumerate(tasks):
            bucket, field = seen_slot(task.url)
            key = field + bucket.to_bytes(3, "big")
            known = cache.get(key)
            if known is not None and known <= depth:
                continue
            sent.append(i)
            keys.append(key)
            args += [bucket, field, task.host, task.url]
        self.seen_cached += len(tasks) - len(sent)
        if not sent:
            then([False] * len(tasks))
            return

        def answered(reply: Any) -> None:
            if len(cache) + len(keys) > SEEN_CACHE_MAX:
                cache.clear()  # bounded memory: it only saves round trips and Redis work
            for key in keys:
                known = cache.get(key)
                if known is None or depth < known:
                    cache[key] = depth
            then(_spread(len(tasks), sent, reply))

        self._defer("add_links", *args, then=answered)

    def mark_seen_later(self, urls: Sequence[str], then: Callable[[list[bool]], None]) -> None:
        """mark_seen() with the next call: `then` gets, per URL, whether it was new."""
        if urls:
            self._defer(
                "mark_seen", *_slot_args(urls), then=lambda reply: then([bool(n) for n in reply])
            )

    def beyond_later(self, urls: Sequence[str], then: Callable[[list[bool]], None]) -> None:
        """With the next call: per URL (links not followed for --max-depth), whether it
        counts in stats.beyond_depth now — not seen, and counted by no machine before.
        Those in the seen cache are seen: no question asked."""
        ask: list[int] = []
        args: list[str | bytes | int] = []
        for i, url in enumerate(urls):
            bucket, field = seen_slot(url)
            if field + bucket.to_bytes(3, "big") not in self._seen_cache:
                ask.append(i)
                args += [bucket, field]
        if not ask:
            then([False] * len(urls))
            return

        self._defer("beyond", *args, then=lambda reply: then(_spread(len(urls), ask, reply)))

    def check_later(self, tasks: Sequence[Task], then: Callable[[list[bool]], None]) -> None:
        """With the next call: per task, whether it is still this coordinator's in
        flight (an answer of a task taken back from it after its lease ran out must not
        count: another machine has it). The leases of those still its own are renewed."""
        if not tasks:
            return
        started = time.monotonic()
        args: list[str] = []
        for task in tasks:
            args += [task.host, task_key(task)]

        def answered(reply: Any) -> None:
            mine = [bool(n) for n in reply]
            for task, ok in zip(tasks, mine, strict=True):
                if ok:  # claimed again by the script
                    self._leases[task.host] = started + self._ttl_s
            then(mine)

        self._defer("owned", *args, then=answered)

    def ask_robots_later(self, task: Task) -> None:
        """ask_robots() with the next call (before what is deferred after it)."""
        self._defer("ask_robots", task.robots_for or task.host, task.host, _encode(task))

    def mark_seen(self, urls: Sequence[str]) -> list[bool]:
        if not urls:
            return []
        return [bool(new) for new in self._run("mark_seen", *_slot_args(urls))]

    def seen(self, urls: Sequence[str]) -> list[bool]:
        if not urls:
            return []
        return [bool(found) for found in self._run("seen", *_slot_args(urls))]

    def push(self, tasks: Sequence[Task], *, front: bool = False, delay_s: float = 0.0) -> None:
        if not tasks:
            return
        args: list[str | bytes | int | float] = ["1" if front else "0", repr(float(delay_s))]
        for task in tasks:
            args += [task.host, "1" if task.robots else "0", _encode(task)]
        self._run("push", *args)

    def take(self, count: int, max_depth: int | None = None) -> list[Task]:
        depth = "" if max_depth is None else str(max_depth)
        started = time.monotonic()
        taken, status, found = self._run("take", count, depth)
        self._status_cache = (started, _status_of(status))  # the loop asks it next
        tasks = [_decode(data) for data in taken]
        for task, shallowest in zip(tasks, found, strict=True):
            if 0 <= shallowest < task.depth:
                # Found again, nearer a seed, before it was fetched: that is its depth.
                task.depth = shallowest
        for task in tasks:
            self._leases[task.host] = started + self._ttl_s
        return tasks

    def take_next(self, host: str, max_depth: int | None = None) -> Task | None:
        """As the protocol says; a coordinator of a shared crawl does not call it: it
        leaves no in-flight entry, so a task taken this way could not be taken over."""
        depth = "" if max_depth is None else str(max_depth)
        data = self._run("take_next", host, depth)
        return None if data is None else _decode(data)

    def cancel(self, host: str, task: Task | None = None) -> None:
        self._run("end", host, "cancel", "" if task is None else task_key(task))

    def finish(self, host: str, task: Task | None = None) -> None:
        # With the next call, after everything deferred before it (a finish may only
        # go later, never earlier: its answer's links are queued first), all of a
        # turn's finishes in one script.
        self._status_cache = None
        self._ends += [host, "" if task is None else task_key(task)]

    def flush(self) -> None:
        """Send the deferred finishes now."""
        if self._deferred or self._ends:
            self._run("status")

    def give_back(self, task: Task, *, held_slot: bool = True) -> None:
        robots = "1" if task.robots else "0"
        self._run("give_back", task.host, task_key(task), robots, _encode(task))

    def hold_back(self, task: Task) -> None:
        """A page limit holds the task back: kept in Redis for a rerun with a higher one."""
        self._run("hold_back", task.host, task_key(task), _encode(task))

    def requeue_held(self) -> int:
        """Queue again what the limits of an earlier run held back; how many."""
        return int(self._run("requeue_held"))

    def ask_robots(self, task: Task) -> bool:
        host = task.robots_for or task.host
        return bool(self._run("ask_robots", host, task.host, _encode(task)))

    def hold(self, host: str) -> None:
        self._run("hold", host, "hold", "")

    def release(self, host: str, delay_s: float | None) -> None:
        self._run("hold", host, "release", "" if delay_s is None else repr(float(delay_s)))

    def _status(self) -> tuple[float, int, int]:
        """(wait_s, queued, in flight), read again unless this frontier has changed nothing
        since the last read within STATUS_REUSE_S (the loop asks settled(), then wait_s())."""
        now = time.monotonic()
        cache = self._status_cache
        if cache is not None and self._clock is None and now - cache[0] < STATUS_REUSE_S:
            return cache[1]
        status = _status_of(self._run("status"))
        self._status_cache = (now, status)
        return status

    def wait_s(self) -> float | None:
        wait = self._status()[0]
        return None if wait < 0 else wait

    def queued(self) -> int:
        return self._status()[1]

    def settled(self) -> bool:
        """Nothing queued and nothing in flight on any machine."""
        _, queued, inflight = self._status()
        return queued == 0 and inflight == 0

    # -- a shared crawl ---------------------------------------------------------------
    def deadline(self, host: str) -> float:
        """The time.monotonic() after which no request of `host` may start here (fencing):
        a little before this coordinator's lease of it ends."""
        return self._leases.get(host, 0.0) - min(FENCE_MARGIN_S, self._ttl_s / 10)

    def maintain(self) -> None:
        """Renew the leases of the hosts this coordinator took from, a few times per
        lease (also of hosts that wait only on time)."""
        if time.monotonic() - self._renewed_at >= self._ttl_s / RENEWALS_PER_LEASE:
            self.renew()

    def renew(self) -> list[str]:
        """Renew this coordinator's leases now, forget the hosts it no longer owns; the
        hosts it owns."""
        started = time.monotonic()
        self._renewed_at = started
        hosts = list(self._leases)
        if not hosts:
            return []
        for host, ok in zip(hosts, self._run("renew", *hosts), strict=True):
            if ok:
                self._leases[host] = started + self._ttl_s
            else:
                del self._leases[host]
        return list(self._leases)

    def still_own(self, hosts: Sequence[str]) -> list[bool]:
        """Per host, whether this coordinator still owns it, so that no task of it in
        flight here was taken back (a take back clears the owner): by its own clock while
        the lease holds (no round trip), else by asking Redis, which renews the lease of
        those it still owns. The gate of records before they are stored (a machine
        paused past its lease must not store the answers of tasks another one has)."""
        now = time.monotonic()
        lapsed = [host for host in hosts if now >= self.deadline(host)]
        if not lapsed:
            return [True] * len(hosts)
        renewed = self.call(lambda: self._scripts["renew"](args=self._argv("renew", tuple(lapsed))))
        mine = {host for host, ok in zip(lapsed, renewed, strict=True) if ok}
        for host in lapsed:
            if host in mine:
                self._leases[host] = now + self._ttl_s
            else:
                self._leases.pop(host, None)
        return [host in mine or host not in lapsed for host in hosts]

    def leave(self) -> int:
        """Give back what this coordinator has in flight and free its hosts at once (it
        stops before the crawl is finished); how many tasks went back."""
        hosts = list(self._leases)
        self._leases.clear()
        if not hosts:
            self.flush()
            return 0
        return int(self._run("leave", *hosts))

    def store_robots(self, host: str, answer: dict[str, Any]) -> None:
        """Keep a host's robots.txt answer for every machine (before release())."""
        data = dict(answer, body=base64.b64encode(answer["body"]).decode("ascii"))
        self.call(lambda: self._client.set(f"{self._prefix}robots:{host}", json.dumps(data)))

    def robots_answers(self, hosts: Sequence[str]) -> dict[str, dict[str, Any]]:
        """The stored robots.txt answers of `hosts` (those that have one)."""
        keys = [f"{self._prefix}robots:{host}" for host in hosts]
        values = self.call(lambda: self._client.mget(keys))
        found = {}
        for host, value in zip(hosts, values, strict=True):
            if value is not None:
                answer = json.loads(value)
                answer["body"] = base64.b64decode(answer["body"])
                found[host] = answer
        return found

    def mark_finished(self) -> None:
        """The whole crawl is finished: say so for every machine and for export."""
        self.call(lambda: self._client.set(f"{self._prefix}finished", "1"))

    def counts(self) -> dict[str, int]:
        """Cluster counters: takeovers (leases that ran out with work in flight), taken_back."""
        raw = self.call(lambda: self._client.hgetall(f"{self._prefix}counts"))
        return {k.decode(): int(v) for k, v in raw.items()}


def _slot_args(urls: Sequence[str]) -> list[str | bytes | int]:
    """The scripts' arguments for a batch of URLs: (bucket, field) of each in the seen set."""
    args: list[str | bytes | int] = []
    for url in urls:
        args += seen_slot(url)
    return args


def _spread(size: int, asked: Sequence[int], reply: Sequence[Any]) -> list[bool]:
    """Per item of `size`, the script's answer for those `asked` (by index), False for
    the others (answered without Redis, from the seen cache)."""
    answers = [False] * size
    for i, n in zip(asked, reply, strict=True):
        answers[i] = bool(n)
    return answers

"""The Lua scripts of :class:`newsalert.dedupe.redis_store.RedisDedupe`.

Each script runs atomically in Redis, so two matchers racing on copies of one story
see each other's marks. They mirror :class:`newsalert.dedupe.memory.MemoryDedupe`
step for step. Value layouts (``|``-separated; story ids and tokens never hold ``|``):

* ``seen:<digest>`` string: ``d|<story>|<event_ms>`` (committed) or
  ``p|<story>|<event_ms>|<token>`` (pending; never makes a copy a duplicate).
* ``story:<band>:<bucket>`` string: ``<story>|<event_ms>`` of the newest article there.
* ``line:<digest>`` string: ``<last article>|<articles>|<event_ms>`` of one source's
  edge sentence (:mod:`newsalert.dedupe.boilerplate`).
* ``alerted:<rule>:<story>`` hash: ``last`` (event ms of the last sent alert), ``seq``
  (alerts sent), ``folded`` (copies since), ``ptok``/``puntil`` (pending owner and its
  lease end in Redis server milliseconds).
"""

from __future__ import annotations

#: KEYS: seen keys (nseen), band keys in band order, then edge-sentence line keys (nlines).
#: ARGV: nseen, event_ms, window_ms, ttl_ms, token, new_story, min_band_hits, the kind
#: (id, url, body) of each seen key, nlines, the article's id digest, then 1 when the
#: caller sent no band keys because it read a committed exact mark (0 otherwise).
#: Returns {state, story, reason or ""}: state 1 a duplicate (the same record committed),
#: 0 decided, 2 "no committed exact mark after all: call again with the band keys".
#: A committed exact copy (same url or body, another record) takes that mark's story and
#: leaves bands and learned boilerplate alone, as MemoryDedupe does.
CHECK_ARTICLE = """
local nseen = tonumber(ARGV[1])
local t = tonumber(ARGV[2])
local window = tonumber(ARGV[3])
local ttl = ARGV[4]
local token = ARGV[5]
local min_hits = tonumber(ARGV[7])
local last_band = #KEYS - tonumber(ARGV[8 + nseen])
local story, reason, exact = nil, '', false
local live = {}
for i = 1, nseen do
  local v = redis.call('GET', KEYS[i])
  if v then
    local state, s, ms = string.match(v, '^(%a)|([^|]+)|(%-?%d+)')
    if ms and math.abs(t - tonumber(ms)) <= window then
      if state == 'd' and ARGV[7 + i] == 'id' then
        return {1, s, 'same-id'}
      end
      live[i] = true
      if state == 'd' and not exact then
        story, reason, exact = s, 'same-' .. ARGV[7 + i], true
      elseif not story then
        story, reason = s, 'copy-in-flight'
      end
    end
  end
end
if ARGV[10 + nseen] == '1' and not exact then
  return {2, '', ''}
end
if exact then
  for i = 1, nseen do
    if not live[i] then
      redis.call('SET', KEYS[i], 'p|' .. story .. '|' .. ARGV[2] .. '|' .. token, 'PX', ttl)
    end
  end
  return {0, story, reason}
end
local bands = {}
for i = nseen + 1, last_band do
  bands[i] = redis.call('GET', KEYS[i])
end
if not story then
  local counts, best, best_hits = {}, nil, 0
  for i = nseen + 1, last_band do
    local v = bands[i]
    if v then
      local s, ms = string.match(v, '^([^|]+)|(%-?%d+)$')
      if s and math.abs(t - tonumber(ms)) <= window then
        local hits = (counts[s] or 0) + 1
        counts[s] = hits
        if hits > best_hits then best, best_hits = s, hits end
      end
    end
  end
  if best and best_hits >= min_hits then story, reason = best, 'near-duplicate' end
end
if not story then story = ARGV[6] end
for i = 1, nseen do
  if not live[i] then
    redis.call('SET', KEYS[i], 'p|' .. story .. '|' .. ARGV[2] .. '|' .. token, 'PX', ttl)
  end
end
for i = nseen + 1, last_band do
  local v = bands[i]
  local ms = v and string.match(v, '|(%-?%d+)$')
  if (not ms) or tonumber(ms) <= t then
    redis.call('SET', KEYS[i], story .. '|' .. ARGV[2], 'PX', ttl)
  end
end
-- boilerplate.next_mark: last article that carried each edge sentence, how many did
local article = ARGV[9 + nseen]
for i = last_band + 1, #KEYS do
  local v = redis.call('GET', KEYS[i])
  local a, c, ms = nil, nil, nil
  if v then a, c, ms = string.match(v, '^([^|]+)|(%d+)|(%-?%d+)$') end
  if (not a) or math.abs(t - tonumber(ms)) > window then
    redis.call('SET', KEYS[i], article .. '|1|' .. ARGV[2], 'PX', ttl)
  else
    local articles = tonumber(c)
    if a ~= article then articles = articles + 1 end
    local newest = ARGV[2]
    if tonumber(ms) > t then newest = ms end
    redis.call('SET', KEYS[i], article .. '|' .. articles .. '|' .. newest, 'PX', ttl)
  end
end
return {0, story, reason}
"""

#: KEYS: one alert group key per rule.
#: ARGV: token, event_ms, pending_ms, then per key: interval_ms, ttl_ms.
#: Returns per key {state, folded, seq}: state 1 send, 0 fold, 2 another owner's lease.
CLAIM_ALERTS = """
local token = ARGV[1]
local t = tonumber(ARGV[2])
local pending = tonumber(ARGV[3])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local out = {}
for i, key in ipairs(KEYS) do
  local interval = tonumber(ARGV[2 + 2 * i])
  local ttl = ARGV[3 + 2 * i]
  local h = redis.call('HMGET', key, 'last', 'seq', 'folded', 'ptok', 'puntil')
  local last = tonumber(h[1])
  local seq = tonumber(h[2]) or 0
  local folded = tonumber(h[3]) or 0
  local ptok = h[4]
  local puntil = tonumber(h[5]) or 0
  if ptok and ptok ~= token and puntil > now then
    out[i] = {2, folded, seq}
  elseif last and t < last + interval then
    out[i] = {0, folded, seq}
  else
    redis.call('HSET', key, 'ptok', token, 'puntil', now + pending)
    redis.call('PEXPIRE', key, ttl)
    out[i] = {1, folded, seq}
  end
end
return out
"""

#: KEYS: seen keys (nseen), then one alert group key per claim.
#: ARGV: nseen, seen value ('' for none), seen_ttl_ms, then per claim:
#:   send 1/0, token, seq, event_ms, folded_reported, ttl_ms.
COMMIT = """
local nseen = tonumber(ARGV[1])
if ARGV[2] ~= '' then
  for i = 1, nseen do
    redis.call('SET', KEYS[i], ARGV[2], 'PX', ARGV[3])
  end
end
for i = nseen + 1, #KEYS do
  local a = 4 + (i - nseen - 1) * 6
  local key = KEYS[i]
  if ARGV[a] == '1' then
    local seq = tonumber(ARGV[a + 2])
    local h = redis.call('HMGET', key, 'seq', 'folded', 'ptok')
    if (tonumber(h[1]) or 0) <= seq then
      local folded = math.max(0, (tonumber(h[2]) or 0) - tonumber(ARGV[a + 4]))
      redis.call('HSET', key, 'seq', seq + 1, 'last', ARGV[a + 3], 'folded', folded)
    end
    if h[3] == ARGV[a + 1] then
      redis.call('HDEL', key, 'ptok', 'puntil')
    end
  else
    redis.call('HINCRBY', key, 'folded', 1)
  end
  redis.call('PEXPIRE', key, ARGV[a + 5])
end
return 1
"""

#: KEYS: seen keys (nseen), then the alert group keys of sent claims.
#: ARGV: nseen, seen token, then one claim token per group key.
ABANDON = """
local nseen = tonumber(ARGV[1])
local suffix = '|' .. ARGV[2]
for i = 1, nseen do
  local v = redis.call('GET', KEYS[i])
  if v and string.sub(v, 1, 2) == 'p|' and string.sub(v, -#suffix) == suffix then
    redis.call('DEL', KEYS[i])
  end
end
for i = nseen + 1, #KEYS do
  if redis.call('HGET', KEYS[i], 'ptok') == ARGV[i - nseen + 2] then
    redis.call('HDEL', KEYS[i], 'ptok', 'puntil')
  end
end
return 1
"""

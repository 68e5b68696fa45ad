"""The Lua scripts of :class:`newsalert.dedupe.redis_store.RedisDedupe`.

Each script runs atomically in Redis, so two matchers racing on copies of one story
see each other's marks. They mirror :class:`newsalert.dedupe.memory.MemoryDedupe`
step for step. Value layouts (``|``-separated; story ids and tokens never hold ``|``):

* ``seen:<digest>`` string: ``d|<story>|<event_ms>`` (committed) or
  ``p|<story>|<event_ms>|<token>`` (pending; never makes a copy a duplicate).
* ``story:bands`` hash, field ``<band>:<bucket>``: ``<story>|<event_ms>`` of the newest
  article there (each field with its own TTL).
* ``line:<digest>`` string: ``<last article>|<articles>|<event_ms>`` of one source's
  edge sentence (:mod:`newsalert.dedupe.boilerplate`).
* ``alerted:<rule>:<story>`` hash: ``last`` (event ms of the last sent alert), ``seq``
  (alerts sent), ``folded`` (copies since), ``ptok``/``puntil`` (pending owner and its
  lease end in Redis server milliseconds).
"""

from __future__ import annotations

#: A batch of articles, decided in order (``check_articles``). Each decided article's seen
#: marks are then read as committed by the later ones (``d|<story>|<event_ms>`` in the
#: local table ``over``, never written: Redis gets the pending marks).
#: KEYS: the band hash, then per article: its seen keys (nseen), then its edge-sentence
#: line keys (nlines).
#: ARGV: window_ms, ttl_ms, min_band_hits, bucket width (characters), nseed, nseed pairs
#: (seen key, committed value) of earlier articles of the batch, then one argument per
#: article, its fields joined by ``|``: nseen, nlines, event_ms, token, new_story, the
#: article's id digest, 1 when the caller sent no band buckets because it read a
#: committed exact mark (0 otherwise), its band buckets in band order concatenated into
#: one string ('' for none), then the kind (id, url, body) of each seen key. (One
#: argument per article rather than one per field: the client's cost of a call grows
#: with its number of arguments.)
#: Returns per article {state, story, reason or ""}: state 1 a duplicate (the same record
#: committed), 0 decided, 2 "no committed exact mark after all: call again from this
#: article with its band buckets" (the last entry; later articles are left undecided).
#: A committed exact copy (same url or body, another record) takes that mark's story and
#: leaves bands and learned boilerplate alone, as MemoryDedupe does.
#: The bands are fields ``<band>:<bucket>`` of one hash, each with its own TTL
#: (``HPEXPIRE``): reading and writing an article's bands is one command each instead of
#: one per band. The hash itself gets the same TTL on every write, so it is gone one TTL
#: after the last article, like every other key.
CHECK_ARTICLES = """
local window = tonumber(ARGV[1])
local ttl = ARGV[2]
local min_hits = tonumber(ARGV[3])
local width = tonumber(ARGV[4])
local band_key = KEYS[1]
local over = {}
local a = 6
for _ = 1, tonumber(ARGV[5]) do
  over[ARGV[a]] = ARGV[a + 1]
  a = a + 2
end
local k = 1
local out = {}
while a <= #ARGV do
  local f = {}
  for field in string.gmatch(ARGV[a] .. '|', '([^|]*)|') do f[#f + 1] = field end
  a = a + 1
  local nseen, nlines = tonumber(f[1]), tonumber(f[2])
  local ts = f[3]
  local t = tonumber(ts)
  local token, new_story, article, exact_only, buckets = f[4], f[5], f[6], f[7], f[8]
  local kinds = 8
  local seen0, line0 = k, k + nseen
  k = line0 + nlines
  local story, reason, exact, dup = nil, '', false, nil
  local live = {}
  for i = 1, nseen do
    local v = over[KEYS[seen0 + i]] or redis.call('GET', KEYS[seen0 + i])
    if v then
      local state, s, ms = string.match(v, '^(%a)|([^|]+)|(%-?%d+)')
      if ms and math.abs(t - tonumber(ms)) <= window then
        if state == 'd' and f[kinds + i] == 'id' then
          dup = s
          break
        end
        live[i] = true
        if state == 'd' and not exact then
          story, reason, exact = s, 'same-' .. f[kinds + i], true
        elseif not story then
          story, reason = s, 'copy-in-flight'
        end
      end
    end
  end
  if dup then
    out[#out + 1] = {1, dup, 'same-id'}
  elseif exact_only == '1' and not exact then
    out[#out + 1] = {2, '', ''}
    return out
  else
    local fields, bands = {}, {}
    if not exact then
      for b = 1, #buckets / width do
        fields[b] = (b - 1) .. ':' .. string.sub(buckets, (b - 1) * width + 1, b * width)
      end
      if #fields > 0 then
        bands = redis.call('HMGET', band_key, unpack(fields))
      end
      if not story then
        local counts, best, best_hits = {}, nil, 0
        for b = 1, #fields do
          local v = bands[b]
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
      if not story then story = new_story end
    end
    for i = 1, nseen do
      if not live[i] then
        redis.call('SET', KEYS[seen0 + i], 'p|' .. story .. '|' .. ts .. '|' .. token, 'PX', ttl)
      end
      over[KEYS[seen0 + i]] = 'd|' .. story .. '|' .. ts
    end
    if not exact then
      local writes, fresh = {}, {}
      local mark = story .. '|' .. ts
      for b = 1, #fields do
        local v = bands[b]
        local ms = v and string.match(v, '|(%-?%d+)$')
        if (not ms) or tonumber(ms) <= t then
          writes[#writes + 1] = fields[b]
          writes[#writes + 1] = mark
          fresh[#fresh + 1] = fields[b]
        end
      end
      if #fresh > 0 then
        redis.call('HSET', band_key, unpack(writes))
        redis.call('HPEXPIRE', band_key, ttl, 'FIELDS', #fresh, unpack(fresh))
        redis.call('PEXPIRE', band_key, ttl)
      end
      -- boilerplate.next_mark: last article that carried each edge sentence, how many did
      for i = line0 + 1, line0 + nlines do
        local v = redis.call('GET', KEYS[i])
        local la, c, ms = nil, nil, nil
        if v then la, c, ms = string.match(v, '^([^|]+)|(%d+)|(%-?%d+)$') end
        if (not la) or math.abs(t - tonumber(ms)) > window then
          redis.call('SET', KEYS[i], article .. '|1|' .. ts, 'PX', ttl)
        else
          local articles = tonumber(c)
          if la ~= article then articles = articles + 1 end
          local newest = ts
          if tonumber(ms) > t then newest = ms end
          redis.call('SET', KEYS[i], article .. '|' .. articles .. '|' .. newest, 'PX', ttl)
        end
      end
    end
    out[#out + 1] = {0, story, reason}
  end
end
return out
"""

#: A batch of claim requests, decided in order (``claim_batch``). A group behind another
#: owner's live lease when first read is left undecided for every item of the call; every
#: other group is decided on a local copy that plays the commits of the earlier items.
#: KEYS: the distinct alert group keys.
#: ARGV: pending_ms, nreq, per request ``event_ms|token``; then per item
#: ``request index|key index|interval_ms|ttl_ms`` (indexes 1-based).
#: Returns per item {state, folded, seq}: state 1 send, 0 fold, 2 another owner's lease.
CLAIM_BATCH = """
local pending = tonumber(ARGV[1])
local nreq = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local played, blocked, out = {}, {}, {}
local tokens, times = {}, {}
for r = 1, nreq do
  local ms, token = string.match(ARGV[2 + r], '^(%-?%d+)|(.*)$')
  times[r], tokens[r] = tonumber(ms), token
end
for a = 3 + nreq, #ARGV do
  local rs, ks, is, ttl = string.match(ARGV[a], '^(%d+)|(%d+)|(%d+)|(%d+)$')
  local r, k, interval = tonumber(rs), tonumber(ks), tonumber(is)
  local token, t = tokens[r], times[r]
  local key = KEYS[k]
  if not played[k] and not blocked[k] then
    local h = redis.call('HMGET', key, 'last', 'seq', 'folded', 'ptok', 'puntil')
    if h[4] and h[4] ~= token and (tonumber(h[5]) or 0) > now then
      blocked[k] = true
    else
      played[k] = {last = tonumber(h[1]), seq = tonumber(h[2]) or 0, folded = tonumber(h[3]) or 0}
    end
  end
  local g = played[k]
  if not g then
    out[#out + 1] = {2, 0, 0}
  elseif g.last and t < g.last + interval then
    out[#out + 1] = {0, g.folded, g.seq}
    g.folded = g.folded + 1
  else
    out[#out + 1] = {1, g.folded, g.seq}
    redis.call('HSET', key, 'ptok', token, 'puntil', now + pending)
    redis.call('PEXPIRE', key, ttl)
    g.seq, g.last, g.folded = g.seq + 1, t, 0
  end
end
return out
"""

#: A batch of hand-offs, committed in order.
#: KEYS, per hand-off: its seen keys (nseen), then one alert group key per claim.
#: ARGV, per hand-off: ``nseen|nclaims|seen_ttl_ms|seen value`` (value '' for none), then
#: per claim ``send 1/0|seq|event_ms|folded_reported|ttl_ms|token``.
COMMIT_BATCH = """
local a, k = 1, 0
while a <= #ARGV do
  local ns, nc, seen_ttl, value = string.match(ARGV[a], '^(%d+)|(%d+)|(%d+)|(.*)$')
  local nseen, nclaims = tonumber(ns), tonumber(nc)
  a = a + 1
  for _ = 1, nseen do
    k = k + 1
    if value ~= '' then
      redis.call('SET', KEYS[k], value, 'PX', seen_ttl)
    end
  end
  for _ = 1, nclaims do
    k = k + 1
    local key = KEYS[k]
    local send, sq, last, reported, ttl, token =
      string.match(ARGV[a], '^([01])|(%d+)|(%-?%d+)|(%d+)|(%d+)|(.*)$')
    if send == '1' then
      local seq = tonumber(sq)
      local h = redis.call('HMGET', key, 'seq', 'folded', 'ptok')
      if (tonumber(h[1]) or 0) <= seq then
        local folded = math.max(0, (tonumber(h[2]) or 0) - tonumber(reported))
        redis.call('HSET', key, 'seq', seq + 1, 'last', last, 'folded', folded)
      end
      if h[3] == token then
        redis.call('HDEL', key, 'ptok', 'puntil')
      end
    else
      redis.call('HINCRBY', key, 'folded', 1)
    end
    redis.call('PEXPIRE', key, ttl)
    a = a + 1
  end
end
return 1
"""

#: A batch of hand-offs to release.
#: KEYS, per hand-off: its seen keys (nseen), then the alert group keys of sent claims.
#: ARGV, per hand-off: nseen, seen token, ngroups, then one claim token per group key.
ABANDON_BATCH = """
local a, k = 1, 0
while a <= #ARGV do
  local nseen, suffix, ngroups = tonumber(ARGV[a]), '|' .. ARGV[a + 1], tonumber(ARGV[a + 2])
  a = a + 3
  for _ = 1, nseen do
    k = k + 1
    local v = redis.call('GET', KEYS[k])
    if v and string.sub(v, 1, 2) == 'p|' and string.sub(v, -#suffix) == suffix then
      redis.call('DEL', KEYS[k])
    end
  end
  for _ = 1, ngroups do
    k = k + 1
    if redis.call('HGET', KEYS[k], 'ptok') == ARGV[a] then
      redis.call('HDEL', KEYS[k], 'ptok', 'puntil')
    end
    a = a + 1
  end
end
return 1
"""

-- Sliding-window rate-limit check: two weighted buckets, one atomic script per check.
-- A line-by-line transcription of `window.rs` (read its header for the math); keep them in step.
--
-- KEYS[1]  base key `<prefix>:<class>:<identity>`; bucket keys are `<base>:<bucket number>`.
--          The bucket depends on the server clock, so the script derives them itself (fine on a
--          standalone Redis or Upstash; a Redis Cluster would need a hash tag on the base key).
-- ARGV[1]  limit (requests per window)
-- ARGV[2]  window length in milliseconds
-- ARGV[3]  "hit" counts an admitted request; "peek" only reads
--
-- Returns {allowed (1 or 0), remaining, reset ms (to the bucket's end), retry-after ms (0 when
-- allowed, at least 1 when rejected)}. Rejected requests are never counted.

-- Redis < 5 must be told to replicate effects rather than the script, because it reads TIME.
if redis.replicate_commands then
  redis.replicate_commands()
end

local limit = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local hit = ARGV[3] == 'hit'

-- The server's clock, never the caller's: every instance then agrees on bucket boundaries.
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local bucket = math.floor(now / window)
local elapsed = now - bucket * window

local cur_key = KEYS[1] .. ':' .. string.format('%d', bucket)
local prev_key = KEYS[1] .. ':' .. string.format('%d', bucket - 1)
local counts = redis.call('MGET', cur_key, prev_key)
local cur = tonumber(counts[1]) or 0
local prev = tonumber(counts[2]) or 0

-- The first elapsed ms at which a previous bucket of `p` requests weighs at most `budget`.
local function weight_fits_at(p, budget)
  if p <= budget then
    return 0
  end
  return window - math.floor(((budget + 1) * window - 1) / p)
end

local weighted = math.floor(prev * (window - elapsed) / window)
local reset = window - elapsed

if weighted + cur >= limit then
  local retry
  if cur < limit then
    retry = weight_fits_at(prev, limit - 1 - cur) - elapsed
  else
    retry = reset + weight_fits_at(cur, limit - 1)
  end
  if retry < 1 then
    retry = 1
  end
  return {0, 0, reset, retry}
end

if hit then
  cur = redis.call('INCR', cur_key)
  if cur == 1 then
    -- Long enough to serve as the previous bucket through the whole next window.
    redis.call('PEXPIRE', cur_key, window * 2 + 1000)
  end
end

local remaining = limit - weighted - cur
if remaining < 0 then
  remaining = 0
end
return {1, remaining, reset, 0}

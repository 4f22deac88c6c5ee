// The Lua scripts every operation runs on the server: each is one atomic step (Redis runs a script alone), so the
// compare-and-set, the lease checks and the fencing all happen where the data is. docs/architecture/redis.md
// describes the keys and fields.
//
// Every script that reads the head reads it with a read command (HMGET/HGET): client tracking then remembers the
// key for the calling connection, so the next change by anyone else is pushed to it as an invalidation. A commit
// re-reads the head after writing it: with CLIENT TRACKING NOLOOP that keeps the writer tracked without telling it
// about its own write.
//
// Times are the server's (TIME), in ms: leases never depend on the clients' clocks.

const NOW = `local _t = redis.call('TIME'); local now = tonumber(_t[1]) * 1000 + math.floor(tonumber(_t[2]) / 1000)`;

/** Removes shared leases that ended, marking the lock so the next acquirer is told a holder died. */
const PRUNE_READERS = `
local function prune(lock, readers, now)
  local gone = redis.call('ZRANGEBYSCORE', readers, '-inf', now)
  if #gone > 0 then
    redis.call('ZREMRANGEBYSCORE', readers, '-inf', now)
    redis.call('HSET', lock, 'd', '1')
  end
end`;

/**
 * Open or create. KEYS: head. ARGV: create ('1'/'0'), exclusive ('1'/'0'), new id.
 * Returns {0} missing, {1, id} opened, {2, id} created, {3} exists (exclusive).
 */
export const OPEN = `
local id = redis.call('HGET', KEYS[1], 'id')
if id then
  if ARGV[2] == '1' then return {3} end
  return {1, id}
end
if ARGV[1] ~= '1' then return {0} end
redis.call('HSET', KEYS[1], 'id', ARGV[3], 's', '0', 'z', '0', 'n', '0', 'g', '', 'len', '0', 'v', '')
redis.call('HGET', KEYS[1], 'id')
return {2, ARGV[3]}`;

/**
 * Read. KEYS: head. ARGV: id, known serial ('-1': none).
 * Returns {0} missing, {1, id} another store now has the name, {2, s} unchanged, {3, s, z, n, g, len, v} the value
 * (v is the bytes when n is 0; otherwise the value is in n parts).
 */
export const READ = `
local h = redis.call('HMGET', KEYS[1], 'id', 's', 'z', 'n', 'g', 'len')
if not h[1] then return {0} end
if h[1] ~= ARGV[1] then return {1, h[1]} end
if h[2] == ARGV[2] then return {2, h[2]} end
local v = ''
if h[4] == '0' then v = redis.call('HGET', KEYS[1], 'v') end
return {3, h[2], h[3], h[4], h[5], h[6], v}`;

/**
 * Commit. KEYS: head, lock, readers. ARGV: id, expected serial ('' = any), token ('' = none), holder, z, n, g, len,
 * v (inline bytes, '' when in parts), part key prefix.
 * Returns {0} missing, {1} replaced, {4, t} the token is not the live lease's (t: the current token or ''),
 * {5, ms} another holds the lock (retry after at most ms), {6, s, z, n, g, len, v} serial conflict (the current
 * value), {7, s} committed as serial s.
 */
export const COMMIT = `
${NOW}
${PRUNE_READERS}
local id = redis.call('HGET', KEYS[1], 'id')
if not id then return {0} end
if id ~= ARGV[1] then return {1} end
local lk = redis.call('HMGET', KEYS[2], 'x', 'xe', 't')
local xlive = lk[1] and tonumber(lk[2]) > now
if ARGV[3] ~= '' then
  if not xlive or lk[1] ~= ARGV[4] or lk[3] ~= ARGV[3] then return {4, lk[3] or ''} end
else
  if xlive and lk[1] ~= ARGV[4] then return {5, tonumber(lk[2]) - now} end
  prune(KEYS[2], KEYS[3], now)
  local r = redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')
  if #r > 0 and (r[1] ~= ARGV[4] or redis.call('ZCARD', KEYS[3]) > 1) then
    return {5, tonumber(r[2]) - now}
  end
end
local h = redis.call('HMGET', KEYS[1], 's', 'z', 'n', 'g', 'len')
if ARGV[2] ~= '' and h[1] ~= ARGV[2] then
  local v = ''
  if h[3] == '0' then v = redis.call('HGET', KEYS[1], 'v') end
  return {6, h[1], h[2], h[3], h[4], h[5], v}
end
local n = tonumber(ARGV[6])
for i = 0, n - 1 do
  local part = ARGV[10] .. ARGV[7] .. ':' .. i
  if redis.call('PERSIST', part) == 0 and redis.call('EXISTS', part) == 0 then
    return redis.error_reply('ERR @shm/redis: part ' .. part .. ' of the value being committed is missing')
  end
end
local oldn = tonumber(h[3])
for i = 0, oldn - 1 do redis.call('DEL', ARGV[10] .. h[4] .. ':' .. i) end
local s = tonumber(h[1]) + 1
redis.call('HSET', KEYS[1], 's', s, 'z', ARGV[5], 'n', ARGV[6], 'g', ARGV[7], 'len', ARGV[8], 'v', ARGV[9])
redis.call('HGET', KEYS[1], 's')
return {7, s}`;

/**
 * Exclusive acquire. KEYS: lock, readers. ARGV: holder, lease ms.
 * Returns {0, ms} busy (retry after at most ms), {1, token} acquired, {2, token} acquired and a previous holder's
 * lease ended without a release (it died or was cut off).
 */
export const LOCK_EXCLUSIVE = `
${NOW}
${PRUNE_READERS}
prune(KEYS[1], KEYS[2], now)
local lk = redis.call('HMGET', KEYS[1], 'x', 'xe', 'd')
if lk[1] and tonumber(lk[2]) > now then return {0, tonumber(lk[2]) - now} end
local r = redis.call('ZRANGE', KEYS[2], 0, 0, 'WITHSCORES')
if #r > 0 then return {0, tonumber(r[2]) - now} end
local died = 1
if lk[1] or lk[3] == '1' then died = 2 end
local tok = redis.call('HINCRBY', KEYS[1], 'f', 1)
redis.call('HSET', KEYS[1], 'x', ARGV[1], 'xe', now + tonumber(ARGV[2]), 't', tok)
redis.call('HDEL', KEYS[1], 'd')
redis.call('HGET', KEYS[1], 'x')
return {died, tostring(tok)}`;

/**
 * Shared acquire. KEYS: lock, readers. ARGV: holder, lease ms.
 * Returns {0, ms} busy, {1} acquired, {2} acquired and a previous holder's lease ended without a release.
 */
export const LOCK_SHARED = `
${NOW}
${PRUNE_READERS}
prune(KEYS[1], KEYS[2], now)
local lk = redis.call('HMGET', KEYS[1], 'x', 'xe', 'd')
if lk[1] and tonumber(lk[2]) > now then return {0, tonumber(lk[2]) - now} end
local died = 1
if lk[1] or lk[3] == '1' then
  died = 2
  redis.call('HDEL', KEYS[1], 'x', 'xe', 'd')
end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[2]), ARGV[1])
redis.call('HGET', KEYS[1], 'x')
return {died}`;

/** Exclusive renew. KEYS: lock. ARGV: holder, token, lease ms. Returns 1 renewed, 0 the lease had ended. */
export const RENEW_EXCLUSIVE = `
${NOW}
local lk = redis.call('HMGET', KEYS[1], 'x', 'xe', 't')
if lk[1] ~= ARGV[1] or lk[3] ~= ARGV[2] or tonumber(lk[2]) <= now then return 0 end
redis.call('HSET', KEYS[1], 'xe', now + tonumber(ARGV[3]))
return 1`;

/** Shared renew. KEYS: readers. ARGV: holder, lease ms. Returns 1 renewed, 0 the lease had ended. */
export const RENEW_SHARED = `
${NOW}
local e = redis.call('ZSCORE', KEYS[1], ARGV[1])
if not e or tonumber(e) <= now then return 0 end
redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), ARGV[1])
return 1`;

/** Exclusive release. KEYS: lock. ARGV: holder, token. Returns 1 released, 0 the lease had ended first. */
export const UNLOCK_EXCLUSIVE = `
${NOW}
local lk = redis.call('HMGET', KEYS[1], 'x', 'xe', 't')
if lk[1] ~= ARGV[1] or lk[3] ~= ARGV[2] then return 0 end
redis.call('HDEL', KEYS[1], 'x', 'xe')
if tonumber(lk[2]) <= now then
  redis.call('HSET', KEYS[1], 'd', '1')
  return 0
end
return 1`;

/** Shared release. KEYS: lock, readers. ARGV: holder. Returns 1 released, 0 the lease had ended first. */
export const UNLOCK_SHARED = `
${NOW}
local e = redis.call('ZSCORE', KEYS[2], ARGV[1])
if not e then return 0 end
redis.call('ZREM', KEYS[2], ARGV[1])
if tonumber(e) <= now then
  redis.call('HSET', KEYS[1], 'd', '1')
  return 0
end
return 1`;

/** Destroy. KEYS: head, lock, readers. ARGV: id, part key prefix. Returns 1, or 0 when it was gone. */
export const DESTROY = `
local h = redis.call('HMGET', KEYS[1], 'id', 'n', 'g')
if not h[1] or h[1] ~= ARGV[1] then return 0 end
for i = 0, tonumber(h[2]) - 1 do redis.call('DEL', ARGV[2] .. h[3] .. ':' .. i) end
redis.call('DEL', KEYS[1], KEYS[2], KEYS[3])
return 1`;

/** Every script by name, so the worker can load them and run them by SHA. */
export const SCRIPTS = {
  OPEN,
  READ,
  COMMIT,
  LOCK_EXCLUSIVE,
  LOCK_SHARED,
  RENEW_EXCLUSIVE,
  RENEW_SHARED,
  UNLOCK_EXCLUSIVE,
  UNLOCK_SHARED,
  DESTROY,
} as const;

export type ScriptName = keyof typeof SCRIPTS;

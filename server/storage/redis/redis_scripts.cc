#include "server/storage/redis/redis_scripts.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "server/storage/redis/redis_change_message.h"

namespace larder::storage::internal {
namespace {

// Shared by every script: the entry format, the bucket's keys, the index and counters
// bookkeeping, and removal. `forget` and `index_add` are the only writers of the index and the
// n / b counters, so the counters always sum the index's members.
constexpr absl::string_view kPrelude = R"lua(
-- Scores and times go to Redis as ARGV text: Lua would print a number with 14 digits only.
local now = tonumber(ARGV[1])
local base = ARGV[2]
local entry_prefix = base .. 'e:'
local index_key = base .. 'i'
local counters_key = base .. 'c'
local tag_prefix = base .. 't:'
local lease_prefix = base .. 'l:'
local function is_live(expiry) return expiry == '' or tonumber(expiry) > now end
local function score_of(expiry) if expiry == '' then return 'inf' end return expiry end
local function user_key(k) return string.sub(k, #entry_prefix + 1) end
local function record_of(k) return lease_prefix .. user_key(k) end

-- An entry is one string (redis_scripts.h): '2', the expiry in 16 characters, then
-- '<grace>;<ETag length>;<tags length>;', the ETag, the tags ('<length>:<tag>' each), the value.
-- (An expiry past 16 digits, after the year 2286, is never; one before 1970 is 0.)
local function expiry_field(expiry)
  if expiry == '' or #expiry > 16 then return NEVER end
  if string.byte(expiry, 1) == 45 then return string.rep('0', 16) end
  return string.rep('0', 16 - #expiry) .. expiry
end
local function encode(expiry, grace, etag, tags, value)
  local parts, seen = {}, {}
  for _, tag in ipairs(tags) do
    if not seen[tag] then seen[tag] = true; parts[#parts + 1] = #tag .. ':' .. tag end
  end
  local tag_text = table.concat(parts)
  return '2' .. expiry_field(expiry) .. grace .. ';' .. #etag .. ';' .. #tag_text .. ';' ..
         etag .. tag_text .. value
end
local function number_at(s, from, to)
  local n = tonumber(string.sub(s, from, to))
  if not n then error('larder: a corrupt entry header') end
  return n
end
-- The entry whose string begins with s: {expiry ('' for never), grace (false when none), etag,
-- tags, value_at (the 1-based index of its value)}; or false and the header's length when s
-- ends before the header does.
local function decode(s)
  if string.byte(s, 1) ~= 50 then error('larder: an entry not in layout 2') end
  local a = string.find(s, ';', 18, true)
  local b = a and string.find(s, ';', a + 1, true)
  local c = b and string.find(s, ';', b + 1, true)
  if not c then error('larder: a corrupt entry header') end
  local etag_length = number_at(s, a + 1, b - 1)
  local header_end = c + etag_length + number_at(s, b + 1, c - 1)
  if #s < header_end then return false, header_end end
  local entry = {expiry = string.sub(s, 2, 17), grace = string.sub(s, 18, a - 1),
                 etag = string.sub(s, c + 1, c + etag_length), tags = {},
                 value_at = header_end + 1}
  if entry.expiry == NEVER then entry.expiry = '' else entry.expiry = string.match(entry.expiry, '^0*(%d+)$') end
  if not entry.expiry then error('larder: a corrupt entry expiry') end
  if entry.grace == '' then entry.grace = false end
  local at = c + etag_length + 1
  while at <= header_end do
    local colon = string.find(s, ':', at, true)
    if not colon then error('larder: a corrupt entry tag') end
    local length = number_at(s, at, colon - 1)
    entry.tags[#entry.tags + 1] = string.sub(s, colon + 1, colon + length)
    at = colon + length + 1
  end
  return entry
end
-- Rewrites entry k, stored as a hash by larderd before layout 2 (v, e, x, l and '#<tag>'
-- fields), as its string, keeping its native TTL. Its index member is unchanged.
local function convert(k)
  local fields, tags = redis.call('HMGET', k, 'v', 'e', 'x', 'l'), {}
  for _, field in ipairs(redis.call('HKEYS', k)) do
    if string.byte(field, 1) == 35 then tags[#tags + 1] = string.sub(field, 2) end
  end
  local ttl = redis.call('PTTL', k)
  local s = encode(fields[3] or '', fields[4] or '', fields[2] or '', tags, fields[1] or '')
  redis.call('DEL', k)
  if ttl >= 0 then redis.call('SET', k, s, 'PX', math.max(ttl, 1)) else redis.call('SET', k, s) end
end
-- The string of key k (GET, or with `last` GETRANGE 0 last), converting a hash entry first;
-- false when there is none.
local function read_string(k, last)
  local function read()
    if last then return redis.pcall('GETRANGE', k, 0, last) end
    return redis.pcall('GET', k)
  end
  local s = read()
  if type(s) == 'table' then
    if not s.err or string.find(s.err, 'WRONGTYPE', 1, true) ~= 1 then error(s) end
    convert(k)
    s = read()
    if type(s) == 'table' then error(s) end
  end
  if not s or s == '' then return false end
  return s
end
-- Entry k (decode's table plus size, the string's length, and with `with_value` the value), or
-- false when there is none. Reads the header alone unless asked for the value.
local function read_entry(k, with_value)
  local s = read_string(k, (not with_value) and (HEADER_PROBE - 1))
  if not s then return false end
  local entry, header_length = decode(s)
  if not entry then entry = decode(redis.call('GETRANGE', k, 0, header_length - 1)) end
  if with_value then
    entry.size, entry.value = #s, string.sub(s, entry.value_at)
  else
    entry.size = redis.call('STRLEN', k)
  end
  return entry
end
local function member_of(k, entry)
  local uk = user_key(k)
  return (#uk + entry.size - entry.value_at + 1) .. ':' .. uk
end
local function has_tag(entry, tag)
  for _, t in ipairs(entry.tags) do if t == tag then return true end end
  return false
end
local function forget(member, expired)
  if redis.call('ZREM', index_key, member) == 0 then return end
  local size = tonumber(string.sub(member, 1, string.find(member, ':', 1, true) - 1))
  redis.call('HINCRBY', counters_key, 'n', -1)
  redis.call('HINCRBY', counters_key, 'b', -size)
  if expired then redis.call('HINCRBY', counters_key, 'x', 1) end
end
local function index_add(k, size, expiry)
  local member = size .. ':' .. user_key(k)
  if redis.call('ZADD', index_key, score_of(expiry), member) == 1 then
    redis.call('HINCRBY', counters_key, 'n', 1)
    redis.call('HINCRBY', counters_key, 'b', size)
  end
end
local function entry_of(member)
  return entry_prefix .. string.sub(member, string.find(member, ':', 1, true) + 1)
end
-- Appends entry k, its lease record and the tag sets of `entry` (k's, false when absent) to
-- `keys`.
local function with_entry_keys(k, entry, keys)
  keys[#keys + 1] = k
  keys[#keys + 1] = record_of(k)
  if not entry then return end
  for _, tag in ipairs(entry.tags) do keys[#keys + 1] = tag_prefix .. tag end
end
-- Reads every key a script writes before its first write. On a Redis Cluster slot being moved,
-- Redis refuses each command on a key that has already left (or, on the importing side, a set of
-- keys not all there yet): the script then fails before it changed anything, never half-way, and
-- the engine sends it again. (Converting an entry from a hash is the one write that may come
-- first: it changes no content.)
local function guard(keys)
  for first = 1, #keys, 1000 do
    redis.call('EXISTS', unpack(keys, first, math.min(first + 999, #keys)))
  end
end
local function guard_entry(k, entry, extra)
  local keys = {index_key, counters_key}
  with_entry_keys(k, entry, keys)
  for _, key in ipairs(extra) do keys[#keys + 1] = key end
  guard(keys)
end
-- The lease record rk lives at least until `until_micros`.
local function keep_record(rk, until_micros)
  local ms = math.floor((until_micros - now) / 1000) + 1
  if redis.call('PTTL', rk) < ms then redis.call('PEXPIRE', rk, ms) end
end
-- The bucket's lease generation: a random value each Invalidate sets ('' before the first).
local function generation() return redis.call('HGET', counters_key, 'g') or '' end
-- The token of the current lease of record rk (granted, not expired, not voided), or false.
local function current_lease(rk)
  local lease = redis.call('HMGET', rk, 't', 'u', 'g')
  if lease[1] and tonumber(lease[2]) > now and lease[3] == generation() then return lease[1] end
  return false
end
-- Entry k, stored with a lease token, is going: its value and ETag stay in its lease record as the
-- stale value for its grace after its expiry or now, whichever is first.
local function keep_stale(k, entry)
  local gone = now
  if entry.expiry ~= '' and tonumber(entry.expiry) < now then gone = tonumber(entry.expiry) end
  local stale_until = gone + tonumber(entry.grace) * 1000
  if stale_until <= now then return end
  local value = entry.value or redis.call('GETRANGE', k, entry.value_at - 1, -1)
  local rk = record_of(k)
  redis.call('HSET', rk, 'v', value, 'e', entry.etag, 's', string.format('%d', stale_until))
  keep_record(rk, stale_until)
end
-- Removes entry k (`entry`, false when absent); unless `drop_stale`, an entry stored with a lease
-- token leaves its stale value.
local function remove(k, entry, drop_stale)
  if not entry then return -1 end
  if entry.grace and not drop_stale then keep_stale(k, entry) end
  local uk, member = user_key(k), member_of(k, entry)
  for _, tag in ipairs(entry.tags) do redis.call('ZREM', tag_prefix .. tag, uk) end
  redis.call('UNLINK', k)
  if is_live(entry.expiry) then forget(member, false); return 1 end
  forget(member, true)
  return 0
end
local function remove_member(member)
  local k = entry_of(member)
  local entry, result = read_entry(k), -1
  if entry and member_of(k, entry) == member then result = remove(k, entry) end
  forget(member, true)
  return result
end
-- Guards the entries of index members and the bucket's bookkeeping, for removing them.
local function guard_members(members, extra)
  local keys = {index_key, counters_key}
  for _, key in ipairs(extra) do keys[#keys + 1] = key end
  for _, member in ipairs(members) do
    local k = entry_of(member)
    with_entry_keys(k, read_entry(k), keys)
  end
  guard(keys)
end
-- Announces a change of entry k to every larderd following the changes channel: PUBLISH
-- "<prefix>changes" "<ns>\0k<key>" (redis_change_message.h), in the script that made the change,
-- so Redis applies both at once. B is "<prefix>{<ns>:<bucket>}", and neither the prefix nor a
-- namespace holds '{' or ':' after it.
local function announce(k)
  local brace = string.find(base, '{', 1, true)
  local colon = string.find(base, ':', brace + 1, true)
  redis.call('PUBLISH', string.sub(base, 1, brace - 1) .. CHANGES_SUFFIX,
             string.sub(base, brace + 1, colon - 1) .. '\0' .. KEY_CHANGE .. user_key(k))
end
local function add_to_tag(tag, uk, expiry, px)
  local tk = tag_prefix .. tag
  local ttl = redis.call('PTTL', tk)
  redis.call('ZREMRANGEBYSCORE', tk, '-inf', ARGV[1])
  redis.call('ZADD', tk, score_of(expiry), uk)
  if px == 0 then
    redis.call('PERSIST', tk)
  elseif ttl == -2 or (ttl >= 0 and ttl < px) then
    redis.call('PEXPIRE', tk, px)
  end
end
)lua";

// ARGV[3] mode ('' unconditional, 'a' if absent, '*' if any live entry, 'm' if the ETag is one
// of ARGV[9 + tag count ..], 't' if ARGV[9 + tag count] is the key's current lease token),
// ARGV[4] value, ARGV[5] etag, ARGV[6] expiry, ARGV[7] native TTL in ms (0: none), ARGV[8] tag
// count, then the tags; mode 't' then ARGV[10 + tag count] = grace in ms. Reclaims up to 4
// expired entries of the bucket first, so a bucket's index never keeps many of them for long.
// Every mode but 't' drops the key's lease record (voids its lease, forgets its stale value),
// even when refused; mode 't' refused writes nothing, stored it drops the record (the lease is
// consumed) and stores the entry with its grace, its native TTL longer by grace, so that its
// removal leaves its stale value (keep_stale). Other refusals write nothing else, reclaiming
// (and converting a hash entry) aside. Announces the key when it stored, and only then.
constexpr absl::string_view kSet = R"lua(
local k, tag_count = KEYS[1], tonumber(ARGV[8])
local rk = record_of(k)
local expired = redis.call('ZRANGEBYSCORE', index_key, '-inf', ARGV[1], 'LIMIT', 0, 4)
local current = read_entry(k)
local extra = {}
with_entry_keys(k, current, extra)
for i = 9, 8 + tag_count do extra[#extra + 1] = tag_prefix .. ARGV[i] end
guard_members(expired, extra)
for _, member in ipairs(expired) do remove_member(member) end
if #expired > 0 then current = read_entry(k) end
if current and not is_live(current.expiry) then remove(k, current); current = false end
local etag = current and current.etag
local mode = ARGV[3]
if mode == 't' and current_lease(rk) ~= ARGV[9 + tag_count] then return {0, etag or '', 0} end
redis.call('DEL', rk)
if mode == 'a' and etag then return {0, etag, 0} end
if mode == '*' or mode == 'm' then
  if not etag then return {0, '', 0} end
  local matched = mode == '*'
  for i = 9 + tag_count, #ARGV do
    if ARGV[i] == etag then matched = true end
  end
  if not matched then return {0, etag, 0} end
end
if current then remove(k, current, true) end
local tags = {}
for i = 9, 8 + tag_count do tags[#tags + 1] = ARGV[i] end
local px, grace = tonumber(ARGV[7]), ''
if mode == 't' and tonumber(ARGV[10 + tag_count]) > 0 then
  grace = ARGV[10 + tag_count]
  if px > 0 then px = px + tonumber(grace) end
end
local entry = encode(ARGV[6], grace, ARGV[5], tags, ARGV[4])
if px > 0 then redis.call('SET', k, entry, 'PX', px) else redis.call('SET', k, entry) end
index_add(k, #user_key(k) + #ARGV[4], ARGV[6])
local uk = user_key(k)
for i = 9, 8 + tag_count do add_to_tag(ARGV[i], uk, ARGV[6], px) end
local unregistered = 0
if redis.call('HEXISTS', counters_key, 'r') == 0 then unregistered = 1 end
announce(k)
return {1, ARGV[5], unregistered}
)lua";

// Voids the key's lease even when there is no entry; keeps its stale value. Announced even when
// nothing was removed: a copy elsewhere may outlive an entry Redis evicted.
constexpr absl::string_view kDelete = R"lua(
local entry = read_entry(KEYS[1])
guard_entry(KEYS[1], entry, {})
local result = remove(KEYS[1], entry)
redis.call('HDEL', record_of(KEYS[1]), 't', 'u', 'g')
announce(KEYS[1])
return result
)lua";

// ARGV[3] new expiry, ARGV[4] new native TTL in ms (0: none), longer by the grace of an entry
// stored with a lease token. Announces the key when it found a live entry.
constexpr absl::string_view kTouch = R"lua(
local k = KEYS[1]
local entry = read_entry(k)
if not entry then return false end
guard_entry(k, entry, {})
if not is_live(entry.expiry) then remove(k, entry); return false end
redis.call('SETRANGE', k, 1, expiry_field(ARGV[3]))
local px = tonumber(ARGV[4])
if px > 0 and entry.grace then px = px + tonumber(entry.grace) end
if px > 0 then redis.call('PEXPIRE', k, px) else redis.call('PERSIST', k) end
redis.call('ZADD', index_key, 'XX', score_of(ARGV[3]), member_of(k, entry))
local uk = user_key(k)
for _, tag in ipairs(entry.tags) do add_to_tag(tag, uk, ARGV[3], px) end
announce(k)
return entry.etag
)lua";

// ARGV[3] a new token, ARGV[4] the lease's end (unix micros), ARGV[5] '1' when the caller has
// just added this bucket to the namespace's lease registry. Returns {1, value, etag, expiry} (a
// live entry), {2, token} (granted), {3} or {3, value, etag, stale until} (wait), or {4}: the
// bucket is not known to be in the registry, and nothing was granted. An expired entry found is
// removed first (leaving its stale value, if stored with a lease token).
constexpr absl::string_view kLease = R"lua(
local k = KEYS[1]
local rk, entry = record_of(k), read_entry(k, true)
if entry and is_live(entry.expiry) then return {1, entry.value, entry.etag, entry.expiry} end
guard_entry(k, entry, {})
if entry then remove(k, entry) end
if current_lease(rk) then
  local stale = redis.call('HMGET', rk, 'v', 'e', 's')
  if stale[3] and tonumber(stale[3]) > now then return {3, stale[1], stale[2], stale[3]} end
  return {3}
end
if ARGV[5] == '1' then
  redis.call('HSET', counters_key, 'l', '1')
elseif redis.call('HEXISTS', counters_key, 'l') == 0 then
  return {4}
end
redis.call('HSET', rk, 't', ARGV[3], 'u', ARGV[4], 'g', generation())
keep_record(rk, tonumber(ARGV[4]))
return {2, ARGV[3]}
)lua";

constexpr absl::string_view kReclaim = R"lua(
local entry = read_entry(KEYS[1])
if not entry or is_live(entry.expiry) then return 0 end
guard_entry(KEYS[1], entry, {})
remove(KEYS[1], entry)
return 1
)lua";

constexpr absl::string_view kRemoveAll = R"lua(
local removed, members = 0, redis.call('ZRANGE', index_key, 0, BATCH - 1)
guard_members(members, {})
for _, member in ipairs(members) do
  if remove_member(member) == 1 then removed = removed + 1 end
end
return {removed, redis.call('ZCARD', index_key)}
)lua";

// Removes the entries still carrying tag ARGV[3]; members whose entry no longer does (or is gone)
// are dropped from the set alone.
constexpr absl::string_view kRemoveTagged = R"lua(
local tk, removed = KEYS[1], 0
local keys, uks, entries = {tk, index_key, counters_key}, redis.call('ZRANGE', tk, 0, BATCH - 1), {}
for i, uk in ipairs(uks) do
  entries[i] = read_entry(entry_prefix .. uk)
  with_entry_keys(entry_prefix .. uk, entries[i], keys)
end
guard(keys)
for i, uk in ipairs(uks) do
  local entry = entries[i]
  if entry and has_tag(entry, ARGV[3]) and remove(entry_prefix .. uk, entry) == 1 then
    removed = removed + 1
  end
  redis.call('ZREM', tk, uk)
end
return {removed, redis.call('ZCARD', tk)}
)lua";

constexpr absl::string_view kRemoveMembers = R"lua(
local removed, members = 0, {}
for i = 3, #ARGV do members[#members + 1] = ARGV[i] end
guard_members(members, {})
for _, member in ipairs(members) do
  if remove_member(member) == 1 then removed = removed + 1 end
end
return removed
)lua";

// The entry's string, after converting it from a hash (an entry larderd stored before layout 2);
// nil when there is none.
constexpr absl::string_view kConvert = R"lua(
return read_string(KEYS[1])
)lua";

// Ends the key's lease when ARGV[3] is its current token, keeping the stale value (a Set with the
// token was refused for bad input, so the next Lease is granted at once).
constexpr absl::string_view kEndLease = R"lua(
local rk = record_of(KEYS[1])
if current_lease(rk) ~= ARGV[3] then return 0 end
redis.call('HDEL', rk, 't', 'u', 'g')
return 1
)lua";

std::string Source(absl::string_view body) {
  return absl::StrCat(
      "local BATCH = ", kRemovalBatch, "\nlocal CHANGES_SUFFIX = '", kChangesChannelSuffix,
      "'\nlocal KEY_CHANGE = '", absl::string_view(&kKeyChangeByte, 1), "'\nlocal NEVER = '",
      kEntryNeverExpires, "'\nlocal HEADER_PROBE = ", kEntryHeaderProbe, "\n", kPrelude, body);
}

const std::string* const* Sources() {
  static const std::string* const sources[kScriptCount] = {
      new std::string(Source(kSet)),           new std::string(Source(kDelete)),
      new std::string(Source(kTouch)),         new std::string(Source(kReclaim)),
      new std::string(Source(kRemoveAll)),     new std::string(Source(kRemoveTagged)),
      new std::string(Source(kRemoveMembers)), new std::string(Source(kLease)),
      new std::string(Source(kConvert)),       new std::string(Source(kEndLease)),
  };
  return sources;
}

}  // namespace

absl::string_view ScriptSource(Script script) { return *Sources()[static_cast<int>(script)]; }

}  // namespace larder::storage::internal

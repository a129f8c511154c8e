#include "server/storage/redis/redis_scripts.h"

#include <string>

#include "absl/strings/str_cat.h"
#include "server/storage/redis/redis_change_message.h"

namespace larder::storage::internal {
namespace {

// Shared by every script: the bucket's keys, the index and counters bookkeeping, and removal.
// `forget` and `index_add` are the only writers of the index and the n / b counters, so the
// counters always sum the index's members.
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
local function member_of(k)
  local uk = user_key(k)
  return (#uk + redis.call('HSTRLEN', k, 'v')) .. ':' .. uk
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
local function for_each_tag(k, fn)
  for _, field in ipairs(redis.call('HKEYS', k)) do
    if string.byte(field, 1) == 35 then fn(string.sub(field, 2)) end
  end
end
local function entry_of(member)
  return entry_prefix .. string.sub(member, string.find(member, ':', 1, true) + 1)
end
-- Appends entry k, its lease record and the tag sets it is in to `keys`.
local function with_entry_keys(k, keys)
  keys[#keys + 1] = k
  keys[#keys + 1] = record_of(k)
  for_each_tag(k, function(tag) keys[#keys + 1] = tag_prefix .. tag end)
end
-- Reads every key a script writes before its first write. On a Redis Cluster slot being moved,
-- Redis refuses each command on a key that has already left (or, on the importing side, a set of
-- keys not all there yet): the script then fails before it changed anything, never half-way, and
-- the engine sends it again.
local function guard(keys)
  for first = 1, #keys, 1000 do
    redis.call('EXISTS', unpack(keys, first, math.min(first + 999, #keys)))
  end
end
local function guard_entry(k, extra)
  local keys = {index_key, counters_key}
  with_entry_keys(k, keys)
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
-- stale value for `grace_ms` after its expiry or now, whichever is first.
local function keep_stale(k, expiry, grace_ms)
  local gone = now
  if expiry ~= '' and tonumber(expiry) < now then gone = tonumber(expiry) end
  local stale_until = gone + grace_ms * 1000
  if stale_until <= now then return end
  local rk, entry = record_of(k), redis.call('HMGET', k, 'v', 'e')
  redis.call('HSET', rk, 'v', entry[1], 'e', entry[2], 's', string.format('%d', stale_until))
  keep_record(rk, stale_until)
end
-- Removes entry k; unless `drop_stale`, an entry stored with a lease token leaves its stale value.
local function remove(k, drop_stale)
  local fields = redis.call('HMGET', k, 'x', 'l')
  local expiry = fields[1]
  if not expiry then return -1 end
  if fields[2] and not drop_stale then keep_stale(k, expiry, tonumber(fields[2])) end
  local uk, member = user_key(k), member_of(k)
  for_each_tag(k, function(tag) redis.call('ZREM', tag_prefix .. tag, uk) end)
  redis.call('UNLINK', k)
  if is_live(expiry) then forget(member, false); return 1 end
  forget(member, true)
  return 0
end
local function remove_member(member)
  local k = entry_of(member)
  local result = -1
  if member_of(k) == member then result = remove(k) end
  forget(member, true)
  return result
end
-- Guards the entries of index members and the bucket's bookkeeping, for removing them.
local function guard_members(members, extra)
  local keys = {index_key, counters_key}
  for _, key in ipairs(extra) do keys[#keys + 1] = key end
  for _, member in ipairs(members) do with_entry_keys(entry_of(member), keys) end
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
// consumed) and marks the entry l = grace, its native TTL longer by grace, so that its removal
// leaves its stale value (keep_stale). Other refusals write nothing else, reclaiming aside.
// Announces the key when it stored, and only then.
constexpr absl::string_view kSet = R"lua(
local k, tag_count = KEYS[1], tonumber(ARGV[8])
local rk = record_of(k)
local expired = redis.call('ZRANGEBYSCORE', index_key, '-inf', ARGV[1], 'LIMIT', 0, 4)
local extra = {}
with_entry_keys(k, extra)
for i = 9, 8 + tag_count do extra[#extra + 1] = tag_prefix .. ARGV[i] end
guard_members(expired, extra)
for _, member in ipairs(expired) do remove_member(member) end
local current = redis.call('HMGET', k, 'e', 'x')
local etag = current[1]
if etag and not is_live(current[2]) then remove(k); etag = false end
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
if etag then remove(k, true) end
local fields = {'v', ARGV[4], 'e', ARGV[5], 'x', ARGV[6]}
for i = 9, 8 + tag_count do
  fields[#fields + 1] = '#' .. ARGV[i]
  fields[#fields + 1] = ''
end
local px, grace = tonumber(ARGV[7]), 0
if mode == 't' then grace = tonumber(ARGV[10 + tag_count]) end
if grace > 0 then
  fields[#fields + 1] = 'l'
  fields[#fields + 1] = ARGV[10 + tag_count]
  if px > 0 then px = px + grace end
end
redis.call('HSET', k, unpack(fields))
if px > 0 then redis.call('PEXPIRE', k, px) end
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
guard_entry(KEYS[1], {})
local result = remove(KEYS[1])
redis.call('HDEL', record_of(KEYS[1]), 't', 'u', 'g')
announce(KEYS[1])
return result
)lua";

// ARGV[3] new expiry, ARGV[4] new native TTL in ms (0: none), longer by the grace of an entry
// stored with a lease token. Announces the key when it found a live entry.
constexpr absl::string_view kTouch = R"lua(
local k = KEYS[1]
local current = redis.call('HMGET', k, 'e', 'x', 'l')
if not current[1] then return false end
guard_entry(k, {})
if not is_live(current[2]) then remove(k); return false end
redis.call('HSET', k, 'x', ARGV[3])
local px = tonumber(ARGV[4])
if px > 0 and current[3] then px = px + tonumber(current[3]) end
if px > 0 then redis.call('PEXPIRE', k, px) else redis.call('PERSIST', k) end
redis.call('ZADD', index_key, 'XX', score_of(ARGV[3]), member_of(k))
local uk = user_key(k)
for_each_tag(k, function(tag) add_to_tag(tag, uk, ARGV[3], px) end)
announce(k)
return current[1]
)lua";

// ARGV[3] a new token, ARGV[4] the lease's end (unix micros), ARGV[5] '1' when the caller has
// just added this bucket to the namespace's lease registry. Returns {1, value, etag, expiry} (a
// live entry), {2, token} (granted), {3} or {3, value, etag, stale until} (wait), or {4}: the
// bucket is not known to be in the registry, and nothing was granted. An expired entry found is
// removed first (leaving its stale value, if stored with a lease token).
constexpr absl::string_view kLease = R"lua(
local k = KEYS[1]
local rk, entry = record_of(k), redis.call('HMGET', k, 'v', 'e', 'x')
if entry[1] and is_live(entry[3]) then return {1, entry[1], entry[2], entry[3]} end
guard_entry(k, {})
if entry[1] then remove(k) end
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
local expiry = redis.call('HGET', KEYS[1], 'x')
if not expiry or is_live(expiry) then return 0 end
guard_entry(KEYS[1], {})
remove(KEYS[1])
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
local keys, uks = {tk, index_key, counters_key}, redis.call('ZRANGE', tk, 0, BATCH - 1)
for _, uk in ipairs(uks) do with_entry_keys(entry_prefix .. uk, keys) end
guard(keys)
for _, uk in ipairs(uks) do
  local k = entry_prefix .. uk
  if redis.call('HEXISTS', k, '#' .. ARGV[3]) == 1 and remove(k) == 1 then
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

std::string Source(absl::string_view body) {
  return absl::StrCat("local BATCH = ", kRemovalBatch, "\nlocal CHANGES_SUFFIX = '",
                      kChangesChannelSuffix, "'\nlocal KEY_CHANGE = '",
                      absl::string_view(&kKeyChangeByte, 1), "'\n", kPrelude, body);
}

const std::string* const* Sources() {
  static const std::string* const sources[kScriptCount] = {
      new std::string(Source(kSet)),           new std::string(Source(kDelete)),
      new std::string(Source(kTouch)),         new std::string(Source(kReclaim)),
      new std::string(Source(kRemoveAll)),     new std::string(Source(kRemoveTagged)),
      new std::string(Source(kRemoveMembers)), new std::string(Source(kLease)),
  };
  return sources;
}

}  // namespace

absl::string_view ScriptSource(Script script) { return *Sources()[static_cast<int>(script)]; }

}  // namespace larder::storage::internal

#include "server/storage/redis/redis_scripts.h"

#include <string>

#include "absl/strings/str_cat.h"

namespace larder::storage::internal {
namespace {

// Shared by every script: the arguments common to all, and removal with tag bookkeeping.
constexpr absl::string_view kPrelude = R"lua(
local now = tonumber(ARGV[1])
local entry_prefix = ARGV[2] .. 'e:' .. ARGV[3] .. ':'
local tag_prefix = ARGV[2] .. 't:' .. ARGV[3] .. ':'
local stats_key = ARGV[2] .. 's:' .. ARGV[3]
local function is_live(expiry) return expiry == '' or tonumber(expiry) > now end
local function user_key(k) return string.sub(k, #entry_prefix + 1) end
local function for_each_tag(k, fn)
  for _, field in ipairs(redis.call('HKEYS', k)) do
    if string.byte(field, 1) == 35 then fn(string.sub(field, 2)) end
  end
end
local function remove(k)
  local expiry = redis.call('HGET', k, 'x')
  if not expiry then return -1 end
  local uk = user_key(k)
  for_each_tag(k, function(tag) redis.call('SREM', tag_prefix .. tag, uk) end)
  redis.call('UNLINK', k)
  if is_live(expiry) then return 1 end
  redis.call('HINCRBY', stats_key, 'expirations', 1)
  return 0
end
local function add_to_tag(tag, uk, px)
  local tk = tag_prefix .. tag
  local ttl = redis.call('PTTL', tk)
  redis.call('SADD', tk, uk)
  if px == 0 then
    redis.call('PERSIST', tk)
  elseif ttl == -2 or (ttl >= 0 and ttl < px) then
    redis.call('PEXPIRE', tk, px)
  end
end
)lua";

// ARGV[4] mode ('' unconditional, 'a' if absent, '*' if any live entry, 'm' if the ETag is one
// of ARGV[10 + tag count ..]), ARGV[5] value, ARGV[6] etag, ARGV[7] expiry, ARGV[8] native TTL
// in ms (0: none), ARGV[9] tag count, then the tags.
constexpr absl::string_view kSet = R"lua(
local k = KEYS[1]
local current = redis.call('HMGET', k, 'e', 'x')
local etag = current[1]
if etag and not is_live(current[2]) then remove(k); etag = false end
local mode, tag_count = ARGV[4], tonumber(ARGV[9])
if mode == 'a' and etag then return {0, etag} end
if mode == '*' or mode == 'm' then
  if not etag then return {0, ''} end
  local matched = mode == '*'
  for i = 10 + tag_count, #ARGV do
    if ARGV[i] == etag then matched = true end
  end
  if not matched then return {0, etag} end
end
if etag then remove(k) end
local fields = {'v', ARGV[5], 'e', ARGV[6], 'x', ARGV[7]}
for i = 10, 9 + tag_count do
  fields[#fields + 1] = '#' .. ARGV[i]
  fields[#fields + 1] = ''
end
redis.call('HSET', k, unpack(fields))
local px = tonumber(ARGV[8])
if px > 0 then redis.call('PEXPIRE', k, px) end
local uk = user_key(k)
for i = 10, 9 + tag_count do add_to_tag(ARGV[i], uk, px) end
return {1, ARGV[6]}
)lua";

constexpr absl::string_view kDelete = R"lua(
return remove(KEYS[1])
)lua";

// ARGV[4] new expiry, ARGV[5] new native TTL in ms (0: none).
constexpr absl::string_view kTouch = R"lua(
local k = KEYS[1]
local current = redis.call('HMGET', k, 'e', 'x')
if not current[1] then return false end
if not is_live(current[2]) then remove(k); return false end
redis.call('HSET', k, 'x', ARGV[4])
local px = tonumber(ARGV[5])
if px > 0 then redis.call('PEXPIRE', k, px) else redis.call('PERSIST', k) end
local uk = user_key(k)
for_each_tag(k, function(tag) add_to_tag(tag, uk, px) end)
return current[1]
)lua";

constexpr absl::string_view kReclaim = R"lua(
local expiry = redis.call('HGET', KEYS[1], 'x')
if expiry and not is_live(expiry) then remove(KEYS[1]); return 1 end
return 0
)lua";

// ARGV[4] '1' to remove only entries still carrying tag ARGV[5] (stale members of the tag's set
// are dropped from it instead), '0' to remove every key given.
constexpr absl::string_view kRemoveBatch = R"lua(
local removed = 0
for _, k in ipairs(KEYS) do
  if ARGV[4] == '1' and redis.call('HEXISTS', k, '#' .. ARGV[5]) == 0 then
    redis.call('SREM', tag_prefix .. ARGV[5], user_key(k))
  elseif remove(k) == 1 then
    removed = removed + 1
  end
end
return removed
)lua";

// Keys may span namespaces: the key part starts after the first ':' past "P e:".
constexpr absl::string_view kStatsBatch = R"lua(
local first = #ARGV[2] + 3
local entries, bytes = 0, 0
for _, k in ipairs(KEYS) do
  local expiry = redis.call('HGET', k, 'x')
  if expiry and is_live(expiry) then
    local colon = string.find(k, ':', first, true)
    entries = entries + 1
    bytes = bytes + (#k - colon) + redis.call('HSTRLEN', k, 'v')
  end
end
return {entries, bytes}
)lua";

const std::string* const* Sources() {
  static const std::string* const sources[kScriptCount] = {
      new std::string(absl::StrCat(kPrelude, kSet)),
      new std::string(absl::StrCat(kPrelude, kDelete)),
      new std::string(absl::StrCat(kPrelude, kTouch)),
      new std::string(absl::StrCat(kPrelude, kReclaim)),
      new std::string(absl::StrCat(kPrelude, kRemoveBatch)),
      new std::string(absl::StrCat(kPrelude, kStatsBatch)),
  };
  return sources;
}

}  // namespace

absl::string_view ScriptSource(Script script) { return *Sources()[static_cast<int>(script)]; }

}  // namespace larder::storage::internal

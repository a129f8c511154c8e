// libFuzzer target for the HTTP header parsers of the SDK's caching layer (client/src/http and
// common/src/etag.cc): Cache-Control (request and response), If-None-Match / If-Match entity-tag
// lists, IMF-fixdates, Vary, and the query canonicalisation of the default cache key.
//
// The whole input is parsed as each header value; split at the first '\n' it is also a list
// header (before) and an entity tag (after). Aborts when an invariant fails:
//  - directive names are non-empty, lower-case, without ',' '=' or surrounding blanks;
//  - parsed durations lie in [0, 2^31 s] (request max-stale without a value: infinite);
//  - response directives survive FormatCacheControl and parsing again unchanged;
//  - every parsed entity tag is a quoted substring of the header; the first eight and the last
//    match the header itself (weakly, and strongly when strong); a strong match implies a weak
//    one; "*" matches all; EvaluateConditional agrees with IfNoneMatchMatches;
//  - a parsed HTTP date is finite, formats and parses back to itself and decides
//    If-Modified-Since right;
//  - a response refused for "vary-star" has a '*' in Vary; Decorate's Vary lists the route's
//    vary header (or "*") and no empty member; no-store is never stored, and bypasses Decide;
//  - CanonicalQuery is idempotent.
//
//   build-fuzz/tests/fuzz/cache_control_fuzz tests/fuzz/corpus/cache_control_fuzz \
//       -dict=tests/fuzz/cache_control_fuzz.dict
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "larder/common/etag.h"
#include "larder/http/cache_control.h"
#include "larder/http/conditional.h"
#include "larder/http/decide.h"
#include "larder/http/headers.h"
#include "larder/http/key.h"
#include "larder/http/outgoing.h"
#include "larder/http/policy.h"
#include "larder/http/request.h"
#include "larder/http/response.h"
#include "larder/http/storable.h"

namespace {

namespace http = larder::http;

const absl::Duration kMaxDelta = absl::Seconds(int64_t{1} << 31);

void Fail(const char* what) {
  std::fprintf(stderr, "cache_control_fuzz: %s\n", what);
  std::abort();
}

void CheckDelta(const std::optional<absl::Duration>& value, const char* what) {
  if (value.has_value() && (*value < absl::ZeroDuration() || *value > kMaxDelta)) Fail(what);
}

void CheckDirectiveList(absl::string_view header) {
  for (const http::CacheDirective& d : http::ParseDirectiveList(header)) {
    if (d.name.empty()) Fail("empty directive name");
    if (d.name != absl::AsciiStrToLower(d.name)) Fail("directive name not lower-cased");
    if (d.name.find_first_of(",=") != std::string::npos) Fail("directive name holds ',' or '='");
    if (absl::StripAsciiWhitespace(d.name) != d.name) Fail("directive name not stripped");
    if (!d.has_value && !d.value.empty()) Fail("directive value without has_value");
  }
}

void CheckRequestCacheControl(absl::string_view header) {
  const http::RequestCacheControl cc = http::ParseRequestCacheControl(header);
  CheckDelta(cc.max_age, "request max-age out of range");
  CheckDelta(cc.min_fresh, "request min-fresh out of range");
  CheckDelta(cc.stale_if_error, "request stale-if-error out of range");
  if (cc.max_stale != absl::InfiniteDuration()) {
    CheckDelta(cc.max_stale, "request max-stale out of range");
  }
}

bool SameResponseDirectives(const http::ResponseCacheControl& a,
                            const http::ResponseCacheControl& b) {
  return a.no_cache == b.no_cache && a.no_store == b.no_store && a.no_transform == b.no_transform &&
         a.must_revalidate == b.must_revalidate && a.proxy_revalidate == b.proxy_revalidate &&
         a.must_understand == b.must_understand && a.is_public == b.is_public &&
         a.is_private == b.is_private && a.immutable == b.immutable && a.max_age == b.max_age &&
         a.s_maxage == b.s_maxage && a.stale_while_revalidate == b.stale_while_revalidate &&
         a.stale_if_error == b.stale_if_error;
}

void CheckResponseCacheControl(absl::string_view header) {
  const http::ResponseCacheControl cc = http::ParseResponseCacheControl(header);
  CheckDelta(cc.max_age, "response max-age out of range");
  CheckDelta(cc.s_maxage, "response s-maxage out of range");
  CheckDelta(cc.stale_while_revalidate, "response stale-while-revalidate out of range");
  CheckDelta(cc.stale_if_error, "response stale-if-error out of range");
  const std::string formatted = http::FormatCacheControl(cc);
  if (!SameResponseDirectives(cc, http::ParseResponseCacheControl(formatted))) {
    Fail("response directives change through FormatCacheControl");
  }
}

// Matching a listed tag parses the whole list again, so matching every tag of a long list is
// quadratic (4 KiB of tags took 40% of the target's time); the first few and the last one, which
// go through the same code as the rest, are matched.
constexpr size_t kMatchedTags = 8;

void CheckEntityTags(absl::string_view header, absl::string_view etag) {
  const std::vector<larder::EntityTag> tags = larder::ParseEntityTagList(header);
  for (size_t i = 0; i < tags.size(); ++i) {
    const larder::EntityTag& tag = tags[i];
    const absl::string_view opaque = tag.opaque;
    if (opaque.size() < 2 || opaque.front() != '"' || opaque.back() != '"') {
      Fail("entity tag not quoted");
    }
    if (opaque.data() < header.data() || opaque.data() + opaque.size() > header.end()) {
      Fail("entity tag outside the header");
    }
    if (i >= kMatchedTags && i + 1 != tags.size()) continue;
    if (!larder::IfNoneMatchMatches(header, opaque) ||
        !larder::IfNoneMatchMatches(header, absl::StrCat("W/", opaque))) {
      Fail("a listed entity tag does not match weakly");
    }
    if (!tag.weak && !larder::IfMatchMatches(header, opaque)) {
      Fail("a listed strong entity tag does not match strongly");
    }
  }
  const bool weak_match = larder::IfNoneMatchMatches(header, etag);
  if (larder::IfMatchMatches(header, etag) && !weak_match) Fail("strong match but no weak one");
  if (larder::IsEntityTagWildcard(header) && !weak_match) Fail("\"*\" does not match");
  http::Headers request;
  request.Add("If-None-Match", header);
  const http::Conditional expected =
      etag.empty() || !weak_match ? http::Conditional::kModified : http::Conditional::kNotModified;
  if (http::EvaluateConditional(request, etag, absl::UnixEpoch()) != expected) {
    Fail("EvaluateConditional disagrees with IfNoneMatchMatches");
  }
}

void CheckHttpDate(absl::string_view value) {
  const std::optional<absl::Time> time = http::ParseHttpDate(value);
  if (!time.has_value()) return;
  // An IMF-fixdate names a second of a finite calendar.
  if (*time == absl::InfiniteFuture() || *time == absl::InfinitePast()) {
    Fail("ParseHttpDate accepts a value that is not a date");
  }
  if (http::ParseHttpDate(http::FormatHttpDate(*time)) != time) {
    Fail("an HTTP date does not survive FormatHttpDate");
  }
  http::Headers request;
  request.Add("If-Modified-Since", value);
  if (http::EvaluateConditional(request, "\"x\"", *time) != http::Conditional::kNotModified ||
      http::EvaluateConditional(request, "\"x\"", *time + absl::Seconds(1)) !=
          http::Conditional::kModified) {
    Fail("If-Modified-Since decided wrongly");
  }
}

std::vector<std::string> VaryMembers(const http::Headers& headers) {
  std::vector<std::string> members;
  for (absl::string_view member : absl::StrSplit(headers.GetJoined("Vary"), ',')) {
    members.emplace_back(absl::StripAsciiWhitespace(member));
  }
  return members;
}

void CheckStorableAndVary(absl::string_view header) {
  http::Request request;
  request.method = "GET";
  request.path = "/items/7";
  http::Response response;
  response.headers.Add("Vary", header);
  response.headers.Add("Cache-Control", header);
  http::RoutePolicy policy;
  policy.vary = {"Accept-Language"};
  const http::StoreVerdict verdict = http::CheckStorable(request, response, policy);
  if (verdict.reason == "vary-star" && header.find('*') == absl::string_view::npos) {
    Fail("vary-star without '*'");
  }
  if (verdict.storable && http::ParseResponseCacheControl(header).no_store) {
    Fail("a no-store response is storable");
  }
  http::Decorate(response, request, policy, http::Delivery{"MISS", {}, std::nullopt}, {});
  bool listed = false;
  for (const std::string& member : VaryMembers(response.headers)) {
    if (member.empty()) Fail("Decorate leaves an empty Vary member");
    listed |= member == "*" || http::HeaderNameEquals(member, "Accept-Language");
  }
  if (!listed) Fail("Decorate drops the route's vary header");
}

void CheckDecide(absl::string_view header, absl::string_view etag) {
  http::Request request;
  request.method = "GET";
  request.path = "/items/7";
  request.headers.Add("Cache-Control", header);
  request.headers.Add("If-None-Match", etag);
  http::RoutePolicy policy;
  policy.stale_while_revalidate = absl::Seconds(30);
  policy.stale_if_error = absl::Minutes(5);
  const absl::Time now = absl::FromUnixSeconds(1700000000);
  const http::StoredMeta stale{std::string(etag), now - absl::Seconds(90), now - absl::Seconds(10),
                               /*variant=*/""};
  const http::StoredMeta fresh{std::string(etag), now - absl::Seconds(10), now + absl::Seconds(50),
                               /*variant=*/""};
  const bool no_store = http::ParseRequestCacheControl(header).no_store;
  const http::StoredMeta* const stored[] = {nullptr, &stale, &fresh};
  for (const http::StoredMeta* meta : stored) {
    const http::Decision decision = http::Decide(request, policy, meta, now);
    if (no_store && decision.action != http::Action::kBypass) Fail("no-store not bypassed");
  }
  if (no_store && http::NeedsLookup(request, policy)) Fail("no-store needs a lookup");
}

void CheckCanonicalQuery(absl::string_view query) {
  const std::optional<std::vector<std::string>> all;
  const std::string canonical = http::CanonicalQuery(query, all);
  if (http::CanonicalQuery(canonical, all) != canonical) Fail("CanonicalQuery not idempotent");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const absl::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t newline = input.find('\n');
  const absl::string_view head = input.substr(0, newline);
  const absl::string_view tail =
      newline == absl::string_view::npos ? absl::string_view() : input.substr(newline + 1);

  CheckDirectiveList(input);
  CheckRequestCacheControl(input);
  CheckResponseCacheControl(input);
  CheckEntityTags(head, tail);
  CheckEntityTags(input, input);
  CheckHttpDate(input);
  CheckHttpDate(head);
  CheckStorableAndVary(head);
  CheckDecide(head, tail);
  CheckCanonicalQuery(input);
  return 0;
}

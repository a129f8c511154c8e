#include "proxy/forwarding.h"

#include <utility>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "larder/http/decide.h"

namespace larder::proxy {
namespace {

// The value of a Cache-Status parameter: a token or a quoted string.
std::string ParameterValue(absl::string_view value) {
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    value = value.substr(1, value.size() - 2);
  }
  return std::string(value);
}

}  // namespace

absl::string_view FailureReason(UpstreamFailure failure) {
  switch (failure) {
    case UpstreamFailure::kNone:
      return "";
    case UpstreamFailure::kConnect:
      return "connect";
    case UpstreamFailure::kTimeout:
      return "timeout";
    case UpstreamFailure::kTooLarge:
      return "too_large";
    case UpstreamFailure::kProtocol:
      return "protocol";
  }
  return "";
}

http::Response FailureResponse(UpstreamFailure failure) {
  http::Response response;
  response.status = failure == UpstreamFailure::kTimeout ? 504 : 502;
  response.body = failure == UpstreamFailure::kTimeout    ? "upstream timed out\n"
                  : failure == UpstreamFailure::kTooLarge ? "upstream response too large\n"
                                                          : "upstream unavailable\n";
  response.headers.Add("Content-Type", "text/plain");
  response.headers.Add("Cache-Control", "no-store");
  return response;
}

bool IsHopByHop(absl::string_view name) {
  for (absl::string_view hop :
       {"Connection", "Keep-Alive", "Proxy-Connection", "Proxy-Authenticate", "Proxy-Authorization",
        "TE", "Trailer", "Transfer-Encoding", "Upgrade"}) {
    if (http::HeaderNameEquals(name, hop)) return true;
  }
  return false;
}

void RemoveHopByHop(http::Headers& headers) {
  std::vector<std::string> named;
  for (const std::string& value : headers.GetAll("Connection")) {
    for (absl::string_view token : absl::StrSplit(value, ',')) {
      token = absl::StripAsciiWhitespace(token);
      if (!token.empty()) named.emplace_back(token);
    }
  }
  for (const std::string& name : named) headers.Remove(name);
  std::vector<std::string> hops;
  for (const http::Headers::Field& field : headers.fields()) {
    if (IsHopByHop(field.first)) hops.push_back(field.first);
  }
  for (const std::string& name : hops) headers.Remove(name);
}

void AppendVia(http::Headers& headers) {
  const std::string via = headers.GetJoined("Via");
  headers.Set("Via", via.empty() ? std::string(kVia) : absl::StrCat(via, ", ", kVia));
}

void StripConditionals(http::Headers& headers) {
  for (absl::string_view name :
       {"If-None-Match", "If-Modified-Since", "If-Match", "If-Unmodified-Since", "If-Range"}) {
    headers.Remove(name);
  }
}

UpstreamRequest BuildUpstreamRequest(IncomingRequest incoming) {
  UpstreamRequest upstream;
  upstream.method = std::move(incoming.method);
  upstream.target = std::move(incoming.target);
  upstream.body = std::move(incoming.body);
  upstream.headers = std::move(incoming.headers);
  http::Headers& headers = upstream.headers;
  RemoveHopByHop(headers);
  AppendVia(headers);
  const std::string forwarded_for = headers.GetJoined("X-Forwarded-For");
  headers.Set("X-Forwarded-For", forwarded_for.empty()
                                     ? incoming.client_address
                                     : absl::StrCat(forwarded_for, ", ", incoming.client_address));
  if (!headers.Has("X-Forwarded-Proto")) headers.Add("X-Forwarded-Proto", "http");
  if (!headers.Has("X-Forwarded-Host")) {
    if (std::optional<std::string> host = headers.Get("Host")) {
      headers.Add("X-Forwarded-Host", *host);
    }
  }
  return upstream;
}

UpstreamRequest RenderRequestFor(UpstreamRequest request, bool keep_conditionals) {
  if (request.method == "HEAD") request.method = "GET";
  if (!keep_conditionals) StripConditionals(request.headers);
  return request;
}

bool KeepsClientConditionals(const http::Request& request, const http::RoutePolicy& policy) {
  if (http::NeedsLookup(request, policy)) return false;
  return http::Decide(request, policy, nullptr, absl::InfinitePast()).action ==
         http::Action::kBypass;
}

http::Request CoreRequestOf(const IncomingRequest& incoming, const std::string& path) {
  http::Request core;
  core.scheme = "http";
  core.method = incoming.method;
  core.host = incoming.headers.Get("Host").value_or("");
  core.path = path;
  const size_t question = incoming.target.find('?');
  if (question != std::string::npos) core.query = incoming.target.substr(question + 1);
  core.headers = incoming.headers;
  return core;
}

absl::string_view TargetPath(absl::string_view target) {
  return target.substr(0, target.find('?'));
}

absl::string_view CacheOutcome(const http::Headers& response_headers) {
  bool hit = false;
  bool collapsed = false;
  std::string forward;
  std::string detail;
  const std::string status = response_headers.GetJoined("Cache-Status");
  for (absl::string_view parameter : absl::StrSplit(status, ';')) {
    parameter = absl::StripAsciiWhitespace(parameter);
    if (parameter == "hit") hit = true;
    if (parameter == "collapsed") collapsed = true;
    if (absl::ConsumePrefix(&parameter, "fwd=")) forward = ParameterValue(parameter);
    if (absl::ConsumePrefix(&parameter, "detail=")) detail = ParameterValue(parameter);
  }
  if (absl::StartsWith(detail, "stale-") || detail == "max-stale") return "stale";
  if (detail == "revalidated") return "revalidated";
  if (hit || collapsed) return "hit";
  if (forward == "bypass" || forward == "method" || detail == "no-store" || status.empty()) {
    return "bypass";
  }
  return "miss";
}

}  // namespace larder::proxy

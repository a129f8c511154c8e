#include "proxy/response_writer.h"

#include <optional>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"

namespace larder::proxy {
namespace {

// Fields whose value the proxy writes itself, or never sends.
bool IsFramingField(absl::string_view name) {
  return absl::EqualsIgnoreCase(name, "Content-Length") ||
         absl::EqualsIgnoreCase(name, "Transfer-Encoding") ||
         absl::EqualsIgnoreCase(name, "Connection");
}

struct Reason {
  int status;
  absl::string_view phrase;
};

constexpr Reason kReasons[] = {
    {100, "Continue"},
    {200, "OK"},
    {201, "Created"},
    {202, "Accepted"},
    {203, "Non-Authoritative Information"},
    {204, "No Content"},
    {206, "Partial Content"},
    {301, "Moved Permanently"},
    {302, "Found"},
    {303, "See Other"},
    {304, "Not Modified"},
    {307, "Temporary Redirect"},
    {308, "Permanent Redirect"},
    {400, "Bad Request"},
    {401, "Unauthorized"},
    {403, "Forbidden"},
    {404, "Not Found"},
    {405, "Method Not Allowed"},
    {408, "Request Timeout"},
    {409, "Conflict"},
    {410, "Gone"},
    {412, "Precondition Failed"},
    {413, "Content Too Large"},
    {416, "Range Not Satisfiable"},
    {429, "Too Many Requests"},
    {431, "Request Header Fields Too Large"},
    {500, "Internal Server Error"},
    {501, "Not Implemented"},
    {502, "Bad Gateway"},
    {503, "Service Unavailable"},
    {504, "Gateway Timeout"},
    {505, "HTTP Version Not Supported"},
};

bool IsBodiless(int status) { return status < 200 || status == 204 || status == 304; }

void AppendField(absl::string_view name, absl::string_view value, std::string& out) {
  absl::StrAppend(&out, name, ": ", value, "\r\n");
}

}  // namespace

absl::string_view ReasonPhrase(int status) {
  for (const Reason& reason : kReasons) {
    if (reason.status == status) return reason.phrase;
  }
  return "";
}

void AppendResponse(const http::Response& response, const ResponseFraming& framing,
                    std::string& out) {
  absl::StrAppend(&out, "HTTP/1.1 ", response.status, " ", ReasonPhrase(response.status), "\r\n");
  std::optional<absl::string_view> given_length;
  for (const auto& [name, value] : response.headers.fields()) {
    if (IsFramingField(name)) {
      if (!given_length.has_value() && absl::EqualsIgnoreCase(name, "Content-Length")) {
        given_length = value;
      }
      continue;
    }
    AppendField(name, value, out);
  }
  const bool bodiless = IsBodiless(response.status);
  if (response.status == 304 && given_length.has_value()) {
    AppendField("Content-Length", *given_length, out);
  } else if (!bodiless && framing.head_request) {
    if (given_length.has_value()) {
      AppendField("Content-Length", *given_length, out);
    } else if (!response.body.empty()) {
      AppendField("Content-Length", absl::StrCat(response.body.size()), out);
    }
  } else if (!bodiless) {
    AppendField("Content-Length", absl::StrCat(response.body.size()), out);
  }
  if (framing.close) {
    AppendField("Connection", "close", out);
  } else if (framing.http10_keep_alive) {
    AppendField("Connection", "keep-alive", out);
  }
  out.append("\r\n");
  if (!bodiless && !framing.head_request) out.append(response.body);
}

http::Response PlainResponse(int status, std::string text) {
  http::Response response;
  response.status = status;
  response.headers.Add("Content-Type", "text/plain");
  response.headers.Add("Cache-Control", "no-store");
  response.body = std::move(text);
  return response;
}

}  // namespace larder::proxy

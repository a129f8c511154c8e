#include "tests/http/service_fixture.h"

#include <regex>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace larder::http::testing {

absl::StatusOr<std::unique_ptr<ServiceProcess>> ServiceProcess::Start(
    const std::string& larder_target) {
  auto process = larder::testing::ChildProcess::Start(
      {LARDER_HTTPLIB_SERVICE_PATH, "--port=0", absl::StrCat("--larder=", larder_target),
       // Generous: tests run many processes on two cores, and a slow larder call would be
       // served fail-open, uncached.
       "--larder_deadline=2s"});
  if (!process.ok()) return process.status();
  auto line = (*process)->WaitForLine("httplib_service ready", absl::Seconds(30));
  if (!line.ok()) return line.status();
  auto service = std::unique_ptr<ServiceProcess>(new ServiceProcess());
  const size_t at = line->find("port=");
  if (at == std::string::npos || !absl::SimpleAtoi(line->substr(at + 5), &service->port_)) {
    return absl::InternalError(absl::StrCat("unparsable ready line: ", *line));
  }
  service->process_ = *std::move(process);
  service->client_ = service->NewClient();
  return service;
}

std::unique_ptr<::httplib::Client> ServiceProcess::NewClient() const {
  auto client = std::make_unique<::httplib::Client>("127.0.0.1", port_);
  client->set_keep_alive(true);
  client->set_tcp_nodelay(true);
  client->set_read_timeout(10, 0);
  return client;
}

::httplib::Result ServiceProcess::Get(const std::string& path, const ::httplib::Headers& headers) {
  return client_->Get(path.c_str(), headers);
}

::httplib::Result ServiceProcess::Head(const std::string& path, const ::httplib::Headers& headers) {
  return client_->Head(path.c_str(), headers);
}

::httplib::Result ServiceProcess::Put(const std::string& path, const std::string& json) {
  return client_->Put(path.c_str(), json, "application/json");
}

::httplib::Result ServiceProcess::Post(const std::string& path) {
  return client_->Post(path.c_str(), "", "text/plain");
}

double ServiceProcess::Metric(const std::string& name, const std::string& labels) {
  ::httplib::Result result = Get("/metrics");
  if (!result) return -1;
  const std::string prefix = absl::StrCat(name, "{", labels, "} ");
  for (absl::string_view line : absl::StrSplit(result->body, '\n')) {
    if (absl::ConsumePrefix(&line, prefix)) {
      double value = 0;
      if (absl::SimpleAtod(line, &value)) return value;
    }
  }
  return 0;
}

int RenderOf(const std::string& body) {
  static const std::regex kRender("\"render\":(\\d+)");
  std::smatch match;
  if (!std::regex_search(body, match, kRender)) return -1;
  return std::stoi(match[1].str());
}

}  // namespace larder::http::testing

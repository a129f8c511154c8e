#include "tests/testing/prometheus_process.h"

#include <httplib.h>

#include <fstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"

namespace larder::testing {
namespace {

std::string ConfigFor(const std::map<std::string, std::vector<std::string>>& jobs) {
  std::string config =
      "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n";
  for (const auto& [job, targets] : jobs) {
    absl::StrAppend(&config, "  - job_name: ", job, "\n    static_configs:\n      - targets: [\"",
                    absl::StrJoin(targets, "\", \""), "\"]\n");
  }
  return config;
}

absl::StatusOr<double> ParseValue(const nlohmann::json& value_pair) {
  double value = 0;
  const std::string text = value_pair.at(1).get<std::string>();
  if (text == "NaN") return absl::OutOfRangeError("NaN");
  if (!absl::SimpleAtod(text, &value)) return absl::InternalError("bad sample " + text);
  return value;
}

}  // namespace

absl::StatusOr<std::unique_ptr<PrometheusProcess>> PrometheusProcess::Start(
    const std::map<std::string, std::vector<std::string>>& jobs) {
  auto prometheus = std::unique_ptr<PrometheusProcess>(new PrometheusProcess());
  prometheus->directory_ = MakeTempDir("larder-prometheus");
  const std::string config_path = prometheus->directory_ + "/prometheus.yml";
  std::ofstream(config_path) << ConfigFor(jobs);
  prometheus->port_ = PickFreePort();
  auto process = ChildProcess::Start(
      {"/usr/bin/prometheus", "--config.file=" + config_path,
       "--storage.tsdb.path=" + prometheus->directory_ + "/data",
       absl::StrCat("--web.listen-address=127.0.0.1:", prometheus->port_), "--log.level=warn"});
  if (!process.ok()) return process.status();
  prometheus->process_ = *std::move(process);
  absl::Status ready = prometheus->WaitUntilReady(absl::Seconds(30));
  if (!ready.ok()) return ready;
  return prometheus;
}

PrometheusProcess::~PrometheusProcess() {
  if (process_ != nullptr) process_->Stop();
  RemoveTree(directory_);
}

absl::Status PrometheusProcess::WaitUntilReady(absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  httplib::Client http("127.0.0.1", port_);
  while (absl::Now() < deadline) {
    auto response = http.Get("/-/ready");
    if (response && response->status == 200) return absl::OkStatus();
    int status = 0;
    if (process_->WaitForExit(absl::Milliseconds(100), &status)) {
      return absl::UnavailableError("prometheus exited: " + process_->LogTail());
    }
  }
  return absl::DeadlineExceededError("prometheus not ready: " + process_->LogTail());
}

absl::StatusOr<std::vector<PromSample>> PrometheusProcess::Query(const std::string& expr) {
  httplib::Client http("127.0.0.1", port_);
  auto response = http.Get("/api/v1/query", httplib::Params{{"query", expr}}, httplib::Headers{});
  if (!response) return absl::UnavailableError("prometheus did not answer");
  const nlohmann::json body = nlohmann::json::parse(response->body, nullptr, false);
  if (body.is_discarded() || body.value("status", "") != "success") {
    return absl::InvalidArgumentError(absl::StrCat("query rejected: ", expr, ": ", response->body));
  }
  const nlohmann::json& data = body.at("data");
  std::vector<PromSample> samples;
  if (data.at("resultType") == "scalar") {
    auto value = ParseValue(data.at("result"));
    if (value.ok()) samples.push_back(PromSample{{}, *value});
    return samples;
  }
  for (const nlohmann::json& element : data.at("result")) {
    auto value = ParseValue(element.at("value"));
    if (!value.ok()) continue;  // NaN means "no data" for our purposes.
    PromSample sample{element.at("metric").get<std::map<std::string, std::string>>(), *value};
    samples.push_back(std::move(sample));
  }
  return samples;
}

absl::StatusOr<double> PrometheusProcess::WaitForValue(const std::string& expr, double at_least,
                                                       absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  double last = -1;
  while (absl::Now() < deadline) {
    auto samples = Query(expr);
    if (!samples.ok()) return samples.status();
    if (!samples->empty()) last = samples->front().value;
    if (last >= at_least) return last;
    absl::SleepFor(absl::Milliseconds(250));
  }
  return absl::DeadlineExceededError(absl::StrCat(expr, " stayed at ", last, " < ", at_least));
}

}  // namespace larder::testing

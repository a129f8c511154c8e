#include "tests/testing/proxy_process.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "absl/time/clock.h"
#include "nlohmann/json.hpp"

namespace larder::testing {
namespace {

// A connected TCP socket to 127.0.0.1:port, or -1.
int ConnectLoopback(int port) {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return -1;
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

bool Accepts(int port) {
  const int fd = ConnectLoopback(port);
  if (fd < 0) return false;
  close(fd);
  return true;
}

::httplib::Client LoopbackClient(int port) {
  ::httplib::Client client("127.0.0.1", port);
  client.set_keep_alive(false);
  client.set_url_encode(false);
  client.set_connection_timeout(5, 0);
  client.set_read_timeout(10, 0);
  client.set_write_timeout(10, 0);
  return client;
}

// Whether the sample line `line` ("name{a="b",c="d"} 3") is of `name` and carries every label
// of `labels`; its value then goes to `value`.
bool SampleMatches(absl::string_view line, const std::string& name,
                   const std::map<std::string, std::string>& labels, double* value) {
  if (!absl::ConsumePrefix(&line, name)) return false;
  std::string label_text;
  if (absl::ConsumePrefix(&line, "{")) {
    const size_t end = line.find("} ");
    if (end == absl::string_view::npos) return false;
    label_text = std::string(line.substr(0, end));
    line.remove_prefix(end + 1);
  }
  if (!absl::ConsumePrefix(&line, " ")) return false;
  for (const auto& [label, wanted] : labels) {
    if (!absl::StrContains(label_text, absl::StrCat(label, "=\"", wanted, "\""))) return false;
  }
  return absl::SimpleAtod(line, value);
}

// Whether `bytes` hold a whole response: its header, and the body its Content-Length or chunked
// framing announces (a response framed by the connection's end is whole only then).
bool ResponseComplete(const std::string& bytes) {
  const size_t end = bytes.find("\r\n\r\n");
  if (end == std::string::npos) return false;
  const std::string head = absl::AsciiStrToLower(bytes.substr(0, end));
  const size_t status = head.find(' ');
  if (status != std::string::npos &&
      (head.compare(status + 1, 1, "1") == 0 || head.compare(status + 1, 3, "204") == 0 ||
       head.compare(status + 1, 3, "304") == 0)) {
    return true;
  }
  if (absl::StrContains(head, "\r\ntransfer-encoding: chunked")) {
    return absl::EndsWith(bytes, "\r\n0\r\n\r\n");
  }
  const size_t field = head.find("\r\ncontent-length:");
  if (field == std::string::npos) return false;
  size_t length = 0;
  const size_t value = field + 17;
  const size_t line_end = head.find("\r\n", value);
  if (!absl::SimpleAtoi(
          absl::StripAsciiWhitespace(absl::string_view(head).substr(
              value, line_end == std::string::npos ? std::string::npos : line_end - value)),
          &length)) {
    return false;
  }
  return bytes.size() >= end + 4 + length;
}

int ExitCodeOf(int wait_status) {
  if (WIFEXITED(wait_status)) return WEXITSTATUS(wait_status);
  if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
  return -1;
}

}  // namespace

std::string ProxyBinaryPath() {
  const char* from_env = getenv("LARDER_PROXY_BINARY");
  return from_env != nullptr ? from_env : LARDER_PROXY_PATH;
}

ProxyProcessOptions ProxyProcessOptionsFor(std::string upstream, std::string larder,
                                           std::string config_yaml,
                                           std::vector<std::string> flags) {
  ProxyProcessOptions options;
  options.upstream = std::move(upstream);
  options.larder = std::move(larder);
  options.config_yaml = std::move(config_yaml);
  options.flags = std::move(flags);
  return options;
}

absl::StatusOr<std::unique_ptr<ProxyProcess>> ProxyProcess::Start(
    const ProxyProcessOptions& options) {
  // A client writing to a connection the proxy closed (a refused body) gets EPIPE instead of
  // dying. A handler, unlike SIG_IGN, is not inherited by the programs the test starts.
  signal(SIGPIPE, [](int) {});
  std::string temp_dir = MakeTempDir("larder-proxy-test");
  std::string config_path;
  if (!options.config_yaml.empty()) {
    config_path = temp_dir + "/routes.yaml";
    std::ofstream(config_path) << options.config_yaml;
  }
  absl::Status last = absl::UnknownError("not started");
  for (int attempt = 0; attempt < 3; ++attempt) {
    absl::StatusOr<std::unique_ptr<ProxyProcess>> proxy = TryStart(options, config_path);
    if (proxy.ok()) {
      (*proxy)->temp_dir_ = std::move(temp_dir);
      return proxy;
    }
    last = proxy.status();
    if (!absl::IsAborted(last)) break;
  }
  RemoveTree(temp_dir);
  return last;
}

absl::StatusOr<std::unique_ptr<ProxyProcess>> ProxyProcess::TryStart(
    const ProxyProcessOptions& options, const std::string& config_path) {
  auto proxy = std::unique_ptr<ProxyProcess>(new ProxyProcess());
  proxy->port_ = PickFreePort();
  do {
    proxy->admin_port_ = options.admin ? PickFreePort() : 0;
  } while (proxy->admin_port_ == proxy->port_);
  std::vector<std::string> argv = {
      ProxyBinaryPath(), absl::StrCat("--listen=127.0.0.1:", proxy->port_),
      options.admin ? absl::StrCat("--admin-listen=127.0.0.1:", proxy->admin_port_)
                    : std::string("--admin-listen="),
      absl::StrCat("--upstream=", options.upstream), absl::StrCat("--larder=", options.larder)};
  if (!config_path.empty()) argv.push_back(absl::StrCat("--config=", config_path));
  argv.insert(argv.end(), options.flags.begin(), options.flags.end());
  absl::StatusOr<std::unique_ptr<ChildProcess>> process = ChildProcess::Start(argv, options.env);
  if (!process.ok()) return process.status();
  proxy->process_ = *std::move(process);
  const absl::Status serving = proxy->WaitUntilServing(options.ready_timeout, options.admin);
  if (!serving.ok()) {
    proxy->process_->Kill();
    const std::string log = proxy->process_->LogTail();
    if (absl::StrContains(log, "cannot listen")) return absl::AbortedError(log);
    return serving;
  }
  return proxy;
}

absl::Status ProxyProcess::WaitUntilServing(absl::Duration timeout, bool admin) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    int status = 0;
    if (process_->WaitForExit(absl::ZeroDuration(), &status)) {
      return absl::UnavailableError(absl::StrCat("larder-proxy exited (wait status ", status,
                                                 ") before serving; stderr: ", LogTail()));
    }
    bool healthy = true;
    if (admin) {
      ::httplib::Client client = LoopbackClient(admin_port_);
      client.set_connection_timeout(0, 200000);
      client.set_read_timeout(1, 0);
      ::httplib::Result health = client.Get("/healthz");
      healthy = health && health->status == 200;
    }
    if (healthy && Accepts(port_)) return absl::OkStatus();
    absl::SleepFor(absl::Milliseconds(20));
  }
  return absl::DeadlineExceededError(absl::StrCat("larder-proxy did not serve within ",
                                                  absl::FormatDuration(timeout),
                                                  "; stderr: ", LogTail()));
}

ProxyProcess::~ProxyProcess() {
  if (process_ != nullptr) Stop();
  if (!temp_dir_.empty()) RemoveTree(temp_dir_);
}

std::string ProxyProcess::address() const { return absl::StrCat("127.0.0.1:", port_); }

::httplib::Client ProxyProcess::Client() const { return LoopbackClient(port_); }

::httplib::Result ProxyProcess::Get(const std::string& target,
                                    const ::httplib::Headers& headers) const {
  return Client().Get(target.c_str(), headers);
}

::httplib::Result ProxyProcess::Head(const std::string& target,
                                     const ::httplib::Headers& headers) const {
  return Client().Head(target.c_str(), headers);
}

::httplib::Result ProxyProcess::AdminGet(const std::string& target) const {
  return LoopbackClient(admin_port_).Get(target.c_str());
}

double ProxyProcess::Metric(const std::string& name,
                            const std::map<std::string, std::string>& labels) {
  ::httplib::Result metrics = AdminGet("/metrics");
  if (!metrics || metrics->status != 200) return -1;
  double sum = 0;
  for (absl::string_view line : absl::StrSplit(metrics->body, '\n')) {
    double value = 0;
    if (SampleMatches(line, name, labels, &value)) sum += value;
  }
  return sum;
}

int ProxyProcess::Stop(absl::Duration grace) { return process_->Stop(grace); }

absl::StatusOr<ProxyExit> RunProxyToExit(const std::vector<std::string>& args,
                                         const std::vector<std::string>& env,
                                         absl::Duration timeout) {
  std::vector<std::string> argv = {ProxyBinaryPath()};
  argv.insert(argv.end(), args.begin(), args.end());
  absl::StatusOr<std::unique_ptr<ChildProcess>> process = ChildProcess::Start(argv, env);
  if (!process.ok()) return process.status();
  ProxyExit exit;
  absl::StatusOr<std::string> output = (*process)->ReadToEnd(timeout);
  int status = 0;
  if (!output.ok() || !(*process)->WaitForExit(timeout, &status)) {
    (*process)->Kill();
    return absl::DeadlineExceededError(absl::StrCat("larder-proxy did not exit within ",
                                                    absl::FormatDuration(timeout),
                                                    "; stderr: ", (*process)->LogTail()));
  }
  exit.exit_code = ExitCodeOf(status);
  exit.standard_output = *std::move(output);
  exit.standard_error = (*process)->LogTail(1 << 16);
  return exit;
}

absl::StatusOr<std::string> SendRaw(int port, const std::string& request, absl::Duration timeout) {
  const int fd = ConnectLoopback(port);
  if (fd < 0) return absl::UnavailableError(absl::StrCat("cannot connect to port ", port));
  for (size_t sent = 0; sent < request.size();) {
    const ssize_t n = send(fd, request.data() + sent, request.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) break;  // The peer may answer (413) before reading everything.
    sent += static_cast<size_t>(n);
  }
  std::string response;
  const absl::Time deadline = absl::Now() + timeout;
  while (!ResponseComplete(response)) {
    const absl::Duration left = deadline - absl::Now();
    if (left <= absl::ZeroDuration()) {
      close(fd);
      return absl::DeadlineExceededError(absl::StrCat("no end of response; got: ", response));
    }
    pollfd poll_fd{fd, POLLIN, 0};
    if (poll(&poll_fd, 1, static_cast<int>(absl::ToInt64Milliseconds(left)) + 1) <= 0) continue;
    char chunk[16384];
    const ssize_t n = recv(fd, chunk, sizeof(chunk), 0);
    if (n <= 0) break;
    response.append(chunk, static_cast<size_t>(n));
  }
  close(fd);
  return response;
}

absl::StatusOr<std::unique_ptr<UpstreamProcess>> UpstreamProcess::Start(int port) {
  absl::StatusOr<std::unique_ptr<ChildProcess>> process = ChildProcess::Start(
      {LARDER_PYTHON3_PATH, LARDER_UPSTREAM_SERVER_PATH, absl::StrCat("--port=", port)});
  if (!process.ok()) return process.status();
  absl::StatusOr<std::string> line = (*process)->WaitForLine("PORT ", absl::Seconds(20));
  if (!line.ok()) return line.status();
  auto upstream = std::unique_ptr<UpstreamProcess>(new UpstreamProcess());
  if (!absl::SimpleAtoi(line->substr(line->find(' ') + 1), &upstream->port_)) {
    return absl::InternalError(absl::StrCat("unparsable PORT line: ", *line));
  }
  upstream->process_ = *std::move(process);
  return upstream;
}

std::string UpstreamTarget(const std::string& path,
                           const std::vector<std::pair<std::string, std::string>>& params) {
  std::string target = path;
  for (const auto& [name, value] : params) {
    absl::StrAppend(&target, &name == &params.front().first ? "?" : "&", name, "=");
    for (const unsigned char c : value) {
      if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
        target.push_back(static_cast<char>(c));
      } else {
        absl::StrAppendFormat(&target, "%%%02X", c);
      }
    }
  }
  return target;
}

std::string UpstreamBytes(size_t size) {
  std::string bytes(size, '\0');
  for (size_t i = 0; i < size; ++i) bytes[i] = static_cast<char>((i * 7 + 3) % 256);
  return bytes;
}

std::string UpstreamProcess::url() const { return absl::StrCat("http://127.0.0.1:", port_); }

absl::StatusOr<std::string> UpstreamProcess::Admin(const std::string& target) const {
  ::httplib::Result result = LoopbackClient(port_).Get(target.c_str());
  if (!result) {
    return absl::UnavailableError(
        absl::StrCat("upstream ", target, ": ", ::httplib::to_string(result.error())));
  }
  if (result->status != 200) {
    return absl::InternalError(absl::StrCat("upstream ", target, ": ", result->status));
  }
  return result->body;
}

int UpstreamProcess::Renders(const std::string& path) const {
  absl::StatusOr<std::string> count = Admin(absl::StrCat("/__renders?path=", path));
  int renders = -1;
  if (count.ok() && absl::SimpleAtoi(*count, &renders)) return renders;
  return -1;
}

absl::StatusOr<std::string> UpstreamProcess::Requests(const std::string& path) const {
  return Admin(absl::StrCat("/__requests?path=", path));
}

std::optional<std::string> UpstreamProcess::LastRequestHeader(const std::string& path,
                                                              const std::string& name) const {
  absl::StatusOr<std::string> requests = Requests(path);
  if (!requests.ok()) return std::nullopt;
  const nlohmann::json list = nlohmann::json::parse(*requests, nullptr, false);
  if (!list.is_array() || list.empty()) return std::nullopt;
  std::vector<std::string> values;
  for (const auto& header : list.back()["headers"]) {
    if (absl::EqualsIgnoreCase(header[0].get<std::string>(), name)) {
      values.push_back(header[1].get<std::string>());
    }
  }
  return absl::StrJoin(values, ", ");
}

absl::Status UpstreamProcess::Override(const std::string& path, const std::string& query) const {
  return Admin(absl::StrCat("/__override?path=", path, "&", query)).status();
}

absl::Status UpstreamProcess::Reset() const { return Admin("/__reset").status(); }

absl::StatusOr<std::unique_ptr<ProxyStack>> ProxyStack::Start(
    const std::string& config_yaml, const std::vector<std::string>& flags,
    const std::vector<std::string>& larderd_args) {
  auto stack = std::make_unique<ProxyStack>();
  absl::StatusOr<std::unique_ptr<LarderdProcess>> larderd = LarderdProcess::Start(larderd_args);
  if (!larderd.ok()) return larderd.status();
  stack->larderd = *std::move(larderd);
  absl::StatusOr<std::unique_ptr<UpstreamProcess>> upstream = UpstreamProcess::Start();
  if (!upstream.ok()) return upstream.status();
  stack->upstream = *std::move(upstream);
  absl::StatusOr<std::unique_ptr<ProxyProcess>> proxy = ProxyProcess::Start(ProxyProcessOptionsFor(
      stack->upstream->url(), stack->larderd->grpc_address(), config_yaml, flags));
  if (!proxy.ok()) return proxy.status();
  stack->proxy = *std::move(proxy);
  return stack;
}

}  // namespace larder::testing

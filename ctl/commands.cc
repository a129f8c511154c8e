#include "ctl/commands.h"

#include <iostream>
#include <iterator>
#include <memory>
#include <string>
#include <utility>

#include "absl/strings/str_cat.h"
#include "ctl/health.h"
#include "ctl/output.h"
#include "larder/client.h"

namespace larder::ctl {
namespace {

// What every command needs: the parsed invocation, the client and the output streams.
struct Context {
  const Invocation& invocation;
  Client& client;
  std::istream& in;
  std::ostream& out;
  std::ostream& err;
  OutputMode mode() const { return invocation.global.output; }
  const std::string& ns() const { return invocation.ns; }
  const std::string& key() const { return invocation.keys.front(); }
};

int Fail(std::ostream& err, const std::string& command, const absl::Status& status) {
  err << "larderctl: " << command << ": " << absl::StatusCodeToString(status.code()) << ": "
      << status.message() << std::endl;
  return ExitCodeFor(status);
}

absl::StatusOr<ClientOptions> OptionsFor(const GlobalOptions& global) {
  ClientOptions options;
  options.target = global.target;
  options.deadline = global.timeout;
  options.auth_token_file = global.token_file;
  if (!global.tls_ca_file.empty()) {
    TlsOptions tls;
    absl::StatusOr<std::string> ca = ReadFile(global.tls_ca_file);
    if (!ca.ok()) return ca.status();
    tls.root_certs_pem = *ca;
    if (!global.tls_cert_file.empty() || !global.tls_key_file.empty()) {
      absl::StatusOr<std::string> cert = ReadFile(global.tls_cert_file);
      absl::StatusOr<std::string> key = ReadFile(global.tls_key_file);
      if (!cert.ok()) return cert.status();
      if (!key.ok()) return key.status();
      tls.client_cert_chain_pem = *cert;
      tls.client_private_key_pem = *key;
    }
    options.tls = std::move(tls);
  }
  return options;
}

int Get(Context& c) {
  absl::StatusOr<GetResult> result = c.client.Get(c.ns(), c.key());
  if (!result.ok()) return Fail(c.err, "get", result.status());
  c.out << FormatGet(c.mode(), c.key(), *result) << std::flush;
  return result->found ? kExitOk : kExitNotFound;
}

int Set(Context& c) {
  std::string value;
  if (c.invocation.value.has_value()) {
    value = *c.invocation.value;
  } else {
    value.assign(std::istreambuf_iterator<char>(c.in), std::istreambuf_iterator<char>());
  }
  SetOptions options;
  options.ttl = c.invocation.ttl;
  options.tags = c.invocation.tags;
  absl::StatusOr<SetResult> result = c.client.Set(c.ns(), c.key(), value, options);
  if (!result.ok()) return Fail(c.err, "set", result.status());
  c.out << FormatSet(c.mode(), c.key(), *result);
  return kExitOk;
}

int Delete(Context& c) {
  absl::StatusOr<bool> deleted = c.client.Delete(c.ns(), c.key());
  if (!deleted.ok()) return Fail(c.err, "del", deleted.status());
  c.out << FormatDelete(c.mode(), c.key(), *deleted);
  return *deleted ? kExitOk : kExitNotFound;
}

int Touch(Context& c) {
  absl::StatusOr<TouchResult> result = c.client.Touch(c.ns(), c.key(), c.invocation.ttl);
  if (!result.ok()) return Fail(c.err, "touch", result.status());
  c.out << FormatTouch(c.mode(), c.key(), *result);
  return result->found ? kExitOk : kExitNotFound;
}

int MultiGet(Context& c) {
  absl::StatusOr<std::vector<GetResult>> results = c.client.MultiGet(c.ns(), c.invocation.keys);
  if (!results.ok()) return Fail(c.err, "mget", results.status());
  int code = kExitOk;
  for (size_t i = 0; i < results->size(); ++i) {
    if (c.mode() == OutputMode::kHuman && i > 0) c.out << "\n";
    c.out << FormatGet(c.mode(), c.invocation.keys[i], (*results)[i]);
    if (!(*results)[i].found) code = kExitNotFound;
  }
  return code;
}

InvalidateTarget TargetFor(const InvalidateChoice& choice) {
  if (choice.prefix.has_value()) return InvalidateTarget::Prefix(*choice.prefix);
  if (choice.pattern.has_value()) return InvalidateTarget::Pattern(*choice.pattern);
  if (choice.tag.has_value()) return InvalidateTarget::Tag(*choice.tag);
  return InvalidateTarget::All();
}

int Invalidate(Context& c) {
  const InvalidateTarget target = TargetFor(c.invocation.invalidate);
  absl::StatusOr<int64_t> deleted = c.client.Invalidate(c.ns(), target);
  if (!deleted.ok()) return Fail(c.err, "invalidate", deleted.status());
  c.out << FormatInvalidate(c.mode(), *deleted);
  return kExitOk;
}

int Stats(Context& c) {
  absl::StatusOr<CacheStats> stats = c.client.Stats(c.ns());
  if (!stats.ok()) return Fail(c.err, "stats", stats.status());
  c.out << FormatStats(c.mode(), c.ns(), *stats);
  return kExitOk;
}

int Namespaces(Context& c) {
  if (c.mode() == OutputMode::kHuman) c.out << NamespacesHeader();
  std::string token;
  do {
    absl::StatusOr<NamespacesPage> page = c.client.Namespaces(c.invocation.page_size, token);
    if (!page.ok()) return Fail(c.err, "namespaces", page.status());
    for (const NamespaceInfo& info : page->namespaces) c.out << FormatNamespace(c.mode(), info);
    token = std::move(page->next_page_token);
  } while (!token.empty());
  return kExitOk;
}

int Health(Context& c) {
  absl::StatusOr<std::string> status = CheckHealth(c.invocation.global, c.invocation.service);
  if (!status.ok()) return Fail(c.err, "health", status.status());
  c.out << FormatHealth(c.mode(), c.invocation.service, *status);
  return *status == "SERVING" ? kExitOk : kExitNotFound;
}

int Watch(Context& c) {
  int64_t seen = 0;
  const int64_t count = c.invocation.count;
  absl::Status status = c.client.Watch(c.ns(), [&](const WatchEvent& event) {
    c.out << FormatWatchEvent(c.mode(), event) << std::flush;
    return count == 0 || ++seen < count;
  });
  if (status.code() == absl::StatusCode::kUnimplemented) {
    c.err << "watch: not supported by this server" << std::endl;
    return kExitServer;
  }
  if (!status.ok()) return Fail(c.err, "watch", status);
  return kExitOk;
}

using CommandFn = int (*)(Context&);

CommandFn CommandFor(const std::string& command) {
  static const std::pair<const char*, CommandFn> kCommands[] = {
      {"get", Get},       {"set", Set},
      {"del", Delete},    {"touch", Touch},
      {"mget", MultiGet}, {"invalidate", Invalidate},
      {"stats", Stats},   {"namespaces", Namespaces},
      {"health", Health}, {"watch", Watch}};
  for (const auto& [name, fn] : kCommands) {
    if (command == name) return fn;
  }
  return nullptr;
}

}  // namespace

int ExitCodeFor(const absl::Status& status) {
  return status.code() == absl::StatusCode::kInvalidArgument ? kExitUsage : kExitServer;
}

int RunCommand(const Invocation& invocation, std::istream& in, std::ostream& out,
               std::ostream& err) {
  const CommandFn fn = CommandFor(invocation.command);
  if (fn == nullptr) return Fail(err, invocation.command, absl::InvalidArgumentError("unknown"));
  absl::StatusOr<ClientOptions> options = OptionsFor(invocation.global);
  if (!options.ok()) return Fail(err, invocation.command, options.status());
  absl::StatusOr<std::shared_ptr<Client>> client = Client::Create(*std::move(options));
  if (!client.ok()) return Fail(err, invocation.command, client.status());
  Context context{invocation, **client, in, out, err};
  return fn(context);
}

}  // namespace larder::ctl

#include "server/flag_help.h"

#include <algorithm>

#include "absl/flags/commandlineflag.h"
#include "absl/flags/reflection.h"
#include "absl/flags/usage_config.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "server/flag_types.h"

#ifndef LARDER_VERSION
#define LARDER_VERSION "dev"
#endif
#ifndef LARDER_BUILD_TYPE
#define LARDER_BUILD_TYPE "unknown build"
#endif
#ifndef LARDER_COMPILER
#define LARDER_COMPILER "unknown compiler"
#endif

namespace larder::server {
namespace {

struct FlagGroup {
  const char* title;
  std::vector<const char*> flags;
};

const std::vector<FlagGroup>& Groups() {
  static const auto* const groups = new std::vector<FlagGroup>{
      {"Service",
       {"listen", "engine", "default_ttl", "max_ttl", "max_value_bytes", "max_response_bytes",
        "namespace_op_threads", "storage_threads", "grpc_api", "grpc_threads", "health_listen", "health_check_interval",
        "max_connection_age", "max_connection_age_grace", "shutdown_grace", "log_format"}},
      {"TLS and access control",
       {"tls_cert_file", "tls_key_file", "tls_client_ca_file", "auth_tokens_file",
        "auth_tls_principal", "reflection"}},
      {"Metrics", {"metrics_address", "metrics_max_namespaces", "metrics_engine_stats_max_age"}},
      {"Leases and Watch",
       {"max_leases", "lease_grace", "lease_stale_bytes", "max_watchers", "watch_buffer_bytes"}},
      {"Memory engine (--engine=memory)", {"memory_limit", "memory_shards"}},
      {"RocksDB engine (--engine=rocksdb)",
       {"data_dir", "rocksdb_block_cache_bytes", "rocksdb_compression", "rocksdb_sync_writes",
        "rocksdb_periodic_compaction"}},
      {"Redis engine (--engine=redis; password also from LARDER_REDIS_PASSWORD)",
       {"redis_url", "redis_mode", "redis_key_prefix", "redis_pool_size", "redis_timeout"}},
      {"memcached engine (--engine=memcached; --storage-threads + --namespace-op-threads + 1 "
       "connections to each server)",
       {"memcached_servers", "memcached_key_prefix", "memcached_timeout",
        "memcached_max_item_bytes"}},
  };
  return *groups;
}

bool DefinedByLarderd(absl::string_view filename) {
  return absl::EndsWith(filename, "server/main.cc");
}

std::string Dashed(absl::string_view name) { return absl::StrReplaceAll(name, {{"_", "-"}}); }

// `text` as lines of at most 100 columns, each indented by 6 spaces.
void AppendWrapped(std::string& out, absl::string_view text) {
  constexpr size_t kIndent = 6, kWidth = 100;
  size_t column = kWidth;
  for (absl::string_view word : absl::StrSplit(text, ' ', absl::SkipEmpty())) {
    if (column + 1 + word.size() > kWidth) {
      if (column != kWidth) out.push_back('\n');
      out.append(kIndent, ' ');
      column = kIndent;
    } else {
      out.push_back(' ');
      ++column;
    }
    out.append(word.data(), word.size());
    column += word.size();
  }
  out.push_back('\n');
}

void AppendFlag(std::string& out, const absl::CommandLineFlag& flag) {
  absl::StrAppend(&out, "  --", Dashed(flag.Name()),
                  " (default: ", flag.DefaultValue().empty() ? "\"\"" : flag.DefaultValue(),
                  "; env ", EnvironmentVariableFor(flag.Name()), ")\n");
  AppendWrapped(out, flag.Help());
}

}  // namespace

std::vector<std::string> LarderdFlagNames() {
  std::vector<std::string> names;
  for (const FlagGroup& group : Groups())
    names.insert(names.end(), group.flags.begin(), group.flags.end());
  return names;
}

bool HelpRequested(const std::vector<std::string>& arguments) {
  for (size_t i = 1; i < arguments.size(); ++i) {
    const std::string& argument = arguments[i];
    if (argument == "--") return false;
    if (argument == "--help" || argument == "-help" || argument == "--helpshort" ||
        argument == "-helpshort" || argument == "-h") {
      return true;
    }
  }
  return false;
}

std::string FlagHelpText() {
  std::string out =
      "larderd: the larder cache service.\n"
      "Usage: larderd [--flag=value ...]. Flags use dashes or underscores; each is also read\n"
      "from its environment variable (the command line wins). --version prints the version.\n";
  const std::vector<std::string> listed = LarderdFlagNames();
  for (const FlagGroup& group : Groups()) {
    absl::StrAppend(&out, "\n", group.title, ":\n");
    for (const char* name : group.flags) {
      const absl::CommandLineFlag* flag = absl::FindCommandLineFlag(name);
      if (flag != nullptr) AppendFlag(out, *flag);
    }
  }
  std::vector<const absl::CommandLineFlag*> others;
  for (const auto& [name, flag] : absl::GetAllFlags()) {
    if (!DefinedByLarderd(flag->Filename())) continue;
    if (std::find(listed.begin(), listed.end(), name) == listed.end()) others.push_back(flag);
  }
  std::sort(others.begin(), others.end(),
            [](const auto* a, const auto* b) { return a->Name() < b->Name(); });
  if (!others.empty()) absl::StrAppend(&out, "\nOther:\n");
  for (const absl::CommandLineFlag* flag : others) AppendFlag(out, *flag);
  return out;
}

std::string VersionLine() {
  return absl::StrCat("larderd ", LARDER_VERSION, " (", LARDER_BUILD_TYPE, ", ", LARDER_COMPILER,
                      ")\n");
}

void ConfigureFlagUsage() {
  absl::FlagsUsageConfig config;
  config.contains_help_flags = DefinedByLarderd;
  config.contains_helpshort_flags = DefinedByLarderd;
  config.version_string = VersionLine;
  absl::SetFlagsUsageConfig(config);
}

}  // namespace larder::server

// The command line of larderctl, parsed into plain structs: global options (where larderd is,
// TLS, the token, the output mode) and one command with its arguments. Flags may come before
// or after the command; `--` ends them (so a key or value may start with "--"). Value flags are
// written `--ttl=5m` or `--ttl 5m`.
//
//   absl::StatusOr<Invocation> invocation = ParseArgs({"--json", "get", "users", "42"});
//   // invocation->command == "get", invocation->keys == {"42"}
//
// Every error is kInvalidArgument with a one-line message for the user (exit code 2).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace larder::ctl {

enum class OutputMode { kHuman, kJson, kRaw };

struct GlobalOptions {
  // larderd's address. Default: $LARDER_TARGET, else 127.0.0.1:50051.
  std::string target = "127.0.0.1:50051";
  // PEM files: the CA that signs larderd's certificate (turns TLS on), and a client
  // certificate and key for mutual TLS. Default: none (plaintext).
  std::string tls_ca_file;
  std::string tls_cert_file;
  std::string tls_key_file;
  // A file holding the bearer token; without it the SDK reads $LARDER_AUTH_TOKEN.
  std::string token_file;
  // How long each call may take (watch: none). Default: 5 s.
  absl::Duration timeout = absl::Seconds(5);
  OutputMode output = OutputMode::kHuman;
  // KEY arguments are hex ("00ff"), so keys may be any bytes.
  bool key_hex = false;
};

// What invalidate removes: exactly one of these.
struct InvalidateChoice {
  bool all = false;
  std::optional<std::string> prefix;
  std::optional<std::string> pattern;
  std::optional<std::string> tag;
};

struct Invocation {
  GlobalOptions global;
  // "get", "set", ... or "help"; empty only when `help` is set without a command.
  std::string command;
  // `larderctl help CMD`, `larderctl CMD --help`, `larderctl --help`.
  bool help = false;
  std::string ns;
  // health: the service asked about ("" for the whole server, or "larder.v1.Cache").
  std::string service;
  // KEY arguments, decoded when --key-hex.
  std::vector<std::string> keys;
  // set: the value, or nullopt to read standard input (no VALUE, or "-").
  std::optional<std::string> value;
  std::optional<absl::Duration> ttl;
  std::vector<std::string> tags;  // set: --tag (repeated)
  InvalidateChoice invalidate;
  // watch: stop after this many events (0: until interrupted).
  int64_t count = 0;
  // namespaces: the page size asked of the server (0: its default).
  int page_size = 0;
};

// The commands larderctl knows, in the order `help` lists them.
const std::vector<std::string>& CommandNames();

// Parses argv[1..]. `env_target` is $LARDER_TARGET (empty when unset).
absl::StatusOr<Invocation> ParseArgs(const std::vector<std::string>& args,
                                     const std::string& env_target = "");

// Decodes an even number of hex digits.
absl::StatusOr<std::string> DecodeHex(const std::string& hex);

}  // namespace larder::ctl

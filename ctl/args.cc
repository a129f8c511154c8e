#include "ctl/args.h"

#include <algorithm>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"

namespace larder::ctl {
namespace {

// A flag: its name without "--", whether it takes a value, and the commands it applies to
// (empty: every command).
struct FlagSpec {
  const char* name;
  bool takes_value;
  std::vector<std::string> commands;
};

const std::vector<FlagSpec>& Flags() {
  static const auto* flags = new std::vector<FlagSpec>{
      {"target", true, {}},
      {"tls-ca", true, {}},
      {"tls-cert", true, {}},
      {"tls-key", true, {}},
      {"token-file", true, {}},
      {"timeout", true, {}},
      {"json", false, {}},
      {"key-hex", false, {}},
      {"help", false, {}},
      {"raw", false, {"get"}},
      {"ttl", true, {"set", "touch"}},
      {"tag", true, {"set", "invalidate"}},
      {"all", false, {"invalidate"}},
      {"prefix", true, {"invalidate"}},
      {"pattern", true, {"invalidate"}},
      {"count", true, {"watch"}},
      {"page-size", true, {"namespaces"}},
  };
  return *flags;
}

const FlagSpec* FindFlag(absl::string_view name) {
  for (const FlagSpec& flag : Flags()) {
    if (name == flag.name) return &flag;
  }
  return nullptr;
}

absl::Status Usage(absl::string_view message) { return absl::InvalidArgumentError(message); }

// A flag as given: its name and value ("" for a switch).
struct GivenFlag {
  const FlagSpec* spec;
  std::string value;
};

// Splits `args` into flags and positional arguments.
absl::Status SplitArgs(const std::vector<std::string>& args, std::vector<GivenFlag>& flags,
                       std::vector<std::string>& positional) {
  bool flags_ended = false;
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (flags_ended || !absl::StartsWith(arg, "-") || arg == "-") {
      positional.push_back(arg);
      continue;
    }
    if (arg == "--") {
      flags_ended = true;
      continue;
    }
    if (arg == "-h") {
      flags.push_back({FindFlag("help"), ""});
      continue;
    }
    const absl::string_view body = absl::StripPrefix(absl::string_view(arg), "--");
    const size_t equals = body.find('=');
    const FlagSpec* spec = FindFlag(body.substr(0, equals));
    if (spec == nullptr || body.size() == arg.size()) {
      return Usage(absl::StrCat("unknown flag ", arg, " (see larderctl --help)"));
    }
    if (!spec->takes_value && equals != absl::string_view::npos) {
      return Usage(absl::StrCat("--", spec->name, " takes no value"));
    }
    std::string value;
    if (spec->takes_value && equals != absl::string_view::npos) {
      value = std::string(body.substr(equals + 1));
    } else if (spec->takes_value) {
      if (i + 1 >= args.size()) return Usage(absl::StrCat("--", spec->name, " needs a value"));
      value = args[++i];
    }
    flags.push_back({spec, std::move(value)});
  }
  return absl::OkStatus();
}

absl::StatusOr<absl::Duration> ParsePositiveDuration(absl::string_view flag,
                                                     const std::string& text) {
  absl::Duration duration;
  if (!absl::ParseDuration(text, &duration) || duration <= absl::ZeroDuration() ||
      duration == absl::InfiniteDuration()) {
    return Usage(absl::StrCat(
        "--", flag, ": expected a positive duration such as 30s or 5m, got \"", text, "\""));
  }
  return duration;
}

absl::Status ApplyGlobalFlag(const GivenFlag& flag, Invocation& out) {
  const std::string name = flag.spec->name;
  GlobalOptions& global = out.global;
  if (name == "target") global.target = flag.value;
  if (name == "tls-ca") global.tls_ca_file = flag.value;
  if (name == "tls-cert") global.tls_cert_file = flag.value;
  if (name == "tls-key") global.tls_key_file = flag.value;
  if (name == "token-file") global.token_file = flag.value;
  if (name == "json") global.output = OutputMode::kJson;
  if (name == "key-hex") global.key_hex = true;
  if (name == "help") out.help = true;
  if (name == "timeout") {
    absl::StatusOr<absl::Duration> timeout = ParsePositiveDuration(name, flag.value);
    if (!timeout.ok()) return timeout.status();
    global.timeout = *timeout;
  }
  return absl::OkStatus();
}

absl::Status ApplyCommandFlag(const GivenFlag& flag, Invocation& out) {
  const std::string name = flag.spec->name;
  if (name == "raw") {
    out.global.output = OutputMode::kRaw;
  } else if (name == "ttl") {
    absl::StatusOr<absl::Duration> ttl = ParsePositiveDuration(name, flag.value);
    if (!ttl.ok()) return ttl.status();
    out.ttl = *ttl;
  } else if (name == "tag" && out.command == "set") {
    out.tags.push_back(flag.value);
  } else if (name == "tag") {
    out.invalidate.tag = flag.value;
  } else if (name == "all") {
    out.invalidate.all = true;
  } else if (name == "prefix") {
    out.invalidate.prefix = flag.value;
  } else if (name == "pattern") {
    out.invalidate.pattern = flag.value;
  } else if (name == "count" || name == "page-size") {
    const int64_t max = name == "count" ? INT64_MAX : 1000;
    int64_t number = 0;
    if (!absl::SimpleAtoi(flag.value, &number) || number < 1 || number > max) {
      return Usage(absl::StrCat("--", name, ": expected a number from 1 to ", max, ", got \"",
                                flag.value, "\""));
    }
    if (name == "count") out.count = number;
    if (name == "page-size") out.page_size = static_cast<int>(number);
  }
  return absl::OkStatus();
}

// The positional arguments of each command: at least `min`, at most `max` (-1: any).
struct Arity {
  const char* command;
  int min;
  int max;
};

constexpr Arity kArities[] = {
    {"get", 2, 2},    {"set", 2, 3},        {"del", 2, 2},   {"touch", 2, 2},
    {"mget", 2, -1},  {"invalidate", 1, 1}, {"stats", 0, 1}, {"namespaces", 0, 0},
    {"health", 0, 1}, {"watch", 1, 1},      {"help", 0, 1},
};

bool IsCommand(const std::string& name) {
  return std::find(CommandNames().begin(), CommandNames().end(), name) != CommandNames().end();
}

absl::Status UnknownCommand(const std::string& command) {
  return Usage(absl::StrCat("unknown command \"", command, "\" (one of ",
                            absl::StrJoin(CommandNames(), ", "), ")"));
}

absl::Status CheckArity(const std::string& command, size_t count) {
  for (const Arity& arity : kArities) {
    if (command != arity.command) continue;
    const bool too_few = count < static_cast<size_t>(arity.min);
    const bool too_many = arity.max >= 0 && count > static_cast<size_t>(arity.max);
    if (too_few || too_many) {
      return Usage(
          absl::StrCat(command, ": wrong number of arguments (see larderctl help ", command, ")"));
    }
    return absl::OkStatus();
  }
  return UnknownCommand(command);
}

// Fills the command's fields from its positional arguments `args` (after the command).
absl::Status AssignPositional(const std::vector<std::string>& args, Invocation& out) {
  const std::string& command = out.command;
  if (command == "help") {
    out.help = true;
    out.command = args.empty() ? "" : args[0];
    if (!out.command.empty() && !IsCommand(out.command)) return UnknownCommand(out.command);
    return absl::OkStatus();
  }
  if (command == "health") {
    if (!args.empty()) out.service = args[0];
    return absl::OkStatus();
  }
  if (!args.empty()) out.ns = args[0];
  const bool takes_keys = command == "get" || command == "set" || command == "del" ||
                          command == "touch" || command == "mget";
  if (!takes_keys) return absl::OkStatus();
  const size_t key_count = command == "mget" ? args.size() - 1 : 1;
  for (size_t i = 1; i <= key_count; ++i) {
    std::string key = args[i];
    if (out.global.key_hex) {
      absl::StatusOr<std::string> decoded = DecodeHex(key);
      if (!decoded.ok()) return decoded.status();
      key = *std::move(decoded);
    }
    out.keys.push_back(std::move(key));
  }
  if (command == "set" && args.size() == 3 && args[2] != "-") out.value = args[2];
  return absl::OkStatus();
}

// What each command requires beyond its arity.
absl::Status CheckCommandFlags(const Invocation& out) {
  if (out.command == "touch" && !out.ttl.has_value()) return Usage("touch: --ttl is required");
  if (out.command == "invalidate") {
    const InvalidateChoice& choice = out.invalidate;
    const int chosen = int{choice.all} + int{choice.prefix.has_value()} +
                       int{choice.pattern.has_value()} + int{choice.tag.has_value()};
    if (chosen != 1) {
      return Usage("invalidate: give exactly one of --all, --prefix=P, --pattern=G, --tag=T");
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<Invocation> ParseArgs(const std::vector<std::string>& args,
                                     const std::string& env_target) {
  Invocation out;
  if (!env_target.empty()) out.global.target = env_target;
  std::vector<GivenFlag> flags;
  std::vector<std::string> positional;
  if (absl::Status split = SplitArgs(args, flags, positional); !split.ok()) return split;
  if (!positional.empty()) out.command = positional[0];
  if (!out.command.empty() && !IsCommand(out.command)) return UnknownCommand(out.command);
  for (const GivenFlag& flag : flags) {
    const std::vector<std::string>& commands = flag.spec->commands;
    if (!commands.empty() &&
        std::find(commands.begin(), commands.end(), out.command) == commands.end()) {
      return Usage(absl::StrCat("--", flag.spec->name, " does not apply to ",
                                out.command.empty() ? "no command" : out.command, " (only to ",
                                absl::StrJoin(commands, ", "), ")"));
    }
    absl::Status applied =
        commands.empty() ? ApplyGlobalFlag(flag, out) : ApplyCommandFlag(flag, out);
    if (!applied.ok()) return applied;
  }
  if (out.command.empty()) {
    if (out.help) return out;
    return Usage("no command given (see larderctl --help)");
  }
  const std::vector<std::string> rest(positional.begin() + 1, positional.end());
  if (out.help) return out;
  if (absl::Status arity = CheckArity(out.command, rest.size()); !arity.ok()) return arity;
  if (absl::Status assigned = AssignPositional(rest, out); !assigned.ok()) return assigned;
  if (out.help) return out;
  if (absl::Status checked = CheckCommandFlags(out); !checked.ok()) return checked;
  return out;
}

const std::vector<std::string>& CommandNames() {
  static const auto* names =
      new std::vector<std::string>{"get",   "set",        "del",    "touch", "mget", "invalidate",
                                   "stats", "namespaces", "health", "watch", "help"};
  return *names;
}

absl::StatusOr<std::string> DecodeHex(const std::string& hex) {
  if (hex.size() % 2 != 0 ||
      !std::all_of(hex.begin(), hex.end(), [](char c) { return absl::ascii_isxdigit(c); })) {
    return Usage(absl::StrCat("--key-hex: \"", hex, "\" is not an even number of hex digits"));
  }
  return absl::HexStringToBytes(hex);
}

}  // namespace larder::ctl

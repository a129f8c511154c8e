#include "ctl/help.h"

#include "absl/strings/str_cat.h"

namespace larder::ctl {
namespace {

constexpr char kOverview[] = R"(larderctl: operate a larderd cache server.

Usage: larderctl [GLOBAL FLAGS] COMMAND [ARGS] [FLAGS]

Commands:
  get NS KEY                      read one entry
  set NS KEY [VALUE|-]            store one entry (no VALUE or "-": read standard input)
  del NS KEY                      remove one entry
  touch NS KEY --ttl=D            restart an entry's TTL
  mget NS KEY...                  read several entries
  invalidate NS (--all|--prefix=P|--pattern=G|--tag=T)
  stats [NS]                      counters of a namespace, or of the whole server
  namespaces                      every namespace with its entries and bytes (admin)
  health [SERVICE]                grpc.health.v1 status ("" or larder.v1.Cache)
  watch NS [--count=N]            print the namespace's changes as they happen
  help [COMMAND]                  this text, or a command's page

Global flags:
  --target=HOST:PORT   larderd's address (default $LARDER_TARGET, else 127.0.0.1:50051)
  --tls-ca=FILE        PEM CA of larderd's certificate: use TLS
  --tls-cert=FILE --tls-key=FILE   client certificate and key for mutual TLS
  --token-file=FILE    bearer token file (default: $LARDER_AUTH_TOKEN when set)
  --timeout=D          deadline of each call (default 5s)
  --json               one JSON object per result line; keys and values in base64
  --raw                get: write only the value's bytes
  --key-hex            KEY arguments are hex digits (keys may be any bytes)

Exit codes: 0 success (found), 1 not found (miss, nothing deleted, not serving),
2 usage error (also a request larderd rejects as invalid), 3 server or connection error
(unreachable, refused credentials or permission, engine failure).
)";

struct Page {
  const char* command;
  const char* text;
};

constexpr Page kPages[] = {
    {"get", R"(larderctl get NS KEY [--raw] [--key-hex] [--json]

Reads one entry. Prints its value (printable text as is, binary as an escaped preview), size,
ETag and remaining TTL; --raw writes the value's bytes alone. Exit 1 when there is no entry.

Example:
  larderctl get users 42
  larderctl get --raw images logo > logo.png
)"},
    {"set", R"(larderctl set NS KEY [VALUE|-] [--ttl=D] [--tag=T]... [--key-hex] [--json]

Stores one entry. Without VALUE, or with "-", the value is standard input, byte for byte.
--ttl: lifetime (e.g. 30s, 5m, 2h; default: the server's --default-ttl). --tag: a tag for
`invalidate --tag`, repeatable.

Example:
  larderctl set users 42 '{"name":"Ada"}' --ttl=5m --tag=team-7
  larderctl set images logo - < logo.png
)"},
    {"del", R"(larderctl del NS KEY [--key-hex] [--json]

Removes one entry. Exit 1 when there was no live entry.

Example:
  larderctl del users 42
)"},
    {"touch", R"(larderctl touch NS KEY --ttl=D [--key-hex] [--json]

Restarts a live entry's TTL: D from now. Exit 1 when there is no entry.

Example:
  larderctl touch sessions abc123 --ttl=30m
)"},
    {"mget", R"(larderctl mget NS KEY... [--key-hex] [--json]

Reads up to 1000 entries, printed in the order given. Exit 1 when any is missing.

Example:
  larderctl --json mget users 42 43 44
)"},
    {"invalidate", R"(larderctl invalidate NS (--all | --prefix=P | --pattern=G | --tag=T) [--json]

Removes the whole namespace, the keys starting with P, the keys matching the glob G ('*', '?',
'\' escapes) or the entries stored with tag T. Prints how many live entries went.

Example:
  larderctl invalidate users --prefix=get_user:
)"},
    {"stats", R"(larderctl stats [NS] [--json]

Entries, bytes, hits, misses, evictions and expirations of NS, or of the whole server without
NS (which needs the admin permission when larderd checks tokens).

Example:
  larderctl stats users
)"},
    {"namespaces", R"(larderctl namespaces [--page-size=N] [--json]

Lists every namespace holding entries, sorted by name, with its entries and bytes, asking
larderd for N namespaces per call (1-1000; default the server's, 100) until the list ends.
Needs the admin permission on the whole server when larderd checks tokens.

Example:
  larderctl --json namespaces
)"},
    {"health", R"(larderctl health [SERVICE] [--json]

Asks grpc.health.v1 about SERVICE: "" (the default: the process serves) or larder.v1.Cache
(the engine can serve). Prints SERVING, NOT_SERVING, ...; exit 1 unless SERVING, 3 when
larderd does not know SERVICE.

Example:
  larderctl health larder.v1.Cache
)"},
    {"watch", R"(larderctl watch NS [--count=N] [--json]

Prints each change to NS as larderd applies it (the first event is always "reset"), until
interrupted or after N events. Prints "watch: not supported by this server" and exits 3 when
larderd has no Watch.

Example:
  larderctl watch users --count=10
)"},
    {"help", R"(larderctl help [COMMAND]

Prints the overview, or COMMAND's page (also: larderctl COMMAND --help).

Example:
  larderctl help set
)"},
};

}  // namespace

std::string HelpText(const std::string& command) {
  for (const Page& page : kPages) {
    if (command == page.command) return page.text;
  }
  return kOverview;
}

}  // namespace larder::ctl

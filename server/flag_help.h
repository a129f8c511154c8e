// larderd's --help and --version: every flag of larderd, grouped by what it configures (the
// service, TLS and access control, each engine...), with its default, meaning and environment
// variable; and the version line "larderd 0.1.0 (RelWithDebInfo, GNU 12.2.0)".
//
//   for (const std::string& name : LarderdFlagNames()) ApplyEnvironmentTo(name);
//   if (HelpRequested(args)) { std::cout << FlagHelpText(); exit(0); }
#pragma once

#include <string>
#include <vector>

namespace larder::server {

// Every flag larderd defines (underscore names), in the order --help lists them.
std::vector<std::string> LarderdFlagNames();

// True when `arguments` (normalized, argv[0] first) ask for --help, -help, --helpshort or -h.
bool HelpRequested(const std::vector<std::string>& arguments);

// The grouped listing --help prints. Flags defined in larderd's main file but in no group are
// listed under "Other", so the listing is never short of a flag.
std::string FlagHelpText();

// "larderd <version> (<build type>, <compiler>)".
std::string VersionLine();

// Makes absl's own usage flags (--helpfull, --version...) cover larderd's flags and version.
void ConfigureFlagUsage();

}  // namespace larder::server

// larderctl's help: the overview (`larderctl --help`) and one page per command, each with an
// example (`larderctl help set`, `larderctl set --help`).
#pragma once

#include <string>

namespace larder::ctl {

// The page of `command`, or the overview when it is empty.
std::string HelpText(const std::string& command);

}  // namespace larder::ctl

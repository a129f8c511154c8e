// larderctl: the operator's command line for larderd (ctl/help.cc has its usage).
#include <cstdlib>
#include <iostream>
#include <string>
#include <vector>

#include "ctl/args.h"
#include "ctl/commands.h"
#include "ctl/help.h"

int main(int argc, char** argv) {
  using namespace larder::ctl;
  const std::vector<std::string> args(argv + 1, argv + argc);
  const char* env_target = std::getenv("LARDER_TARGET");
  absl::StatusOr<Invocation> invocation = ParseArgs(args, env_target ? env_target : "");
  if (!invocation.ok()) {
    std::cerr << "larderctl: " << invocation.status().message() << std::endl;
    return kExitUsage;
  }
  if (invocation->help) {
    std::cout << HelpText(invocation->command);
    return kExitOk;
  }
  std::ios::sync_with_stdio(false);
  return RunCommand(*invocation, std::cin, std::cout, std::cerr);
}

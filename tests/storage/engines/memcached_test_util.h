// SharedMemcachedServers: two real memcached servers for a whole test binary, started on first use
// and stopped at exit, shared by the memcached cases of the conformance suite
// (engine_test_base.cc) and by the memcached engine's lease tests (memcached_lease_test.cc,
// memcached_lease_race_test.cc), each test under its own key prefix.
//
//   MemcachedEngineOptions options;
//   options.servers = SharedMemcachedServers();
//   ASSERT_FALSE(options.servers.empty()) << "memcached did not start";
#pragma once

#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "tests/testing/memcached_server.h"

namespace larder::storage::testing {

// "host:port,host:port" of the two servers, or empty when they did not start (the test that
// first asked then fails with why).
inline std::string SharedMemcachedServers() {
  static const std::vector<std::unique_ptr<larder::testing::MemcachedServerProcess>> servers = [] {
    std::vector<std::unique_ptr<larder::testing::MemcachedServerProcess>> started;
    for (int i = 0; i < 2; ++i) {
      auto server = larder::testing::MemcachedServerProcess::Start();
      EXPECT_TRUE(server.ok()) << server.status();
      if (server.ok()) started.push_back(*std::move(server));
    }
    return started;
  }();
  if (servers.size() < 2) return "";
  return absl::StrCat(servers[0]->address(), ",", servers[1]->address());
}

}  // namespace larder::storage::testing

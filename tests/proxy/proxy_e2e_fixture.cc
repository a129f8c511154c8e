#include "tests/proxy/proxy_e2e_fixture.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"

namespace larder::testing {

std::string TestName() { return ::testing::UnitTest::GetInstance()->current_test_info()->name(); }

std::string PathOf(const std::string& route_prefix, const std::string& suffix) {
  return absl::StrCat(route_prefix, TestName(), suffix);
}

absl::StatusOr<std::shared_ptr<Client>> ConnectLarderClient(const std::string& grpc_address) {
  ClientOptions options;
  options.target = grpc_address;
  options.deadline = absl::Seconds(5);
  return Client::Create(std::move(options));
}

void ProxyStackTest::StartStack(const std::string& config_yaml,
                                const std::vector<std::string>& flags) {
  auto stack = ProxyStack::Start(config_yaml, flags);
  ASSERT_TRUE(stack.ok()) << stack.status();
  stack_ = stack->release();
}

void ProxyStackTest::TearDownTestSuite() {
  delete stack_;
  stack_ = nullptr;
}

void ProxyStackTest::SetUp() { ASSERT_NE(stack_, nullptr); }

::httplib::Result ProxyStackTest::Get(const std::string& target,
                                      const ::httplib::Headers& headers) {
  ::httplib::Result result = stack_->proxy->Get(target, headers);
  EXPECT_TRUE(result) << target << ": " << ::httplib::to_string(result.error());
  return result;
}

std::string ProxyStackTest::CacheOf(const std::string& target, const ::httplib::Headers& headers) {
  ::httplib::Result result = Get(target, headers);
  return result ? result->get_header_value("X-Cache") : "<no response>";
}

int ProxyStackTest::Renders(const std::string& path) { return stack_->upstream->Renders(path); }

}  // namespace larder::testing

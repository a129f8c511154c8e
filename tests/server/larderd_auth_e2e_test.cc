// End to end: access control of the real larderd with --auth-tokens-file. Every RPC is allowed
// exactly by the permission table (read: Get, MultiGet, Stats of a namespace; write: Set,
// MultiSet, Delete, Touch; invalidate: Invalidate; admin: server-wide Stats); unknown and
// missing tokens are UNAUTHENTICATED; health stays open and reflection is off; the tokens file
// reloads on SIGHUP (a bad file keeps the old one) and a token rotates without a failed call.
#include <signal.h>

#include <atomic>
#include <fstream>
#include <functional>
#include <string>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "gtest/gtest.h"
#include "larder/v1/cache.grpc.pb.h"
#include "server/auth/tokens_file.h"
#include "tests/testing/grpc_probes.h"
#include "tests/testing/larderd_process.h"

namespace larder {
namespace {

using ::larder::testing::LarderdProcess;
using ::testing::HasSubstr;

constexpr auto Line = server::auth::TokensFileLine;

// One principal per permission on namespace "items", plus one with every other permission.
std::string PermissionTableFile() {
  return Line("reader", "reader-token", "items", "read") +
         Line("writer", "writer-token", "items", "write") +
         Line("invalidator", "invalidator-token", "items", "invalidate") +
         Line("admin", "admin-token", "*", "admin") +
         Line("all-but-admin", "all-token", "items", "read,write,invalidate") +
         Line("reader-writer", "reader-writer-token", "items", "read,write");
}

// Calls one RPC of larder.v1 on namespace `ns` with `token` ("" for none); returns its code.
using RpcCall = std::function<grpc::StatusCode(v1::Cache::Stub&, const std::string& ns,
                                               const std::string& token)>;

template <typename Request, typename Response>
grpc::StatusCode Call(grpc::Status (v1::Cache::Stub::*method)(grpc::ClientContext*, const Request&,
                                                              Response*),
                      v1::Cache::Stub& stub, Request request, const std::string& token) {
  grpc::ClientContext context;
  if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
  Response response;
  return (stub.*method)(&context, request, &response).error_code();
}

struct RpcCase {
  std::string name;
  std::string permission;  // The principal that holds exactly what the call needs.
  RpcCall call;
};

std::vector<RpcCase> Cases() {
  using v1::Cache;
  auto key = [](auto request, const std::string& ns) {
    request.set_namespace_(ns);
    request.set_key("k");
    return request;
  };
  return {
      {"Get", "reader",
       [=](Cache::Stub& s, const std::string& ns, const std::string& t) {
         return Call(&Cache::Stub::Get, s, key(v1::GetRequest(), ns), t);
       }},
      {"MultiGet", "reader",
       [](Cache::Stub& s, const std::string& ns, const std::string& t) {
         v1::MultiGetRequest request;
         request.set_namespace_(ns);
         request.add_keys("k");
         return Call(&Cache::Stub::MultiGet, s, request, t);
       }},
      {"Stats", "reader",
       [](Cache::Stub& s, const std::string& ns, const std::string& t) {
         v1::StatsRequest request;
         request.set_namespace_(ns);
         return Call(&Cache::Stub::Stats, s, request, t);
       }},
      {"Set", "writer",
       [=](Cache::Stub& s, const std::string& ns, const std::string& t) {
         return Call(&Cache::Stub::Set, s, key(v1::SetRequest(), ns), t);
       }},
      {"MultiSet", "writer",
       [](Cache::Stub& s, const std::string& ns, const std::string& t) {
         v1::MultiSetRequest request;
         request.set_namespace_(ns);
         request.add_entries()->set_key("k");
         return Call(&Cache::Stub::MultiSet, s, request, t);
       }},
      {"Delete", "writer",
       [=](Cache::Stub& s, const std::string& ns, const std::string& t) {
         return Call(&Cache::Stub::Delete, s, key(v1::DeleteRequest(), ns), t);
       }},
      {"Touch", "writer",
       [=](Cache::Stub& s, const std::string& ns, const std::string& t) {
         return Call(&Cache::Stub::Touch, s, key(v1::TouchRequest(), ns), t);
       }},
      {"Invalidate", "invalidator",
       [](Cache::Stub& s, const std::string& ns, const std::string& t) {
         v1::InvalidateRequest request;
         request.set_namespace_(ns);
         request.set_all(true);
         return Call(&Cache::Stub::Invalidate, s, request, t);
       }},
  };
}

class LarderdAuthTest : public ::testing::Test {
 protected:
  void SetUp() override { Start(PermissionTableFile(), {}); }

  void Start(const std::string& tokens, std::vector<std::string> extra) {
    tokens_path_ = testing::MakeTempDir("larder-auth-e2e") + "/tokens";
    WriteTokens(tokens);
    extra.push_back("--auth-tokens-file=" + tokens_path_);
    auto started = LarderdProcess::Start(extra);
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = std::move(started).value();
    stub_ = v1::Cache::NewStub(server_->channel());
  }

  void WriteTokens(const std::string& contents) {
    const std::string temporary = tokens_path_ + ".new";
    std::ofstream(temporary, std::ios::trunc) << contents;
    ASSERT_EQ(rename(temporary.c_str(), tokens_path_.c_str()), 0);  // Atomic, as kubelet does.
  }

  std::string tokens_path_;
  std::unique_ptr<LarderdProcess> server_;
  std::unique_ptr<v1::Cache::Stub> stub_;
};

TEST_F(LarderdAuthTest, EachRpcIsAllowedExactlyByItsPermission) {
  const std::map<std::string, std::string> tokens = {
      {"reader", "reader-token"}, {"writer", "writer-token"}, {"invalidator", "invalidator-token"}};
  for (const RpcCase& rpc : Cases()) {
    for (const auto& [principal, token] : tokens) {
      const grpc::StatusCode code = rpc.call(*stub_, "items", token);
      if (principal == rpc.permission) {
        EXPECT_NE(code, grpc::StatusCode::PERMISSION_DENIED) << rpc.name << " as " << principal;
        EXPECT_NE(code, grpc::StatusCode::UNAUTHENTICATED) << rpc.name << " as " << principal;
      } else {
        EXPECT_EQ(code, grpc::StatusCode::PERMISSION_DENIED) << rpc.name << " as " << principal;
      }
    }
    // The principal with every other permission is refused on another namespace.
    EXPECT_EQ(rpc.call(*stub_, "search", "all-token"), grpc::StatusCode::PERMISSION_DENIED)
        << rpc.name;
    EXPECT_EQ(rpc.call(*stub_, "items", ""), grpc::StatusCode::UNAUTHENTICATED) << rpc.name;
    EXPECT_EQ(rpc.call(*stub_, "items", "unknown-token"), grpc::StatusCode::UNAUTHENTICATED)
        << rpc.name;
  }
}

TEST_F(LarderdAuthTest, LeaseNeedsReadAndWrite) {
  auto lease = [&](const std::string& token) {
    v1::LeaseRequest request;
    request.set_namespace_("items");
    request.set_key("k");
    return Call(&v1::Cache::Stub::Lease, *stub_, request, token);
  };
  EXPECT_EQ(lease("reader-token"), grpc::StatusCode::PERMISSION_DENIED) << "it grants a write";
  EXPECT_EQ(lease("writer-token"), grpc::StatusCode::PERMISSION_DENIED) << "it returns the entry";
  EXPECT_EQ(lease("invalidator-token"), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(lease("reader-writer-token"), grpc::StatusCode::OK);
  EXPECT_EQ(lease(""), grpc::StatusCode::UNAUTHENTICATED);
}

TEST_F(LarderdAuthTest, ServerWideStatsNeedsAdmin) {
  const RpcCase stats = Cases()[2];
  EXPECT_EQ(stats.call(*stub_, "", "all-token"), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(stats.call(*stub_, "", "admin-token"), grpc::StatusCode::OK);
  // admin alone is not read: a namespace's entries need read.
  EXPECT_EQ(Cases()[0].call(*stub_, "items", "admin-token"), grpc::StatusCode::PERMISSION_DENIED);
}

TEST_F(LarderdAuthTest, ADenialNamesPrincipalNamespaceAndPermissionAndWritesNothing) {
  v1::SetRequest request;
  request.set_namespace_("items");
  request.set_key("k");
  request.set_value("planted");
  grpc::ClientContext context;
  context.AddMetadata("authorization", "Bearer reader-token");
  v1::SetResponse response;
  grpc::Status status = stub_->Set(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_THAT(status.error_message(), HasSubstr("\"reader\""));
  EXPECT_THAT(status.error_message(), HasSubstr("\"items\""));
  EXPECT_THAT(status.error_message(), HasSubstr("\"write\""));
  EXPECT_THAT(status.error_message(), ::testing::Not(HasSubstr("reader-token")));
  v1::GetRequest get;
  get.set_namespace_("items");
  get.set_key("k");
  EXPECT_EQ(Call(&v1::Cache::Stub::Get, *stub_, get, "all-token"), grpc::StatusCode::OK);
  grpc::ClientContext read_context;
  read_context.AddMetadata("authorization", "Bearer all-token");
  v1::GetResponse read;
  ASSERT_TRUE(stub_->Get(&read_context, get, &read).ok());
  EXPECT_FALSE(read.found());
}

TEST_F(LarderdAuthTest, HealthStaysOpenAndReflectionIsOff) {
  auto health = testing::CheckHealth(server_->channel(), "larder.v1.Cache");
  ASSERT_TRUE(health.ok()) << health.status();
  EXPECT_FALSE(testing::ListServicesByReflection(server_->channel()).ok());
}

TEST_F(LarderdAuthTest, ReflectionCanBeAskedFor) {
  Start(PermissionTableFile(), {"--reflection"});
  auto services = testing::ListServicesByReflection(server_->channel());
  ASSERT_TRUE(services.ok()) << services.status();
  EXPECT_THAT(*services, HasSubstr("larder.v1.Cache"));
}

// Waits until `token` gets `code` from Get, or fails after 10 s.
void AwaitCode(v1::Cache::Stub& stub, const std::string& token, grpc::StatusCode code) {
  const RpcCase get = Cases()[0];
  const absl::Time deadline = absl::Now() + absl::Seconds(10);
  while (get.call(stub, "items", token) != code && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(10));
  }
  EXPECT_EQ(get.call(stub, "items", token), code) << token;
}

TEST_F(LarderdAuthTest, SighupReloadsAGoodFileAndKeepsTheOldOneOnABadFile) {
  WriteTokens(Line("reader", "fresh-token", "items", "read"));
  server_->process().Signal(SIGHUP);
  AwaitCode(*stub_, "fresh-token", grpc::StatusCode::OK);
  AwaitCode(*stub_, "reader-token", grpc::StatusCode::UNAUTHENTICATED);
  WriteTokens("reader sha256:nothex items read\n");
  server_->process().Signal(SIGHUP);
  absl::SleepFor(absl::Milliseconds(200));
  EXPECT_EQ(Cases()[0].call(*stub_, "items", "fresh-token"), grpc::StatusCode::OK);
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  std::string log;
  while (log.find("rejected") == std::string::npos && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(20));
    log = server_->process().LogTail();
  }
  EXPECT_THAT(log, HasSubstr("line 1: token"));
  EXPECT_THAT(log, ::testing::Not(HasSubstr("fresh-token")));
}

TEST_F(LarderdAuthTest, ATokenRotatesWithoutAFailedCall) {
  WriteTokens(Line("reader", "old-token", "items", "read"));
  server_->process().Signal(SIGHUP);
  AwaitCode(*stub_, "old-token", grpc::StatusCode::OK);
  absl::Mutex mutex;
  std::string token = "old-token";
  std::atomic<bool> stop{false};
  std::atomic<int> calls{0}, failures{0};
  std::thread client([&] {
    while (!stop) {
      std::string current;
      {
        absl::MutexLock lock(&mutex);
        current = token;
      }
      failures += Cases()[0].call(*stub_, "items", current) != grpc::StatusCode::OK;
      ++calls;
    }
  });
  WriteTokens(Line("reader", "old-token", "items", "read") +
              Line("reader", "new-token", "items", "read"));  // Both, during the roll-out.
  AwaitCode(*stub_, "new-token", grpc::StatusCode::OK);       // Picked up without a signal.
  {
    absl::MutexLock lock(&mutex);
    token = "new-token";  // The client rolls over.
  }
  absl::SleepFor(absl::Milliseconds(50));
  WriteTokens(Line("reader", "new-token", "items", "read"));
  AwaitCode(*stub_, "old-token", grpc::StatusCode::UNAUTHENTICATED);
  stop = true;
  client.join();
  EXPECT_GT(calls, 10);
  EXPECT_EQ(failures, 0);
}

}  // namespace
}  // namespace larder

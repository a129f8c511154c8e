// End to end: no single request can crash, stall or bloat the real larderd, on the memory and
// RocksDB engines. Each test is one attack from the wild: a MultiGet that asks for gigabytes, a
// pathological or huge Invalidate beside readers of another namespace, keys that are not UTF-8,
// malformed requests that must not each write a log line, and calls that time out in a queue.
#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gmock/gmock.h"
#include "grpcpp/client_context.h"
#include "grpcpp/create_channel.h"
#include "gtest/gtest.h"
#include "httplib.h"
#include "larder/common/limits.h"
#include "larder/v1/cache.grpc.pb.h"
#include "tests/testing/child_process.h"
#include "tests/testing/larderd_process.h"

namespace larder {
namespace {

using ::larder::testing::LarderdProcess;
using ::testing::HasSubstr;

// The peak resident set of a process, from /proc (VmHWM), in bytes.
int64_t PeakRssBytes(pid_t pid) {
  std::ifstream status(absl::StrCat("/proc/", pid, "/status"));
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) != 0) continue;
    int64_t kib = 0;
    std::string digits = line.substr(6, line.find("kB") - 6);
    EXPECT_TRUE(absl::SimpleAtoi(digits, &kib)) << line;
    return kib * 1024;
  }
  ADD_FAILURE() << "no VmHWM for pid " << pid;
  return 0;
}

int64_t FileSize(const std::string& path) {
  std::ifstream file(path, std::ios::binary | std::ios::ate);
  return file ? static_cast<int64_t>(file.tellg()) : 0;
}

class LarderdBoundsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    std::vector<std::string> args = {"--engine=" + GetParam(), "--memory-limit=1GiB",
                                     "--namespace-op-threads=1"};
    if (GetParam() == "rocksdb") {
      args.push_back("--data-dir=" + testing::MakeTempDir("larder-bounds-rocksdb"));
    }
    auto started = LarderdProcess::Start(args);
    ASSERT_TRUE(started.ok()) << started.status();
    server_ = std::move(started).value();
    // A channel of its own with room for large answers (the default receive limit is 4 MiB).
    grpc::ChannelArguments arguments;
    arguments.SetMaxReceiveMessageSize(-1);
    arguments.SetMaxSendMessageSize(-1);
    stub_ = v1::Cache::NewStub(grpc::CreateCustomChannel(
        server_->grpc_address(), grpc::InsecureChannelCredentials(), arguments));
  }

  grpc::Status Set(const std::string& ns, const std::string& key, const std::string& value) {
    v1::SetRequest request;
    request.set_namespace_(ns);
    request.set_key(key);
    request.set_value(value);
    v1::SetResponse response;
    grpc::ClientContext context;
    return stub_->Set(&context, request, &response);
  }

  v1::GetResponse Get(const std::string& ns, const std::string& key, grpc::Status* status) {
    v1::GetRequest request;
    request.set_namespace_(ns);
    request.set_key(key);
    v1::GetResponse response;
    grpc::ClientContext context;
    *status = stub_->Get(&context, request, &response);
    return response;
  }

  // Stores `count` entries named key_of(i) in `ns`, a thousand per MultiSet.
  template <typename KeyOf>
  void Fill(const std::string& ns, int count, KeyOf key_of, const std::string& value) {
    for (int begin = 0; begin < count; begin += limits::kMaxBatchItems) {
      v1::MultiSetRequest request;
      request.set_namespace_(ns);
      for (int i = begin; i < std::min(count, begin + limits::kMaxBatchItems); ++i) {
        v1::SetRequest* entry = request.add_entries();
        entry->set_key(key_of(i));
        entry->set_value(value);
      }
      v1::MultiSetResponse response;
      grpc::ClientContext context;
      ASSERT_TRUE(stub_->MultiSet(&context, request, &response).ok());
    }
  }

  grpc::Status Invalidate(const v1::InvalidateRequest& request, int64_t* deleted) {
    v1::InvalidateResponse response;
    grpc::ClientContext context;
    grpc::Status status = stub_->Invalidate(&context, request, &response);
    *deleted = response.deleted();
    return status;
  }

  // Runs `invalidate` on a thread while this one writes and reads other namespaces in a loop
  // (32 of them, so that some share any lock stripe with the invalidated one); returns the
  // slowest write or read, which must not wait for the invalidation.
  absl::Duration SlowestCallDuring(const v1::InvalidateRequest& invalidate, int64_t* deleted) {
    std::atomic<bool> done{false};
    std::thread invalidator([&] {
      EXPECT_TRUE(Invalidate(invalidate, deleted).ok());
      done = true;
    });
    absl::Duration slowest;
    for (int calls = 0; !done || calls < 100; ++calls) {
      const std::string ns = absl::StrCat("other", calls % 32);
      const absl::Time start = absl::Now();
      grpc::Status status = Set(ns, "k", absl::StrCat(calls));
      EXPECT_TRUE(status.ok()) << status.error_message();
      EXPECT_EQ(Get(ns, "k", &status).value(), absl::StrCat(calls));
      EXPECT_TRUE(status.ok()) << status.error_message();
      slowest = std::max(slowest, absl::Now() - start);
    }
    invalidator.join();
    RecordProperty("slowest_call_us", static_cast<int>(absl::ToInt64Microseconds(slowest)));
    return slowest;
  }

  std::string Metrics() {
    std::vector<std::string> host_port = absl::StrSplit(server_->metrics_address(), ':');
    int port = 0;
    EXPECT_TRUE(absl::SimpleAtoi(host_port[1], &port));
    httplib::Client http(host_port[0], port);
    auto response = http.Get("/metrics");
    return response ? response->body : "";
  }

  std::unique_ptr<LarderdProcess> server_;
  std::unique_ptr<v1::Cache::Stub> stub_;
};

TEST_P(LarderdBoundsTest, MultiGetAmplificationIsRefusedAndTheServerKeepsServing) {
  const std::string four_mib(4 << 20, 'v');
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(Set("big", absl::StrCat("k", i), four_mib).ok());
  v1::MultiGetRequest request;  // 1000 keys: each of the 20 values 50 times, 4 GB in all.
  request.set_namespace_("big");
  for (int i = 0; i < limits::kMaxBatchItems; ++i) request.add_keys(absl::StrCat("k", i % 20));
  v1::MultiGetResponse response;
  grpc::ClientContext context;
  grpc::Status status = stub_->MultiGet(&context, request, &response);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED);
  RecordProperty("error", status.error_message());
  EXPECT_THAT(status.error_message(), HasSubstr("--max-response-bytes"));
  EXPECT_THAT(status.error_message(), HasSubstr("67108864"));
  grpc::Status read;
  EXPECT_EQ(Get("big", "k7", &read).value().size(), four_mib.size());  // Nothing was lost.
  EXPECT_TRUE(read.ok());
  const int64_t peak_rss = PeakRssBytes(server_->process().pid());
  RecordProperty("peak_rss_mib", static_cast<int>(peak_rss >> 20));
  EXPECT_LT(peak_rss, int64_t{1} << 30);
}

TEST_P(LarderdBoundsTest, PathologicalPatternNeitherStallsOthersNorTakesLong) {
  const std::string long_a(3000, 'a');
  Fill(
      "victim", 2000, [&](int i) { return long_a + std::to_string(i); }, "v");
  v1::InvalidateRequest invalidate;
  invalidate.set_namespace_("victim");
  invalidate.set_pattern("*" + std::string(2048, 'a') + "b");
  int64_t deleted = -1;
  const absl::Time start = absl::Now();
  const absl::Duration slowest = SlowestCallDuring(invalidate, &deleted);
  RecordProperty("invalidate_us", static_cast<int>(absl::ToInt64Microseconds(absl::Now() - start)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_EQ(deleted, 0);
  EXPECT_LT(slowest, absl::Milliseconds(250));
}

TEST_P(LarderdBoundsTest, MaxLengthPatternOverAThousand4KiBKeysIsFast) {
  Fill(
      "keys", 1000, [](int i) { return std::string(4090, 'a') + absl::StrCat(100000 + i); }, "v");
  v1::InvalidateRequest invalidate;
  invalidate.set_namespace_("keys");
  invalidate.set_pattern("*" + std::string(limits::kMaxPatternBytes - 2, 'a') + "b");
  int64_t deleted = -1;
  const absl::Time start = absl::Now();
  ASSERT_TRUE(Invalidate(invalidate, &deleted).ok());
  RecordProperty("invalidate_us", static_cast<int>(absl::ToInt64Microseconds(absl::Now() - start)));
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_EQ(deleted, 0);
}

TEST_P(LarderdBoundsTest, InvalidatingAHundredThousandEntriesDoesNotStallOtherNamespaces) {
  Fill(
      "huge", 100000, [](int i) { return absl::StrCat("item:", i); }, std::string(100, 'x'));
  v1::InvalidateRequest invalidate;
  invalidate.set_namespace_("huge");
  invalidate.set_all(true);
  int64_t deleted = -1;
  const absl::Duration slowest = SlowestCallDuring(invalidate, &deleted);
  EXPECT_EQ(deleted, 100000);
  EXPECT_LT(slowest, absl::Milliseconds(250));
}

TEST_P(LarderdBoundsTest, KeysThatAreNotUtf8RoundTripAndWriteNoLogLines) {
  const int64_t log_before = FileSize(server_->process().log_path());
  for (int i = 0; i < 100; ++i) {
    const std::string key = std::string("\xff\xfe\0", 3) + static_cast<char>(i) + "\x80";
    ASSERT_TRUE(Set("bytes", key, absl::StrCat("v", i)).ok());
    grpc::Status status;
    EXPECT_EQ(Get("bytes", key, &status).value(), absl::StrCat("v", i));
  }
  grpc::Status status;
  Get("bad\xff", "k", &status);  // A namespace that is not valid.
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_THAT(status.error_message(), HasSubstr("namespace"));
  for (int i = 0; i < 100; ++i) Get("bad\xff\xfe", std::string(5000, '\xff'), &status);
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  EXPECT_EQ(FileSize(server_->process().log_path()), log_before) << server_->process().LogTail();
}

TEST_P(LarderdBoundsTest, ACallWhoseDeadlinePassesInTheQueueIsDroppedNotRun) {
  // Enough that the Invalidate takes well over the 100 ms the Stats calls below need.
  const int kEntries = GetParam() == "memory" ? 1000000 : 300000;
  Fill(
      "slow", kEntries, [](int i) { return absl::StrCat("item:", i); }, "x");
  v1::InvalidateRequest invalidate;  // Occupies the one namespace-operation thread a while.
  invalidate.set_namespace_("slow");
  invalidate.set_pattern("*");
  int64_t deleted = -1;
  std::atomic<bool> invalidated{false};
  std::thread invalidator([&] {
    EXPECT_TRUE(Invalidate(invalidate, &deleted).ok());
    invalidated = true;
  });
  absl::SleepFor(absl::Milliseconds(20));  // Let the Invalidate reach the thread first.
  for (int i = 0; i < 3; ++i) {  // Queued behind it with a deadline too short to wait that long.
    v1::StatsRequest request;
    request.set_namespace_("slow");
    v1::StatsResponse response;
    grpc::ClientContext context;
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(30));
    EXPECT_EQ(stub_->Stats(&context, request, &response).error_code(),
              grpc::StatusCode::DEADLINE_EXCEEDED);
  }
  EXPECT_FALSE(invalidated) << "the Invalidate ended before the Stats calls queued behind it";
  invalidator.join();
  EXPECT_EQ(deleted, kEntries);
  // larderd itself answered DEADLINE_EXCEEDED: the calls were dropped, not run late.
  EXPECT_THAT(Metrics(), HasSubstr("larder_requests_total{code=\"DEADLINE_EXCEEDED\","
                                   "method=\"Stats\"}"));
  v1::StatsRequest request;
  request.set_namespace_("slow");
  v1::StatsResponse response;
  grpc::ClientContext context;
  ASSERT_TRUE(stub_->Stats(&context, request, &response).ok());  // Served again at once.
  EXPECT_EQ(response.entries(), 0);
}

INSTANTIATE_TEST_SUITE_P(Engines, LarderdBoundsTest, ::testing::Values("memory", "rocksdb"),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           return info.param;
                         });

}  // namespace
}  // namespace larder

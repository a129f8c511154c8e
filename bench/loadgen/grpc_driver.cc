#include "bench/loadgen/grpc_driver.h"

#include <algorithm>
#include <chrono>
#include <limits>
#include <optional>
#include <random>
#include <thread>

#include "absl/strings/str_cat.h"
#include "grpcpp/grpcpp.h"

namespace larder::bench {

// One outstanding call: its context, reusable messages and its own random stream.
struct GrpcDriver::Slot {
  v1::Cache::Stub* stub = nullptr;
  std::mt19937_64 rng;
  std::optional<grpc::ClientContext> context;
  int64_t start_nanos = 0;
  v1::GetRequest get;
  v1::GetResponse get_reply;
  v1::MultiGetRequest multi_get;
  v1::MultiGetResponse multi_get_reply;
  v1::SetRequest set;
  v1::SetResponse set_reply;
};

namespace {

std::chrono::system_clock::time_point DeadlineAfter(absl::Duration timeout) {
  return std::chrono::system_clock::now() + absl::ToChronoNanoseconds(timeout);
}

std::shared_ptr<grpc::Channel> MakeChannel(const std::string& target, int index) {
  grpc::ChannelArguments args;
  // Distinct arguments and a private subchannel pool: one TCP connection per channel.
  args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
  args.SetInt("larder.bench.channel_index", index);
  args.SetMaxReceiveMessageSize(std::numeric_limits<int>::max());
  args.SetMaxSendMessageSize(std::numeric_limits<int>::max());
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

}  // namespace

GrpcDriver::GrpcDriver(const LoadOptions& options)
    : options_(options),
      chooser_(options.keys, options.distribution, options.zipf_s),
      values_(options.value_size) {}

GrpcDriver::~GrpcDriver() = default;

absl::StatusOr<std::unique_ptr<GrpcDriver>> GrpcDriver::Create(const LoadOptions& options) {
  auto driver = std::unique_ptr<GrpcDriver>(new GrpcDriver(options));
  for (int i = 0; i < std::max(1, options.channels); ++i) {
    std::shared_ptr<grpc::Channel> channel = MakeChannel(options.target, i);
    if (!channel->WaitForConnected(DeadlineAfter(options.timeout))) {
      return absl::UnavailableError(absl::StrCat("cannot connect to ", options.target));
    }
    driver->stubs_.push_back(v1::Cache::NewStub(channel));
  }
  for (int i = 0; i < std::max(1, options.inflight); ++i) {
    auto slot = std::make_unique<Slot>();
    slot->stub = driver->stubs_[i % driver->stubs_.size()].get();
    slot->rng.seed(0x5eed0000u + i);
    slot->get.set_namespace_(options.ns);
    slot->multi_get.set_namespace_(options.ns);
    for (int k = 0; k < options.batch; ++k) slot->multi_get.add_keys();
    slot->set.set_namespace_(options.ns);
    driver->slots_.push_back(std::move(slot));
  }
  return driver;
}

absl::Status GrpcDriver::PreloadShard(v1::Cache::Stub& stub, int shard, int shards) {
  const uint64_t batch = std::max(1, options_.preload_batch);
  v1::MultiSetRequest request;
  v1::MultiSetResponse response;
  request.set_namespace_(options_.ns);
  for (uint64_t first = shard * batch; first < options_.preload_keys; first += shards * batch) {
    request.clear_entries();
    const uint64_t end = std::min(first + batch, options_.preload_keys);
    for (uint64_t id = first; id < end; ++id) {
      v1::SetRequest* entry = request.add_entries();
      entry->set_key(KeyName(id));
      entry->set_value(std::string(values_.ValueFor(id)));
    }
    grpc::ClientContext context;
    context.set_deadline(DeadlineAfter(options_.timeout * 3));
    const grpc::Status status = stub.MultiSet(&context, request, &response);
    if (!status.ok()) {
      return absl::UnavailableError(absl::StrCat("preload MultiSet: ", status.error_message()));
    }
  }
  return absl::OkStatus();
}

absl::Status GrpcDriver::Preload() {
  const int shards = static_cast<int>(std::min<size_t>(4, stubs_.size() * 2));
  std::vector<absl::Status> results(shards);
  std::vector<std::thread> threads;
  for (int shard = 0; shard < shards; ++shard) {
    threads.emplace_back([this, shard, shards, &results] {
      results[shard] = PreloadShard(*stubs_[shard % stubs_.size()], shard, shards);
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const absl::Status& status : results) {
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

bool GrpcDriver::TakeBudget() { return budget_.fetch_sub(1, std::memory_order_relaxed) > 0; }

void GrpcDriver::Issue(Slot& slot, int64_t start_nanos) {
  slot.context.reset();
  slot.context.emplace();
  slot.context->set_deadline(DeadlineAfter(options_.timeout));
  slot.start_nanos = start_nanos;
  const bool write = options_.read_ratio < 1.0 &&
                     std::uniform_real_distribution<double>(0, 1)(slot.rng) >= options_.read_ratio;
  if (write) {
    const uint64_t id = chooser_.Next(slot.rng);
    slot.set.set_key(KeyName(id));
    slot.set.set_value(std::string(values_.ValueFor(id)));
    slot.stub->async()->Set(&*slot.context, &slot.set, &slot.set_reply,
                            [this, &slot](grpc::Status s) { OnDone(slot, s.ok(), 1, 0); });
  } else if (options_.operation == Operation::kGet) {
    slot.get.set_key(KeyName(chooser_.Next(slot.rng)));
    slot.stub->async()->Get(&*slot.context, &slot.get, &slot.get_reply,
                            [this, &slot](grpc::Status s) {
                              OnDone(slot, s.ok(), 1, s.ok() && !slot.get_reply.found() ? 1 : 0);
                            });
  } else {
    for (std::string& key : *slot.multi_get.mutable_keys()) key = KeyName(chooser_.Next(slot.rng));
    slot.stub->async()->MultiGet(&*slot.context, &slot.multi_get, &slot.multi_get_reply,
                                 [this, &slot](grpc::Status s) {
                                   int64_t misses = 0;
                                   for (const auto& result : slot.multi_get_reply.results())
                                     misses += !result.found();
                                   OnDone(slot, s.ok(), slot.multi_get.keys_size(), misses);
                                 });
  }
}

void GrpcDriver::OnDone(Slot& slot, bool ok, int64_t keys, int64_t misses) {
  const int64_t now = NowNanos();
  if (recording_.load(std::memory_order_relaxed)) {
    histogram_->Record(now - slot.start_nanos);
    ops_.fetch_add(1, std::memory_order_relaxed);
    keys_.fetch_add(keys, std::memory_order_relaxed);
    if (!ok) errors_.fetch_add(1, std::memory_order_relaxed);
    misses_.fetch_add(misses, std::memory_order_relaxed);
  }
  last_done_nanos_.store(now, std::memory_order_relaxed);
  if (closed_loop_ && !stopping_.load(std::memory_order_relaxed) && TakeBudget()) {
    Issue(slot, now);
    return;
  }
  Release(slot);
}

void GrpcDriver::Release(Slot& slot) {
  absl::MutexLock lock(&mutex_);
  --active_;
  if (!closed_loop_) idle_.push_back(&slot);
}

GrpcDriver::Slot* GrpcDriver::AcquireIdle(int64_t deadline_nanos) {
  absl::MutexLock lock(&mutex_);
  const int64_t wait = std::max<int64_t>(0, deadline_nanos - NowNanos());
  auto has_idle = [this]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) { return !idle_.empty(); };
  if (!mutex_.AwaitWithTimeout(absl::Condition(&has_idle), absl::Nanoseconds(wait))) {
    return nullptr;
  }
  Slot* slot = idle_.back();
  idle_.pop_back();
  ++active_;
  return slot;
}

void GrpcDriver::AwaitIdleAll(int64_t deadline_nanos) {
  absl::MutexLock lock(&mutex_);
  auto none_active = [this]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) { return active_ == 0; };
  const int64_t wait = std::max<int64_t>(0, deadline_nanos - NowNanos());
  mutex_.AwaitWithTimeout(absl::Condition(&none_active), absl::Nanoseconds(wait));
}

void GrpcDriver::RunClosedLoop(int64_t deadline_nanos) {
  std::vector<Slot*> starting;
  {
    absl::MutexLock lock(&mutex_);
    for (auto& slot : slots_) {
      if (!TakeBudget()) break;
      starting.push_back(slot.get());
      ++active_;
    }
  }
  for (Slot* slot : starting) Issue(*slot, NowNanos());
  AwaitIdleAll(deadline_nanos);  // Returns early when a count-bounded phase has run dry.
}

void GrpcDriver::RunOpenLoop(double rate, int64_t deadline_nanos) {
  const double interval = 1e9 / rate;
  const int64_t start = NowNanos();
  for (int64_t sent = 0;; ++sent) {
    const int64_t intended = start + static_cast<int64_t>(interval * static_cast<double>(sent));
    if (intended >= deadline_nanos || !TakeBudget()) break;
    const int64_t early = intended - NowNanos();
    if (early > 0) absl::SleepFor(absl::Nanoseconds(early));
    Slot* slot = AcquireIdle(deadline_nanos);
    if (slot == nullptr) break;
    Issue(*slot, intended);  // Latency counts from the intended start: no coordinated omission.
  }
}

absl::StatusOr<PhaseResult> GrpcDriver::RunPhase(const PhaseSpec& phase,
                                                 LatencyHistogram& histogram) {
  histogram_ = &histogram;
  ops_ = keys_ = errors_ = misses_ = 0;
  budget_ = phase.max_ops > 0 ? phase.max_ops : std::numeric_limits<int64_t>::max();
  closed_loop_ = phase.rate <= 0;
  stopping_ = false;
  recording_ = phase.record;
  {
    absl::MutexLock lock(&mutex_);
    idle_.clear();
    for (auto& slot : slots_) idle_.push_back(slot.get());
  }
  const int64_t start = NowNanos();
  const int64_t deadline = start + absl::ToInt64Nanoseconds(phase.duration);
  if (closed_loop_) {
    RunClosedLoop(deadline);
  } else {
    RunOpenLoop(phase.rate, deadline);
  }
  stopping_ = true;
  AwaitIdleAll(NowNanos() + absl::ToInt64Nanoseconds(options_.timeout + absl::Seconds(1)));
  {
    absl::MutexLock lock(&mutex_);
    if (active_ != 0) return absl::DeadlineExceededError("calls still outstanding at the end");
  }
  recording_ = false;
  PhaseResult result{ops_.load(), keys_.load(), errors_.load(), misses_.load(), 0};
  result.seconds = static_cast<double>(std::max(last_done_nanos_.load(), start) - start) / 1e9;
  return result;
}

}  // namespace larder::bench

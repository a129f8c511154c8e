#include "proxy/fetch_batcher.h"

#include <memory>
#include <utility>

#include "absl/container/flat_hash_map.h"

namespace larder::proxy::internal {

void FetchBatcher::Submit(std::vector<Item> items) {
  std::vector<Batch> batches;
  {
    absl::MutexLock lock(&mutex_);
    for (Item& item : items) waiting_.push_back(std::move(item));
    if (out_ > 0) return;  // The batch out sends them when it comes back.
    batches = TakeWaiting();
  }
  Send(std::move(batches));
}

std::vector<FetchBatcher::Batch> FetchBatcher::TakeWaiting() {
  std::vector<Item> items;
  items.swap(waiting_);
  std::vector<Batch> batches = Split(std::move(items));
  out_ += static_cast<int>(batches.size());  // Before sending: a batch may come back at once.
  return batches;
}

std::vector<FetchBatcher::Batch> FetchBatcher::Split(std::vector<Item> items) const {
  std::vector<Batch> batches;
  // Per group: the batch being filled and the index of each of its keys.
  absl::flat_hash_map<std::string, std::pair<size_t, absl::flat_hash_map<std::string, size_t>>>
      open;
  for (Item& item : items) {
    auto [it, fresh] = open.try_emplace(item.read.group);
    auto& [index, key_index] = it->second;
    if (fresh || (!key_index.contains(item.read.key) &&
                  batches[index].keys.size() >= static_cast<size_t>(max_keys_))) {
      index = batches.size();
      batches.emplace_back();
      key_index.clear();
    }
    Batch& batch = batches[index];
    auto [key, added] = key_index.try_emplace(item.read.key, batch.keys.size());
    if (added) batch.keys.push_back(item.read.key);
    batch.key_of.push_back(key->second);
    batch.items.push_back(std::move(item));
  }
  return batches;
}

void FetchBatcher::Send(std::vector<Batch> batches) {
  for (Batch& batch : batches) {
    auto shared = std::make_shared<Batch>(std::move(batch));
    shared->key_count = shared->keys.size();
    const std::string group = shared->items.front().read.group;
    std::vector<std::string> keys = std::move(shared->keys);
    app_.FetchMany(
        group, std::move(keys),
        [this, shared](std::vector<std::optional<std::string>> v) { Done(*shared, std::move(v)); });
  }
}

void FetchBatcher::Done(Batch& batch, std::vector<std::optional<std::string>> values) {
  // Values pair with keys by position only: a count that differs pairs nothing (each request
  // then goes to a worker), rather than risk answering one with another key's value.
  if (values.size() != batch.key_count) values.assign(batch.key_count, std::nullopt);
  std::vector<int> uses(values.size(), 0);
  for (size_t key : batch.key_of) {
    if (key < uses.size()) ++uses[key];
  }
  for (size_t i = 0; i < batch.items.size(); ++i) {
    const size_t key = batch.key_of[i];
    if (key >= values.size() || !values[key].has_value()) continue;
    // The last request sharing a key takes the value; the others copy it.
    batch.items[i].value = --uses[key] == 0 ? std::move(values[key]) : values[key];
  }
  DeliverByOwner(std::move(batch.items));
  std::vector<Batch> next;
  {
    absl::MutexLock lock(&mutex_);
    --out_;  // After delivering: AwaitIdle returns only once every item was handed back.
    if (out_ == 0) next = TakeWaiting();
  }
  Send(std::move(next));
}

void FetchBatcher::DeliverByOwner(std::vector<Item> items) {
  std::vector<std::vector<Item>> by_owner;
  for (Item& item : items) {
    const size_t owner = static_cast<size_t>(item.owner);
    if (owner >= by_owner.size()) by_owner.resize(owner + 1);
    by_owner[owner].push_back(std::move(item));
  }
  for (size_t owner = 0; owner < by_owner.size(); ++owner) {
    if (!by_owner[owner].empty()) deliver_(static_cast<int>(owner), std::move(by_owner[owner]));
  }
}

void FetchBatcher::AwaitIdle() {
  absl::MutexLock lock(&mutex_);
  auto idle = [this]() ABSL_SHARED_LOCKS_REQUIRED(mutex_) { return out_ == 0; };
  mutex_.Await(absl::Condition(&idle));
}

}  // namespace larder::proxy::internal

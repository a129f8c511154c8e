// The coherence history's line format and checker: see near_coherence_history.h.
#include "tests/client/near_coherence_history.h"

#include <time.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <utility>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace larder::testing {
namespace {

using Kind = CoherenceChange::Kind;
using Result = CoherenceRead::Result;

constexpr int64_t kNoTime = std::numeric_limits<int64_t>::max();

char KindLetter(Kind kind) {
  switch (kind) {
    case Kind::kWrite:
      return 'W';
    case Kind::kFailedWrite:
      return 'F';
    case Kind::kDelete:
      return 'D';
    case Kind::kPrefix:
      return 'P';
    case Kind::kTag:
      return 'T';
  }
  return '?';
}

char ResultLetter(Result result) {
  switch (result) {
    case Result::kValue:
      return 'v';
    case Result::kMiss:
      return 'm';
    case Result::kError:
      return 'e';
    case Result::kCorrupt:
      return 'c';
  }
  return '?';
}

bool ParseInts(const std::vector<absl::string_view>& fields, size_t first,
               std::initializer_list<int64_t*> out) {
  if (fields.size() != first + out.size()) return false;
  size_t i = first;
  for (int64_t* value : out) {
    if (!absl::SimpleAtoi(fields[i++], value)) return false;
  }
  return true;
}

bool ParseChange(const std::vector<absl::string_view>& fields, CoherenceHistory& history) {
  static const std::map<absl::string_view, Kind> kKinds = {{"W", Kind::kWrite},
                                                           {"F", Kind::kFailedWrite},
                                                           {"D", Kind::kDelete},
                                                           {"P", Kind::kPrefix},
                                                           {"T", Kind::kTag}};
  auto kind = kKinds.find(fields[0]);
  if (kind == kKinds.end() || fields.size() < 2) return false;
  CoherenceChange change;
  change.kind = kind->second;
  change.key = std::string(fields[1]);
  const bool parsed =
      change.kind == Kind::kFailedWrite
          ? ParseInts(fields, 2, {&change.version, &change.sent_ns})
          : ParseInts(fields, 2, {&change.version, &change.sent_ns, &change.ack_ns});
  if (parsed) history.changes.push_back(std::move(change));
  return parsed;
}

bool ParseRead(const std::vector<absl::string_view>& fields, CoherenceHistory& history) {
  static const std::map<absl::string_view, Result> kResults = {
      {"v", Result::kValue}, {"m", Result::kMiss}, {"e", Result::kError}, {"c", Result::kCorrupt}};
  if (fields.size() != 7) return false;
  auto result = kResults.find(fields[4]);
  CoherenceRead read;
  int64_t near = 0;
  if (result == kResults.end() || !absl::SimpleAtoi(fields[2], &read.start_ns) ||
      !absl::SimpleAtoi(fields[3], &read.end_ns) || !absl::SimpleAtoi(fields[5], &read.version) ||
      !absl::SimpleAtoi(fields[6], &near) || (near != 0 && near != 1)) {
    return false;
  }
  read.result = result->second;
  read.key = std::string(fields[1]);
  read.near = near == 1;
  history.reads.push_back(std::move(read));
  return true;
}

bool ParseLine(absl::string_view line, CoherenceHistory& history) {
  const std::vector<absl::string_view> fields = absl::StrSplit(line, ' ');
  if (fields.size() < 2) return false;
  if (fields[0] == "R") return ParseRead(fields, history);
  if (fields[0] == "G") {
    Stall stall;
    if (!ParseInts(fields, 1, {&stall.start_ns, &stall.end_ns})) return false;
    history.stalls.push_back(stall);
    return true;
  }
  if (fields[0] == "S") {
    FirstSighting sighting;
    sighting.key = std::string(fields[1]);
    if (!ParseInts(fields, 2, {&sighting.version, &sighting.seen_ns})) return false;
    history.sightings.push_back(std::move(sighting));
    return true;
  }
  return ParseChange(fields, history);
}

// Per key: the acknowledged changes sorted by obsoletes_below, with the earliest
// acknowledgement among each change and those after it (so among every change that makes a
// given version old), and every version sent.
struct KeyChanges {
  std::vector<std::pair<int64_t, int64_t>> by_threshold;  // (obsoletes_below, ack_ns)
  std::vector<int64_t> earliest_ack_from;
  std::set<int64_t> sent;
  std::set<int64_t> failed;
};

std::map<std::string, KeyChanges> IndexChanges(const std::vector<CoherenceChange>& changes) {
  std::map<std::string, KeyChanges> index;
  for (const CoherenceChange& change : changes) {
    KeyChanges& key = index[change.key];
    if (change.kind == Kind::kWrite || change.kind == Kind::kFailedWrite) {
      key.sent.insert(change.version);
    }
    if (change.kind == Kind::kFailedWrite) key.failed.insert(change.version);
    if (change.acknowledged())
      key.by_threshold.emplace_back(change.obsoletes_below(), change.ack_ns);
  }
  for (auto& [name, key] : index) {
    std::sort(key.by_threshold.begin(), key.by_threshold.end());
    key.earliest_ack_from.assign(key.by_threshold.size() + 1, kNoTime);
    for (size_t i = key.by_threshold.size(); i-- > 0;) {
      key.earliest_ack_from[i] = std::min(key.earliest_ack_from[i + 1], key.by_threshold[i].second);
    }
  }
  return index;
}

// The acknowledgement time of the first change that makes `version` old; kNoTime when none.
int64_t FirstObsoletingAck(const KeyChanges& key, int64_t version) {
  auto first = std::upper_bound(key.by_threshold.begin(), key.by_threshold.end(),
                                std::make_pair(version, std::numeric_limits<int64_t>::max()));
  return key.earliest_ack_from[static_cast<size_t>(first - key.by_threshold.begin())];
}

// How much of [from, to] the stalls cover.
int64_t StalledWithin(const std::vector<Stall>& stalls, int64_t from, int64_t to) {
  int64_t stalled = 0;
  for (const Stall& stall : stalls) {
    stalled += std::max<int64_t>(0, std::min(to, stall.end_ns) - std::max(from, stall.start_ns));
  }
  return stalled;
}

void CheckValue(const CoherenceRead& read, const std::map<std::string, KeyChanges>& index,
                int64_t delta_ns, const std::vector<Stall>& stalls, CoherenceReport& report) {
  static const KeyChanges kNone = [] {
    KeyChanges none;
    none.earliest_ack_from.assign(1, kNoTime);
    return none;
  }();
  auto found = index.find(read.key);
  const KeyChanges& key = found == index.end() ? kNone : found->second;
  if (key.sent.count(read.version) == 0) {
    report.violations.push_back({read, absl::StrCat("version ", read.version, " never sent"), 0});
    return;
  }
  if (key.failed.count(read.version) != 0) {
    ++report.unacknowledged_values;
    return;
  }
  const int64_t first_ack = FirstObsoletingAck(key, read.version);
  if (first_ack >= read.start_ns) return;
  const int64_t lag = read.start_ns - first_ack;
  report.lags_ns.push_back(lag);
  if (lag <= delta_ns) return;
  const int64_t stalled = StalledWithin(stalls, first_ack, read.start_ns);
  if (lag - stalled <= delta_ns) {
    ++report.excused_by_stalls;
    return;
  }
  report.violations.push_back(
      {read,
       absl::StrCat("version ", read.version, " read ", lag / 1000,
                    " us after it was old (process stalled ", stalled / 1000, " us of it)"),
       lag, stalled});
}

}  // namespace

int64_t MonotonicNanos() {
  timespec now{};
  clock_gettime(CLOCK_MONOTONIC, &now);
  return int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
}

std::string VersionedValue(absl::string_view key, int64_t version) {
  return absl::StrCat(key, ":", version);
}

std::optional<int64_t> ParseVersionedValue(absl::string_view key, absl::string_view value) {
  int64_t version = 0;
  if (!absl::ConsumePrefix(&value, key) || !absl::ConsumePrefix(&value, ":") ||
      !absl::SimpleAtoi(value, &version) || version <= 0) {
    return std::nullopt;
  }
  return version;
}

CoherenceChange CoherenceChange::Write(std::string key, int64_t version, int64_t sent_ns,
                                       int64_t ack_ns) {
  return {Kind::kWrite, std::move(key), version, sent_ns, ack_ns};
}

CoherenceChange CoherenceChange::FailedWrite(std::string key, int64_t version, int64_t sent_ns) {
  return {Kind::kFailedWrite, std::move(key), version, sent_ns, 0};
}

CoherenceChange CoherenceChange::Removal(Kind kind, std::string key, int64_t floor, int64_t sent_ns,
                                         int64_t ack_ns) {
  return {kind, std::move(key), floor, sent_ns, ack_ns};
}

int64_t CoherenceChange::obsoletes_below() const {
  switch (kind) {
    case Kind::kWrite:
      return version;
    case Kind::kFailedWrite:
      return 0;
    case Kind::kDelete:
    case Kind::kPrefix:
    case Kind::kTag:
      return version + 1;
  }
  return 0;
}

CoherenceRead CoherenceRead::Value(std::string key, int64_t start_ns, int64_t end_ns,
                                   int64_t version, bool near) {
  return {Result::kValue, std::move(key), start_ns, end_ns, version, near};
}

CoherenceRead CoherenceRead::Other(Result result, std::string key, int64_t start_ns, int64_t end_ns,
                                   bool near) {
  return {result, std::move(key), start_ns, end_ns, 0, near};
}

std::string FormatLine(const CoherenceChange& change) {
  std::string line = absl::StrCat(std::string(1, KindLetter(change.kind)), " ", change.key, " ",
                                  change.version, " ", change.sent_ns);
  if (change.acknowledged()) absl::StrAppend(&line, " ", change.ack_ns);
  return line;
}

std::string FormatLine(const CoherenceRead& read) {
  return absl::StrCat("R ", read.key, " ", read.start_ns, " ", read.end_ns, " ",
                      std::string(1, ResultLetter(read.result)), " ", read.version, " ",
                      read.near ? 1 : 0);
}

std::string FormatLine(const FirstSighting& sighting) {
  return absl::StrCat("S ", sighting.key, " ", sighting.version, " ", sighting.seen_ns);
}

StallWatch::StallWatch(absl::Duration threshold)
    : threshold_ns_(absl::ToInt64Nanoseconds(threshold)), thread_([this] { Watch(); }) {}

StallWatch::~StallWatch() { Stop(); }

std::vector<Stall> StallWatch::Stop() {
  stopping_ = true;
  if (thread_.joinable()) thread_.join();
  return stalls_;
}

void StallWatch::Watch() {
  constexpr int64_t kTickNs = 1'000'000;
  while (!stopping_) {
    const int64_t before = MonotonicNanos();
    const timespec tick{0, kTickNs};
    nanosleep(&tick, nullptr);
    const int64_t after = MonotonicNanos();
    if (after - before - kTickNs > threshold_ns_) stalls_.push_back({before + kTickNs, after});
  }
}

std::string FormatLine(const Stall& stall) {
  return absl::StrCat("G ", stall.start_ns, " ", stall.end_ns);
}

absl::Status ParseHistory(absl::string_view text, CoherenceHistory& history) {
  for (absl::string_view line : absl::StrSplit(text, '\n', absl::SkipEmpty())) {
    if (!ParseLine(line, history)) {
      return absl::DataLossError(absl::StrCat("unparsable history line \"", line, "\""));
    }
  }
  return absl::OkStatus();
}

absl::Status ReadHistoryFile(const std::string& path, CoherenceHistory& history) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream text;
  text << in.rdbuf();
  return ParseHistory(text.str(), history);
}

void CoherenceReport::Add(const CoherenceReport& other) {
  reads += other.reads;
  values += other.values;
  misses += other.misses;
  errors += other.errors;
  near += other.near;
  unacknowledged_values += other.unacknowledged_values;
  lags_ns.insert(lags_ns.end(), other.lags_ns.begin(), other.lags_ns.end());
  excused_by_stalls += other.excused_by_stalls;
  violations.insert(violations.end(), other.violations.begin(), other.violations.end());
}

CoherenceReport CheckCoherence(const std::vector<CoherenceChange>& changes,
                               const std::vector<CoherenceRead>& reads, absl::Duration delta,
                               const std::vector<Stall>& stalls) {
  const std::map<std::string, KeyChanges> index = IndexChanges(changes);
  const int64_t delta_ns = absl::ToInt64Nanoseconds(delta);
  CoherenceReport report;
  for (const CoherenceRead& read : reads) {
    ++report.reads;
    if (read.near) ++report.near;
    switch (read.result) {
      case Result::kMiss:
        ++report.misses;
        break;
      case Result::kError:
        ++report.errors;
        break;
      case Result::kCorrupt:
        report.violations.push_back({read, "a value that is not \"<key>:<version>\"", 0});
        break;
      case Result::kValue:
        ++report.values;
        CheckValue(read, index, delta_ns, stalls, report);
        break;
    }
  }
  return report;
}

std::vector<int64_t> PropagationDelays(const std::vector<CoherenceChange>& changes,
                                       const std::vector<FirstSighting>& sightings) {
  std::map<std::pair<std::string, int64_t>, int64_t> acked;  // (key, version) -> ack_ns
  for (const CoherenceChange& change : changes) {
    if (change.kind == Kind::kWrite) acked[{change.key, change.version}] = change.ack_ns;
  }
  std::vector<int64_t> delays;
  for (const FirstSighting& sighting : sightings) {
    auto write = acked.find({sighting.key, sighting.version});
    if (write != acked.end()) delays.push_back(sighting.seen_ns - write->second);
  }
  return delays;
}

LatencySummary Summarize(std::vector<int64_t> samples_ns) {
  LatencySummary summary;
  summary.count = static_cast<int64_t>(samples_ns.size());
  if (samples_ns.empty()) return summary;
  std::sort(samples_ns.begin(), samples_ns.end());
  auto rank = [&](double quantile) {
    const double rank = std::ceil(quantile * static_cast<double>(samples_ns.size()));
    const size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
    return absl::Nanoseconds(samples_ns[std::min(index, samples_ns.size() - 1)]);
  };
  summary.p50 = rank(0.50);
  summary.p99 = rank(0.99);
  summary.max = absl::Nanoseconds(samples_ns.back());
  return summary;
}

std::string FormatSummary(const LatencySummary& summary) {
  return absl::StrCat("p50 ", absl::FormatDuration(summary.p50), " p99 ",
                      absl::FormatDuration(summary.p99), " max ", absl::FormatDuration(summary.max),
                      " (n=", summary.count, ")");
}

}  // namespace larder::testing

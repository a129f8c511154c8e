#include "client/src/httplib/replay.h"

#include <regex>
#include <vector>

#include "absl/strings/str_cat.h"

namespace larder::httplib::internal {
namespace {

struct Group {
  size_t start = 0;
  size_t end = 0;
  std::vector<size_t> children;
};

std::string Any(size_t count) { return count == 0 ? "" : absl::StrCat("[\\s\\S]{", count, "}"); }

std::string Emit(const std::vector<Group>& groups, size_t index) {
  const Group& group = groups[index];
  std::string pattern;
  size_t cursor = group.start;
  for (size_t child : group.children) {
    absl::StrAppend(&pattern, Any(groups[child].start - cursor), "(", Emit(groups, child), ")");
    cursor = groups[child].end;
  }
  absl::StrAppend(&pattern, Any(group.end - cursor));
  return pattern;
}

}  // namespace

std::string PositionalPattern(const ::httplib::Match& matches, size_t subject_size) {
  if (matches.empty()) return "";
  std::vector<Group> groups(matches.size());
  groups[0] = Group{0, subject_size, {}};
  std::vector<size_t> open = {0};
  for (size_t i = 1; i < matches.size(); ++i) {
    if (!matches[i].matched) return "";
    const size_t start = static_cast<size_t>(matches.position(i));
    groups[i] = Group{start, start + static_cast<size_t>(matches.length(i)), {}};
    while (!open.empty() &&
           !(groups[open.back()].start <= start && groups[i].end <= groups[open.back()].end)) {
      open.pop_back();
    }
    if (open.empty()) return "";
    Group& parent = groups[open.back()];
    if (!parent.children.empty() && groups[parent.children.back()].end > start) return "";
    parent.children.push_back(i);
    open.push_back(i);
  }
  return Emit(groups, 0);
}

namespace {

// The copy of ReplayableCopy, still mutable. Its matches point into its own path, so fields other
// than path and matches may change afterwards.
std::shared_ptr<::httplib::Request> MutableReplayableCopy(const ::httplib::Request& original) {
  auto copy = std::make_shared<::httplib::Request>();
  copy->method = original.method;
  copy->path = original.path;
  copy->headers = original.headers;
  copy->body = original.body;
  copy->remote_addr = original.remote_addr;
  copy->remote_port = original.remote_port;
  copy->local_addr = original.local_addr;
  copy->local_port = original.local_port;
  copy->version = original.version;
  copy->target = original.target;
  copy->params = original.params;
  copy->files = original.files;
  copy->ranges = original.ranges;
  if (original.matches.empty()) return copy;
  if (original.matches.position(0) != 0 ||
      static_cast<size_t>(original.matches.length(0)) != original.path.size()) {
    return nullptr;
  }
  const std::string pattern = PositionalPattern(original.matches, original.path.size());
  if (pattern.empty() && original.matches.size() > 1) return nullptr;
  if (!std::regex_match(copy->path, copy->matches, std::regex(pattern)) ||
      copy->matches.size() != original.matches.size()) {
    return nullptr;
  }
  for (size_t i = 0; i < original.matches.size(); ++i) {
    if (copy->matches.str(i) != original.matches.str(i)) return nullptr;
  }
  return copy;
}

}  // namespace

std::shared_ptr<const ::httplib::Request> ReplayableCopy(const ::httplib::Request& original) {
  return MutableReplayableCopy(original);
}

std::shared_ptr<const ::httplib::Request> ReplayableCopyWithHeaders(
    const ::httplib::Request& original, const http::Headers& headers) {
  std::shared_ptr<::httplib::Request> copy = MutableReplayableCopy(original);
  if (copy == nullptr) return nullptr;
  // cpp-httplib's header map compares names case-insensitively.
  for (const http::Headers::Field& field : headers.fields()) copy->headers.erase(field.first);
  for (const http::Headers::Field& field : headers.fields()) {
    copy->headers.emplace(field.first, field.second);
  }
  return copy;
}

}  // namespace larder::httplib::internal

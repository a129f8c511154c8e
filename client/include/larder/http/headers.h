// Headers: an ordered list of HTTP header fields with case-insensitive lookup, the one header
// container of the framework-free HTTP caching core.
//
//   larder::http::Headers headers;
//   headers.Add("Accept-Language", "en");
//   headers.Get("accept-language");          // "en"
//   headers.Set("Cache-Control", "no-cache");  // replaces every existing Cache-Control
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace larder::http {

// Field names compare case-insensitively (RFC 9110 section 5.1); values are kept as given.
// Not thread-safe for writes; const access from many threads is fine.
class Headers {
 public:
  using Field = std::pair<std::string, std::string>;

  Headers() = default;
  Headers(std::initializer_list<Field> fields) : fields_(fields) {}

  // Appends a field, keeping any existing ones with the same name.
  void Add(absl::string_view name, absl::string_view value);
  // Replaces every field named `name` by one with `value`.
  void Set(absl::string_view name, absl::string_view value);
  // Removes every field named `name`; returns how many were removed.
  size_t Remove(absl::string_view name);

  bool Has(absl::string_view name) const;
  // The first field named `name`, or nullopt.
  std::optional<std::string> Get(absl::string_view name) const;
  // Every value of `name`, in order.
  std::vector<std::string> GetAll(absl::string_view name) const;
  // Every value of `name` joined with ", " (the list form of RFC 9110 section 5.3); empty when
  // absent.
  std::string GetJoined(absl::string_view name) const;

  const std::vector<Field>& fields() const { return fields_; }
  bool empty() const { return fields_.empty(); }
  size_t size() const { return fields_.size(); }

  friend bool operator==(const Headers& a, const Headers& b) { return a.fields_ == b.fields_; }

 private:
  std::vector<Field> fields_;
};

// True when two field names are equal ignoring ASCII case.
bool HeaderNameEquals(absl::string_view a, absl::string_view b);

// True when `text` is an RFC 9110 token (section 5.6.2), as every method and field name is: one
// or more of the letters, digits and !#$%&'*+-.^_`|~. O(text), a table lookup per byte.
bool IsToken(absl::string_view text);

// True when `value` may be a field value (RFC 9110 section 5.5): visible ASCII, SP, HTAB and
// obs-text; no other control byte (no CR, LF, NUL or DEL). O(value).
bool IsFieldValue(absl::string_view value);

}  // namespace larder::http

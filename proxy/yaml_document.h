// A parsed YAML document (libyaml's yaml_document_t, freed with its owner) restricted to what a
// configuration file needs: one document of mappings, sequences and scalars, at most `max_depth`
// collections deep, without anchors, aliases or explicit tags (an alias would let a few bytes
// stand for an exponential tree: "billion laughs"). YamlReader reads typed values from it with
// one-line errors naming the source, line and field.
//
//   absl::StatusOr<std::unique_ptr<YamlDocument>> doc =
//       YamlDocument::Parse("max_ttl: 10m\n", "routes.yaml", /*max_depth=*/8);
//   const yaml_node_t* root = (*doc)->root();              // nullptr for an empty document
//   YamlReader reader(**doc, "routes.yaml");
//   absl::StatusOr<std::vector<YamlField>> fields = reader.Mapping({root, ""}, {"max_ttl"});
//   absl::StatusOr<absl::Duration> ttl = reader.Duration((*fields)[0].value);
#pragma once

#include <yaml.h>

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace larder::proxy::internal {

class YamlDocument {
 public:
  // One key and its value in a mapping.
  struct Pair {
    const yaml_node_t* key;
    const yaml_node_t* value;
  };

  // Parses `text`. kInvalidArgument "<source>:<line>: <problem>" for a syntax error, a second
  // document, an anchor, an alias, an explicit tag, or collections nested deeper than
  // `max_depth`. O(text size).
  static absl::StatusOr<std::unique_ptr<YamlDocument>> Parse(absl::string_view text,
                                                             absl::string_view source,
                                                             int max_depth);

  YamlDocument(const YamlDocument&) = delete;
  YamlDocument& operator=(const YamlDocument&) = delete;
  ~YamlDocument();

  // The top node; nullptr when the text holds no document (empty, or only comments).
  const yaml_node_t* root() const;
  // The items of a sequence node (empty for other kinds), in order.
  std::vector<const yaml_node_t*> Items(const yaml_node_t& sequence) const;
  // The pairs of a mapping node (empty for other kinds), in order.
  std::vector<Pair> Pairs(const yaml_node_t& mapping) const;

  // The 1-based line where `node` starts.
  static int Line(const yaml_node_t& node);
  // The text of a scalar node ("" for other kinds).
  static absl::string_view Scalar(const yaml_node_t& node);
  // "a mapping", "a sequence" or "a scalar", for messages.
  static absl::string_view KindName(const yaml_node_t& node);

 private:
  YamlDocument() = default;

  const yaml_node_t* Node(int index) const;

  // Filled by yaml_parser_load; owned (yaml_document_delete) once `loaded_`.
  mutable yaml_document_t document_{};
  bool loaded_ = false;
};

// A node and the field path naming it in messages ("routes[1].max_ttl"; "" for the top level).
struct YamlValue {
  const yaml_node_t* node;
  std::string path;
};

// One key of a mapping and its value (whose path ends with the key).
struct YamlField {
  std::string key;
  const yaml_node_t* key_node;
  YamlValue value;
};

// Typed reads of a document's values. Every error is kInvalidArgument, one line:
// "<source>:<line>: <path>: <problem>" (without "<path>: " for the top level). Each read is
// O(size of the value).
class YamlReader {
 public:
  YamlReader(const YamlDocument& document, absl::string_view source)
      : document_(document), source_(source) {}

  const YamlDocument& document() const { return document_; }

  // The error naming `value`'s line and path; control bytes of `problem` are escaped and a long
  // one is shortened.
  absl::Status Error(const YamlValue& value, absl::string_view problem) const;

  // A scalar's text; `expected` names what was expected ("a string") when it is not a scalar.
  absl::StatusOr<absl::string_view> Scalar(const YamlValue& value,
                                           absl::string_view expected) const;
  absl::StatusOr<std::string> String(const YamlValue& value) const;
  absl::StatusOr<std::string> NonEmptyString(const YamlValue& value) const;
  // true or false only: YAML 1.1's yes/no/on/off are refused, as they surprise.
  absl::StatusOr<bool> Bool(const YamlValue& value) const;
  // "30s", "10m", "1h", "1.5s", "1h30m" (absl::ParseDuration) or a bare number of seconds;
  // never negative or infinite.
  absl::StatusOr<absl::Duration> Duration(const YamlValue& value) const;
  // The items of a sequence, each with its path ("vary[2]").
  absl::StatusOr<std::vector<YamlValue>> Sequence(const YamlValue& value) const;
  // A sequence of non-empty strings.
  absl::StatusOr<std::vector<std::string>> Strings(const YamlValue& value) const;
  // The fields of a mapping, in order, refusing non-scalar, duplicate and unknown keys.
  absl::StatusOr<std::vector<YamlField>> Mapping(const YamlValue& value,
                                                 const std::vector<absl::string_view>& known) const;

  // 'text' for messages: control bytes escaped, shortened when long.
  static std::string Quote(absl::string_view text);

 private:
  const YamlDocument& document_;
  std::string source_;
};

}  // namespace larder::proxy::internal

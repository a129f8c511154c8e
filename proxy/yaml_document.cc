#include "proxy/yaml_document.h"

#include <algorithm>
#include <cstdint>
#include <string>
#include <utility>

#include "absl/status/status.h"
#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "larder/common/status_macros.h"

namespace larder::proxy::internal {
namespace {

// How much of a value a message quotes, and the longest problem a message states.
constexpr size_t kMaxQuotedBytes = 80;
constexpr size_t kMaxProblemBytes = 400;

// `text` with control bytes written as \xNN, so that a message stays on one line.
std::string Printable(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x20 || byte == 0x7f) {
      absl::StrAppendFormat(&out, "\\x%02x", byte);
    } else {
      out.push_back(c);
    }
  }
  return out;
}

std::string ChildPath(absl::string_view parent, absl::string_view key) {
  return parent.empty() ? std::string(key) : absl::StrCat(parent, ".", key);
}

// A libyaml parser reading `text`, freed on scope exit.
class Parser {
 public:
  explicit Parser(absl::string_view text) {
    initialized_ = yaml_parser_initialize(&parser_) != 0;
    if (initialized_) {
      yaml_parser_set_input_string(&parser_, reinterpret_cast<const unsigned char*>(text.data()),
                                   text.size());
    }
  }
  Parser(const Parser&) = delete;
  Parser& operator=(const Parser&) = delete;
  ~Parser() {
    if (initialized_) yaml_parser_delete(&parser_);
  }

  bool initialized() const { return initialized_; }
  yaml_parser_t* get() { return &parser_; }

 private:
  yaml_parser_t parser_{};
  bool initialized_ = false;
};

// One parser event, freed on scope exit.
class Event {
 public:
  Event() = default;
  Event(const Event&) = delete;
  Event& operator=(const Event&) = delete;
  ~Event() { yaml_event_delete(&event_); }

  yaml_event_t* get() { return &event_; }

 private:
  yaml_event_t event_{};
};

absl::Status Error(absl::string_view source, size_t zero_based_line, absl::string_view problem) {
  return absl::InvalidArgumentError(absl::StrCat(source, ":", zero_based_line + 1, ": ", problem));
}

absl::Status ParserError(yaml_parser_t& parser, absl::string_view text, absl::string_view source) {
  if (parser.error == YAML_MEMORY_ERROR) {
    return absl::ResourceExhaustedError(absl::StrCat(source, ": out of memory parsing YAML"));
  }
  const std::string problem = parser.problem != nullptr ? parser.problem : "unknown problem";
  if (parser.error == YAML_READER_ERROR) {
    // Reader errors carry a byte offset, not a mark.
    const size_t offset = std::min(parser.problem_offset, text.size());
    const size_t line = std::count(text.begin(), text.begin() + offset, '\n');
    return Error(source, line, absl::StrCat("not valid YAML: ", problem, " at byte ", offset));
  }
  std::string context;
  if (parser.context != nullptr) {
    context = absl::StrCat(" (", parser.context, " on line ", parser.context_mark.line + 1, ")");
  }
  return Error(source, parser.problem_mark.line,
               absl::StrCat("not valid YAML: ", problem, context));
}

// The anchor and tag of a node event; nullptr when absent.
void AnchorAndTag(const yaml_event_t& event, const yaml_char_t** anchor, const yaml_char_t** tag) {
  *anchor = nullptr;
  *tag = nullptr;
  if (event.type == YAML_SCALAR_EVENT) {
    *anchor = event.data.scalar.anchor;
    *tag = event.data.scalar.tag;
  } else if (event.type == YAML_SEQUENCE_START_EVENT) {
    *anchor = event.data.sequence_start.anchor;
    *tag = event.data.sequence_start.tag;
  } else if (event.type == YAML_MAPPING_START_EVENT) {
    *anchor = event.data.mapping_start.anchor;
    *tag = event.data.mapping_start.tag;
  }
}

// Refuses what the document must not contain, event by event, before anything is built.
class EventChecker {
 public:
  EventChecker(absl::string_view source, int max_depth) : source_(source), max_depth_(max_depth) {}

  absl::Status Check(const yaml_event_t& event) {
    const size_t line = event.start_mark.line;
    const yaml_char_t* anchor;
    const yaml_char_t* tag;
    AnchorAndTag(event, &anchor, &tag);
    if (event.type == YAML_ALIAS_EVENT) {
      return Error(source_, line, "aliases (*name) are not allowed: write the value out");
    }
    if (anchor != nullptr) {
      return Error(source_, line, "anchors (&name) are not allowed: write the value out");
    }
    if (tag != nullptr) {
      return Error(source_, line, "explicit YAML tags (!tag) are not allowed");
    }
    switch (event.type) {
      case YAML_DOCUMENT_START_EVENT:
        if (++documents_ > 1) return Error(source_, line, "only one YAML document is allowed");
        break;
      case YAML_SEQUENCE_START_EVENT:
      case YAML_MAPPING_START_EVENT:
        if (++depth_ > max_depth_) {
          return Error(source_, line, absl::StrCat("nested deeper than ", max_depth_, " levels"));
        }
        break;
      case YAML_SEQUENCE_END_EVENT:
      case YAML_MAPPING_END_EVENT:
        --depth_;
        break;
      default:
        break;
    }
    return absl::OkStatus();
  }

 private:
  absl::string_view source_;
  int max_depth_;
  int depth_ = 0;
  int documents_ = 0;
};

absl::Status CheckEvents(absl::string_view text, absl::string_view source, int max_depth) {
  Parser parser(text);
  if (!parser.initialized()) {
    return absl::ResourceExhaustedError(absl::StrCat(source, ": out of memory parsing YAML"));
  }
  EventChecker checker(source, max_depth);
  while (true) {
    Event event;
    if (yaml_parser_parse(parser.get(), event.get()) == 0) {
      return ParserError(*parser.get(), text, source);
    }
    LARDER_RETURN_IF_ERROR(checker.Check(*event.get()));
    if (event.get()->type == YAML_STREAM_END_EVENT) return absl::OkStatus();
  }
}

}  // namespace

absl::StatusOr<std::unique_ptr<YamlDocument>> YamlDocument::Parse(absl::string_view text,
                                                                  absl::string_view source,
                                                                  int max_depth) {
  // The events first: the document is only built from text known to be small and alias-free.
  LARDER_RETURN_IF_ERROR(CheckEvents(text, source, max_depth));
  Parser parser(text);
  if (!parser.initialized()) {
    return absl::ResourceExhaustedError(absl::StrCat(source, ": out of memory parsing YAML"));
  }
  std::unique_ptr<YamlDocument> document(new YamlDocument());
  // On failure yaml_parser_load frees what it built itself.
  if (yaml_parser_load(parser.get(), &document->document_) == 0) {
    return ParserError(*parser.get(), text, source);
  }
  document->loaded_ = true;
  return document;
}

YamlDocument::~YamlDocument() {
  if (loaded_) yaml_document_delete(&document_);
}

const yaml_node_t* YamlDocument::root() const { return yaml_document_get_root_node(&document_); }

const yaml_node_t* YamlDocument::Node(int index) const {
  return yaml_document_get_node(&document_, index);
}

std::vector<const yaml_node_t*> YamlDocument::Items(const yaml_node_t& sequence) const {
  std::vector<const yaml_node_t*> items;
  if (sequence.type != YAML_SEQUENCE_NODE) return items;
  const yaml_node_item_t* start = sequence.data.sequence.items.start;
  const yaml_node_item_t* top = sequence.data.sequence.items.top;
  items.reserve(top - start);
  for (const yaml_node_item_t* item = start; item < top; ++item) {
    if (const yaml_node_t* node = Node(*item); node != nullptr) items.push_back(node);
  }
  return items;
}

std::vector<YamlDocument::Pair> YamlDocument::Pairs(const yaml_node_t& mapping) const {
  std::vector<Pair> pairs;
  if (mapping.type != YAML_MAPPING_NODE) return pairs;
  const yaml_node_pair_t* start = mapping.data.mapping.pairs.start;
  const yaml_node_pair_t* top = mapping.data.mapping.pairs.top;
  pairs.reserve(top - start);
  for (const yaml_node_pair_t* pair = start; pair < top; ++pair) {
    const yaml_node_t* key = Node(pair->key);
    const yaml_node_t* value = Node(pair->value);
    if (key != nullptr && value != nullptr) pairs.push_back(Pair{key, value});
  }
  return pairs;
}

int YamlDocument::Line(const yaml_node_t& node) {
  return static_cast<int>(node.start_mark.line) + 1;
}

absl::string_view YamlDocument::Scalar(const yaml_node_t& node) {
  if (node.type != YAML_SCALAR_NODE || node.data.scalar.value == nullptr) return "";
  return absl::string_view(reinterpret_cast<const char*>(node.data.scalar.value),
                           node.data.scalar.length);
}

absl::string_view YamlDocument::KindName(const yaml_node_t& node) {
  switch (node.type) {
    case YAML_MAPPING_NODE:
      return "a mapping";
    case YAML_SEQUENCE_NODE:
      return "a sequence";
    case YAML_SCALAR_NODE:
      return "a scalar";
    default:
      return "nothing";
  }
}

// --- YamlReader ---------------------------------------------------------------------------

std::string YamlReader::Quote(absl::string_view text) {
  if (text.size() <= kMaxQuotedBytes) return absl::StrCat("'", Printable(text), "'");
  return absl::StrCat("'", Printable(text.substr(0, kMaxQuotedBytes)), "...'");
}

absl::Status YamlReader::Error(const YamlValue& value, absl::string_view problem) const {
  std::string text = Printable(problem.substr(0, kMaxProblemBytes));
  if (problem.size() > kMaxProblemBytes) text += "...";
  return absl::InvalidArgumentError(absl::StrCat(source_, ":", YamlDocument::Line(*value.node),
                                                 ": ", value.path, value.path.empty() ? "" : ": ",
                                                 text));
}

absl::StatusOr<absl::string_view> YamlReader::Scalar(const YamlValue& value,
                                                     absl::string_view expected) const {
  if (value.node->type != YAML_SCALAR_NODE) {
    return Error(
        value, absl::StrCat("expected ", expected, ", got ", YamlDocument::KindName(*value.node)));
  }
  return YamlDocument::Scalar(*value.node);
}

absl::StatusOr<std::string> YamlReader::String(const YamlValue& value) const {
  LARDER_ASSIGN_OR_RETURN(absl::string_view text, Scalar(value, "a string"));
  return std::string(text);
}

absl::StatusOr<std::string> YamlReader::NonEmptyString(const YamlValue& value) const {
  LARDER_ASSIGN_OR_RETURN(std::string text, String(value));
  if (text.empty()) return Error(value, "must not be empty");
  return text;
}

absl::StatusOr<bool> YamlReader::Bool(const YamlValue& value) const {
  LARDER_ASSIGN_OR_RETURN(absl::string_view text, Scalar(value, "true or false"));
  if (text == "true") return true;
  if (text == "false") return false;
  const std::string lower = absl::AsciiStrToLower(text);
  if (lower == "yes" || lower == "no" || lower == "on" || lower == "off" || lower == "y" ||
      lower == "n") {
    return Error(value, absl::StrCat(Quote(text),
                                     " is not a boolean: write true or false (YAML 1.1's "
                                     "yes/no/on/off are refused, as they surprise)"));
  }
  return Error(value, absl::StrCat(Quote(text), " is not a boolean: write true or false"));
}

absl::StatusOr<absl::Duration> YamlReader::Duration(const YamlValue& value) const {
  LARDER_ASSIGN_OR_RETURN(absl::string_view text, Scalar(value, "a duration"));
  absl::Duration duration;
  int64_t seconds = 0;
  if (absl::SimpleAtoi(text, &seconds)) {
    duration = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(text, &duration)) {
    return Error(value, absl::StrCat(Quote(text), " is not a duration (e.g. 30s, 10m, 1h)"));
  }
  if (duration < absl::ZeroDuration())
    return Error(value, absl::StrCat(Quote(text), " is negative"));
  if (duration == absl::InfiniteDuration()) {
    return Error(value, absl::StrCat(Quote(text), " is not finite"));
  }
  return duration;
}

absl::StatusOr<std::vector<YamlValue>> YamlReader::Sequence(const YamlValue& value) const {
  if (value.node->type != YAML_SEQUENCE_NODE) {
    return Error(value, absl::StrCat("expected a sequence (e.g. [a, b]), got ",
                                     YamlDocument::KindName(*value.node)));
  }
  std::vector<YamlValue> items;
  for (const yaml_node_t* item : document_.Items(*value.node)) {
    items.push_back(YamlValue{item, absl::StrCat(value.path, "[", items.size(), "]")});
  }
  return items;
}

absl::StatusOr<std::vector<std::string>> YamlReader::Strings(const YamlValue& value) const {
  LARDER_ASSIGN_OR_RETURN(std::vector<YamlValue> items, Sequence(value));
  std::vector<std::string> strings;
  strings.reserve(items.size());
  for (const YamlValue& item : items) {
    LARDER_ASSIGN_OR_RETURN(std::string text, NonEmptyString(item));
    strings.push_back(std::move(text));
  }
  return strings;
}

absl::StatusOr<std::vector<YamlField>> YamlReader::Mapping(
    const YamlValue& value, const std::vector<absl::string_view>& known) const {
  if (value.node->type != YAML_MAPPING_NODE) {
    return Error(value, absl::StrCat("expected a mapping (key: value), got ",
                                     YamlDocument::KindName(*value.node)));
  }
  std::vector<YamlField> fields;
  for (const YamlDocument::Pair& pair : document_.Pairs(*value.node)) {
    const YamlValue key_value{pair.key, value.path};
    LARDER_ASSIGN_OR_RETURN(absl::string_view key, Scalar(key_value, "a scalar key"));
    if (std::find(known.begin(), known.end(), key) == known.end()) {
      return Error(key_value, absl::StrCat("unknown key ", Quote(key),
                                           " (known: ", absl::StrJoin(known, ", "), ")"));
    }
    // Only known keys get here, so this stays O(known keys) per key.
    for (const YamlField& field : fields) {
      if (field.key == key) {
        return Error(YamlValue{pair.key, ChildPath(value.path, key)},
                     absl::StrCat("duplicate key (first on line ",
                                  YamlDocument::Line(*field.key_node), ")"));
      }
    }
    fields.push_back(
        YamlField{std::string(key), pair.key, YamlValue{pair.value, ChildPath(value.path, key)}});
  }
  return fields;
}

}  // namespace larder::proxy::internal

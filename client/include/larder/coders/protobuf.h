// ProtobufCoder: values as protobuf wire format, for any google::protobuf::MessageLite subclass
// (full and lite messages). Including this header makes it the default coder of messages.
//
//   #include "larder/coders/protobuf.h"
//   auto get_profile = larder::Cached(client, options, LoadProfile);  // returns mypkg::Profile
//
// Encoding is deterministic (map entries sorted), so a message argument gives a stable key.
// Decode fails on bytes that do not parse as T or lack proto2 required fields.
#pragma once

#include <limits>
#include <string>
#include <type_traits>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "google/protobuf/io/coded_stream.h"
#include "google/protobuf/io/zero_copy_stream_impl_lite.h"
#include "google/protobuf/message_lite.h"
#include "larder/coder.h"

namespace larder {

// Thread-safe (stateless).
template <typename T>
struct ProtobufCoder {
  static_assert(std::is_base_of_v<google::protobuf::MessageLite, T>,
                "ProtobufCoder needs a protobuf message type");

  absl::StatusOr<std::string> Encode(const T& value) const {
    std::string bytes;
    {
      google::protobuf::io::StringOutputStream stream(&bytes);
      google::protobuf::io::CodedOutputStream coded(&stream);
      coded.SetSerializationDeterministic(true);
      if (!value.SerializeToCodedStream(&coded)) {
        return absl::InvalidArgumentError("protobuf message is missing required fields");
      }
    }
    return bytes;
  }

  absl::StatusOr<T> Decode(absl::string_view bytes) const {
    T message;
    if (bytes.size() > static_cast<size_t>(std::numeric_limits<int>::max()) ||
        !message.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
      return absl::DataLossError("bytes do not parse as " + message.GetTypeName());
    }
    return message;
  }
};

template <typename T>
struct CoderFor<T, std::enable_if_t<std::is_base_of_v<google::protobuf::MessageLite, T>>>
    : ProtobufCoder<T> {};

}  // namespace larder

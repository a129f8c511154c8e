#include "tests/testing/grpc_probes.h"

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "grpcpp/client_context.h"
#include "grpcpp/completion_queue.h"
#include "grpcpp/generic/generic_stub.h"
#include "grpcpp/support/byte_buffer.h"

namespace larder::testing {
namespace {

// A protobuf length-delimited field (field_number, wire type 2) holding `bytes` (< 128 bytes).
std::string LengthDelimited(int field_number, const std::string& bytes) {
  return absl::StrCat(std::string(1, static_cast<char>(field_number << 3 | 2)),
                      std::string(1, static_cast<char>(bytes.size())), bytes);
}

std::string Flatten(const grpc::ByteBuffer& buffer) {
  std::vector<grpc::Slice> slices;
  (void)buffer.Dump(&slices);
  std::string bytes;
  for (const grpc::Slice& slice : slices) {
    bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
  }
  return bytes;
}

grpc::ByteBuffer ToBuffer(const std::string& bytes) {
  grpc::Slice slice(bytes);
  return grpc::ByteBuffer(&slice, 1);
}

}  // namespace

absl::StatusOr<HealthState> CheckHealth(const std::shared_ptr<grpc::Channel>& channel,
                                        const std::string& service, absl::Duration timeout) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  const grpc::ByteBuffer request = ToBuffer(LengthDelimited(1, service));
  grpc::ByteBuffer response;
  grpc::Status status;
  absl::Notification done;
  stub.UnaryCall(&context, "/grpc.health.v1.Health/Check", grpc::StubOptions(), &request, &response,
                 [&](grpc::Status s) {
                   status = std::move(s);
                   done.Notify();
                 });
  done.WaitForNotification();
  if (!status.ok()) {
    return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
  }
  const std::string bytes = Flatten(response);  // HealthCheckResponse{status = 1 (varint)}.
  if (bytes.size() >= 2 && bytes[0] == 0x08) return static_cast<HealthState>(bytes[1]);
  return HealthState::kUnknown;
}

absl::StatusOr<std::string> ListServicesByReflection(const std::shared_ptr<grpc::Channel>& channel,
                                                     absl::Duration timeout) {
  grpc::GenericStub stub(channel);
  grpc::ClientContext context;
  context.set_deadline(absl::ToChronoTime(absl::Now() + timeout));
  grpc::CompletionQueue queue;
  auto call = stub.PrepareCall(
      &context, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo", &queue);
  void* tag = nullptr;
  bool ok = false;
  call->StartCall(reinterpret_cast<void*>(1));
  queue.Next(&tag, &ok);
  // ServerReflectionRequest{list_services = 7: ""}.
  call->Write(ToBuffer(LengthDelimited(7, "")), reinterpret_cast<void*>(2));
  queue.Next(&tag, &ok);
  grpc::ByteBuffer response;
  call->Read(&response, reinterpret_cast<void*>(3));
  queue.Next(&tag, &ok);
  if (!ok) return absl::UnavailableError("reflection stream closed without an answer");
  const std::string bytes = Flatten(response);
  context.TryCancel();
  grpc::Status status;
  call->Finish(&status, reinterpret_cast<void*>(4));
  queue.Next(&tag, &ok);
  queue.Shutdown();
  while (queue.Next(&tag, &ok)) {
  }
  return bytes;
}

}  // namespace larder::testing

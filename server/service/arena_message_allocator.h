// ArenaMessageAllocator: a grpc::MessageAllocator for callback-API unary methods that creates each
// call's request and response on one google::protobuf::Arena whose first block lives inside the
// per-call holder. Messages, their string objects, sub-messages and repeated-field arrays then
// cost bump allocations instead of one heap allocation each, and are freed together when gRPC
// releases the holder. Bytes of long strings (keys over 15 bytes, values) stay on the heap.
//
//   ArenaMessageAllocator<v1::GetRequest, v1::GetResponse, 768> get_allocator;
//   service.SetMessageAllocatorFor_Get(&get_allocator);   // must outlive the server
//
// Thread-safe: AllocateMessages() and Release() keep no shared state.
#pragma once

#include <cstddef>

#include "google/protobuf/arena.h"
#include "grpcpp/support/message_allocator.h"

namespace larder::server {

// `kInitialBlockBytes` is the arena block kept inside the holder: size it so that a typical
// call of the method fits (the arena allocates further blocks from the heap when it does not).
template <typename Request, typename Response, size_t kInitialBlockBytes>
class ArenaMessageAllocator final : public grpc::MessageAllocator<Request, Response> {
 public:
  grpc::MessageHolder<Request, Response>* AllocateMessages() override { return new Holder(); }

 private:
  class Holder final : public grpc::MessageHolder<Request, Response> {
   public:
    Holder() : arena_(initial_block_, sizeof(initial_block_)) {
      this->set_request(google::protobuf::Arena::CreateMessage<Request>(&arena_));
      this->set_response(google::protobuf::Arena::CreateMessage<Response>(&arena_));
    }
    void Release() override { delete this; }

   private:
    alignas(8) char initial_block_[kInitialBlockBytes];
    google::protobuf::Arena arena_;  // Declared after its block: destroyed before it.
  };
};

}  // namespace larder::server

// NewLarderResponseStore: the ResponseStore of production, keeping HTTP responses in larderd
// through larder::Client.
//
//   auto client = larder::Client::Create(options);
//   std::shared_ptr<larder::http::ResponseStore> store =
//       larder::http::NewLarderResponseStore(*client);
//   auto cache = larder::http::HttpCache::Create(store);
#pragma once

#include <memory>

#include "larder/http/response_store.h"

namespace larder {
class Client;
}

namespace larder::http {

// Records are encoded as described in client/src/http/record_codec.h. Lookups are counted in
// the client's larder_client_requests_total as hit (fresh), stale, miss or error. A stored value
// that is not a record this layer would replay (another format or version, a header it never
// stores, a control byte in a value…) is kDataLoss, counted there as a miss: HttpCache refuses
// it, renders, and the render replaces it. Other errors are the client's: kUnavailable /
// kDeadlineExceeded when larderd does not answer in time, kUnauthenticated /
// kPermissionDenied when larderd refuses the client's token (counted as error).
std::shared_ptr<ResponseStore> NewLarderResponseStore(std::shared_ptr<Client> client);

}  // namespace larder::http

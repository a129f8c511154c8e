// Uses the installed larder SDK: a client, a cached function and the golden key. Prints
// "consumer ok" and exits 0 when everything behaves.
//
//   consumer 127.0.0.1:50051
#include <cstdint>
#include <iostream>
#include <string>

#include "larder/cached.h"
#include "larder/client.h"
#include "larder/key_builder.h"

namespace {

int Fail(const std::string& what) {
  std::cerr << "consumer: " << what << "\n";
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) return Fail("usage: consumer <larderd host:port>");
  larder::ClientOptions options;
  options.target = argv[1];
  options.deadline = absl::Seconds(5);
  absl::StatusOr<std::shared_ptr<larder::Client>> client = larder::Client::Create(options);
  if (!client.ok()) return Fail(client.status().ToString());

  larder::CachedOptions cached_options;
  cached_options.namespace_name = "consumer";
  cached_options.function_name = "greet";
  int calls = 0;
  auto greet = larder::Cached(*client, cached_options, [&calls](const std::string& name) {
    ++calls;
    return "hello " + name;
  });
  if (greet("ada") != "hello ada" || greet("ada") != "hello ada") return Fail("wrong value");
  if (calls != 1) return Fail("the second call was not served from larder");

  absl::StatusOr<std::string> key = larder::MakeKey("get_user", int64_t{42}, std::string("eu"));
  if (!key.ok() || *key != "get_user:v2:e4d103e7ab64eedfaff4bc94446fbe28")
    return Fail("the golden key changed");
  std::cout << "consumer ok" << std::endl;
  return 0;
}

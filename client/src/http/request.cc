#include "larder/http/request.h"

namespace larder::http {

bool IsCacheableMethod(const Request& request) {
  return request.method == "GET" || request.method == "HEAD";
}

bool IsInvalidatingMethod(const Request& request) {
  return request.method == "POST" || request.method == "PUT" || request.method == "PATCH" ||
         request.method == "DELETE";
}

}  // namespace larder::http

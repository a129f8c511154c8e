// Requests the HTTP cache decides before any stored response may answer them (a client refresh,
// no-store, credentials, unsafe methods): the parameter cases that HandleHeld's and
// HandleFetched's tests share, each of which must reach Handle.
//
//   INSTANTIATE_TEST_SUITE_P(Requests, MyBypassTest,
//                            ::testing::ValuesIn(RequestsHandleDecidesFirst()), BypassCaseName);
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "larder/http/headers.h"

namespace larder::http::testing {

struct BypassCase {
  std::string name;
  Headers headers;
  std::string method = "GET";
};

inline void PrintTo(const BypassCase& bypass, std::ostream* os) { *os << bypass.name; }

inline std::string BypassCaseName(const ::testing::TestParamInfo<BypassCase>& info) {
  return info.param.name;
}

inline std::vector<BypassCase> RequestsHandleDecidesFirst() {
  return {BypassCase{"NoCache", {{"Cache-Control", "no-cache"}}},
          BypassCase{"PragmaNoCache", {{"Pragma", "no-cache"}}},
          BypassCase{"MaxAgeZero", {{"Cache-Control", "max-age=0"}}},
          BypassCase{"NoStore", {{"Cache-Control", "no-store"}}},
          BypassCase{"Authorization", {{"Authorization", "Bearer t"}}},
          BypassCase{"Cookie", {{"Cookie", "session=s"}}},
          BypassCase{"Post", {}, "POST"},
          BypassCase{"Put", {}, "PUT"},
          BypassCase{"Delete", {}, "DELETE"}};
}

}  // namespace larder::http::testing

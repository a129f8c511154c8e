// AuthMetrics: larder_auth_denied_total{reason,principal}, the calls larderd refused because the
// caller was unknown (reason="unauthenticated", principal="_unknown") or lacked a permission
// (reason="permission_denied", principal=its name). Principal labels are bounded by the tokens
// file (and folded into "_other" past a thousand series); no other metric carries a principal.
//
//   exposer.RegisterCollectable(std::make_shared<AuthMetrics>(authorizer));
#pragma once

#include <vector>

#include "prometheus/collectable.h"
#include "prometheus/metric_family.h"
#include "server/auth/authorizer.h"

namespace larder::server {

class AuthMetrics final : public prometheus::Collectable {
 public:
  explicit AuthMetrics(const auth::Authorizer& authorizer) : authorizer_(authorizer) {}
  std::vector<prometheus::MetricFamily> Collect() const override;

 private:
  const auth::Authorizer& authorizer_;
};

}  // namespace larder::server

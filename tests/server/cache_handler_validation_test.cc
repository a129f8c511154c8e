// CacheHandler: every limit answers INVALID_ARGUMENT naming the field and the limit, and a
// rejected request never changes stored data.
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "server/service/cache_handler.h"
#include "tests/server/handler_test_base.h"
#include "tests/testing/status_matchers.h"

namespace larder::server {
namespace {

using ::larder::testing::StatusIs;
using ::testing::AllOf;
using ::testing::HasSubstr;

class ValidationTest : public CacheHandlerTestBase {
 protected:
  ValidationTest()
      : CacheHandlerTestBase(CacheHandlerOptions{
            .default_ttl = absl::Minutes(1), .max_ttl = absl::Hours(1), .max_value_bytes = 1024}) {}

  v1::SetRequest ValidSet() {
    v1::SetRequest request;
    request.set_namespace_("ns");
    request.set_key("k");
    request.set_value("new");
    return request;
  }

  absl::Status TrySet(const v1::SetRequest& request) {
    v1::SetResponse response;
    return handler_->Set(request, response);
  }

  // Stores "kept" under ns/k, runs `bad`, and checks both the error and that nothing changed.
  void ExpectRejectedAndNothingChanged(const v1::SetRequest& bad, const std::string& field,
                                       const std::string& limit) {
    Put("ns", "k", "kept");
    EXPECT_THAT(TrySet(bad), StatusIs(absl::StatusCode::kInvalidArgument,
                                      AllOf(HasSubstr(field), HasSubstr(limit))));
    EXPECT_EQ(Fetch("ns", "k").value(), "kept");
  }
};

TEST_F(ValidationTest, NamespaceMustBe1To128AllowedCharacters) {
  for (const std::string& ns : {std::string(), std::string(129, 'a'), std::string("a b"),
                                std::string("ns/1"), std::string("n\0s", 3)}) {
    v1::SetRequest request = ValidSet();
    request.set_namespace_(ns);
    EXPECT_THAT(TrySet(request), StatusIs(absl::StatusCode::kInvalidArgument,
                                          AllOf(HasSubstr("namespace"), HasSubstr("1-128"))))
        << ns;
  }
  v1::SetRequest ok = ValidSet();
  ok.set_namespace_(std::string(128, 'a') + "");
  EXPECT_OK(TrySet(ok));
  ok.set_namespace_("Az09_.-");
  EXPECT_OK(TrySet(ok));
}

TEST_F(ValidationTest, KeyMustBe1To4096Bytes) {
  v1::SetRequest request = ValidSet();
  request.set_key("");
  ExpectRejectedAndNothingChanged(request, "key", "1-4096 bytes");
  request.set_key(std::string(4097, 'k'));
  ExpectRejectedAndNothingChanged(request, "key", "1-4096 bytes");
  request.set_key(std::string(4096, 'k'));
  EXPECT_OK(TrySet(request));
}

TEST_F(ValidationTest, ValueMustFitMaxValueBytes) {
  v1::SetRequest request = ValidSet();
  request.set_key("k");
  request.set_value(std::string(1025, 'v'));
  ExpectRejectedAndNothingChanged(request, "value", "at most 1024 bytes");
  request.set_value(std::string(1024, 'v'));
  EXPECT_OK(TrySet(request));
}

TEST_F(ValidationTest, TtlMustBePositiveAndWithinMaxTtl) {
  v1::SetRequest request = ValidSet();
  *request.mutable_ttl() = Seconds(0);
  ExpectRejectedAndNothingChanged(request, "ttl", "positive");
  *request.mutable_ttl() = Seconds(-5);
  ExpectRejectedAndNothingChanged(request, "ttl", "positive");
  *request.mutable_ttl() = Seconds(3601);
  ExpectRejectedAndNothingChanged(request, "ttl", "at most 1h");
  request.mutable_ttl()->set_seconds(1);
  request.mutable_ttl()->set_nanos(-1);
  ExpectRejectedAndNothingChanged(request, "ttl", "valid");
  *request.mutable_ttl() = Seconds(3600);
  EXPECT_OK(TrySet(request));
}

TEST_F(ValidationTest, TagsAreBounded) {
  v1::SetRequest request = ValidSet();
  request.add_tags("");
  ExpectRejectedAndNothingChanged(request, "tags[0]", "1-256 bytes");
  request.clear_tags();
  for (int i = 0; i < 33; ++i) request.add_tags("t");
  ExpectRejectedAndNothingChanged(request, "tags", "at most 32");
}

TEST_F(ValidationTest, IfMatchAndIfAbsentAreExclusive) {
  v1::SetRequest request = ValidSet();
  request.set_if_absent(true);
  request.set_if_match("*");
  ExpectRejectedAndNothingChanged(request, "if_match", "if_absent");
}

TEST_F(ValidationTest, GetValidatesNamespaceAndKey) {
  v1::GetRequest request;
  request.set_namespace_("ns");
  v1::GetResponse response;
  EXPECT_THAT(handler_->Get(request, response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("key")));
  request.set_key("k");
  request.set_namespace_("bad ns");
  EXPECT_THAT(handler_->Get(request, response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("namespace")));
}

TEST_F(ValidationTest, TouchTtlFollowsTheSameLimits) {
  Put("ns", "k", "v", 60);
  v1::TouchRequest request;
  request.set_namespace_("ns");
  request.set_key("k");
  *request.mutable_ttl() = Seconds(7200);
  v1::TouchResponse response;
  EXPECT_THAT(handler_->Touch(request, response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("ttl")));
  EXPECT_EQ(Fetch("ns", "k").ttl().seconds(), 60);
}

TEST_F(ValidationTest, MultiSetIsValidatedWholeBeforeAnythingIsStored) {
  Put("ns", "k", "kept");
  v1::MultiSetRequest request;
  request.set_namespace_("ns");
  auto* good = request.add_entries();
  good->set_key("k");
  good->set_value("overwritten?");
  auto* bad = request.add_entries();
  bad->set_key(std::string(5000, 'x'));
  v1::MultiSetResponse response;
  EXPECT_THAT(handler_->MultiSet(request, response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("entries[1].key")));
  EXPECT_EQ(Fetch("ns", "k").value(), "kept");
}

TEST_F(ValidationTest, MultiSetEntryNamespaceMustMatchTheRequest) {
  v1::MultiSetRequest request;
  request.set_namespace_("ns");
  auto* entry = request.add_entries();
  entry->set_namespace_("elsewhere");
  entry->set_key("k");
  v1::MultiSetResponse response;
  EXPECT_THAT(handler_->MultiSet(request, response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("entries[0].namespace")));
}

TEST_F(ValidationTest, BatchesHold1To1000Items) {
  v1::MultiGetRequest request;
  request.set_namespace_("ns");
  v1::MultiGetResponse response;
  EXPECT_THAT(handler_->MultiGet(request, response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("keys: must hold 1-1000")));
  for (int i = 0; i < 1001; ++i) request.add_keys("k");
  EXPECT_THAT(handler_->MultiGet(request, response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("1-1000")));
  request.clear_keys();
  request.add_keys("ok");
  request.add_keys("");
  EXPECT_THAT(handler_->MultiGet(request, response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("keys[1]")));
}

TEST_F(ValidationTest, InvalidateNeedsATarget) {
  Put("ns", "k", "kept");
  v1::InvalidateRequest request;
  request.set_namespace_("ns");
  v1::InvalidateResponse response;
  EXPECT_THAT(handler_->Invalidate(request, response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("target")));
  request.set_all(false);
  EXPECT_THAT(handler_->Invalidate(request, response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("all: must be true")));
  request.set_prefix("");
  EXPECT_THAT(handler_->Invalidate(request, response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("prefix")));
  request.set_tag(std::string(300, 't'));
  EXPECT_THAT(handler_->Invalidate(request, response),
              StatusIs(absl::StatusCode::kInvalidArgument, HasSubstr("tag: must be 1-256")));
  EXPECT_EQ(Fetch("ns", "k").value(), "kept");
}

}  // namespace
}  // namespace larder::server

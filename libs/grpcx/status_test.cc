#include "libs/grpcx/status.h"

#include "gmock/gmock.h"
#include "grpcpp/support/status.h"
#include "gtest/gtest.h"

namespace k8i::grpcx {
namespace {

using ::testing::HasSubstr;

TEST(StatusTest, ViolationsSurviveTheWire) {
  absl::Status s = InvalidArgumentWithViolations(
      "batch rejected", {{"batch.metrics[0].name", "empty"}, {"batch.batch_id", "too long"}});
  EXPECT_THAT(s.message(), HasSubstr("batch.metrics[0].name: empty"));
  grpc::Status g = ToGrpcStatus(s);
  EXPECT_EQ(g.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  google::rpc::Status rpc;
  ASSERT_TRUE(rpc.ParseFromString(g.error_details()));
  ASSERT_EQ(rpc.details_size(), 2);  // ErrorInfo + BadRequest
  google::rpc::ErrorInfo ei;
  ASSERT_TRUE(rpc.details(0).UnpackTo(&ei));
  EXPECT_EQ(ei.reason(), "INVALID_ARGUMENT");
  EXPECT_EQ(ei.domain(), kErrorDomain);
  absl::Status back = FromGrpcStatus(g);
  auto v = GetFieldViolations(back);
  ASSERT_EQ(v.size(), 2u);
  EXPECT_EQ(v[1].field, "batch.batch_id");
  EXPECT_EQ(v[1].description, "too long");
}

TEST(StatusTest, RetryDelayAndReason) {
  absl::Status s = WithErrorInfo(
      WithRetryDelay(absl::ResourceExhaustedError("busy"), absl::Milliseconds(1500)),
      "INGEST_OVERLOADED", {{"inflight", "10"}});
  absl::Status back = FromRpcStatus(ToRpcStatus(s));
  EXPECT_EQ(back.code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(GetRetryDelay(back), absl::Milliseconds(1500));
  google::rpc::Status rpc = ToRpcStatus(back);
  google::rpc::ErrorInfo ei;
  ASSERT_TRUE(rpc.details(0).UnpackTo(&ei));
  EXPECT_EQ(ei.reason(), "INGEST_OVERLOADED");
  EXPECT_EQ(ei.metadata().at("inflight"), "10");
}

TEST(StatusTest, ManyViolationsAreSummarised) {
  std::vector<FieldViolation> v;
  for (int i = 0; i < 25; ++i) v.push_back({"f" + std::to_string(i), "bad"});
  absl::Status s = InvalidArgumentWithViolations("rejected", v);
  EXPECT_THAT(s.message(), HasSubstr("and 15 more"));
  EXPECT_EQ(GetFieldViolations(s).size(), 25u);
}

TEST(StatusTest, OkIsOk) {
  EXPECT_TRUE(ToGrpcStatus(absl::OkStatus()).ok());
  EXPECT_EQ(ToRpcStatus(absl::OkStatus()).details_size(), 0);
}

}  // namespace
}  // namespace k8i::grpcx

#include "tools/agent/sender/grpc_wire.h"

#include "absl/strings/escaping.h"
#include "google/rpc/status.pb.h"
#include "gtest/gtest.h"
#include "libs/grpcx/status.h"

namespace k8i::agent::grpcwire {
namespace {

TEST(GrpcWireTest, FramesAndParsesOneMessage) {
  const std::string framed = FrameMessage("hello");
  ASSERT_EQ(framed.size(), 10u);
  EXPECT_EQ(framed.substr(0, 5), std::string("\0\0\0\0\5", 5));
  auto body = ParseUnaryBody(framed, 100);
  ASSERT_TRUE(body.ok()) << body.status();
  EXPECT_EQ(*body, "hello");
  EXPECT_EQ(*ParseUnaryBody(FrameMessage(""), 100), "");
  // 300 bytes: the length spans two bytes.
  const std::string big(300, 'x');
  EXPECT_EQ(*ParseUnaryBody(FrameMessage(big), 1000), big);
}

TEST(GrpcWireTest, RefusesMalformedBodies) {
  EXPECT_FALSE(ParseUnaryBody("", 100).ok());
  EXPECT_FALSE(ParseUnaryBody(std::string("\0\0\0", 3), 100).ok());
  std::string compressed = FrameMessage("x");
  compressed[0] = 1;
  EXPECT_FALSE(ParseUnaryBody(compressed, 100).ok());
  EXPECT_FALSE(ParseUnaryBody(FrameMessage("hello").substr(0, 8), 100).ok());     // truncated
  EXPECT_FALSE(ParseUnaryBody(FrameMessage("a") + FrameMessage("b"), 100).ok());  // two
  EXPECT_FALSE(ParseUnaryBody(FrameMessage(std::string(101, 'x')), 100).ok());    // too big
}

TEST(GrpcWireTest, TimeoutNeverShorterAndAtMostEightDigits) {
  EXPECT_EQ(EncodeTimeout(absl::Seconds(30)), "30000m");
  EXPECT_EQ(EncodeTimeout(absl::Microseconds(1500)), "2m");  // rounded up
  EXPECT_EQ(EncodeTimeout(absl::ZeroDuration()), "1m");
  EXPECT_EQ(EncodeTimeout(absl::Hours(48)), "172800S");
  EXPECT_EQ(EncodeTimeout(absl::Hours(24 * 365 * 10)), "87600H");
}

TEST(GrpcWireTest, PercentDecoding) {
  EXPECT_EQ(PercentDecode("plain"), "plain");
  EXPECT_EQ(PercentDecode("a%20b%25c"), "a b%c");
  EXPECT_EQ(PercentDecode("caf%C3%A9"), "caf\xC3\xA9");
  EXPECT_EQ(PercentDecode("bad%zz%4"), "bad%zz%4");
  EXPECT_EQ(PercentDecode("%"), "%");
}

TEST(GrpcWireTest, HttpStatusMapping) {
  EXPECT_EQ(CodeForHttpStatus(400), absl::StatusCode::kInternal);
  EXPECT_EQ(CodeForHttpStatus(401), absl::StatusCode::kUnauthenticated);
  EXPECT_EQ(CodeForHttpStatus(403), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(CodeForHttpStatus(404), absl::StatusCode::kUnimplemented);
  for (int s : {429, 502, 503, 504})
    EXPECT_EQ(CodeForHttpStatus(s), absl::StatusCode::kUnavailable);
  EXPECT_EQ(CodeForHttpStatus(500), absl::StatusCode::kUnknown);
}

Response Ok200(std::string body) {
  Response r;
  r.http_status = 200;
  r.content_type = "application/grpc";
  r.grpc_status = 0;
  r.body = std::move(body);
  return r;
}

TEST(GrpcWireTest, FinishOk) {
  auto m = Finish(Ok200(FrameMessage("payload")), 100);
  ASSERT_TRUE(m.ok()) << m.status();
  EXPECT_EQ(*m, "payload");
}

TEST(GrpcWireTest, FinishCarriesTheDetailsOfTrailersOnlyErrors) {
  const absl::Status sent = grpcx::WithRetryDelay(
      grpcx::InvalidArgumentWithViolations("bad batch", {{"batch.batch_id", "empty"}}),
      absl::Milliseconds(1500));
  Response r;
  r.http_status = 200;
  r.content_type = "application/grpc+proto";
  r.grpc_status = 3;
  r.grpc_message = "bad%20batch";
  std::string b64 = absl::Base64Escape(grpcx::ToRpcStatus(sent).SerializeAsString());
  while (!b64.empty() && b64.back() == '=') b64.pop_back();  // gRPC sends -bin unpadded
  r.status_details_bin = b64;
  auto got = Finish(r, 100);
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
  ASSERT_EQ(grpcx::GetFieldViolations(got.status()).size(), 1u);
  EXPECT_EQ(grpcx::GetFieldViolations(got.status())[0].field, "batch.batch_id");
  EXPECT_EQ(grpcx::GetRetryDelay(got.status()), absl::Milliseconds(1500));
  // Without details: the code and the decoded message.
  r.status_details_bin.clear();
  got = Finish(r, 100);
  EXPECT_EQ(got.status(), absl::InvalidArgumentError("bad batch"));
  // Details that do not parse, or disagree with grpc-status, are ignored.
  r.status_details_bin = "!!!not base64";
  EXPECT_EQ(Finish(r, 100).status(), absl::InvalidArgumentError("bad batch"));
  r.grpc_status = 99;
  EXPECT_EQ(Finish(r, 100).status().code(), absl::StatusCode::kUnknown);
}

TEST(GrpcWireTest, GrpcStatusWinsOverTheHttpStatus) {
  // A proxy answering 429 with a gRPC status and RetryInfo: the gRPC status and its details.
  Response r;
  r.http_status = 429;
  r.content_type = "application/grpc";
  r.grpc_status = 8;
  r.status_details_bin = absl::Base64Escape(
      grpcx::ToRpcStatus(
          grpcx::WithRetryDelay(absl::ResourceExhaustedError("slow down"), absl::Seconds(2)))
          .SerializeAsString());
  auto got = Finish(r, 100);
  EXPECT_EQ(got.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(grpcx::GetRetryDelay(got.status()), absl::Seconds(2));
}

TEST(GrpcWireTest, FinishMapsBrokenResponses) {
  Response none;
  EXPECT_EQ(Finish(none, 100).status().code(), absl::StatusCode::kUnavailable);
  Response proxy = Ok200("");
  proxy.http_status = 502;
  proxy.content_type = "text/html";
  EXPECT_EQ(Finish(proxy, 100).status().code(), absl::StatusCode::kUnavailable);
  Response html = Ok200("<html>");
  html.content_type = "text/html";
  EXPECT_EQ(Finish(html, 100).status().code(), absl::StatusCode::kUnknown);
  Response no_status = Ok200(FrameMessage("x"));
  no_status.grpc_status.reset();
  EXPECT_EQ(Finish(no_status, 100).status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(Finish(Ok200("xx"), 100).status().code(), absl::StatusCode::kInternal);
}

}  // namespace
}  // namespace k8i::agent::grpcwire

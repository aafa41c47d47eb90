// The client side of gRPC's wire protocol over HTTP/2 (grpc/grpc doc/PROTOCOL-HTTP2.md) as pure
// functions: length-prefixed messages, the grpc-timeout header, and the call's status from the
// response's HTTP status, headers and trailers (grpc-status, percent-encoded grpc-message,
// grpc-status-details-bin carrying a google.rpc.Status). The HTTP/2 framing itself is nghttp2's
// (grpc_client.h).
#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"

namespace k8i::agent::grpcwire {

// FrameMessage prefixes `payload` with the uncompressed flag (0) and its 4-byte big-endian length.
std::string FrameMessage(absl::string_view payload);

// ParseUnaryBody returns the one message of a unary response body: exactly one frame,
// uncompressed (we never offer compression), at most `max_size` bytes. Otherwise INTERNAL saying
// what was wrong.
absl::StatusOr<std::string> ParseUnaryBody(absl::string_view body, size_t max_size);

// EncodeTimeout renders a grpc-timeout value: at most 8 digits and a unit (m, S, M, H), rounded
// up so the server never sees a shorter deadline than ours. Non-positive -> "1m".
std::string EncodeTimeout(absl::Duration timeout);

// PercentDecode decodes grpc-message ("%XX" escapes; malformed escapes are kept as they are).
std::string PercentDecode(absl::string_view s);

// CodeForHttpStatus maps a non-200 HTTP status to a gRPC code (the spec's table: 400 INTERNAL,
// 401 UNAUTHENTICATED, 403 PERMISSION_DENIED, 404 UNIMPLEMENTED, 429/502/503/504 UNAVAILABLE,
// anything else UNKNOWN).
absl::StatusCode CodeForHttpStatus(int http_status);

// Response is what a client saw on one stream, headers and trailers merged (a Trailers-Only
// response carries grpc-status in its only HEADERS frame).
struct Response {
  int http_status = 0;  // :status; 0 when no headers arrived
  std::string content_type;
  std::optional<int> grpc_status;  // absent: the stream ended without a status
  std::string grpc_message;        // still percent-encoded
  std::string status_details_bin;  // base64 (padding optional) of google.rpc.Status
  std::string body;                // DATA received
};

// Finish turns a completed stream into the call's outcome: the response message on OK, else the
// status with the details of grpc-status-details-bin (BadRequest, RetryInfo, ErrorInfo) as
// payloads, like grpcx::FromRpcStatus.
absl::StatusOr<std::string> Finish(const Response& r, size_t max_message_size);

}  // namespace k8i::agent::grpcwire

#include "tools/agent/sender/grpc_wire.h"

#include <cstdint>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "google/rpc/status.pb.h"
#include "libs/grpcx/status.h"

namespace k8i::agent::grpcwire {
namespace {

constexpr size_t kPrefix = 5;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// ErrorFromStatus: the non-OK grpc-status of `r`, with the details of grpc-status-details-bin.
absl::Status ErrorFromStatus(const Response& r) {
  const int code = *r.grpc_status;
  const absl::StatusCode status_code =
      code > 0 && code <= 16 ? static_cast<absl::StatusCode>(code) : absl::StatusCode::kUnknown;
  if (!r.status_details_bin.empty()) {
    std::string raw;
    google::rpc::Status rpc;
    if (absl::Base64Unescape(r.status_details_bin, &raw) && rpc.ParseFromString(raw) &&
        rpc.code() == code) {
      return grpcx::FromRpcStatus(rpc);
    }
  }
  return absl::Status(status_code, PercentDecode(r.grpc_message));
}

}  // namespace

std::string FrameMessage(absl::string_view payload) {
  std::string out;
  out.reserve(kPrefix + payload.size());
  const auto n = static_cast<uint32_t>(payload.size());
  out.push_back('\0');
  out.push_back(static_cast<char>(n >> 24));
  out.push_back(static_cast<char>(n >> 16));
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
  out.append(payload.data(), payload.size());
  return out;
}

absl::StatusOr<std::string> ParseUnaryBody(absl::string_view body, size_t max_size) {
  if (body.size() < kPrefix) {
    return absl::InternalError(
        absl::StrCat("response body of ", body.size(), " bytes holds no gRPC message"));
  }
  const auto* p = reinterpret_cast<const unsigned char*>(body.data());
  if (p[0] != 0) {
    return absl::InternalError("response message is compressed, which was not offered");
  }
  const uint64_t len =
      (uint64_t{p[1]} << 24) | (uint64_t{p[2]} << 16) | (uint64_t{p[3]} << 8) | uint64_t{p[4]};
  if (len > max_size) {
    return absl::InternalError(
        absl::StrCat("response message of ", len, " bytes exceeds ", max_size));
  }
  if (body.size() != kPrefix + len) {
    return absl::InternalError(absl::StrCat("response body of ", body.size(),
                                            " bytes is not one message of ", len, " bytes"));
  }
  return std::string(body.substr(kPrefix));
}

std::string EncodeTimeout(absl::Duration timeout) {
  if (timeout <= absl::ZeroDuration()) return "1m";
  constexpr int64_t kMax = 99'999'999;  // 8 digits
  const int64_t ms = absl::ToInt64Milliseconds(absl::Ceil(timeout, absl::Milliseconds(1)));
  if (ms <= kMax) return absl::StrCat(ms, "m");
  const int64_t s = absl::ToInt64Seconds(absl::Ceil(timeout, absl::Seconds(1)));
  if (s <= kMax) return absl::StrCat(s, "S");
  const int64_t h = absl::ToInt64Hours(absl::Ceil(timeout, absl::Hours(1)));
  return absl::StrCat(std::min(h, kMax), "H");
}

std::string PercentDecode(absl::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      const int hi = HexValue(s[i + 1]), lo = HexValue(s[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out.push_back(static_cast<char>(hi * 16 + lo));
        i += 2;
        continue;
      }
    }
    out.push_back(s[i]);
  }
  return out;
}

absl::StatusCode CodeForHttpStatus(int http_status) {
  switch (http_status) {
    case 400:
      return absl::StatusCode::kInternal;
    case 401:
      return absl::StatusCode::kUnauthenticated;
    case 403:
      return absl::StatusCode::kPermissionDenied;
    case 404:
      return absl::StatusCode::kUnimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return absl::StatusCode::kUnavailable;
    default:
      return absl::StatusCode::kUnknown;
  }
}

absl::StatusOr<std::string> Finish(const Response& r, size_t max_message_size) {
  if (r.http_status == 0) {
    return absl::UnavailableError("the stream ended before any response headers");
  }
  // A grpc-status, when present, is the call's status, whatever the HTTP status
  // (http-grpc-status-mapping.md); the HTTP status only stands in for a missing one.
  if (r.grpc_status && *r.grpc_status != 0) return ErrorFromStatus(r);
  if (r.http_status != 200) {
    return absl::Status(CodeForHttpStatus(r.http_status),
                        absl::StrCat("HTTP status ", r.http_status, " instead of a gRPC response"));
  }
  if (!absl::StartsWith(r.content_type, "application/grpc")) {
    return absl::UnknownError(
        absl::StrCat("response content-type \"", r.content_type, "\" is not application/grpc"));
  }
  if (!r.grpc_status) {
    return absl::UnavailableError("the stream ended without grpc-status");
  }
  return ParseUnaryBody(r.body, max_message_size);
}

}  // namespace k8i::agent::grpcwire

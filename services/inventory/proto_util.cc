#include "services/inventory/proto_util.h"

#include "libs/grpcx/status.h"

namespace k8i::inventory {

void SetTime(absl::Time t, google::protobuf::Timestamp* ts) {
  const int64_t micros = absl::ToUnixMicros(t);
  int64_t secs = micros / 1'000'000, rem = micros % 1'000'000;
  if (rem < 0) {
    rem += 1'000'000;
    --secs;
  }
  ts->set_seconds(secs);
  ts->set_nanos(static_cast<int32_t>(rem * 1000));
}

absl::StatusOr<std::vector<std::string>> Cursor(const aip::PageTokenCodec& codec,
                                                const std::string& token,
                                                const std::string& fingerprint) {
  if (token.empty()) return std::vector<std::string>();
  auto c = codec.Decode(token, fingerprint);
  if (!c.ok()) {
    return grpcx::InvalidArgumentWithViolations(
        "invalid page_token", {{"page_token", std::string(c.status().message())}});
  }
  return c;
}

}  // namespace k8i::inventory

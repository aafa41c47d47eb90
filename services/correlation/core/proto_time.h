// Conversions between absl::Time and google.protobuf.Timestamp for correlation: an infinite
// time is an unset timestamp, and an unset (zero) timestamp reads as InfinitePast.
#pragma once

#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"

namespace k8i::correlation {

// SetProtoTime writes `t` into `ts`; infinite times leave it untouched (unset).
inline void SetProtoTime(absl::Time t, google::protobuf::Timestamp* ts) {
  if (t == absl::InfinitePast() || t == absl::InfiniteFuture()) return;
  const int64_t ns = absl::ToUnixNanos(t);
  int64_t s = ns / 1'000'000'000;
  int64_t n = ns % 1'000'000'000;
  if (n < 0) {
    s -= 1;
    n += 1'000'000'000;
  }
  ts->set_seconds(s);
  ts->set_nanos(static_cast<int32_t>(n));
}

// FromProtoTime reads `ts`; the zero timestamp is InfinitePast.
inline absl::Time FromProtoTime(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return absl::InfinitePast();
  return absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
}

}  // namespace k8i::correlation

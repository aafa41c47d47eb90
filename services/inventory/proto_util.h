// Small proto helpers shared by the inventory services: timestamps and page-token cursors.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "google/protobuf/timestamp.pb.h"
#include "libs/aip/paging.h"

namespace k8i::inventory {

// SetTime writes `t` (microsecond precision) into `ts`.
void SetTime(absl::Time t, google::protobuf::Timestamp* ts);

// Cursor decodes a page token for the query `fingerprint` ("" → first page); a bad token is
// INVALID_ARGUMENT with a field violation on page_token.
absl::StatusOr<std::vector<std::string>> Cursor(const aip::PageTokenCodec& codec,
                                                const std::string& token,
                                                const std::string& fingerprint);

}  // namespace k8i::inventory

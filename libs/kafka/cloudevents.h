// CloudEvents 1.0 binary content mode over Kafka headers: the event's attributes travel as
// `ce_*` headers plus `content-type`, and the Kafka value is the event data itself. See
// https://github.com/cloudevents/spec/blob/v1.0/kafka-protocol-binding.md.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "libs/kafka/message.h"

namespace k8i::kafka {

// The required CloudEvents attributes k8intel sets on every Kafka message.
struct CloudEvent {
  std::string id;
  std::string source;
  std::string type;
  absl::Time time;
  // Empty means the `content-type` header is absent.
  std::string content_type = "application/protobuf";
};

// CloudEventHeaders returns ce_id, ce_source, ce_type, ce_specversion ("1.0"), ce_time (RFC 3339
// UTC with milliseconds, e.g. "2024-05-01T12:00:00.123Z") and, when set, content-type.
std::vector<Header> CloudEventHeaders(const CloudEvent& event);

// ParseCloudEventHeaders reads the attributes back. ce_id, ce_source, ce_type, ce_specversion
// ("1.0" only) and ce_time are required and non-empty; content-type is optional. Other headers
// (extensions) are ignored; for a repeated header the first one wins. Errors are
// InvalidArgument naming the missing or bad header.
absl::StatusOr<CloudEvent> ParseCloudEventHeaders(const std::vector<Header>& headers);

}  // namespace k8i::kafka

// Internal to k8i::kafka: RAII owners for librdkafka C objects, building a configuration from
// a key/value map, and the one mapping from librdkafka error codes to absl::Status that the
// producer and consumer share. Not for use outside libs/kafka (it exposes rdkafka.h).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "librdkafka/rdkafka.h"

namespace k8i::kafka::internal {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* conf) const { rd_kafka_conf_destroy(conf); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;

struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const {
    rd_kafka_topic_partition_list_destroy(l);
  }
};
using PartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;

struct HeadersDeleter {
  void operator()(rd_kafka_headers_t* h) const { rd_kafka_headers_destroy(h); }
};
using HeadersPtr = std::unique_ptr<rd_kafka_headers_t, HeadersDeleter>;

// NewConf returns a configuration holding `props`, with librdkafka's log lines routed to the
// "kafka" logger. InvalidArgument names the rejected key.
absl::StatusOr<ConfPtr> NewConf(const std::map<std::string, std::string>& props);

// ErrorToStatus maps a librdkafka error: Unavailable for transient, broker, timeout and purge
// errors (retry the call), ResourceExhausted for a full local queue, InvalidArgument for bad
// arguments, configuration or oversized messages, Internal otherwise. The message is
// "<what>: <librdkafka name>: <description>".
absl::Status ErrorToStatus(rd_kafka_resp_err_t err, absl::string_view what);

// IsTransient reports whether `err` is worth retrying (the Unavailable class above).
bool IsTransient(rd_kafka_resp_err_t err);

// LogCallback forwards librdkafka's log lines to the "kafka" logger; NewConf installs it.
// LogError logs an asynchronous error from a handle's error callback: transient ones at info,
// the rest at warning.
void LogCallback(const rd_kafka_t* rk, int level, const char* fac, const char* buf);
void LogError(rd_kafka_t* rk, int err, const char* reason);

}  // namespace k8i::kafka::internal

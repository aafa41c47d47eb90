// KafkaPublisher: publishes a stored batch on the per-kind topics (k8i.metrics.v1, ...) keyed
// `tenant/cluster`, as protobuf payloads with CloudEvents binary-mode headers, split into
// messages of bounded size.
#pragma once

#include <string>

#include "libs/kafka/producer.h"
#include "services/ingest/core/ports.h"

namespace k8i::ingest {

struct PublisherOptions {
  std::string topic_prefix = "k8i.";
  // Serialized size above which a kind's items are split across messages.
  size_t max_message_bytes = 512 * 1024;
  absl::Duration delivery_timeout = absl::Seconds(10);
};

// IngestProducerSettings: librdkafka settings for ingest's producer — lz4 compression, and a
// reconnect backoff capped at 1 s so a returning broker is used at once (default cap: 10 s).
std::map<std::string, std::string> IngestProducerSettings();

// KafkaPublisher is thread-safe; it borrows the producer.
class KafkaPublisher final : public Publisher {
 public:
  KafkaPublisher(kafka::Producer* producer, PublisherOptions options)
      : producer_(producer), options_(std::move(options)) {}

  absl::Status Publish(const AgentIdentity& who,
                       const k8intel::v1::TelemetryBatch& batch) override;

  // BuildMessages is the pure part of Publish, exposed for tests.
  std::vector<kafka::Message> BuildMessages(const AgentIdentity& who,
                                            const k8intel::v1::TelemetryBatch& batch,
                                            absl::Time now) const;

 private:
  kafka::Producer* producer_;
  const PublisherOptions options_;
};

}  // namespace k8i::ingest

// MockBroker: a Kafka-protocol broker cluster for development and tests, built on librdkafka's
// in-process mock cluster (rdkafka_mock.h). Real clients connect to Bootstrap() over TCP; the
// test hooks take brokers down and inject per-API error codes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

struct rd_kafka_s;
struct rd_kafka_mock_cluster_s;

namespace k8i::devbroker {

// DefaultTopics lists the k8intel topics the dev broker creates unless told otherwise.
std::vector<std::string> DefaultTopics();

struct MockBrokerOptions {
  int brokers = 1;
  int partitions = 3;
  std::vector<std::string> topics = DefaultTopics();
};

// MockBroker is thread-safe: the mock cluster runs in its own librdkafka thread and every
// method sends it a request.
class MockBroker {
 public:
  // Start creates the cluster (listening on 127.0.0.1, ephemeral ports) and its topics, with
  // replication factor min(brokers, 3). InvalidArgument for bad counts or topic names.
  static absl::StatusOr<std::unique_ptr<MockBroker>> Start(const MockBrokerOptions& options);

  MockBroker(const MockBroker&) = delete;
  MockBroker& operator=(const MockBroker&) = delete;
  ~MockBroker();

  // Bootstrap is the comma-separated host:port list of every broker.
  const std::string& Bootstrap() const { return bootstrap_; }
  int BrokerCount() const { return brokers_; }

  // BrokerDown closes the broker's connections and refuses new ones; BrokerUp undoes it.
  // Broker ids run 1..BrokerCount(); NotFound otherwise.
  absl::Status BrokerDown(int32_t id);
  absl::Status BrokerUp(int32_t id);

  // PushErrors makes the next `count` requests of API `api` (e.g. "Produce", see ApiKeyByName)
  // fail with Kafka error `code`, cluster-wide. InvalidArgument for an unknown API or code.
  absl::Status PushErrors(absl::string_view api, int32_t code, int count);

  // Reset clears every injected error and brings every broker up.
  void Reset();

 private:
  MockBroker() = default;
  // NoDelay sets TCP_NODELAY on the brokers' listeners, as a Kafka broker sets it on its
  // connections (see devbroker.cc); warns if it found fewer listeners than brokers.
  void NoDelay();

  rd_kafka_s* rk_ = nullptr;  // Owns the cluster.
  rd_kafka_mock_cluster_s* cluster_ = nullptr;
  int brokers_ = 0;
  std::string bootstrap_;
};

// ApiKeyByName returns the Kafka protocol ApiKey of an API name such as "Produce", "Fetch",
// "Metadata", "InitProducerId", "FindCoordinator", "OffsetCommit" (case-insensitive).
absl::StatusOr<int16_t> ApiKeyByName(absl::string_view api);


}  // namespace k8i::devbroker

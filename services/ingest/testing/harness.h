// IngestHarness: a complete in-process ingest (real PostgreSQL database of its own, the test
// stack's Kafka-protocol broker and Redis) on a free port, started through the same wiring as
// k8i-ingest (services/ingest/wiring.h) with test settings, plus an agent-like client that
// resends on retryable errors, and readers for what landed in PostgreSQL and on Kafka.
// Test-only.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "k8intel/v1/ingest.grpc.pb.h"
#include "libs/grpcx/server.h"
#include "libs/kafka/message.h"
#include "libs/kafka/producer.h"
#include "libs/pg/pool.h"
#include "libs/redis/client.h"
#include "libs/testing/stack.h"
#include "libs/auth/authenticator.h"
#include "services/ingest/ingest_service.h"
#include "services/ingest/store/kafka_publisher.h"
#include "services/ingest/store/pg_batch_store.h"
#include "services/ingest/store/redis_heartbeat.h"
#include "services/ingest/wiring.h"
#include "services/inventory/store/pg_cluster_store.h"
#include "services/inventory/store/pg_control_store.h"

namespace k8i::ingest::testing {

struct HarnessOptions {
  int64_t inflight_sample_budget = 2'000'000;
  absl::Duration delivery_timeout = absl::Seconds(5);
  int pg_pool_size = 4;
  // Kafka topic prefix; tests that consume what they publish use one of their own.
  std::string topic_prefix = "k8i.";
  // The rollup consumer (group unique to the harness) and the republisher job (interval;
  // zero: off). The partition and retention jobs are off in the harness.
  bool rollup_consumer = false;
  absl::Duration republish_interval = absl::ZeroDuration();
  absl::Duration republish_grace = absl::Seconds(1);
  // The service's clock (token cache, validation, heartbeats); null: the real one. Not owned.
  const Clock* clock = nullptr;
};

// AgentTokenIssuer issues agent tokens as k8i-inventory does (control.agent_tokens), registering
// the tenant and cluster when missing. Thread-safe; borrows `pool`.
class AgentTokenIssuer {
 public:
  explicit AgentTokenIssuer(pg::Pool* pool) : control_(pool), clusters_(pool) {}
  absl::StatusOr<std::string> CreateToken(const std::string& tenant, const std::string& cluster);

 private:
  inventory::PgControlStore control_;
  inventory::PgClusterStore clusters_;
};

class IngestHarness {
 public:
  // Start builds everything; the tenant is unique per harness so Kafka readers can filter.
  static absl::StatusOr<std::unique_ptr<IngestHarness>> Start(HarnessOptions options = {});
  ~IngestHarness();

  const std::string& tenant() const { return tenant_; }
  const std::string& cluster() const { return cluster_; }
  const std::string& token() const { return token_; }
  const std::string& db_url() const { return db_->url(); }
  int port() const { return service_->grpc_port(); }
  int metrics_port() const { return service_->metrics_port(); }
  // The HTTP receivers (remote_write, Alertmanager).
  int http_port() const { return parts_.http_port; }
  pg::Pool& pool() { return *pool_; }
  // Issues more agent tokens (for other clusters or tenants).
  AgentTokenIssuer& tokens() { return *issuer_; }
  // What ingest verifies tokens with.
  PgTokenStore& token_store() { return *parts_.tokens; }
  // What the wiring created (rollups, republisher ...).
  const Parts& parts() const { return parts_; }
  kit::Service& service() { return *service_; }
  metrics::Registry& registry() { return registry_; }

  std::unique_ptr<k8intel::v1::IngestService::Stub> NewStub() const;

  // Query runs one SQL statement returning a single integer (e.g. a count).
  int64_t QueryInt(const std::string& sql);

 private:
  IngestHarness() = default;
  std::string tenant_, cluster_ = "c1", token_;
  std::unique_ptr<k8i::testing::TempDatabase> db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<AgentTokenIssuer> issuer_;
  metrics::Registry registry_;
  Config config_;
  Parts parts_;
  std::unique_ptr<kit::Service> service_;
};

// MakeBatch builds a batch of `series` series with `samples` samples each, ending now, with
// series names unique to `id` so each batch's samples can be counted separately.
k8intel::v1::TelemetryBatch MakeBatch(const std::string& id, int series, int samples);

// ResilientSender behaves like an agent: it streams batches one at a time and resends a batch
// on a retryable ack (RetryInfo delay) or a broken stream, until acknowledged or `deadline`.
class ResilientSender {
 public:
  ResilientSender(std::string target, std::string token)
      : target_(std::move(target)), token_(std::move(token)) {}
  // Send returns OK once the batch is acknowledged durable, or the final non-retryable error.
  absl::Status Send(const k8intel::v1::TelemetryBatch& batch, absl::Time deadline);
  int retries() const { return retries_; }

 private:
  void Reopen();
  std::string target_, token_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<k8intel::v1::IngestService::Stub> stub_;
  std::unique_ptr<grpc::ClientContext> ctx_;
  std::unique_ptr<grpc::ClientReaderWriter<k8intel::v1::StreamRequest,
                                           k8intel::v1::StreamResponse>> stream_;
  int retries_ = 0;
};

// KafkaSamples reads every message on `topic` keyed `tenant/cluster` until the topic has been
// idle for `idle`, and returns the number of samples in distinct CloudEvents (by ce_id), plus
// the number of duplicate deliveries seen.
struct KafkaCount {
  int64_t samples = 0;
  int64_t messages = 0;
  int64_t duplicates = 0;
};
absl::StatusOr<KafkaCount> CountKafkaSamples(const std::string& topic, const std::string& key,
                                             absl::Duration idle = absl::Seconds(3));

}  // namespace k8i::ingest::testing

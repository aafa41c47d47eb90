// The wiring of k8i-ingest on the service kit: what main serves and what the test harness
// starts, from one function so the two cannot drift apart.
#pragma once

#include "absl/status/status.h"
#include "libs/kit/service.h"
#include "services/ingest/config.h"

namespace k8i::ingest {

class PgBatchStore;
class PgTokenStore;
class KafkaPublisher;
class Ingestor;
class IngestServiceImpl;
class Republisher;

// The objects Wire creates (owned by the kit::Service), for tests.
struct Parts {
  PgBatchStore* store = nullptr;
  PgTokenStore* tokens = nullptr;
  KafkaPublisher* publisher = nullptr;
  Ingestor* ingestor = nullptr;
  IngestServiceImpl* service = nullptr;
  kit::TransactionalConsumer* rollups = nullptr;  // null when disabled
  kit::LeaderJob* retention = nullptr;            // null when disabled
  kit::LeaderJob* republish = nullptr;            // null when disabled
  Republisher* republisher = nullptr;
  int http_port = 0;  // the HTTP receivers' port (0 when K8I_HTTP_ADDR is "")
};

// Wire registers IngestService, the HTTP receivers (Prometheus remote_write, Alertmanager), (agent tokens through the auth interceptor, IngestPolicy), the
// rollup consumer of <prefix>metrics.v1, and the leader-elected jobs: partitions (hourly),
// retention and the republisher. `parts` (optional) receives the created objects.
absl::Status Wire(kit::Service& service, const Config& config, Parts* parts = nullptr);

}  // namespace k8i::ingest

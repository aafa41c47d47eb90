// The wiring of k8i-correlation on the service kit: what main serves and what the test harness
// starts, from one function so the two cannot drift apart.
#pragma once

#include "absl/status/status.h"
#include "libs/kit/service.h"
#include "services/correlation/config.h"

namespace k8i::correlation {

class Engine;
class IncidentServiceImpl;
class OutboxPublisher;

// The objects Wire creates (owned by the kit::Service), for tests.
struct Parts {
  Engine* engine = nullptr;
  IncidentServiceImpl* service = nullptr;
  kit::TransactionalConsumer* alerts = nullptr;  // the first of the alert consumers
  kit::TransactionalConsumer* inventory = nullptr;
  kit::TransactionalConsumer* events = nullptr;
  kit::TransactionalConsumer* metrics = nullptr;  // null when anomaly detection is off
  kit::TransactionalConsumer* commands = nullptr;
  OutboxPublisher* publisher = nullptr;  // what the publish job runs
  kit::LeaderJob* publish = nullptr;
  kit::LeaderJob* publish_alerts = nullptr;
  kit::LeaderJob* anomaly_expiry = nullptr;
  kit::LeaderJob* retention = nullptr;
  kit::LeaderJob* tick = nullptr;
  inventory::UserAuth users;
};

// Wire registers IncidentService behind the auth interceptor (CorrelationPolicy, Redis rate
// limits), the consumers of <prefix>alerts.v1, <prefix>inventory.v1, <prefix>events.v1 and
// (anomaly detection) <prefix>metrics.v1, and the leader-elected jobs: the outbox publishers
// to <prefix>incidents.v1 and (anomaly alerts) <prefix>alerts.v1, anomaly expiry, retention
// and the idle tick.
absl::Status Wire(kit::Service& service, const Config& config,
                  inventory::UserAuthOverrides overrides = {}, Parts* parts = nullptr);

}  // namespace k8i::correlation

// The wiring of k8i-recommendation on the service kit: what main serves and what the test
// harness starts, from one function so the two cannot drift apart.
#pragma once

#include "absl/status/status.h"
#include "libs/kit/service.h"
#include "services/recommendation/config.h"

namespace k8i::recommendation {

class Runner;
class RecommendationServiceImpl;
class SimulationServiceImpl;

// The objects Wire creates (owned by the kit::Service), for tests.
struct Parts {
  RecommendationServiceImpl* service = nullptr;
  SimulationServiceImpl* simulation = nullptr;
  Runner* runner = nullptr;
  kit::TransactionalConsumer* inventory = nullptr;
  kit::TransactionalConsumer* metrics = nullptr;
  kit::TransactionalConsumer* alerts = nullptr;
  kit::TransactionalConsumer* prices = nullptr;
  kit::TransactionalConsumer* events = nullptr;
  kit::LeaderJob* evaluate = nullptr;
  kit::LeaderJob* publish = nullptr;
  kit::LeaderJob* retention = nullptr;
  inventory::UserAuth users;
};

// Wire registers RecommendationService and SimulationService behind the auth interceptor (RecommendationPolicy,
// Redis rate limits), the consumers of <prefix>inventory.v1, <prefix>metrics.v1 and
// <prefix>alerts.v1, and the leader-elected jobs: the runner (every K8I_RECOMMEND_INTERVAL),
// the outbox publisher (<prefix>recommendations.v1, alerts, audit) and retention.
absl::Status Wire(kit::Service& service, const Config& config,
                  inventory::UserAuthOverrides overrides = {}, Parts* parts = nullptr);

}  // namespace k8i::recommendation

// The wiring of k8i-cost on the service kit: what main serves and what the test harness starts,
// from one function so the two cannot drift apart.
#pragma once

#include "absl/status/status.h"
#include "libs/kit/service.h"
#include "services/cost/config.h"

namespace k8i::cost {

class AttributionJob;
class CostServiceImpl;

// The objects Wire creates (owned by the kit::Service), for tests.
struct Parts {
  CostServiceImpl* service = nullptr;
  AttributionJob* attribution = nullptr;
  kit::TransactionalConsumer* inventory = nullptr;
  kit::TransactionalConsumer* metrics = nullptr;
  kit::LeaderJob* attribute = nullptr;
  kit::LeaderJob* publish = nullptr;
  kit::LeaderJob* retention = nullptr;
  inventory::UserAuth users;
};

// Wire registers CostService behind the auth interceptor (CostPolicy, Redis rate limits), the
// consumers of <prefix>inventory.v1 and <prefix>metrics.v1, and the leader-elected jobs:
// attribution (every K8I_COST_JOB_INTERVAL, with the budget checks), the outbox publisher
// (budget alerts to <prefix>alerts.v1, audit events to <prefix>audit.v1) and retention.
absl::Status Wire(kit::Service& service, const Config& config,
                  inventory::UserAuthOverrides overrides = {}, Parts* parts = nullptr);

}  // namespace k8i::cost

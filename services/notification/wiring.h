// The wiring of k8i-notification on the service kit: what main serves and what the test
// harness starts, from one function so the two cannot drift apart.
#pragma once

#include "absl/status/status.h"
#include "libs/kit/service.h"
#include "services/notification/config.h"

namespace k8i::notification {

class Dispatcher;
class NotificationServiceImpl;
class PgNotificationStore;

// The objects Wire creates (owned by the kit::Service), for tests.
struct Parts {
  PgNotificationStore* store = nullptr;
  Dispatcher* dispatcher = nullptr;
  NotificationServiceImpl* service = nullptr;
  kit::TransactionalConsumer* incidents = nullptr;
  kit::LeaderJob* retention = nullptr;
  inventory::UserAuth users;
};

// Wire registers NotificationService behind the auth interceptor (NotificationPolicy, Redis
// rate limits), the consumer of <prefix>incidents.v1, the dispatcher's workers (stopped
// when the service drains) and the hourly retention job of the delivery log.
absl::Status Wire(kit::Service& service, const Config& config,
                  inventory::UserAuthOverrides overrides = {}, Parts* parts = nullptr);

}  // namespace k8i::notification

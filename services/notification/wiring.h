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
  kit::LeaderJob* publish_commands = nullptr;
  // The inbound endpoint's port (0 when K8I_HTTP_ADDR is "").
  int inbound_port = 0;
  inventory::UserAuth users;
};

// Wire registers NotificationService behind the auth interceptor (NotificationPolicy, Redis
// rate limits), the consumer of <prefix>incidents.v1, the dispatcher's workers (stopped
// when the service drains), the hourly retention job of the delivery log, and the inbound
// endpoint with the outbox publisher of <prefix>incident-commands.v1.
absl::Status Wire(kit::Service& service, const Config& config,
                  inventory::UserAuthOverrides overrides = {}, Parts* parts = nullptr);

}  // namespace k8i::notification

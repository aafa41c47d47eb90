// InboundEndpoint: k8i-notification's HTTP endpoint for what comes back from where incidents
// were delivered (K8I_HTTP_ADDR):
//   POST /v1/slack/{tenant}/{channel}      Slack interactivity (the Acknowledge / Resolve
//                                          buttons), signed with the Slack app's signing secret
//   POST /v1/pagerduty/{tenant}/{channel}  PagerDuty V3 webhooks, signed with the subscription's
//                                          secret
//   GET  /healthz
// The channel must be of that type, interactive, and hold the inbound secret (else 404, the same
// for every such case, before anything is verified). A request whose signature does not verify
// changes nothing (401). Channels are read through a 5 s cache (the handler runs on the
// server's one thread), missing ones included. A verified one is recorded and its actions
// enqueued as IncidentCommands on k8i.incident-commands.v1 in one transaction (a redelivered
// request records nothing new), answered 200 at once; k8i-correlation applies them as the
// person who clicked, and the state change comes back through the channels like any other.
#pragma once

#include <functional>
#include <map>
#include <string>

#include "libs/common/clock.h"
#include "libs/metrics/http_server.h"
#include "libs/metrics/metrics.h"
#include "libs/pg/pool.h"
#include "services/notification/store/pg_store.h"

namespace k8i::notification {

class InboundEndpoint {
 public:
  // `enqueued` runs after a transaction that enqueued commands (wakes the outbox publisher).
  InboundEndpoint(PgNotificationStore* store, pg::Pool* pool, std::string topic,
                  const Clock* clock, metrics::Registry& registry,
                  std::function<void()> enqueued = nullptr);

  metrics::HttpResponse Handle(const metrics::HttpRequest& req);

 private:
  static constexpr absl::Duration kChannelTtl = absl::Seconds(5);
  static constexpr size_t kMaxCachedChannels = 10000;

  metrics::HttpResponse Answer(const std::string& source, int status, std::string reason);
  absl::StatusOr<ChannelRecord> Channel(const std::string& tenant, const std::string& id);

  PgNotificationStore* store_;
  pg::Pool* pool_;
  const std::string topic_;
  const Clock* clock_;
  std::function<void()> enqueued_;
  metrics::Family<metrics::Counter>& requests_;
  struct Cached {
    absl::StatusOr<ChannelRecord> record;
    absl::Time fetched;
  };
  std::map<std::string, Cached> channels_;  // only the server thread uses it
};

}  // namespace k8i::notification

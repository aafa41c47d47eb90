#include "services/notification/wiring.h"

#include "libs/common/status_macros.h"
#include "libs/crypto/keyring.h"
#include "libs/grpcx/tls_config.h"
#include "libs/kit/outbox.h"
#include "libs/metrics/http_server.h"
#include "services/notification/dispatcher.h"
#include "services/notification/inbound_endpoint.h"
#include "services/notification/notification_service.h"
#include "services/notification/sender/http_sender.h"
#include "services/notification/store/pg_store.h"

namespace k8i::notification {

absl::Status Wire(kit::Service& s, const Config& cfg, inventory::UserAuthOverrides o,
                  Parts* parts) {
  Parts local;
  Parts& p = parts != nullptr ? *parts : local;
  ASSIGN_OR_RETURN(p.users, inventory::BuildUserAuth(s, cfg, std::move(o)));
  ASSIGN_OR_RETURN(std::unique_ptr<crypto::Keyring> keyring,
                   crypto::LoadConfiguredKeyring(cfg.keyring_file, cfg.keyring_text));
  const crypto::Keyring* keys = keyring ? s.Own(std::move(keyring)) : nullptr;
  p.store = s.Own(std::make_unique<PgNotificationStore>(&s.pool(), keys, s.Topic("audit.v1")));
  auto* sender = s.Own(std::make_unique<HttpSender>(HttpSenderOptions{
      .policy = cfg.targets, .timeout = cfg.timeout}));
  p.dispatcher = s.Own(std::make_unique<Dispatcher>(
      p.store, sender,
      DispatcherOptions{.workers = cfg.workers,
                        .retry = cfg.retry,
                        .lease = cfg.timeout * 2 + absl::Seconds(5),
                        .attempt_timeout = cfg.timeout,
                        .console_url = cfg.console_url,
                        .pagerduty_url = cfg.pagerduty_url},
      s.registry()));
  auto* targets = s.Own(std::make_unique<TargetPolicy>(cfg.targets));
  p.service = s.Own(std::make_unique<NotificationServiceImpl>(p.store, p.dispatcher, targets,
                                                              p.users.page_tokens));
  s.SetAuth({.authenticator = p.users.authenticator,
             .policy = &NotificationPolicy(),
             .rate_limiter = p.users.limiter});
  s.AddGrpcService(p.service, "k8intel.v1.NotificationService");
  Dispatcher* dispatcher = p.dispatcher;
  auto* handler = s.Own(std::make_unique<IncidentEventHandler>([dispatcher] { dispatcher->Wake(); }));
  ASSIGN_OR_RETURN(p.incidents, s.AddConsumer({.name = kIncidentConsumer,
                                               .group_id = cfg.group + "-incidents",
                                               .topics = {s.Topic("incidents.v1")}},
                                              handler));
  const absl::Duration keep = cfg.log_retention;
  p.retention = s.AddJob({.name = "delivery-log-retention",
                          .interval = absl::Hours(1),
                          .jitter = absl::Minutes(5),
                          .timeout = absl::Minutes(10),
                          .schema = kSchema},
                         [keep](kit::JobRun& run) {
                           pqxx::work tx(run.conn);
                           PgNotificationStore::Prune(tx, run.now - keep, run.now - absl::Hours(168));
                           tx.commit();
                           return absl::OkStatus();
                         });
  p.publish_commands = s.AddOutbox({.schema = kSchema,
                                    .timeout = cfg.common.delivery_timeout,
                                    .name = "notification-commands"},
                                   {.name = "publish-incident-commands", .interval = absl::Seconds(5)});
  if (!cfg.inbound_addr.empty()) {
    kit::LeaderJob* publish = p.publish_commands;
    auto* inbound = s.Own(std::make_unique<InboundEndpoint>(
        p.store, &s.pool(), s.Topic("incident-commands.v1"), &s.clock(), s.registry(),
        [publish] { publish->Wake(); }));
    // Stopped when the service drains (and in any case before the endpoint it calls, being
    // owned after it).
    ASSIGN_OR_RETURN(p.inbound_port,
                     s.AddHttpServer(
                         cfg.inbound_addr,
                         [inbound](const metrics::HttpRequest& r) { return inbound->Handle(r); },
                         {.what = "notification inbound",
                          .body_limit = 256 << 10,
                          .max_connections = 256}));
  }
  dispatcher->Start();
  s.OnDrain([dispatcher] { dispatcher->Stop(); });
  return absl::OkStatus();
}

}  // namespace k8i::notification

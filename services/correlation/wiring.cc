#include "services/correlation/wiring.h"

#include "libs/common/logging.h"
#include "libs/common/status_macros.h"
#include "libs/kit/outbox.h"
#include "services/correlation/anomalies.h"
#include "services/correlation/commands.h"
#include "services/correlation/engine.h"
#include "services/correlation/incident_service.h"
#include "services/correlation/store/publisher.h"
#include "services/correlation/store/retention.h"
#include "services/correlation/store/tick.h"

namespace k8i::correlation {

absl::Status Wire(kit::Service& s, const Config& cfg, inventory::UserAuthOverrides o,
                  Parts* parts) {
  Parts local;
  Parts& p = parts != nullptr ? *parts : local;
  ASSIGN_OR_RETURN(p.users, inventory::BuildUserAuth(s, cfg, std::move(o)));
  p.engine = s.Own(std::make_unique<Engine>(cfg.engine, &s.clock(), s.registry()));
  p.service = s.Own(std::make_unique<IncidentServiceImpl>(&s.pool(), p.engine, p.users.page_tokens));
  s.SetAuth({.authenticator = p.users.authenticator,
             .policy = &CorrelationPolicy(),
             .rate_limiter = p.users.limiter});
  s.AddGrpcService(p.service, "k8intel.v1.IncidentService");

  // The outbox publisher: leader-elected, every publish_interval, and woken by each
  // transaction that applied alerts (it runs on its own thread while the consumer goes on), so
  // a change reaches k8i.incidents.v1 within milliseconds of its commit on the leading replica.
  auto* publisher = s.Own(std::make_unique<OutboxPublisher>(
      s.producer(), s.Topic("incidents.v1"), cfg.common.delivery_timeout, s.registry()));
  p.publisher = publisher;
  // Its deletes of what Kafka acknowledged do not wait for the WAL flush: one lost in a crash
  // only sends those events again (at least once on Kafka, once by CloudEvent id), and the
  // next round need not wait for this one's flush.
  p.publish = s.AddJob({.name = "publish-incidents",
                        .interval = cfg.publish_interval,
                        .timeout = absl::Minutes(1),
                        .settings = {{"synchronous_commit", "off"}}},
                       [publisher](kit::JobRun& run) { return publisher->Run(run); });
  kit::LeaderJob* publish = p.publish;
  // `alert_consumers` members of the alerts group in this process, each with its handler and
  // thread: the group spreads the partitions (hence the clusters) over them, and the engine
  // works on different clusters in parallel.
  for (int i = 0; i < cfg.alert_consumers; ++i) {
    auto* alerts = s.Own(std::make_unique<AlertHandler>(
        p.engine, [publisher, publish](std::vector<QueuedEvent> queued) {
          // Only the leading replica's publisher runs (and forgets what it sent).
          if (publish->LeaderBackendPid() != 0) publisher->Offer(std::move(queued));
          publish->Wake();
        }));
    ASSIGN_OR_RETURN(kit::TransactionalConsumer * consumer,
                     s.AddConsumer({.name = kAlertConsumer,
                                    .group_id = cfg.group + "-alerts",
                                    .topics = {s.Topic("alerts.v1")},
                                    .max_batch = cfg.max_batch,
                                    .workers = cfg.alert_workers},
                                   alerts));
    if (p.alerts == nullptr) p.alerts = consumer;
  }
  auto* inventory = s.Own(std::make_unique<InventoryHandler>(p.engine));
  ASSIGN_OR_RETURN(p.inventory, s.AddConsumer({.name = kInventoryConsumer,
                                               .group_id = cfg.group + "-inventory",
                                               .topics = {s.Topic("inventory.v1")},
                                               .max_batch = cfg.max_batch},
                                              inventory));

  // Acknowledgements and resolutions from Slack and PagerDuty, verified by k8i-notification.
  auto* commands = s.Own(std::make_unique<CommandHandler>(p.engine, [publish] { publish->Wake(); }));
  ASSIGN_OR_RETURN(p.commands, s.AddConsumer({.name = kCommandConsumer,
                                              .group_id = cfg.group + "-commands",
                                              .topics = {s.Topic("incident-commands.v1")}},
                                             commands));

  auto* events = s.Own(std::make_unique<EventHandler>());
  ASSIGN_OR_RETURN(p.events, s.AddConsumer({.name = kEventConsumer,
                                            .group_id = cfg.group + "-events",
                                            .topics = {s.Topic("events.v1")},
                                            .max_batch = cfg.max_batch},
                                           events));

  // Anomaly detection: metrics in, alerts out through the outbox (drained by a leader job every
  // publish_interval and right after each metrics transaction).
  if (!cfg.anomaly.metrics.empty()) {
    p.publish_alerts = s.AddOutbox({.schema = kSchema,
                                    .timeout = cfg.common.delivery_timeout,
                                    .name = "correlation-alerts"},
                                   {.name = "publish-anomaly-alerts", .interval = cfg.publish_interval});
    kit::LeaderJob* publish_alerts = p.publish_alerts;
    auto* anomalies = s.Own(std::make_unique<AnomalyHandler>(
        cfg.anomaly, s.Topic("alerts.v1"), s.registry(),
        [publish_alerts] { publish_alerts->Wake(); }));
    ASSIGN_OR_RETURN(p.metrics, s.AddConsumer({.name = kMetricsConsumer,
                                               .group_id = cfg.group + "-metrics",
                                               .topics = {s.Topic("metrics.v1")},
                                               .max_batch = cfg.max_batch},
                                              anomalies));
    auto* expiry = s.Own(std::make_unique<AnomalyExpiry>(cfg.anomaly, s.Topic("alerts.v1")));
    p.anomaly_expiry = s.AddJob({.name = "anomaly-expiry",
                                 .interval = absl::Minutes(1),
                                 .jitter = absl::Seconds(6),
                                 .timeout = absl::Minutes(5),
                                 .schema = kSchema},
                                [expiry](kit::JobRun& run) { return expiry->Run(run); });
  }

  const RetentionOptions retention = cfg.retention;
  p.retention = s.AddJob({.name = "retention",
                          .interval = absl::Hours(1),
                          .jitter = absl::Minutes(5),
                          .timeout = absl::Minutes(10),
                          .schema = kSchema},
                         [retention](kit::JobRun& run) { return RunRetention(run, retention); });

  auto* tick = s.Own(std::make_unique<IdleTick>(
      p.engine, IdleTickOptions{.idle_after = cfg.idle_after, .lateness = cfg.lateness}));
  p.tick = s.AddJob({.name = "tick",
                     .interval = cfg.tick_interval,
                     .jitter = cfg.tick_interval / 10,
                     .timeout = absl::Minutes(5),
                     .schema = kSchema},
                    [tick](kit::JobRun& run) { return tick->Run(run); });
  return absl::OkStatus();
}

}  // namespace k8i::correlation

#include "services/recommendation/wiring.h"

#include <atomic>

#include "libs/common/status_macros.h"
#include "libs/kit/outbox.h"
#include "services/recommendation/consumers.h"
#include "services/recommendation/recommendation_service.h"
#include "services/recommendation/runner.h"
#include "services/recommendation/simulation_service.h"

namespace k8i::recommendation {

absl::Status Wire(kit::Service& s, const Config& cfg, inventory::UserAuthOverrides o,
                  Parts* parts) {
  Parts local;
  Parts& p = parts != nullptr ? *parts : local;
  ASSIGN_OR_RETURN(p.users, inventory::BuildUserAuth(s, cfg, std::move(o)));

  p.publish = s.AddOutbox({.schema = kSchema,
                           .timeout = cfg.common.delivery_timeout,
                           .name = "recommendation"},
                          {.name = "publish", .interval = cfg.publish_interval});
  kit::LeaderJob* publish = p.publish;

  p.runner = s.Own(std::make_unique<Runner>(
      cfg.runner,
      RunnerTopics{.recommendations = s.Topic("recommendations.v1"), .alerts = s.Topic("alerts.v1")},
      s.registry()));
  Runner* runner = p.runner;
  p.evaluate = s.AddJob({.name = "evaluate",
                         .interval = cfg.runner.interval,
                         .jitter = cfg.runner.interval / 10,
                         .timeout = absl::Minutes(30),
                         .schema = kSchema},
                        [runner, publish](kit::JobRun& run) {
                          absl::Status st = runner->Run(run);
                          publish->Wake();
                          return st;
                        });

  p.service = s.Own(std::make_unique<RecommendationServiceImpl>(
      &s.pool(), p.users.page_tokens, &s.clock(), s.Topic("recommendations.v1"),
      s.Topic("audit.v1")));
  s.SetAuth({.authenticator = p.users.authenticator,
             .policy = &RecommendationPolicy(),
             .rate_limiter = p.users.limiter});
  s.AddGrpcService(p.service, "k8intel.v1.RecommendationService");
  p.simulation = s.Own(std::make_unique<SimulationServiceImpl>(&s.pool()));
  s.AddGrpcService(p.simulation, "k8intel.v1.SimulationService");

  // Inventory changes wake the runner, at most every 30 s (a snapshot arrives in many batches).
  struct Debounce {
    std::atomic<int64_t> last_ms{0};
  };
  auto* debounce = s.Own(std::make_unique<Debounce>());
  kit::LeaderJob* evaluate = p.evaluate;
  const Clock* clock = &s.clock();
  auto* inventory = s.Own(std::make_unique<InventoryHandler>([debounce, evaluate, clock] {
    const int64_t now = absl::ToUnixMillis(clock->Now());
    int64_t last = debounce->last_ms.load();
    if (now - last >= 30'000 && debounce->last_ms.compare_exchange_strong(last, now)) {
      evaluate->Wake();
    }
  }));
  ASSIGN_OR_RETURN(p.inventory, s.AddConsumer({.name = kInventoryConsumer,
                                               .group_id = cfg.group + "-inventory",
                                               .topics = {s.Topic("inventory.v1")},
                                               .max_batch = cfg.max_batch},
                                              inventory));
  auto* metrics = s.Own(std::make_unique<MetricsHandler>(cfg.point_step));
  ASSIGN_OR_RETURN(p.metrics, s.AddConsumer({.name = kMetricsConsumer,
                                             .group_id = cfg.group + "-metrics",
                                             .topics = {s.Topic("metrics.v1")},
                                             .max_batch = cfg.max_batch},
                                            metrics));
  auto* alerts = s.Own(std::make_unique<AlertHandler>());
  ASSIGN_OR_RETURN(p.alerts, s.AddConsumer({.name = kAlertConsumer,
                                            .group_id = cfg.group + "-alerts",
                                            .topics = {s.Topic("alerts.v1")},
                                            .max_batch = cfg.max_batch},
                                           alerts));
  auto* events = s.Own(std::make_unique<EventHandler>());
  ASSIGN_OR_RETURN(p.events, s.AddConsumer({.name = kEventConsumer,
                                            .group_id = cfg.group + "-events",
                                            .topics = {s.Topic("events.v1")},
                                            .max_batch = cfg.max_batch},
                                           events));
  auto* prices = s.Own(std::make_unique<PriceHandler>());
  ASSIGN_OR_RETURN(p.prices, s.AddConsumer({.name = kPriceConsumer,
                                            .group_id = cfg.group + "-prices",
                                            .topics = {s.Topic("prices.v1")},
                                            .max_batch = cfg.max_batch},
                                           prices));
  const absl::Duration window = cfg.runner.window;
  p.retention = s.AddJob({.name = "retention",
                          .interval = absl::Hours(1),
                          .jitter = absl::Minutes(5),
                          .timeout = absl::Minutes(10),
                          .schema = kSchema},
                         [window](kit::JobRun& run) { return RunRetention(run, window); });
  return absl::OkStatus();
}

}  // namespace k8i::recommendation

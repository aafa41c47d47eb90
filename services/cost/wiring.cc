#include "services/cost/wiring.h"

#include "libs/common/status_macros.h"
#include "libs/kit/outbox.h"
#include "services/cost/attribution_job.h"
#include "services/cost/budgets.h"
#include "services/cost/consumers.h"
#include "services/cost/cost_service.h"

namespace k8i::cost {

absl::Status Wire(kit::Service& s, const Config& cfg, inventory::UserAuthOverrides o,
                  Parts* parts) {
  Parts local;
  Parts& p = parts != nullptr ? *parts : local;
  ASSIGN_OR_RETURN(p.users, inventory::BuildUserAuth(s, cfg, std::move(o)));

  p.publish = s.AddOutbox({.schema = kSchema, .timeout = cfg.common.delivery_timeout, .name = "cost"},
                          {.name = "publish", .interval = cfg.publish_interval});
  kit::LeaderJob* publish = p.publish;

  const std::string alerts_topic = s.Topic("alerts.v1");
  p.attribution = s.Own(std::make_unique<AttributionJob>(
      cfg.job, s.registry(),
      [alerts_topic, publish](kit::JobRun& run, const std::string& tenant) {
        RETURN_IF_ERROR(CheckBudgets(run, tenant, alerts_topic));
        publish->Wake();
        return absl::OkStatus();
      }));
  AttributionJob* attribution = p.attribution;
  p.attribute = s.AddJob({.name = "attribute",
                          .interval = cfg.job.interval,
                          .jitter = cfg.job.interval / 10,
                          .timeout = absl::Minutes(30),
                          .schema = kSchema},
                         [attribution](kit::JobRun& run) { return attribution->Run(run); });
  kit::LeaderJob* attribute = p.attribute;

  p.service = s.Own(std::make_unique<CostServiceImpl>(
      &s.pool(), p.users.page_tokens, &s.clock(),
      CostServiceOptions{.audit_topic = s.Topic("audit.v1"),
                         .alerts_topic = alerts_topic,
                         .prices_topic = s.Topic("prices.v1"),
                         .backfill = cfg.job.backfill,
                         .wake = [attribute, publish] {
                           attribute->Wake();
                           publish->Wake();
                         }}));
  s.SetAuth({.authenticator = p.users.authenticator,
             .policy = &CostPolicy(),
             .rate_limiter = p.users.limiter});
  s.AddGrpcService(p.service, "k8intel.v1.CostService");

  auto* inventory = s.Own(std::make_unique<InventoryHandler>(s.registry()));
  ASSIGN_OR_RETURN(p.inventory, s.AddConsumer({.name = kInventoryConsumer,
                                               .group_id = cfg.group + "-inventory",
                                               .topics = {s.Topic("inventory.v1")},
                                               .max_batch = cfg.max_batch},
                                              inventory));
  auto* usage = s.Own(std::make_unique<MetricsHandler>(s.registry()));
  ASSIGN_OR_RETURN(p.metrics, s.AddConsumer({.name = kMetricsConsumer,
                                             .group_id = cfg.group + "-metrics",
                                             .topics = {s.Topic("metrics.v1")},
                                             .max_batch = cfg.max_batch},
                                            usage));

  const absl::Duration keep = cfg.job.line_retention;
  p.retention = s.AddJob({.name = "retention",
                          .interval = absl::Hours(1),
                          .jitter = absl::Minutes(5),
                          .timeout = absl::Minutes(10),
                          .schema = kSchema},
                         [keep](kit::JobRun& run) { return RunRetention(run, keep); });
  return absl::OkStatus();
}

}  // namespace k8i::cost

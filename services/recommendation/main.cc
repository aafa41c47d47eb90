// k8i-recommendation: rightsizing, stability advice and predictions, each explained with the
// command that fixes it. `k8i-recommendation` consumes k8i.inventory.v1, k8i.metrics.v1 and
// k8i.alerts.v1, evaluates every cluster periodically, serves RecommendationService and
// publishes changes on k8i.recommendations.v1; `k8i-recommendation migrate` applies the schema.
// The wiring is in wiring.cc, shared with the tests.
#include "libs/kit/service.h"
#include "services/recommendation/config.h"
#include "services/recommendation/wiring.h"

int main(int argc, char** argv) {
  using namespace k8i;
  recommendation::Config config;
  return kit::Main(argc, argv,
                   {.spec = recommendation::Spec(),
                    .load = [&](EnvReader& env) -> absl::StatusOr<kit::CommonConfig> {
                      auto c = recommendation::LoadConfig(env);
                      if (!c.ok()) return c.status();
                      config = *std::move(c);
                      return config.common;
                    },
                    .wire = [&](kit::Service& s) { return recommendation::Wire(s, config); }});
}

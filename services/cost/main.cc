// k8i-cost: cluster cost attributed hour by hour to containers, PVCs and idle capacity, rolled
// up to workloads, namespaces, teams and cost centres. `k8i-cost` consumes k8i.inventory.v1 and
// k8i.metrics.v1, runs the hourly attribution and budget checks, and serves CostService;
// `k8i-cost migrate` applies the schema. The wiring is in wiring.cc, shared with the tests.
#include "libs/kit/service.h"
#include "services/cost/config.h"
#include "services/cost/wiring.h"

int main(int argc, char** argv) {
  using namespace k8i;
  cost::Config config;
  return kit::Main(argc, argv,
                   {.spec = cost::Spec(),
                    .load = [&](EnvReader& env) -> absl::StatusOr<kit::CommonConfig> {
                      auto c = cost::LoadConfig(env);
                      if (!c.ok()) return c.status();
                      config = *std::move(c);
                      return config.common;
                    },
                    .wire = [&](kit::Service& s) { return cost::Wire(s, config); }});
}

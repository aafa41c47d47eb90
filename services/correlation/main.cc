// k8i-correlation: alerts grouped into a few explained incidents. `k8i-correlation` consumes
// k8i.alerts.v1 and k8i.inventory.v1, serves IncidentService and publishes every incident state
// change on k8i.incidents.v1; `k8i-correlation migrate` applies the schema. The wiring is in
// wiring.cc, shared with the test harness.
#include "libs/kit/service.h"
#include "services/correlation/config.h"
#include "services/correlation/wiring.h"

int main(int argc, char** argv) {
  using namespace k8i;
  correlation::Config config;
  return kit::Main(argc, argv,
                   {.spec = correlation::Spec(),
                    .load = [&](EnvReader& env) -> absl::StatusOr<kit::CommonConfig> {
                      auto c = correlation::LoadConfig(env);
                      if (!c.ok()) return c.status();
                      config = *std::move(c);
                      return config.common;
                    },
                    .wire = [&](kit::Service& s) { return correlation::Wire(s, config); }});
}

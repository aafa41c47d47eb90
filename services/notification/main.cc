// k8i-notification: incident state changes delivered to PagerDuty, Slack, Teams and signed
// webhooks, once each. `k8i-notification` consumes k8i.incidents.v1 and serves
// NotificationService; `k8i-notification migrate` applies the schema. The wiring is in
// wiring.cc, shared with the test harness.
#include "libs/kit/service.h"
#include "services/notification/config.h"
#include "services/notification/wiring.h"

int main(int argc, char** argv) {
  using namespace k8i;
  notification::Config config;
  return kit::Main(argc, argv,
                   {.spec = notification::Spec(),
                    .load = [&](EnvReader& env) -> absl::StatusOr<kit::CommonConfig> {
                      auto c = notification::LoadConfig(env);
                      if (!c.ok()) return c.status();
                      config = *std::move(c);
                      return config.common;
                    },
                    .wire = [&](kit::Service& s) { return notification::Wire(s, config); }});
}

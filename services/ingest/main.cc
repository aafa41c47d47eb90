// k8i-ingest: the write path. `k8i-ingest` serves IngestService, merges rollups from
// k8i.metrics.v1 and runs its leader-elected jobs (partitions, retention, republisher);
// `k8i-ingest migrate` applies the schema. Agent tokens are issued by k8i-inventory
// (ClusterService.CreateAgentToken or `k8i-inventory create-agent-token`); ingest only verifies
// them. The wiring is in wiring.cc, shared with the test harness.
#include "libs/kit/service.h"
#include "services/ingest/config.h"
#include "services/ingest/wiring.h"

int main(int argc, char** argv) {
  using namespace k8i;
  ingest::Config config;
  return kit::Main(argc, argv,
                   {.spec = ingest::Spec(),
                    .load = [&](EnvReader& env) -> absl::StatusOr<kit::CommonConfig> {
                      auto c = ingest::LoadConfig(env);
                      if (!c.ok()) return c.status();
                      config = *std::move(c);
                      return config.common;
                    },
                    .wire = [&](kit::Service& s) { return ingest::Wire(s, config); }});
}

// Agent: one collection round every interval — run every collector, judge gauge series against
// the edge anomaly baseline, split into batches, name them and write them to the spool — and
// wake the sender. The sender (sender/) drains the spool independently, so collection never
// waits on the network.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/synchronization/notification.h"
#include "libs/common/clock.h"
#include "tools/agent/collectors/collector.h"
#include "tools/agent/core/anomaly.h"
#include "tools/agent/core/batcher.h"
#include "tools/agent/probe.h"
#include "tools/agent/sender/spool.h"

namespace k8i::agent {

struct AgentOptions {
  std::string cluster;
  std::string node_name;
  int64_t boot_time_s = 0;
  BatchLimits batch;
};

// Agent is driven by one thread (Run, or Tick from tests).
class Agent {
 public:
  // `detector` may be null (anomaly detection off). Pointers must outlive the Agent;
  // `on_spooled` is called after batches were written (e.g. Sender::Notify).
  Agent(AgentOptions options, std::vector<CollectorPtr> collectors, AnomalyDetector* detector,
        Spool* spool, AgentProbe* probe, const Clock* clock, std::function<void()> on_spooled);

  // Tick runs one round and returns the number of batches spooled. A failing collector is
  // logged and counted; the round goes on with the others.
  absl::StatusOr<int> Tick();
  // Run ticks every `interval` (aligned to the interval) until `stop` is notified.
  void Run(absl::Duration interval, absl::Notification& stop);

 private:
  AgentOptions options_;
  std::vector<CollectorPtr> collectors_;
  AnomalyDetector* detector_;
  Spool* spool_;
  AgentProbe* probe_;
  const Clock* clock_;
  std::function<void()> on_spooled_;
  const std::string id_prefix_;
};

}  // namespace k8i::agent

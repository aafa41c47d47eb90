#include "tools/agent/agent.h"

#include <malloc.h>

#include "absl/strings/str_cat.h"
#include "libs/common/logging.h"
#include "libs/common/status_macros.h"

namespace k8i::agent {

Agent::Agent(AgentOptions options, std::vector<CollectorPtr> collectors, AnomalyDetector* detector,
             Spool* spool, AgentProbe* probe, const Clock* clock, std::function<void()> on_spooled)
    : options_(std::move(options)),
      collectors_(std::move(collectors)),
      detector_(detector),
      spool_(spool),
      probe_(probe),
      clock_(clock),
      on_spooled_(std::move(on_spooled)),
      id_prefix_(BatchIdPrefix(options_.node_name, options_.boot_time_s)) {}

absl::StatusOr<int> Agent::Tick() {
  const absl::Time now = clock_->Now();
  Collection c;
  for (auto& collector : collectors_) {
    if (absl::Status s = collector->Collect(now, c); !s.ok()) {
      probe_->CollectorError(collector->name());
      Logger("agent")->warn("collector {} failed: {}", collector->name(), s.ToString());
    }
  }
  if (detector_) {
    const size_t before = c.alerts.size();
    for (const auto& s : c.metrics) {
      if (s.type() == k8intel::v1::METRIC_TYPE_GAUGE) detector_->Observe(s, c.alerts);
    }
    const int raised = static_cast<int>(c.alerts.size() - before);
    if (raised > 0) {
      probe_->AnomalyAlerts(raised);
      for (size_t i = before; i < c.alerts.size(); ++i) {
        Logger("agent.anomaly")->info("{}", c.alerts[i].summary());
      }
    }
    probe_->AnomalySeries(static_cast<double>(detector_->tracked()),
                          static_cast<double>(detector_->untracked()));
  }
  int spooled = 0;
  for (auto& batch : SplitIntoBatches(std::move(c), options_.cluster, options_.batch)) {
    ASSIGN_OR_RETURN(const uint64_t seq, spool_->ReserveSeq());
    batch.set_batch_id(absl::StrCat(id_prefix_, "-", seq));
    int64_t samples = 0;
    for (const auto& s : batch.metrics()) samples += s.samples_size();
    if (absl::Status s = spool_->Append(seq, batch); !s.ok()) {
      probe_->BatchDropped(absl::IsResourceExhausted(s) ? "too_large" : "spool_write");
      Logger("agent")->error("batch {} lost: {}", batch.batch_id(), s.ToString());
      continue;
    }
    probe_->BatchSpooled(samples);
    ++spooled;
  }
  if (spooled > 0 && on_spooled_) on_spooled_();
  return spooled;
}

void Agent::Run(absl::Duration interval, absl::Notification& stop) {
  do {
    if (auto n = Tick(); !n.ok()) {
      Logger("agent")->error("collection round failed: {}", n.status().ToString());
    }
    // A round's collection and batch buffers are freed by now: hand the free pages at the top
    // of the heap back to the kernel instead of keeping them resident until the next round.
    malloc_trim(0);
    // Sleep to the next multiple of the interval, so samples line up across nodes.
    const absl::Time now = clock_->Now();
    const absl::Time next =
        absl::UnixEpoch() + absl::Ceil(now - absl::UnixEpoch() + absl::Nanoseconds(1), interval);
    if (stop.WaitForNotificationWithTimeout(next - now)) break;
  } while (true);
}

}  // namespace k8i::agent

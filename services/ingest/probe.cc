#include "services/ingest/probe.h"

#include "absl/time/clock.h"
#include "libs/common/logging.h"

namespace k8i::ingest {

IngestProbe::IngestProbe(metrics::Registry& registry)
    : batches_(registry.AddCounter("k8i_ingest_batches_total",
                                   "Batches processed, by outcome (gRPC status code name).",
                                   {"code"})),
      samples_(registry.AddCounter("k8i_ingest_samples_total", "Samples stored durably.")
                   .WithLabels({})),
      duplicates_(registry.AddCounter("k8i_ingest_duplicate_batches_total",
                                      "Batches re-sent after a lost ack, acknowledged again.")
                      .WithLabels({})),
      heartbeat_failures_(
          registry
              .AddCounter("k8i_ingest_heartbeat_cache_failures_total",
                          "Heartbeat writes to Redis that failed (PostgreSQL still has them).")
              .WithLabels({})) {}

void IngestProbe::BatchDone(const AgentIdentity& who, absl::StatusCode code, int64_t samples,
                            bool duplicate) {
  batches_.WithLabels({absl::StatusCodeToString(code)}).Inc();
  if (samples > 0) samples_.Inc(static_cast<double>(samples));
  if (duplicate) duplicates_.Inc();
}

void IngestProbe::HeartbeatCacheFailed(const absl::Status& status) {
  heartbeat_failures_.Inc();
  // One warning per ten seconds at most: Redis down must not flood the log.
  static std::atomic<int64_t> last_warn_s{0};
  const int64_t now_s = absl::ToUnixSeconds(absl::Now());
  int64_t prev = last_warn_s.load();
  if (now_s - prev >= 10 && last_warn_s.compare_exchange_strong(prev, now_s)) {
    Logger("ingest")->warn(
        "heartbeat cache (Redis) unavailable, PostgreSQL heartbeat still recorded: {}",
        status.ToString());
  }
}

}  // namespace k8i::ingest

// Batching: splits one Collection into TelemetryBatches within ingest's per-batch limits, and
// names batches `<node>-<boot time>-<seq>` so ids stay unique per cluster across restarts
// (the sequence is persisted by the spool).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "k8intel/v1/telemetry.pb.h"
#include "tools/agent/core/collection.h"

namespace k8i::agent {

struct BatchLimits {
  int max_series = 5000;
  int64_t max_samples = 100'000;
  int max_items = 2000;  // objects, events and alerts each
};

// BatchIdPrefix returns `<node>-<boot_time>` with characters outside [A-Za-z0-9._:-] replaced by
// '_' and the node part shortened so that a full id stays within 128 characters.
std::string BatchIdPrefix(const std::string& node, int64_t boot_time_s);

// SplitIntoBatches moves everything in `c` into batches of at most `limits`, with `cluster` set
// and no batch_id (the caller names them). Returns no batch for an empty collection.
std::vector<k8intel::v1::TelemetryBatch> SplitIntoBatches(Collection c, const std::string& cluster,
                                                          const BatchLimits& limits);

}  // namespace k8i::agent

// Edge anomaly detection: a per-series baseline by hour of week (168 buckets of Welford running
// mean and variance). Once a bucket has seen `warmup_samples` values, a value more than `sigma`
// standard deviations from the bucket's mean raises a firing Alert (source "anomaly"); the
// first normal value afterwards resolves it. Memory is bounded by `max_series`.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/time/time.h"
#include "k8intel/v1/telemetry.pb.h"
#include "libs/common/stats.h"

namespace k8i::agent {

struct AnomalyOptions {
  // Values a bucket needs before it may judge (per hour of week).
  int warmup_samples = 30;
  // How many standard deviations from the mean count as anomalous.
  double sigma = 3.0;
  // Series tracked at most. When full, series not seen for `idle_timeout` (pods and their
  // veth interfaces come and go) are forgotten; if none is idle, the new series is not tracked
  // (counted in untracked()).
  size_t max_series = 5000;
  absl::Duration idle_timeout = absl::Hours(1);
  // A deviation must also exceed this fraction of |mean|, so near-constant series (stddev ~ 0)
  // do not alert on noise in the last digit.
  double min_relative_deviation = 0.01;
};

// AnomalyDetector is not thread-safe: one collection loop owns it.
class AnomalyDetector {
 public:
  explicit AnomalyDetector(AnomalyOptions options) : options_(options) {}

  // Observe judges `series`' samples against the baseline, then adds them to it, and appends
  // a firing or resolved Alert to `alerts` when the state of the series changes.
  void Observe(const k8intel::v1::MetricSeries& series, std::vector<k8intel::v1::Alert>& alerts);

  size_t tracked() const { return series_.size(); }
  int64_t untracked() const { return untracked_; }

 private:
  struct State {
    std::array<Welford, 168> buckets;
    bool firing = false;
    absl::Time firing_since;
    absl::Time last_seen;
  };

  AnomalyOptions options_;
  absl::flat_hash_map<std::string, std::unique_ptr<State>> series_;
  int64_t untracked_ = 0;
  absl::Time last_sweep_ = absl::InfinitePast();
};

}  // namespace k8i::agent

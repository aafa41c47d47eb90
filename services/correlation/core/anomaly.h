// Server-side anomaly detection on k8i.metrics.v1 (docs/correlation.md, "Anomalies").
//
// Baselines: per baseline key and hour of the week (UTC), a running mean and variance
// (Welford). The baseline key is the metric, its labels and the series' owner: the containers
// of a workload's pods share the workload's baseline (a rollout's new pods are judged by what
// the workload's pods did before; per-pod baselines would start cold at every rollout), other
// series — a node's, a bare pod's — have their own.
//
// Judging: each sample is compared with its bucket *before* it is added. Once the bucket holds
// `warmup` samples, a sample is beyond the band when |value − mean| > sigmas × σ, with
// σ = max(stddev, min_relative × |mean|) (so a near-constant series does not alert on noise in
// its last digits). `consecutive` samples in a row beyond the band on one side open an anomaly
// — a firing MetricAnomaly alert stating the value, the baseline, σ and how many σ away — and
// `recover` samples in a row that are not beyond it on that side resolve it. The samples of a
// streak are held out of the baseline until it is decided (so the streak is judged against
// the baseline before it), then added; samples during an open anomaly are added as they come,
// so a lasting change of level slowly becomes the new normal.
//
// Event time only: sample times choose buckets and stamp alerts, and samples not newer than a
// series' last one are skipped, so a redelivered or replayed stream gives the same alerts.
// Pure: the caller loads and stores SeriesState and the buckets. Not thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "k8intel/v1/telemetry.pb.h"
#include "libs/common/stats.h"

namespace k8i::correlation {

struct AnomalyOptions {
  double sigmas = 3.0;
  // Samples a bucket needs before it judges.
  int64_t warmup = 30;
  // Samples in a row beyond the band that open an anomaly; within it that resolve one.
  int consecutive = 3;
  int recover = 3;
  // σ is at least this fraction of |mean|.
  double min_relative = 0.05;
};

// The alert name of server-side anomalies (the agent's own detector says EdgeAnomaly).
inline constexpr char kAnomalyAlert[] = "MetricAnomaly";

// Identity of one series: `series` is unique to it, `baseline` is shared by the series whose
// values are judged together (see above).
struct SeriesIdentity {
  std::string series;
  std::string baseline;
};
SeriesIdentity IdentityOf(const k8intel::v1::MetricSeries& s);

// What is kept per series between messages.
struct SeriesState {
  int64_t last_ms = 0;  // newest sample applied
  int streak = 0;       // samples in a row beyond the band: > 0 above, < 0 below
  int64_t streak_start_ms = 0;
  // The streak's samples, held out of the baseline: (hour of week, value).
  std::vector<std::pair<int, double>> pending;
  int calm = 0;        // samples in a row not beyond the band, while an anomaly is open
  int direction = 0;   // of the open anomaly: +1 above, −1 below, 0 none
  k8intel::v1::Alert alert;  // the open anomaly's firing alert (resolved from it)

  // Quiet: no streak, no open anomaly — nothing but last_ms to remember, and a fresh state
  // judges the series' next samples the same way (storage keeps only states that are not).
  bool Quiet() const { return streak == 0 && direction == 0 && calm == 0 && pending.empty(); }
};

// Buckets: (baseline key, hour of week) → running moments. Missing buckets are empty; the
// caller loads those of the hours its samples fall in and of the series' pending samples.
using BucketKey = std::pair<std::string, int>;
struct Buckets {
  std::map<BucketKey, Welford> moments;
  std::set<BucketKey> dirty;  // changed by Observe
};

class AnomalyDetector {
 public:
  explicit AnomalyDetector(AnomalyOptions options) : options_(options) {}

  // Observe runs `series`' samples (oldest first; not newer than st.last_ms skipped) through
  // the series' state and its baseline buckets, appending a firing or resolved alert to `out`
  // whenever an anomaly opens or closes. Non-finite values are skipped.
  void Observe(const k8intel::v1::MetricSeries& series, const SeriesIdentity& id,
               SeriesState& st, Buckets& buckets, std::vector<k8intel::v1::Alert>& out) const;

  // Expire closes the series' open anomaly because the series stopped reporting: the resolved
  // alert ends at the series' last sample. nullopt when none is open.
  static std::optional<k8intel::v1::Alert> Expire(SeriesState& st);

  const AnomalyOptions& options() const { return options_; }

 private:
  AnomalyOptions options_;
};

}  // namespace k8i::correlation

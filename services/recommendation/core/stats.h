// Statistics the rules rest on (pure, deterministic): percentiles, least-squares lines with
// their R² and standard error, and one-off steps in a series.
#pragma once

#include <optional>
#include <vector>

#include "absl/time/time.h"

namespace k8i::recommendation {

struct Point {
  absl::Time t;
  double v = 0;
};

// Percentile by linear interpolation between closest ranks (numpy's default, Prometheus'
// quantile_over_time): p in [0, 1]. NaN for an empty set.
double Percentile(std::vector<double> values, double p);

// A least-squares line v = intercept + slope × (t − t0), slope per hour.
struct Line {
  absl::Time t0;
  double intercept = 0, slope = 0;  // slope: units per hour
  double r2 = 0;                     // 0..1 (1 when the points lie on it)
  double slope_stderr = 0;           // standard error of the slope
  int n = 0;
  double At(absl::Time t) const { return intercept + slope * absl::ToDoubleHours(t - t0); }
  // The t-statistic of the slope (slope / its standard error; large when the trend is real).
  double T() const;
};

// FitLine over the points (at least 3 at two or more distinct times), else nullopt.
std::optional<Line> FitLine(const std::vector<Point>& points);

// LastStep: the index i of the last step in `points` — a change points[i] − points[i−1] whose
// size exceeds `factor` × the median absolute change and `min_size` — or 0 when there is none.
// Fits start after it: a log rotation or a volume resize is not a trend.
size_t LastStep(const std::vector<Point>& points, double factor, double min_size);

}  // namespace k8i::recommendation

#include "services/recommendation/core/stats.h"

#include <algorithm>
#include <cmath>
#include <limits>

namespace k8i::recommendation {

double Percentile(std::vector<double> values, double p) {
  if (values.empty()) return std::numeric_limits<double>::quiet_NaN();
  std::sort(values.begin(), values.end());
  const double rank = std::clamp(p, 0.0, 1.0) * static_cast<double>(values.size() - 1);
  const size_t lo = static_cast<size_t>(std::floor(rank));
  const size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (values[hi] - values[lo]) * (rank - static_cast<double>(lo));
}

double Line::T() const {
  if (slope_stderr > 0) return slope / slope_stderr;
  return slope == 0 ? 0 : std::copysign(std::numeric_limits<double>::infinity(), slope);
}

std::optional<Line> FitLine(const std::vector<Point>& points) {
  if (points.size() < 3) return std::nullopt;
  Line l;
  l.t0 = points.front().t;
  l.n = static_cast<int>(points.size());
  double sx = 0, sy = 0;
  for (const Point& p : points) {
    sx += absl::ToDoubleHours(p.t - l.t0);
    sy += p.v;
  }
  const double n = static_cast<double>(points.size());
  const double mx = sx / n, my = sy / n;
  double sxx = 0, sxy = 0, syy = 0;
  for (const Point& p : points) {
    const double dx = absl::ToDoubleHours(p.t - l.t0) - mx, dy = p.v - my;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (sxx <= 0) return std::nullopt;
  l.slope = sxy / sxx;
  l.intercept = my - l.slope * mx;
  const double sse = std::max(0.0, syy - l.slope * sxy);
  l.r2 = syy > 0 ? std::clamp(1.0 - sse / syy, 0.0, 1.0) : 1.0;
  l.slope_stderr = n > 2 ? std::sqrt(sse / (n - 2) / sxx) : 0;
  return l;
}

size_t LastStep(const std::vector<Point>& points, double factor, double min_size) {
  if (points.size() < 4) return 0;
  std::vector<double> deltas;
  for (size_t i = 1; i < points.size(); ++i) deltas.push_back(std::abs(points[i].v - points[i - 1].v));
  const double median = Percentile(deltas, 0.5);
  for (size_t i = points.size() - 1; i >= 1; --i) {
    const double d = std::abs(points[i].v - points[i - 1].v);
    if (d > min_size && d > factor * median) return i;
  }
  return 0;
}

}  // namespace k8i::recommendation

#include "services/recommendation/core/sketch.h"

#include <cmath>
#include <limits>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace k8i::recommendation {
namespace {

constexpr double kMin = 1e-4;
constexpr double kGamma = 1.04;
constexpr int kMaxBucket = 2000;  // ~ kMin × 1.04^2000: far beyond any real value

}  // namespace

int Sketch::BucketOf(double v) {
  if (!(v >= kMin)) return 0;  // also NaN
  const int b = 1 + static_cast<int>(std::floor(std::log(v / kMin) / std::log(kGamma)));
  return std::min(b, kMaxBucket);
}

double Sketch::UpperBound(int bucket) {
  return bucket <= 0 ? kMin : kMin * std::pow(kGamma, bucket);
}

void Sketch::Add(double v, int64_t count) {
  if (count <= 0) return;
  buckets_[BucketOf(v)] += count;
  count_ += count;
}

void Sketch::Merge(const Sketch& other) {
  for (const auto& [b, n] : other.buckets_) buckets_[b] += n;
  count_ += other.count_;
}

double Sketch::Quantile(double q) const {
  if (count_ == 0) return std::numeric_limits<double>::quiet_NaN();
  // The nearest rank (1-based) of q.
  const int64_t rank =
      std::max<int64_t>(1, static_cast<int64_t>(std::ceil(q * static_cast<double>(count_))));
  int64_t seen = 0;
  for (const auto& [b, n] : buckets_) {
    seen += n;
    if (seen >= rank) return UpperBound(b);
  }
  return UpperBound(buckets_.rbegin()->first);
}

std::string Sketch::Encode() const {
  std::string out;
  for (const auto& [b, n] : buckets_) absl::StrAppend(&out, out.empty() ? "" : ",", b, ":", n);
  return out;
}

Sketch Sketch::Decode(const std::string& text) {
  Sketch s;
  for (absl::string_view part : absl::StrSplit(text, ',', absl::SkipEmpty())) {
    std::pair<absl::string_view, absl::string_view> kv = absl::StrSplit(part, ':');
    int b = 0;
    int64_t n = 0;
    if (!absl::SimpleAtoi(kv.first, &b) || !absl::SimpleAtoi(kv.second, &n) || b < 0 ||
        b > kMaxBucket || n <= 0) {
      return Sketch();
    }
    s.buckets_[b] += n;
    s.count_ += n;
  }
  return s;
}

}  // namespace k8i::recommendation

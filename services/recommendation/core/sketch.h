// A mergeable sketch of a distribution of non-negative values (pure): counts in logarithmic
// buckets, so hourly rollups keep it in a few hundred bytes and a 7-day percentile is the
// merge of 168 of them instead of 10,000 raw points per series. Bucket i > 0 holds values in
// [min × γ^(i−1), min × γ^i) with γ = 1.04 (a percentile read from it is within 2 % of the
// exact one); bucket 0 holds values below `min` (1e-4: 0.1 millicore).
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace k8i::recommendation {

class Sketch {
 public:
  void Add(double v, int64_t count = 1);
  void Merge(const Sketch& other);
  int64_t count() const { return count_; }
  // Quantile q in [0, 1]: the upper bound of the bucket holding the rank's value (NaN empty).
  double Quantile(double q) const;
  const std::map<int, int64_t>& buckets() const { return buckets_; }

  // "i:n,i:n,..." and back (malformed text reads as an empty sketch).
  std::string Encode() const;
  static Sketch Decode(const std::string& text);

  static int BucketOf(double v);
  static double UpperBound(int bucket);

 private:
  std::map<int, int64_t> buckets_;
  int64_t count_ = 0;
};

}  // namespace k8i::recommendation

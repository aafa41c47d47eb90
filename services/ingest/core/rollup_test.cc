#include "services/ingest/core/rollup.h"

#include <algorithm>
#include <random>
#include <vector>

#include "gtest/gtest.h"

namespace k8i::ingest {
namespace {

struct S {
  int64_t ms;
  double v;
};

RollupCell Fold(const std::vector<S>& samples) {
  RollupCell c;
  for (const auto& s : samples) c.Add(s.ms, s.v);
  return c;
}

TEST(RollupTest, BucketEdgesAreHalfOpenAndEpochAligned) {
  EXPECT_EQ(BucketStart(0, kRollup5mMs), 0);
  EXPECT_EQ(BucketStart(kRollup5mMs - 1, kRollup5mMs), 0);
  EXPECT_EQ(BucketStart(kRollup5mMs, kRollup5mMs), kRollup5mMs);
  EXPECT_EQ(BucketStart(-1, kRollup5mMs), -kRollup5mMs);
  EXPECT_EQ(BucketStart(-kRollup5mMs, kRollup5mMs), -kRollup5mMs);
  // 2024-03-10T13:59:59.999Z and 14:00:00.000Z fall into different hours.
  const int64_t h14 = 1710079200000;
  EXPECT_EQ(BucketStart(h14 - 1, kRollup1hMs), h14 - kRollup1hMs);
  EXPECT_EQ(BucketStart(h14, kRollup1hMs), h14);
  EXPECT_EQ(BucketStart(h14 + 299'999, kRollup5mMs), h14);
  EXPECT_EQ(BucketStart(h14 + 300'000, kRollup5mMs), h14 + 300'000);
}

TEST(RollupTest, AddKeepsCountSumMinMaxAndLatest) {
  RollupCell c = Fold({{10, 3}, {30, -1}, {20, 7}});
  EXPECT_EQ(c.count, 3);
  EXPECT_DOUBLE_EQ(c.sum, 9);
  EXPECT_EQ(c.min, -1);
  EXPECT_EQ(c.max, 7);
  EXPECT_EQ(c.last_ms, 30);  // out of order: the latest time wins, not the latest arrival
  EXPECT_EQ(c.last_value, -1);
}

TEST(RollupTest, EqualTimesPickTheGreatestValueWhateverTheOrder) {
  EXPECT_EQ(Fold({{5, 1}, {5, 4}, {5, 2}}).last_value, 4);
  EXPECT_EQ(Fold({{5, 4}, {5, 1}}).last_value, 4);
  RollupCell a = Fold({{5, 1}}), b = Fold({{5, 9}});
  RollupCell ab = a, ba = b;
  ab.Merge(b);
  ba.Merge(a);
  EXPECT_EQ(ab, ba);
  EXPECT_EQ(ab.last_value, 9);
}

TEST(RollupTest, MergeWithEmptyIsIdentity) {
  RollupCell c = Fold({{1, 2}, {3, 4}});
  RollupCell empty;
  RollupCell x = c;
  x.Merge(empty);
  EXPECT_EQ(x, c);
  empty.Merge(c);
  EXPECT_EQ(empty, c);
}

// Late samples arrive in a later batch: folding them into a separate cell and merging equals
// folding everything at once, for any split and any merge order (integers: sums are exact).
TEST(RollupTest, MergeIsAssociativeAndCommutativeOverAnySplit) {
  std::mt19937_64 rng(42);
  for (int trial = 0; trial < 200; ++trial) {
    std::vector<S> all;
    const int n = 1 + static_cast<int>(rng() % 40);
    for (int i = 0; i < n; ++i) {
      all.push_back({static_cast<int64_t>(rng() % 50), static_cast<double>(rng() % 1000) - 500});
    }
    const RollupCell whole = Fold(all);
    std::shuffle(all.begin(), all.end(), rng);
    const size_t cut1 = rng() % (all.size() + 1);
    const size_t cut2 = cut1 + rng() % (all.size() - cut1 + 1);
    RollupCell a = Fold({all.begin(), all.begin() + cut1});
    RollupCell b = Fold({all.begin() + cut1, all.begin() + cut2});
    RollupCell c = Fold({all.begin() + cut2, all.end()});
    RollupCell left = a;  // (a + b) + c
    left.Merge(b);
    left.Merge(c);
    RollupCell bc = b;  // a + (b + c)
    bc.Merge(c);
    RollupCell right = a;
    right.Merge(bc);
    RollupCell reversed = c;  // c + b + a
    reversed.Merge(b);
    reversed.Merge(a);
    EXPECT_EQ(left, whole);
    EXPECT_EQ(right, whole);
    EXPECT_EQ(reversed, whole);
  }
}

TEST(RollupTest, AddSeriesMakesOneCellPerSeriesAndBucketInKeyOrder) {
  k8intel::v1::MetricSeries s;
  const int64_t h = 1710079200000;
  for (int64_t ms : {h + 299'999, h, h + 300'000, h - 1, h + 1}) {
    auto* x = s.add_samples();
    x->set_time_unix_ms(ms);
    x->set_value(static_cast<double>(ms - h));
  }
  RollupCells cells;
  AddSeries(7, s, kRollup5mMs, cells);
  AddSeries(3, s, kRollup1hMs, cells);
  std::vector<std::pair<int64_t, int64_t>> keys;
  for (const auto& [k, c] : cells) keys.push_back(k);
  const std::vector<std::pair<int64_t, int64_t>> want = {
      {3, h - kRollup1hMs}, {3, h}, {7, h - kRollup5mMs}, {7, h}, {7, h + kRollup5mMs}};
  EXPECT_EQ(keys, want);
  const RollupCell& first5m = cells.at({7, h});
  EXPECT_EQ(first5m.count, 3);
  EXPECT_DOUBLE_EQ(first5m.sum, 299'999 + 0 + 1);
  EXPECT_EQ(first5m.last_ms, h + 299'999);
  EXPECT_EQ(cells.at({3, h}).count, 4);
  EXPECT_EQ(cells.at({3, h - kRollup1hMs}).max, -1);
}

TEST(RollupTest, MonthPartitionsWrapTheYear) {
  // 2024-12-31 is day 20088; 2024-02-29 is day 19782.
  MonthPartition dec = MonthPartitionOf(20088);
  EXPECT_EQ(dec.from, "2024-12-01");
  EXPECT_EQ(dec.to, "2025-01-01");
  EXPECT_EQ(dec.suffix, "202412");
  MonthPartition feb = MonthPartitionOf(19782);
  EXPECT_EQ(feb.from, "2024-02-01");
  EXPECT_EQ(feb.to, "2024-03-01");
}

}  // namespace
}  // namespace k8i::ingest

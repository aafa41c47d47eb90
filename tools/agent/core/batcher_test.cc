#include "tools/agent/core/batcher.h"

#include "gtest/gtest.h"

namespace k8i::agent {
namespace {

TEST(BatcherTest, BatchIdPrefixIsSafe) {
  EXPECT_EQ(BatchIdPrefix("node-1.example", 1763770000), "node-1.example-1763770000");
  EXPECT_EQ(BatchIdPrefix("we ird/ñ", 5), "we_ird___-5");
  EXPECT_EQ(BatchIdPrefix("", 5), "node-5");
  EXPECT_LE(BatchIdPrefix(std::string(300, 'a'), 1763770000).size() + 21, 128u);
}

TEST(BatcherTest, SplitsWithinLimits) {
  Collection c;
  k8intel::v1::ResourceRef r;
  for (int i = 0; i < 25; ++i) {
    AddSample(c, "m", k8intel::v1::METRIC_TYPE_GAUGE, "1", r, {{"i", std::to_string(i)}}, 1, i);
  }
  for (int i = 0; i < 5; ++i) c.alerts.emplace_back().set_name("a" + std::to_string(i));
  const auto batches = SplitIntoBatches(std::move(c), "c1", {.max_series = 10, .max_items = 3});
  ASSERT_EQ(batches.size(), 4u);
  EXPECT_EQ(batches[0].metrics_size(), 10);
  EXPECT_EQ(batches[2].metrics_size(), 5);
  EXPECT_EQ(batches[2].alerts_size(), 3);
  EXPECT_EQ(batches[3].alerts_size(), 2);
  for (const auto& b : batches) EXPECT_EQ(b.cluster(), "c1");
  EXPECT_TRUE(SplitIntoBatches(Collection{}, "c1", {}).empty());
}

TEST(BatcherTest, SampleLimit) {
  Collection c;
  k8intel::v1::ResourceRef r;
  for (int i = 0; i < 4; ++i) {
    auto& s = AddSample(c, "m", k8intel::v1::METRIC_TYPE_GAUGE, "1", r, {}, 1, 1);
    for (int k = 0; k < 9; ++k) *s.add_samples() = s.samples(0);
  }
  const auto batches = SplitIntoBatches(std::move(c), "c1", {.max_samples = 25});
  ASSERT_EQ(batches.size(), 2u);
  EXPECT_EQ(batches[0].metrics_size(), 2);
}

TEST(CollectionTest, SeriesKeyDistinguishesLabelsAndResource) {
  Collection c;
  k8intel::v1::ResourceRef a, b;
  a.set_device("eth0");
  b.set_device("eth1");
  AddSample(c, "m", k8intel::v1::METRIC_TYPE_GAUGE, "", a, {}, 1, 1);
  AddSample(c, "m", k8intel::v1::METRIC_TYPE_GAUGE, "", b, {}, 1, 1);
  AddSample(c, "m", k8intel::v1::METRIC_TYPE_GAUGE, "", a, {{"x", "1"}}, 1, 1);
  AddSample(c, "m", k8intel::v1::METRIC_TYPE_GAUGE, "", a, {{"x", "1"}}, 2, 5);
  EXPECT_NE(SeriesKey(c.metrics[0]), SeriesKey(c.metrics[1]));
  EXPECT_NE(SeriesKey(c.metrics[0]), SeriesKey(c.metrics[2]));
  EXPECT_EQ(SeriesKey(c.metrics[2]), SeriesKey(c.metrics[3]));
}

}  // namespace
}  // namespace k8i::agent

#include "services/ingest/core/batching.h"

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace k8i::ingest {
namespace {

google::protobuf::RepeatedPtrField<k8intel::v1::MetricSeries> Series(std::vector<int> samples) {
  google::protobuf::RepeatedPtrField<k8intel::v1::MetricSeries> out;
  for (size_t i = 0; i < samples.size(); ++i) {
    auto* s = out.Add();
    s->set_name(absl::StrCat("m", i));
    for (int k = 0; k < samples[i]; ++k) s->add_samples()->set_value(k);
  }
  return out;
}

TEST(SplitSeriesTest, SplitsWithinBothLimitsWithStableIds) {
  Limits limits;
  limits.max_series_per_batch = 3;
  limits.max_samples_per_batch = 4;
  const struct {
    const char* name;
    std::vector<int> samples;
    std::vector<std::vector<std::string>> want;  // series names per batch
    std::vector<std::string> ids;
  } cases[] = {
      {"nothing", {}, {}, {}},
      {"one batch keeps the id", {1, 1}, {{"m0", "m1"}}, {"x"}},
      {"series limit", {1, 1, 1, 1}, {{"m0", "m1", "m2"}, {"m3"}}, {"x-1", "x-2"}},
      {"sample limit", {2, 2, 1}, {{"m0", "m1"}, {"m2"}}, {"x-1", "x-2"}},
      {"an oversized series alone", {1, 9, 1}, {{"m0"}, {"m1"}, {"m2"}}, {"x-1", "x-2", "x-3"}},
  };
  for (const auto& c : cases) {
    auto batches = SplitSeries(Series(c.samples), "x", limits);
    ASSERT_EQ(batches.size(), c.want.size()) << c.name;
    for (size_t b = 0; b < batches.size(); ++b) {
      EXPECT_EQ(batches[b].batch_id(), c.ids[b]) << c.name;
      ASSERT_EQ(batches[b].metrics_size(), static_cast<int>(c.want[b].size())) << c.name;
      for (size_t i = 0; i < c.want[b].size(); ++i) {
        EXPECT_EQ(batches[b].metrics(static_cast<int>(i)).name(), c.want[b][i]) << c.name;
      }
    }
  }
}

}  // namespace
}  // namespace k8i::ingest

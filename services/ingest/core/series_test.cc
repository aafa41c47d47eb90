#include "services/ingest/core/series.h"

#include "gtest/gtest.h"

namespace k8i::ingest {
namespace {

TEST(SeriesTest, CanonicalLabelsFoldResourceAndSort) {
  k8intel::v1::MetricSeries s;
  s.set_name("m");
  auto* l = s.add_labels();
  l->set_name("zone");
  l->set_value("a");
  s.mutable_resource()->set_pod_name("p");
  s.mutable_resource()->set_namespace_name("ns");
  LabelSet labels = CanonicalLabels(s);
  ASSERT_EQ(labels.size(), 3u);
  EXPECT_EQ(labels[0].first, "k8s.namespace.name");
  EXPECT_EQ(labels[1].first, "k8s.pod.name");
  EXPECT_EQ(labels[2].first, "zone");
  EXPECT_EQ(LabelsJson(labels),
            R"({"k8s.namespace.name":"ns","k8s.pod.name":"p","zone":"a"})");
}

TEST(SeriesTest, SeriesIdDependsOnEveryPart) {
  LabelSet a = {{"x", "1"}};
  LabelSet b = {{"x", "2"}};
  int64_t base = SeriesId("t", "c", "m", a);
  EXPECT_EQ(base, SeriesId("t", "c", "m", a));
  EXPECT_NE(base, SeriesId("t2", "c", "m", a));
  EXPECT_NE(base, SeriesId("t", "c2", "m", a));
  EXPECT_NE(base, SeriesId("t", "c", "m2", a));
  EXPECT_NE(base, SeriesId("t", "c", "m", b));
  // Separators keep ("ab","c") and ("a","bc") apart.
  EXPECT_NE(SeriesId("ab", "c", "m", a), SeriesId("a", "bc", "m", a));
  EXPECT_GE(base, 0);
}

TEST(SeriesTest, TimestampsFormatInUtc) {
  std::string s;
  AppendTimestamp(0, s);
  EXPECT_EQ(s, "1970-01-01 00:00:00.000+00");
  s.clear();
  AppendTimestamp(1'800'000'000'123, s);  // 2027-01-15T08:00:00.123Z
  EXPECT_EQ(s, "2027-01-15 08:00:00.123+00");
  s.clear();
  AppendTimestamp(951'782'400'000 + 86'399'999, s);  // 2000-02-29 23:59:59.999
  EXPECT_EQ(s, "2000-02-29 23:59:59.999+00");
  s.clear();
  AppendTimestamp(-1, s);
  EXPECT_EQ(s, "1969-12-31 23:59:59.999+00");
  EXPECT_EQ(DayOf(-1), -1);
  EXPECT_EQ(DayOf(86'400'000), 1);
}

TEST(SeriesTest, SampleRowsAreCopyText) {
  k8intel::v1::MetricSeries s;
  auto* a = s.add_samples();
  a->set_time_unix_ms(1000);
  a->set_value(0.1);
  auto* b = s.add_samples();
  b->set_time_unix_ms(2000);
  b->set_value(-3e300);
  std::string out;
  AppendSampleRows("acme", 42, s, out);
  EXPECT_EQ(out,
            "acme\t42\t1970-01-01 00:00:01.000+00\t0.1\n"
            "acme\t42\t1970-01-01 00:00:02.000+00\t-3e+300\n");
}

TEST(SeriesTest, AlertFingerprintIgnoresLabelOrder) {
  k8intel::v1::Alert a;
  a.set_name("X");
  auto* l1 = a.add_labels();
  l1->set_name("a");
  l1->set_value("1");
  auto* l2 = a.add_labels();
  l2->set_name("b");
  l2->set_value("2");
  k8intel::v1::Alert b = a;
  b.mutable_labels()->SwapElements(0, 1);
  EXPECT_EQ(AlertFingerprint(a), AlertFingerprint(b));
  EXPECT_EQ(AlertFingerprint(a).size(), 16u);
  b.set_fingerprint("given");
  EXPECT_EQ(AlertFingerprint(b), "given");
}

}  // namespace
}  // namespace k8i::ingest

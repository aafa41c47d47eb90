#include "services/ingest/store/kafka_publisher.h"

#include "gtest/gtest.h"
#include "libs/kafka/cloudevents.h"
#include "services/ingest/testing/harness.h"

namespace k8i::ingest {
namespace {

TEST(KafkaPublisherTest, OneMessagePerKindWithCloudEventHeaders) {
  KafkaPublisher p(nullptr, {});
  auto batch = testing::MakeBatch("b7", 3, 2);
  batch.add_events()->set_uid("e1");
  auto msgs = p.BuildMessages({"acme", "prod"}, batch, absl::FromUnixSeconds(1'800'000'000));
  ASSERT_EQ(msgs.size(), 2u);
  EXPECT_EQ(msgs[0].topic, "k8i.metrics.v1");
  EXPECT_EQ(msgs[1].topic, "k8i.events.v1");
  EXPECT_EQ(msgs[0].key, "acme/prod");
  auto ce = kafka::ParseCloudEventHeaders(msgs[0].headers);
  ASSERT_TRUE(ce.ok()) << ce.status();
  EXPECT_EQ(ce->id, "b7:metrics:0");
  EXPECT_EQ(ce->type, "dev.k8intel.metrics.v1");
  EXPECT_EQ(ce->source, "/k8intel/ingest/tenants/acme/clusters/prod");
  k8intel::v1::MetricBatch mb;
  ASSERT_TRUE(mb.ParseFromString(msgs[0].value));
  EXPECT_EQ(mb.tenant(), "acme");
  EXPECT_EQ(mb.batch_id(), "b7");
  EXPECT_EQ(mb.series_size(), 3);
}

TEST(KafkaPublisherTest, LargeKindsAreSplitWithoutLosingItems) {
  KafkaPublisher p(nullptr, {.max_message_bytes = 4096});
  auto batch = testing::MakeBatch("big", 200, 20);
  auto msgs = p.BuildMessages({"acme", "prod"}, batch, absl::Now());
  ASSERT_GT(msgs.size(), 10u);
  int series = 0, samples = 0;
  for (size_t i = 0; i < msgs.size(); ++i) {
    EXPECT_LE(msgs[i].value.size(), 4096u + 2048u);
    auto ce = kafka::ParseCloudEventHeaders(msgs[i].headers);
    ASSERT_TRUE(ce.ok());
    EXPECT_EQ(ce->id, "big:metrics:" + std::to_string(i));
    k8intel::v1::MetricBatch mb;
    ASSERT_TRUE(mb.ParseFromString(msgs[i].value));
    series += mb.series_size();
    for (const auto& s : mb.series()) samples += s.samples_size();
  }
  EXPECT_EQ(series, 200);
  EXPECT_EQ(samples, 4000);
}

TEST(KafkaPublisherTest, EmptyBatchPublishesNothing) {
  KafkaPublisher p(nullptr, {});
  k8intel::v1::TelemetryBatch b;
  b.set_batch_id("x");
  EXPECT_TRUE(p.BuildMessages({"a", "b"}, b, absl::Now()).empty());
}

}  // namespace
}  // namespace k8i::ingest

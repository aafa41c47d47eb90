// The rollup consumer end to end on real components: batches streamed into an in-process
// ingest (its own wiring) are stored without rollups, published on Kafka, merged by the rollup
// consumer, and the rollup tables then equal a naive computation over the raw samples. The
// same messages published again (a republish, a producer retry) change nothing.
#include <random>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/common/ids.h"
#include "services/ingest/store/kafka_publisher.h"
#include "services/ingest/store/pg_rollups.h"
#include "services/ingest/testing/harness.h"

namespace k8i::ingest {
namespace {

using testing::IngestHarness;
using testing::ResilientSender;

// Rows of `table` that differ from the naive rollup of telemetry.samples at `width` (in either
// direction): 0 when the rollup is exact.
std::string MismatchSql(const std::string& tenant, const std::string& table, int width_s) {
  const std::string naive = absl::StrCat(
      "SELECT series_id, to_timestamp(floor(extract(epoch FROM ts) / ", width_s, ") * ", width_s,
      ") AS bucket_start, count(*) AS count, sum(value) AS sum, min(value) AS min, "
      "max(value) AS max FROM telemetry.samples WHERE tenant_id = '", tenant,
      "' GROUP BY 1, 2");
  return absl::StrCat(
      "SELECT count(*) FROM (", naive, ") n FULL JOIN (SELECT * FROM telemetry.", table,
      " WHERE tenant_id = '", tenant,
      "') r USING (series_id, bucket_start) WHERE r.count IS DISTINCT FROM n.count OR "
      "abs(r.sum - n.sum) > 1e-6 * greatest(1, abs(n.sum)) OR r.min IS DISTINCT FROM n.min OR "
      "r.max IS DISTINCT FROM n.max OR n.count IS NULL OR r.count IS NULL");
}

k8intel::v1::TelemetryBatch Batch(const std::string& id, std::mt19937_64& rng) {
  k8intel::v1::TelemetryBatch b;
  b.set_batch_id(id);
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  for (int s = 0; s < 6; ++s) {
    auto* m = b.add_metrics();
    m->set_name("k8s_container_cpu_usage_cores");
    m->set_type(k8intel::v1::METRIC_TYPE_GAUGE);
    m->mutable_resource()->set_pod_name(absl::StrCat("pod-", s));
    m->mutable_resource()->set_node_name("node-1");
    for (int i = 0; i < 20; ++i) {
      auto* x = m->add_samples();
      // Spread over the last six hours, out of order, across 5-minute and hourly buckets.
      x->set_time_unix_ms(now_ms - static_cast<int64_t>(rng() % (6 * 3'600'000)));
      x->set_value(static_cast<double>(rng() % 10'000) / 100.0);
    }
  }
  return b;
}

TEST(RollupConsumerTest, RollupsThroughKafkaEqualNaiveAndRedeliveryChangesNothing) {
  K8I_REQUIRE_STACK("K8I_TEST_PG_URL");
  K8I_REQUIRE_STACK("K8I_TEST_KAFKA_BOOTSTRAP");
  auto h = IngestHarness::Start(
      {.topic_prefix = absl::StrCat("k8irt", NewId().substr(0, 8), "."), .rollup_consumer = true});
  ASSERT_TRUE(h.ok()) << h.status();
  const std::string t = (*h)->tenant();
  ResilientSender agent(absl::StrCat("127.0.0.1:", (*h)->port()), (*h)->token());
  std::mt19937_64 rng(11);
  std::vector<k8intel::v1::TelemetryBatch> sent;
  for (int i = 0; i < 30; ++i) {
    sent.push_back(Batch(absl::StrCat("b", i), rng));
    ASSERT_TRUE(agent.Send(sent.back(), absl::Now() + absl::Seconds(30)).ok());
  }
  ASSERT_TRUE(agent.Send(sent[4], absl::Now() + absl::Seconds(30)).ok());  // a resend
  auto pending = [&] {
    return (*h)->QueryInt(
        absl::StrCat("SELECT count(*) FROM telemetry.rollup_pending WHERE tenant_id = '", t, "'"));
  };
  EXPECT_GT(pending() + (*h)->QueryInt("SELECT count(*) FROM telemetry.rollup_5m"), 0);
  const absl::Time until = absl::Now() + absl::Seconds(90);
  while (pending() != 0 && absl::Now() < until) absl::SleepFor(absl::Milliseconds(100));
  ASSERT_EQ(pending(), 0) << "the rollup consumer did not merge every batch";
  EXPECT_EQ((*h)->QueryInt(absl::StrCat("SELECT count(*) FROM telemetry.samples WHERE tenant_id = '",
                                        t, "'")),
            30 * 6 * 20);
  EXPECT_EQ((*h)->QueryInt(MismatchSql(t, "rollup_5m", 300)), 0);
  EXPECT_EQ((*h)->QueryInt(MismatchSql(t, "rollup_1h", 3600)), 0);
  const int64_t cells =
      (*h)->QueryInt("SELECT sum(count) FROM telemetry.rollup_5m WHERE tenant_id = '" + t + "'");
  EXPECT_EQ(cells, 30 * 6 * 20);

  // Every batch published once more, with the same CloudEvent ids: found processed.
  const int64_t applied = (*h)->parts().rollups->applied_total();
  for (const auto& b : sent) {
    ASSERT_TRUE((*h)->parts().publisher->Publish({t, (*h)->cluster()}, b).ok());
  }
  const std::string dup = absl::StrCat("k8i_consumer_messages_total{consumer=\"k8i-ingest-rollups\"");
  auto duplicates = [&] {
    const std::string text = (*h)->registry().Expose();
    for (size_t at = text.find(dup); at != std::string::npos; at = text.find(dup, at + 1)) {
      const size_t eol = text.find('\n', at);
      const std::string line = text.substr(at, eol - at);
      if (line.find("result=\"duplicate\"") != std::string::npos) {
        return std::stod(line.substr(line.rfind(' ') + 1));
      }
    }
    return 0.0;
  };
  const absl::Time until2 = absl::Now() + absl::Seconds(60);
  while (duplicates() < 30 && absl::Now() < until2) absl::SleepFor(absl::Milliseconds(100));
  EXPECT_GE(duplicates(), 30);
  EXPECT_EQ((*h)->parts().rollups->applied_total(), applied);
  EXPECT_EQ((*h)->QueryInt("SELECT sum(count) FROM telemetry.rollup_5m WHERE tenant_id = '" + t + "'"),
            cells);
  EXPECT_EQ((*h)->QueryInt(MismatchSql(t, "rollup_1h", 3600)), 0);
  EXPECT_NE((*h)->registry().Expose().find("k8i_rollup_lag_seconds_count 30"), std::string::npos)
      << (*h)->registry().Expose();
}

// Cells reach PostgreSQL as one array per column: doubles at the edges of their range come back
// bit for bit, and merging the same cells again adds them up (count, sum) and keeps min, max and
// the latest sample. A sum that overflows becomes Infinity: PostgreSQL's own float8 addition
// would fail the transaction, and the consumer would retry that message for ever.
TEST(RollupConsumerTest, UpsertKeepsEdgeValuesExactlyAndMergesAdditively) {
  K8I_REQUIRE_STACK("K8I_TEST_PG_URL");
  K8I_REQUIRE_STACK("K8I_TEST_KAFKA_BOOTSTRAP");
  auto h = IngestHarness::Start({.topic_prefix = absl::StrCat("k8iru", NewId().substr(0, 8), ".")});
  ASSERT_TRUE(h.ok()) << h.status();
  const std::string t = (*h)->tenant();
  // A stored batch creates this day's partitions, rollups included.
  ResilientSender agent(absl::StrCat("127.0.0.1:", (*h)->port()), (*h)->token());
  std::mt19937_64 rng(5);
  const k8intel::v1::TelemetryBatch stored = Batch("p", rng);
  ASSERT_TRUE(agent.Send(stored, absl::Now() + absl::Seconds(30)).ok());

  // A bucket of a day the batch created partitions for (not "now": past midnight, today's
  // partitions may not exist yet).
  const int64_t bucket = BucketStart(stored.metrics(0).samples(0).time_unix_ms(), kRollup5mMs);
  RollupCells cells;
  cells[{11, bucket}] = {.count = 1,
                         .sum = 1e308,
                         .min = 4.9e-324,
                         .max = 0.1,
                         .last_ms = bucket + 1,
                         .last_value = -2.5};
  cells[{12, bucket}] = {.count = 3,
                         .sum = -0.30000000000000004,
                         .min = -1e-300,
                         .max = 1.7976931348623157e308,
                         .last_ms = bucket + 299'999,
                         .last_value = 1.7976931348623157e308};
  for (int round = 0; round < 2; ++round) {
    ASSERT_TRUE((*h)->pool()
                    .WithTransaction([&](pqxx::work& tx) {
                      UpsertRollups(tx, t, "rollup_5m", cells);
                      return absl::OkStatus();
                    })
                    .ok());
  }
  const std::string at = absl::StrCat("to_timestamp(", bucket, " / 1000.0)");
  EXPECT_EQ((*h)->QueryInt(absl::StrCat(
                "SELECT count(*) FROM telemetry.rollup_5m WHERE tenant_id = '", t,
                "' AND bucket_start = ", at,
                " AND ((series_id = 11 AND count = 2 AND sum = 'Infinity' AND min = 4.9e-324 "
                "AND max = 0.1 AND last_ts = ",
                at,
                " + interval '1 ms' AND last_value = -2.5) OR (series_id = 12 AND count = 6 "
                "AND sum = -0.6000000000000001 AND min = -1e-300 AND max = 1.7976931348623157e308 "
                "AND last_ts = ",
                at, " + interval '299999 ms' AND last_value = 1.7976931348623157e308))")),
            2);
}

}  // namespace
}  // namespace k8i::ingest

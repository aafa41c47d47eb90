#include "tools/agent/agent.h"

#include <filesystem>

#include "gtest/gtest.h"
#include "libs/grpcx/status.h"
#include "libs/testing/stack.h"
#include "tools/agent/sender/sender.h"

namespace k8i::agent {
namespace {

namespace fs = std::filesystem;

// FakeCollector emits `n` gauge series with value `value` per round, or fails.
class FakeCollector final : public Collector {
 public:
  FakeCollector(int n, double* value, bool fail = false) : n_(n), value_(value), fail_(fail) {}
  std::string name() const override { return fail_ ? "broken" : "fake"; }
  absl::Status Collect(absl::Time now, Collection& out) override {
    if (fail_) return absl::UnavailableError("no data");
    k8intel::v1::ResourceRef r;
    r.set_node_name("node-a");
    for (int i = 0; i < n_; ++i) {
      AddSample(out, "fake_gauge", k8intel::v1::METRIC_TYPE_GAUGE, "1", r,
                {{"i", std::to_string(i)}}, absl::ToUnixMillis(now), *value_);
    }
    return absl::OkStatus();
  }

 private:
  int n_;
  double* value_;
  bool fail_;
};

class AgentTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("agent-test-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    spool_ = std::move(*Spool::Open({.dir = dir_.string()}, &probe_));
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
  metrics::Registry registry_;
  AgentProbe probe_{registry_};
  std::unique_ptr<Spool> spool_;
  k8i::testing::FakeClock clock_;
};

TEST_F(AgentTest, TickSpoolsNamedBatchesAndSurvivesABrokenCollector) {
  double value = 10;
  std::vector<CollectorPtr> cs;
  cs.push_back(std::make_unique<FakeCollector>(5, &value));
  cs.push_back(std::make_unique<FakeCollector>(0, &value, /*fail=*/true));
  int notified = 0;
  Agent agent({.cluster = "c1",
               .node_name = "node a",
               .boot_time_s = 1763770000,
               .batch = {.max_series = 2}},
              std::move(cs), nullptr, spool_.get(), &probe_, &clock_, [&] { ++notified; });
  auto n = agent.Tick();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 3);  // 5 series, 2 per batch
  EXPECT_EQ(notified, 1);
  EXPECT_EQ(spool_->size(), 3);
  auto e = spool_->Oldest();
  EXPECT_EQ(e->batch.batch_id(), "node_a-1763770000-" + std::to_string(e->seq));
  EXPECT_EQ(e->batch.cluster(), "c1");
  const std::string exposed = registry_.Expose();
  EXPECT_NE(exposed.find("k8i_agent_collector_errors_total{collector=\"broken\"} 1"),
            std::string::npos);
  EXPECT_NE(exposed.find("k8i_agent_batches_spooled_total 3"), std::string::npos);
  EXPECT_NE(exposed.find("k8i_agent_spool_batches 3"), std::string::npos);
}

TEST_F(AgentTest, AnomaliesBecomeAlertsInTheBatch) {
  double value = 10;
  std::vector<CollectorPtr> cs;
  cs.push_back(std::make_unique<FakeCollector>(1, &value));
  AnomalyDetector detector({.warmup_samples = 5});
  Agent agent({.cluster = "c1", .node_name = "n"}, std::move(cs), &detector, spool_.get(), &probe_,
              &clock_, nullptr);
  for (int i = 0; i < 6; ++i) {
    value = 10 + i % 2;
    ASSERT_TRUE(agent.Tick().ok());
    clock_.Advance(absl::Hours(168));
    spool_->Remove(spool_->Oldest()->seq).IgnoreError();
  }
  value = 1000;
  ASSERT_TRUE(agent.Tick().ok());
  auto e = spool_->Oldest();
  ASSERT_EQ(e->batch.alerts_size(), 1);
  EXPECT_EQ(e->batch.alerts(0).source(), "anomaly");
}

TEST_F(AgentTest, SenderClassifiesAcks) {
  Sender sender({.endpoint = "127.0.0.1:1", .token = "t"}, spool_.get(), &probe_);
  auto add = [&](const std::string& id) {
    k8intel::v1::TelemetryBatch b;
    b.set_batch_id(id);
    const uint64_t seq = *spool_->ReserveSeq();
    EXPECT_TRUE(spool_->Append(seq, b).ok());
    return Spool::Entry{seq, b};
  };
  const auto ok = add("ok");
  EXPECT_TRUE(sender.HandleAck(ok, absl::OkStatus(), false));
  const auto invalid = add("invalid");
  EXPECT_TRUE(sender.HandleAck(
      invalid, grpcx::InvalidArgumentWithViolations("bad", {{"batch.metrics[0]", "NaN"}}), false));
  const auto busy = add("busy");
  EXPECT_FALSE(sender.HandleAck(
      busy, grpcx::WithRetryDelay(absl::UnavailableError("pg down"), absl::Seconds(1)), false));
  EXPECT_FALSE(sender.HandleAck(busy, absl::UnauthenticatedError("bad token"), false));
  EXPECT_FALSE(sender.HandleAck(busy, absl::ResourceExhaustedError("overloaded"), false));
  EXPECT_EQ(spool_->size(), 1);  // only "busy" stays for a resend
  EXPECT_EQ(spool_->Oldest()->batch.batch_id(), "busy");
  const std::string exposed = registry_.Expose();
  EXPECT_NE(exposed.find("k8i_agent_batches_dropped_total{reason=\"invalid_argument\"} 1"),
            std::string::npos);
  EXPECT_NE(exposed.find("k8i_agent_retries_total{code=\"unavailable\"} 1"), std::string::npos);
  EXPECT_NE(exposed.find("k8i_agent_batches_acked_total{duplicate=\"false\"} 1"),
            std::string::npos);
}

TEST_F(AgentTest, SenderKeepsRetryingWhenIngestIsUnreachable) {
  k8intel::v1::TelemetryBatch b;
  b.set_batch_id("x");
  ASSERT_TRUE(spool_->Append(*spool_->ReserveSeq(), b).ok());
  Sender sender({.endpoint = "127.0.0.1:1",
                 .token = "t",
                 .backoff = {.initial = absl::Milliseconds(20), .max = absl::Milliseconds(50)}},
                spool_.get(), &probe_);
  sender.Start();
  // Polls (with a deadline) for a failed attempt and its retry, instead of sleeping.
  const absl::Time until = absl::Now() + absl::Seconds(10);
  auto retried = [&] {
    return registry_.Expose().find("k8i_agent_retries_total{code=\"unavailable\"} ") !=
           std::string::npos;
  };
  while (!retried() && absl::Now() < until) absl::SleepFor(absl::Milliseconds(10));
  sender.Stop();
  EXPECT_EQ(spool_->size(), 1);
  EXPECT_TRUE(retried()) << registry_.Expose();
}

}  // namespace
}  // namespace k8i::agent

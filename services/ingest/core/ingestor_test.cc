#include "services/ingest/core/ingestor.h"

#include <map>
#include <thread>

#include "absl/synchronization/notification.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/grpcx/status.h"
#include "libs/testing/stack.h"

namespace k8i::ingest {
namespace {

using k8intel::v1::TelemetryBatch;

// In-memory BatchStore with the same dedup contract as the PostgreSQL one.
class FakeStore : public BatchStore {
 public:
  absl::StatusOr<WriteResult> Write(const AgentIdentity& who, const TelemetryBatch& batch,
                                    const std::string& sha, const std::string& payload) override {
    if (!fail_write.ok()) return fail_write;
    auto key = who.tenant + "/" + who.cluster + "/" + batch.batch_id();
    auto it = rows.find(key);
    if (it != rows.end()) {
      if (it->second.sha != sha) return absl::AlreadyExistsError("reused");
      return WriteResult{.duplicate = true, .needs_publish = !it->second.published};
    }
    rows[key] = {sha, false};
    stored_samples += batch.metrics_size() ? batch.metrics(0).samples_size() : 0;
    return WriteResult{};
  }
  absl::Status MarkPublished(const AgentIdentity& who, const std::string& id) override {
    rows[who.tenant + "/" + who.cluster + "/" + id].published = true;
    return absl::OkStatus();
  }
  struct Row {
    std::string sha;
    bool published;
  };
  std::map<std::string, Row> rows;
  int stored_samples = 0;
  absl::Status fail_write;
};

class FakePublisher : public Publisher {
 public:
  absl::Status Publish(const AgentIdentity&, const TelemetryBatch& b) override {
    if (!fail.ok()) return fail;
    published.push_back(b.batch_id());
    return absl::OkStatus();
  }
  std::vector<std::string> published;
  absl::Status fail;
};

class FakeHeartbeat : public HeartbeatCache {
 public:
  absl::Status Touch(const AgentIdentity&, absl::Time) override {
    ++touches;
    return fail;
  }
  int touches = 0;
  absl::Status fail;
};

class CountingObserver : public IngestObserver {
 public:
  void HeartbeatCacheFailed(const absl::Status&) override { ++heartbeat_failures; }
  int heartbeat_failures = 0;
};

TelemetryBatch Batch(const std::string& id, int samples, absl::Time now) {
  TelemetryBatch b;
  b.set_batch_id(id);
  auto* s = b.add_metrics();
  s->set_name("m");
  for (int i = 0; i < samples; ++i) {
    auto* x = s->add_samples();
    x->set_time_unix_ms(absl::ToUnixMillis(now) - i);
    x->set_value(i);
  }
  return b;
}

class IngestorTest : public ::testing::Test {
 protected:
  k8i::testing::FakeClock clock_;
  FakeStore store_;
  FakePublisher publisher_;
  FakeHeartbeat heartbeat_;
  CountingObserver observer_;
  Ingestor ingestor_{Limits{}, 1000, &store_, &publisher_, &heartbeat_, &clock_, &observer_};
  AgentIdentity who_{"acme", "prod"};
};

TEST_F(IngestorTest, StoresPublishesAndAcks) {
  auto r = ingestor_.Ingest(who_, Batch("b1", 10, clock_.Now()));
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_FALSE(r->duplicate);
  EXPECT_EQ(r->accepted_samples, 10);
  EXPECT_THAT(publisher_.published, ::testing::ElementsAre("b1"));
  EXPECT_TRUE(store_.rows["acme/prod/b1"].published);
  EXPECT_EQ(heartbeat_.touches, 1);
}

TEST_F(IngestorTest, ResentBatchIsNotStoredOrPublishedTwice) {
  auto b = Batch("b1", 10, clock_.Now());
  ASSERT_TRUE(ingestor_.Ingest(who_, b).ok());
  auto again = ingestor_.Ingest(who_, b);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate);
  EXPECT_EQ(again->accepted_samples, 0);
  EXPECT_EQ(publisher_.published.size(), 1u);
  EXPECT_EQ(store_.stored_samples, 10);
}

TEST_F(IngestorTest, PublishFailureIsRetryableAndResendPublishesOnce) {
  publisher_.fail = absl::UnavailableError("broker down");
  auto b = Batch("b1", 10, clock_.Now());
  auto r = ingestor_.Ingest(who_, b);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(grpcx::GetRetryDelay(r.status()), kRetryDelay);
  EXPECT_FALSE(store_.rows["acme/prod/b1"].published);
  publisher_.fail = absl::OkStatus();
  auto again = ingestor_.Ingest(who_, b);
  ASSERT_TRUE(again.ok());
  EXPECT_TRUE(again->duplicate);
  EXPECT_THAT(publisher_.published, ::testing::ElementsAre("b1"));
  EXPECT_EQ(store_.stored_samples, 10);
}

TEST_F(IngestorTest, StoreOutageIsRetryable) {
  store_.fail_write = absl::UnavailableError("connection lost");
  auto r = ingestor_.Ingest(who_, Batch("b1", 1, clock_.Now()));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kUnavailable);
  EXPECT_TRUE(publisher_.published.empty());
}

TEST_F(IngestorTest, ReusedBatchIdWithOtherContentIsRefused) {
  ASSERT_TRUE(ingestor_.Ingest(who_, Batch("b1", 1, clock_.Now())).ok());
  auto r = ingestor_.Ingest(who_, Batch("b1", 2, clock_.Now()));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kAlreadyExists);
}

TEST_F(IngestorTest, InvalidBatchChangesNothing) {
  auto b = Batch("b1", 3, clock_.Now());
  b.mutable_metrics(0)->mutable_samples(1)->set_value(NAN);
  auto r = ingestor_.Ingest(who_, b);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
  auto v = grpcx::GetFieldViolations(r.status());
  ASSERT_EQ(v.size(), 1u);
  EXPECT_EQ(v[0].field, "batch.metrics[0].samples[1].value");
  EXPECT_TRUE(store_.rows.empty());
  EXPECT_TRUE(publisher_.published.empty());
  EXPECT_EQ(heartbeat_.touches, 0);
}

TEST_F(IngestorTest, OtherClustersBatchIsDenied) {
  auto b = Batch("b1", 1, clock_.Now());
  b.set_cluster("staging");
  EXPECT_EQ(ingestor_.Ingest(who_, b).status().code(), absl::StatusCode::kPermissionDenied);
  EXPECT_TRUE(store_.rows.empty());
}

TEST_F(IngestorTest, RedisDownStillAcks) {
  heartbeat_.fail = absl::UnavailableError("redis down");
  auto r = ingestor_.Ingest(who_, Batch("b1", 1, clock_.Now()));
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(observer_.heartbeat_failures, 1);
}

// A store that holds its first Write until released, to keep a batch in flight.
class BlockingStore : public FakeStore {
 public:
  absl::StatusOr<WriteResult> Write(const AgentIdentity& who, const TelemetryBatch& batch,
                                    const std::string& sha, const std::string& payload) override {
    if (!entered.HasBeenNotified()) {
      entered.Notify();
      release.WaitForNotification();
    }
    return FakeStore::Write(who, batch, sha, payload);
  }
  absl::Notification entered, release;
};

TEST(IngestorOverloadTest, FullBudgetAnswersResourceExhaustedWithRetryDelay) {
  k8i::testing::FakeClock clock;
  BlockingStore store;
  FakePublisher publisher;
  FakeHeartbeat heartbeat;
  Ingestor ingestor(Limits{}, /*inflight_sample_budget=*/50, &store, &publisher, &heartbeat,
                    &clock);
  AgentIdentity who{"acme", "prod"};
  absl::StatusOr<IngestResult> first;
  std::thread t([&] { first = ingestor.Ingest(who, Batch("big", 40, clock.Now())); });
  store.entered.WaitForNotification();
  auto second = ingestor.Ingest(who, Batch("next", 40, clock.Now()));
  EXPECT_EQ(second.status().code(), absl::StatusCode::kResourceExhausted);
  EXPECT_EQ(grpcx::GetRetryDelay(second.status()), kRetryDelay);
  store.release.Notify();
  t.join();
  ASSERT_TRUE(first.ok()) << first.status();
  // Capacity is back once the first batch is done.
  EXPECT_TRUE(ingestor.Ingest(who, Batch("next", 40, clock.Now())).ok());
}

TEST(AdmissionTest, BoundsInFlightWork) {
  Admission a(100);
  EXPECT_TRUE(a.TryAcquire(60));
  EXPECT_FALSE(a.TryAcquire(50));
  EXPECT_TRUE(a.TryAcquire(40));
  a.Release(60);
  a.Release(40);
  EXPECT_TRUE(a.TryAcquire(500));  // oversize admitted alone
  EXPECT_FALSE(a.TryAcquire(1));
  a.Release(500);
  EXPECT_EQ(a.in_flight(), 0);
}

}  // namespace
}  // namespace k8i::ingest

// RetentionJob against the real PostgreSQL of the test stack: expired partitions and rows go,
// fresh ones stay, three concurrent instances elect exactly one leader, and killing the
// leader's session hands the job to another instance.
#include "services/ingest/retention/retention_job.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/pg/pool.h"
#include "libs/testing/stack.h"
#include "services/ingest/store/pg_batch_store.h"

namespace k8i::ingest {
namespace {

class RetentionJobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    K8I_REQUIRE_STACK("K8I_TEST_PG_URL");
    auto db = k8i::testing::TempDatabase::Create();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    auto pool = pg::Pool::Create({.url = db_->url(), .size = 4});
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = *std::move(pool);
    ASSERT_TRUE(ApplyMigrations(*pool_).ok());
  }

  RetentionPolicy Policy(int chunk_rows = 1000) {
    return TelemetryRetention({.metrics = absl::Hours(24 * 30),
                               .alerts = absl::Hours(24 * 30),
                               .events = absl::Hours(24 * 7),
                               .deleted_objects = absl::Hours(24 * 7),
                               .batches = absl::Hours(24 * 7),
                               .chunk_rows = chunk_rows});
  }

  void Exec(const std::string& sql) {
    absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) {
      tx.exec(sql);
      return absl::OkStatus();
    });
    ASSERT_TRUE(s.ok()) << s << "\n" << sql;
  }

  int64_t Count(const std::string& sql) {
    int64_t n = -1;
    absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) {
      n = tx.exec1(sql)[0].as<int64_t>();
      return absl::OkStatus();
    });
    EXPECT_TRUE(s.ok()) << s << "\n" << sql;
    return n;
  }

  // Day partitions of telemetry.samples from 40 days ago to tomorrow, one sample in each.
  void SeedPartitions() {
    Exec(R"sql(
      DO $$ DECLARE d date; BEGIN
        FOR d IN SELECT generate_series(current_date - 40, current_date + 1, interval '1 day')::date
        LOOP
          EXECUTE format('CREATE TABLE IF NOT EXISTS telemetry.%I PARTITION OF telemetry.samples '
                         'FOR VALUES FROM (%L) TO (%L)', 'samples_' || to_char(d, 'YYYYMMDD'),
                         d::timestamptz, (d + 1)::timestamptz);
        END LOOP;
      END $$;
      INSERT INTO telemetry.samples
        SELECT 't1', 1, d + interval '1 hour', 1.0
        FROM generate_series(current_date - 40, current_date + 1, interval '1 day') d;)sql");
  }

  // For tenants t1 and t2: an expired and a fresh row of every rule, and rows no rule touches.
  void SeedRows(int bulk_events) {
    for (const char* t : {"t1", "t2"}) {
      Exec(absl::StrCat(
          "INSERT INTO telemetry.events (tenant_id, cluster_id, uid, type, reason, message, "
          "involved_kind, involved_namespace, involved_name, source_component, first_time, "
          "last_time, count, received_at) VALUES "
          "('",
          t,
          "', 'c', 'old', 'Normal', 'r', 'm', 'Pod', 'ns', 'p', 's', NULL, "
          "now() - interval '10 days', 1, now()),"
          "('",
          t,
          "', 'c', 'old-nolast', 'Normal', 'r', 'm', 'Pod', 'ns', 'p', 's', NULL, NULL, 1, "
          "now() - interval '10 days'),"
          "('",
          t,
          "', 'c', 'new', 'Normal', 'r', 'm', 'Pod', 'ns', 'p', 's', NULL, "
          "now() - interval '1 day', 1, now() - interval '10 days')"));
      Exec(absl::StrCat(
          "INSERT INTO telemetry.alerts (tenant_id, cluster_id, fingerprint, starts_at, name, "
          "severity, status, ends_at, labels, annotations, resource, source, summary) VALUES "
          "('",
          t,
          "', 'c', 'resolved-old', now() - interval '50 days', 'a', 1, 2, "
          "now() - interval '40 days', '{}', '{}', '{}', 's', 's'),"
          "('",
          t,
          "', 'c', 'resolved-new', now() - interval '50 days', 'a', 1, 2, "
          "now() - interval '1 day', '{}', '{}', '{}', 's', 's'),"
          "('",
          t,
          "', 'c', 'firing-old', now() - interval '60 days', 'a', 1, 1, NULL, "
          "'{}', '{}', '{}', 's', 's'),"
          "('",
          t,
          "', 'c', 'firing-endsat', now() - interval '60 days', 'a', 1, 1, "
          "now() - interval '40 days', '{}', '{}', '{}', 's', 's')"));
      Exec(absl::StrCat(
          "INSERT INTO telemetry.objects (tenant_id, cluster_id, kind, name, uid, "
          "resource_version, object, deleted, updated_at) VALUES "
          "('",
          t,
          "', 'c', 'Pod', 'deleted-old', 'u1', '1', '{}', true, now() - interval '10 days'),"
          "('",
          t,
          "', 'c', 'Pod', 'deleted-new', 'u2', '1', '{}', true, now() - interval '1 day'),"
          "('",
          t, "', 'c', 'Pod', 'live-old', 'u3', '1', '{}', false, now() - interval '10 days')"));
      Exec(absl::StrCat(
          "INSERT INTO telemetry.batches (tenant_id, cluster_id, batch_id, payload_sha256, "
          "samples, received_at, published_at) VALUES "
          "('",
          t,
          "', 'c', 'old', 'h', 1, now() - interval '10 days', now() - interval '10 days'),"
          "('",
          t,
          "', 'c', 'old-unpublished', 'h', 1, now() - interval '10 days', NULL),"
          "('",
          t, "', 'c', 'new', 'h', 1, now() - interval '1 day', now())"));
    }
    Exec(absl::StrCat(
        "INSERT INTO telemetry.events (tenant_id, cluster_id, uid, type, reason, message, "
        "involved_kind, involved_namespace, involved_name, source_component, last_time, count) "
        "SELECT 't1', 'bulk', 'e' || g, 'Normal', 'r', 'm', 'Pod', 'ns', 'p', 's', "
        "now() - interval '8 days', 1 FROM generate_series(1, ",
        bulk_events, ") g"));
  }

  void ExpectRowsExpired() {
    for (const char* t : {"t1", "t2"}) {
      const std::string w = absl::StrCat(" WHERE tenant_id = '", t, "'");
      EXPECT_EQ(Count("SELECT count(*) FROM telemetry.events" + w +
                      " AND cluster_id = 'c' AND uid LIKE 'old%'"),
                0)
          << t;
      EXPECT_EQ(Count("SELECT count(*) FROM telemetry.events" + w + " AND uid = 'new'"), 1) << t;
      EXPECT_EQ(
          Count("SELECT count(*) FROM telemetry.alerts" + w + " AND fingerprint = 'resolved-old'"),
          0)
          << t;
      EXPECT_EQ(Count("SELECT count(*) FROM telemetry.alerts" + w), 3) << t;
      EXPECT_EQ(Count("SELECT count(*) FROM telemetry.objects" + w + " AND name = 'deleted-old'"),
                0)
          << t;
      EXPECT_EQ(Count("SELECT count(*) FROM telemetry.objects" + w), 2) << t;
      EXPECT_EQ(Count("SELECT count(*) FROM telemetry.batches" + w + " AND batch_id = 'old'"), 0)
          << t;
      EXPECT_EQ(Count("SELECT count(*) FROM telemetry.batches" + w), 2) << t;
    }
    EXPECT_EQ(Count("SELECT count(*) FROM telemetry.events WHERE cluster_id = 'bulk'"), 0);
  }

  void ExpectPartitionsExpired() {
    // Days -40..-32 end more than 30 days + 1 h ago: gone; days -29..+1: kept with their rows.
    EXPECT_EQ(Count("SELECT count(*) FROM pg_class WHERE relname IN (SELECT 'samples_' || "
                    "to_char(d, 'YYYYMMDD') FROM generate_series(current_date - 40, "
                    "current_date - 32, interval '1 day') d)"),
              0);
    EXPECT_EQ(Count("SELECT count(*) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                    "WHERE i.inhparent = 'telemetry.samples'::regclass AND c.relname IN (SELECT "
                    "'samples_' || to_char(d, 'YYYYMMDD') FROM generate_series(current_date - "
                    "29, current_date + 1, interval '1 day') d)"),
              31);
    EXPECT_EQ(Count("SELECT count(*) FROM telemetry.samples WHERE ts >= current_date - 29"), 31);
  }

  // How many sessions hold the leader lock.
  int64_t Leaders() {
    return Count(absl::StrCat(
        // pg_locks spans the server: count only this test's database (others may run an
        // ingest with its own retention leader meanwhile).
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1 "
        "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
        "AND classid = (",
        kRetentionLockKey, "::bigint >> 32)::oid AND objid = (", kRetentionLockKey,
        "::bigint & 4294967295)::oid"));
  }

  std::unique_ptr<k8i::testing::TempDatabase> db_;
  std::unique_ptr<pg::Pool> pool_;
};

// Runs RunOnce on each job at the same time; returns the reports.
std::vector<absl::StatusOr<RetentionReport>> RunTogether(
    std::vector<std::unique_ptr<RetentionJob>>& jobs) {
  std::vector<absl::StatusOr<RetentionReport>> out(jobs.size(), absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < jobs.size(); ++i) {
    threads.emplace_back([&, i] { out[i] = jobs[i]->RunOnce(); });
  }
  for (auto& t : threads) t.join();
  return out;
}

TEST_F(RetentionJobTest, ThreeInstancesOneLeaderExpiredGoneFreshKept) {
  SeedPartitions();
  SeedRows(/*bulk_events=*/3500);
  std::vector<metrics::Registry> registries(3);
  std::vector<std::unique_ptr<RetentionJob>> jobs;
  for (auto& r : registries)
    jobs.push_back(std::make_unique<RetentionJob>(db_->url(), Policy(), r));

  auto reports = RunTogether(jobs);
  int leaders = 0;
  int64_t rows = 0, partitions = 0;
  for (const auto& r : reports) {
    ASSERT_TRUE(r.ok()) << r.status();
    leaders += r->leader;
    rows += r->rows_deleted;
    partitions += r->partitions_dropped;
  }
  EXPECT_EQ(leaders, 1);
  EXPECT_EQ(Leaders(), 1);
  EXPECT_GE(partitions, 9);
  // 2 tenants × (2 events + 1 alert + 1 object + 1 batch) + the bulk events.
  EXPECT_EQ(rows, 2 * 5 + 3500);
  ExpectRowsExpired();
  ExpectPartitionsExpired();
  int with_pid = 0;
  for (const auto& j : jobs) with_pid += j->LeaderBackendPid() != 0;
  EXPECT_EQ(with_pid, 1);

  // The metrics of the leader say what it did.
  for (size_t i = 0; i < jobs.size(); ++i) {
    if (!reports[i]->leader) continue;
    const std::string text = registries[i].Expose();
    EXPECT_NE(text.find("k8i_retention_rows_deleted_total{rule=\"events\"} 3504"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("k8i_job_leader{job=\"retention\"} 1"), std::string::npos) << text;
  }

  // A second round: same leader, nothing left to do, still no errors.
  auto again = RunTogether(jobs);
  int64_t again_rows = 0;
  leaders = 0;
  for (const auto& r : again) {
    ASSERT_TRUE(r.ok()) << r.status();
    leaders += r->leader;
    again_rows += r->rows_deleted + r->partitions_dropped;
  }
  EXPECT_EQ(leaders, 1);
  EXPECT_EQ(again_rows, 0);
  ExpectRowsExpired();
  ExpectPartitionsExpired();
}

TEST_F(RetentionJobTest, KilledLeaderIsReplaced) {
  std::vector<metrics::Registry> registries(3);  // outlive the jobs
  std::vector<std::unique_ptr<RetentionJob>> jobs;
  for (auto& r : registries)
    jobs.push_back(std::make_unique<RetentionJob>(db_->url(), Policy(), r));
  RunTogether(jobs);
  int old_pid = 0;
  for (const auto& j : jobs) old_pid += j->LeaderBackendPid();
  ASSERT_NE(old_pid, 0);
  ASSERT_EQ(Leaders(), 1);

  Exec(absl::StrCat("SELECT pg_terminate_backend(", old_pid, ")"));
  SeedRows(/*bulk_events=*/10);
  // The lock is free once the backend has exited.
  for (int i = 0; i < 50 && Leaders() != 0; ++i) absl::SleepFor(absl::Milliseconds(100));
  ASSERT_EQ(Leaders(), 0);

  auto reports = RunTogether(jobs);
  int leaders = 0;
  for (const auto& r : reports) {
    ASSERT_TRUE(r.ok()) << r.status();
    leaders += r->leader;
  }
  EXPECT_EQ(leaders, 1);
  EXPECT_EQ(Leaders(), 1);
  int new_pid = 0;
  for (const auto& j : jobs) new_pid += j->LeaderBackendPid();
  EXPECT_NE(new_pid, 0);
  EXPECT_NE(new_pid, old_pid);
  ExpectRowsExpired();
}

TEST_F(RetentionJobTest, BackgroundJobsNeverLeadTogether) {
  SeedRows(/*bulk_events=*/2000);
  std::vector<metrics::Registry> registries(3);
  std::vector<std::unique_ptr<RetentionJob>> jobs;
  for (auto& r : registries) {
    jobs.push_back(std::make_unique<RetentionJob>(db_->url(), Policy(/*chunk_rows=*/100), r));
  }
  for (auto& j : jobs) j->Start(absl::Milliseconds(50));
  int64_t max_leaders = 0;
  bool killed = false;
  for (int i = 0; i < 60; ++i) {
    max_leaders = std::max(max_leaders, Leaders());
    if (i == 20) {  // take the leader away once while they run
      for (const auto& j : jobs) {
        if (const int pid = j->LeaderBackendPid(); pid != 0 && !killed) {
          Exec(absl::StrCat("SELECT pg_terminate_backend(", pid, ")"));
          killed = true;
        }
      }
    }
    absl::SleepFor(absl::Milliseconds(25));
  }
  EXPECT_TRUE(killed);
  EXPECT_EQ(max_leaders, 1);
  for (int i = 0; i < 40 && Leaders() != 1; ++i) absl::SleepFor(absl::Milliseconds(50));
  EXPECT_EQ(Leaders(), 1) << "another instance took over";
  for (auto& j : jobs) j->Stop();
  for (int i = 0; i < 50 && Leaders() != 0; ++i) absl::SleepFor(absl::Milliseconds(100));
  EXPECT_EQ(Leaders(), 0) << "Stop releases the lock";
  ExpectRowsExpired();
}

}  // namespace
}  // namespace k8i::ingest

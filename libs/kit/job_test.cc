// LeaderJob against the test stack's PostgreSQL: one leader among replicas, failover when the
// leader's session dies, the last success shared through job_runs (catch-up), timeouts, and
// the metrics. Time seen by the job comes from a fake clock.
#include "libs/kit/job.h"

#include <thread>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "libs/common/ids.h"
#include "libs/pg/pool.h"
#include "libs/testing/stack.h"

namespace k8i::kit {
namespace {

class LeaderJobTest : public ::testing::Test {
 protected:
  void SetUp() override {
    K8I_REQUIRE_STACK("K8I_TEST_PG_URL");
    auto db = k8i::testing::TempDatabase::Create();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    auto pool = pg::Pool::Create({.url = db_->url(), .size = 2});
    ASSERT_TRUE(pool.ok());
    pool_ = *std::move(pool);
    Exec(
        "CREATE SCHEMA kj; CREATE TABLE kj.job_runs (job text PRIMARY KEY, last_success "
        "timestamptz NOT NULL, last_duration_ms bigint NOT NULL); CREATE TABLE kj.runs (who "
        "int NOT NULL, last_success float8)");
    name_ = absl::StrCat("job-", NewId().substr(0, 8));
  }

  void Exec(const std::string& sql) {
    ASSERT_TRUE(pool_->WithTransaction([&](pqxx::work& tx) {
                       tx.exec(sql);
                       return absl::OkStatus();
                     })
                    .ok());
  }
  int64_t Query(const std::string& sql) {
    int64_t v = -1;
    EXPECT_TRUE(pool_->WithTransaction([&](pqxx::work& tx) {
                       v = tx.exec1(sql)[0].as<int64_t>();
                       return absl::OkStatus();
                     })
                    .ok());
    return v;
  }

  JobOptions Options() const {
    return {.name = name_, .pg_url = db_->url(), .interval = absl::Milliseconds(20),
            .schema = "kj"};
  }

  // A job whose run records (who, last_success seen) in kj.runs.
  std::unique_ptr<LeaderJob> Recording(int who, metrics::Registry& r) {
    return std::make_unique<LeaderJob>(
        Options(),
        [who](JobRun& run) {
          pqxx::nontransaction tx(run.conn);
          const double last = run.last_success == absl::InfinitePast()
                                  ? -1
                                  : absl::ToDoubleSeconds(run.last_success - absl::UnixEpoch());
          tx.exec_params("INSERT INTO kj.runs VALUES ($1, $2)", who, last);
          return absl::OkStatus();
        },
        r, &clock_);
  }

  std::unique_ptr<k8i::testing::TempDatabase> db_;
  std::unique_ptr<pg::Pool> pool_;
  std::string name_;
  k8i::testing::FakeClock clock_{absl::FromUnixSeconds(1'800'000'000)};
};

TEST_F(LeaderJobTest, OneOfThreeReplicasRunsAndTheNextRunSeesItsSuccess) {
  std::vector<metrics::Registry> registries(3);
  std::vector<std::unique_ptr<LeaderJob>> jobs;
  for (int i = 0; i < 3; ++i) jobs.push_back(Recording(i, registries[i]));
  std::vector<absl::StatusOr<JobResult>> results(3, absl::UnknownError("not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < 3; ++i) threads.emplace_back([&, i] { results[i] = jobs[i]->RunOnce(); });
  for (auto& t : threads) t.join();
  int leaders = 0, leader = -1;
  for (int i = 0; i < 3; ++i) {
    ASSERT_TRUE(results[i].ok()) << results[i].status();
    if (results[i]->leader) {
      ++leaders;
      leader = i;
    }
  }
  ASSERT_EQ(leaders, 1);
  EXPECT_EQ(Query("SELECT count(*) FROM kj.runs"), 1);
  EXPECT_EQ(Query("SELECT last_success::bigint FROM kj.runs"), -1);  // never ran before
  const std::string text = registries[leader].Expose();
  EXPECT_NE(text.find(absl::StrCat("k8i_job_runs_total{job=\"", name_, "\",result=\"ok\"} 1")),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(absl::StrCat("k8i_job_leader{job=\"", name_, "\"} 1")), std::string::npos);
  EXPECT_NE(text.find(absl::StrCat("k8i_job_last_success_timestamp_seconds{job=\"", name_,
                                   "\"} ", metrics::FormatValue(1.8e9))),
            std::string::npos)
      << text;

  // The leader goes away; another replica leads and is told when the job last succeeded.
  jobs[leader]->Stop();
  clock_.Advance(absl::Hours(3));
  const int next = (leader + 1) % 3;
  auto r = jobs[next]->RunOnce();
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_TRUE(r->leader);
  EXPECT_EQ(Query(absl::StrCat("SELECT last_success::bigint FROM kj.runs WHERE who = ", next)),
            1'800'000'000);
  EXPECT_EQ(Query(absl::StrCat("SELECT extract(epoch FROM last_success)::bigint FROM "
                               "kj.job_runs WHERE job = '",
                               name_, "'")),
            1'800'000'000 + 3 * 3600);
}

// A job woken many times a second (correlation's publisher) runs with its leader's last success
// kept in memory; job_runs is written at most once a second (the next leader may see a success
// up to a second old).
TEST_F(LeaderJobTest, RunsInQuickSuccessionShareOneRecordedSuccessPerSecond) {
  metrics::Registry r;
  auto job = Recording(7, r);
  const absl::Time wall = absl::Now();
  for (int i = 0; i < 3; ++i) {
    auto run = job->RunOnce();
    ASSERT_TRUE(run.ok()) << run.status();
    ASSERT_TRUE(run->leader);
    clock_.Advance(absl::Hours(1));
  }
  const absl::Duration took = absl::Now() - wall;
  // Each run saw the one before it.
  EXPECT_EQ(Query("SELECT count(*) FROM kj.runs WHERE who = 7"), 3);
  EXPECT_EQ(Query("SELECT max(last_success)::bigint FROM kj.runs"), 1'800'000'000 + 3600);
  const int64_t recorded = Query(
      absl::StrCat("SELECT extract(epoch FROM last_success)::bigint FROM kj.job_runs WHERE job = '",
                   name_, "'"));
  if (took < absl::Seconds(1)) {
    EXPECT_EQ(recorded, 1'800'000'000) << "job_runs written more than once within a second";
  } else {  // a slow machine: later runs may have been recorded
    EXPECT_TRUE(recorded == 1'800'000'000 || recorded == 1'800'000'000 + 3600 ||
                recorded == 1'800'000'000 + 7200)
        << recorded;
  }
}

TEST_F(LeaderJobTest, KilledLeaderSessionIsReplacedAndCannotRunAnyMore) {
  metrics::Registry ra, rb;
  auto a = Recording(1, ra);
  auto b = Recording(2, rb);
  ASSERT_TRUE(a->RunOnce().ok());
  ASSERT_NE(a->LeaderBackendPid(), 0);
  auto rb1 = b->RunOnce();
  ASSERT_TRUE(rb1.ok());
  EXPECT_FALSE(rb1->leader);
  Exec(absl::StrCat("SELECT pg_terminate_backend(", a->LeaderBackendPid(), ")"));
  // The lock is free once the backend has exited; b takes it at its next attempt.
  bool took_over = false;
  for (int i = 0; i < 50 && !took_over; ++i) {
    auto r = b->RunOnce();
    ASSERT_TRUE(r.ok()) << r.status();
    took_over = r->leader;
    if (!took_over) absl::SleepFor(absl::Milliseconds(100));
  }
  EXPECT_TRUE(took_over);
  // The old leader notices it lost the lock and does not run.
  auto ra2 = a->RunOnce();
  if (ra2.ok()) {
    EXPECT_FALSE(ra2->leader);
  }
  EXPECT_EQ(Query("SELECT count(*) FROM kj.runs WHERE who = 1"), 1);
}

TEST_F(LeaderJobTest, ARunPastItsTimeoutIsCancelled) {
  metrics::Registry r;
  JobOptions opts = Options();
  opts.timeout = absl::Milliseconds(300);
  int steps = 0;
  LeaderJob job(
      opts,
      [&](JobRun& run) {
        while (!run.cancelled()) {
          ++steps;
          absl::SleepFor(absl::Milliseconds(10));  // one step of the job's own work
        }
        return absl::DeadlineExceededError("cancelled after its timeout");
      },
      r, &clock_);
  const absl::Time start = absl::Now();
  auto result = job.RunOnce();
  EXPECT_TRUE(absl::IsDeadlineExceeded(result.status())) << result.status();
  EXPECT_LT(absl::Now() - start, absl::Seconds(5));
  EXPECT_GT(steps, 0);
  EXPECT_NE(r.Expose().find(absl::StrCat("k8i_job_runs_total{job=\"", name_,
                                         "\",result=\"error\"} 1")),
            std::string::npos);
  // Statements are bounded too.
  LeaderJob sleeper(opts, [](JobRun& run) {
    pqxx::nontransaction(run.conn).exec("SELECT pg_sleep(5)");
    return absl::OkStatus();
  }, r, &clock_);
  job.Stop();  // release the lock for `sleeper`
  const absl::Time s2 = absl::Now();
  auto slept = sleeper.RunOnce();
  EXPECT_FALSE(slept.ok());
  EXPECT_LT(absl::Now() - s2, absl::Seconds(4));
}

TEST_F(LeaderJobTest, BackgroundLoopRunsUntilStopped) {
  metrics::Registry r;
  auto job = Recording(7, r);
  job->Start();
  const absl::Time until = absl::Now() + absl::Seconds(20);
  while (absl::Now() < until && Query("SELECT count(*) FROM kj.runs") < 3) {
    absl::SleepFor(absl::Milliseconds(20));
  }
  EXPECT_GE(Query("SELECT count(*) FROM kj.runs"), 3);
  job->Stop();
  EXPECT_EQ(job->LeaderBackendPid(), 0);
  const int64_t after = Query("SELECT count(*) FROM kj.runs");
  job->Stop();  // idempotent
  EXPECT_EQ(Query("SELECT count(*) FROM kj.runs"), after);
}

TEST_F(LeaderJobTest, WakeRunsTheJobBeforeItsInterval) {
  metrics::Registry r;
  auto job = Recording(8, r);
  job->Start(absl::Hours(1));  // only the first run would happen within the test
  auto wait_runs = [&](int64_t n) {
    const absl::Time until = absl::Now() + absl::Seconds(20);
    while (absl::Now() < until && Query("SELECT count(*) FROM kj.runs") < n) {
      absl::SleepFor(absl::Milliseconds(20));
    }
    return Query("SELECT count(*) FROM kj.runs");
  };
  ASSERT_EQ(wait_runs(1), 1);
  job->Wake();
  EXPECT_EQ(wait_runs(2), 2);
  job->Wake();
  EXPECT_EQ(wait_runs(3), 3);
  job->Stop();  // does not wait out the hour
  job->Wake();  // after Stop: nothing
  EXPECT_EQ(Query("SELECT count(*) FROM kj.runs"), 3);
}

}  // namespace
}  // namespace k8i::kit

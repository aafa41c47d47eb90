// LeaderJob: a periodic job that runs on exactly one replica of a service at a time. The leader
// is whoever holds a PostgreSQL session advisory lock (keyed by the job's name) on the job's own
// connection, and the work runs on that same connection: when the leader dies (crash, network
// loss, pg_terminate_backend) the lock goes with its session, another replica takes over at its
// next attempt, and the old one can no longer run a statement. Each run gets the time of the
// last successful run of the job on any replica (kept in `<schema>.job_runs` when a schema is
// given), so a job can catch up on missed periods by its own rule. Runs, last success, duration
// and leadership are exported as metrics labelled by job. A job may be woken many times a
// second (Wake): besides its own statements a run then costs one check of its lock in
// pg_locks — session settings are made once per session, job_runs is read once per leadership
// and written at most once a second.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "absl/time/time.h"
#include "libs/common/clock.h"
#include "libs/metrics/metrics.h"
#include "pqxx/pqxx"

namespace k8i::kit {

// What a run of a job sees.
struct JobRun {
  // The leader's session, holding the lock. Statements run with statement_timeout = timeout.
  pqxx::connection& conn;
  // When this run started (the job's clock) and when the last successful run of this job
  // started, on any replica (InfinitePast when never, or when no schema keeps it).
  absl::Time now;
  absl::Time last_success;
  // Cancelled is true once the service stops or the run's timeout passed: long jobs check it
  // between steps and return early (keeping what they did).
  std::function<bool()> cancelled;
};

using JobFn = std::function<absl::Status(JobRun&)>;

struct JobOptions {
  // The job's name: metric label, application_name suffix and (hashed) advisory lock key.
  std::string name;
  std::string pg_url;
  // The lock key; 0 derives one from the name.
  int64_t lock_key = 0;
  // Start-to-start period of the background loop, plus a random delay in [0, jitter) so that
  // replicas and jobs do not line up.
  absl::Duration interval = absl::Minutes(1);
  absl::Duration jitter = absl::ZeroDuration();
  // A run longer than this is cancelled (cancelled() turns true, statements time out). Zero:
  // no limit.
  absl::Duration timeout = absl::ZeroDuration();
  // Schema of the service's `job_runs (job text PRIMARY KEY, last_success timestamptz NOT NULL,
  // last_duration_ms bigint NOT NULL)` table; "" keeps the last success in memory only.
  std::string schema;
  // application_name of the job's session: "<app>-<name>".
  std::string app = "k8i";
  // More settings of the job's session, made when it opens (SET name = 'value'): what every
  // run needs, without a statement per run.
  std::vector<std::pair<std::string, std::string>> settings;
};

struct JobResult {
  bool leader = false;  // this replica held the lock and ran the job
  absl::Duration took;
};

// LeaderJob is thread-safe; runs are serialized.
class LeaderJob {
 public:
  LeaderJob(JobOptions options, JobFn fn,
            metrics::Registry& registry = metrics::Registry::Default(),
            const Clock* clock = &RealClock::Instance());
  ~LeaderJob();
  LeaderJob(const LeaderJob&) = delete;
  LeaderJob& operator=(const LeaderJob&) = delete;

  // RunOnce takes (or checks) leadership and, when leading, runs the job once. A follower
  // returns leader = false. Errors: PostgreSQL unreachable (the next call reconnects), or the
  // job's own error.
  absl::StatusOr<JobResult> RunOnce();

  // Start runs RunOnce now and then every interval (+ jitter) on a thread until Stop. Errors
  // are logged and counted. Call at most once; the second form overrides options.interval.
  void Start() { Start(options_.interval); }
  void Start(absl::Duration interval);
  // Stop cancels a run in progress, joins the thread and gives up leadership. Idempotent.
  void Stop();
  // Wake makes the background loop run the job now instead of at its next interval (or right
  // after the run in progress), without waiting for it: e.g. an outbox publisher woken by the
  // transaction that filled the outbox. Does nothing before Start or after Stop.
  void Wake();

  // LeaderBackendPid is the backend pid of this instance's session while it leads, else 0.
  int LeaderBackendPid() const { return leader_pid_.load(); }
  const std::string& name() const { return options_.name; }

 private:
  struct Probe;
  absl::StatusOr<bool> EnsureLeaderLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DropConnectionLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  absl::Time LastSuccessLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void RecordSuccessLocked(absl::Time started, absl::Duration took)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const JobOptions options_;
  const JobFn fn_;
  const Clock* clock_;
  const int64_t lock_key_;
  std::unique_ptr<Probe> probe_;
  absl::Mutex mu_;
  std::unique_ptr<pqxx::connection> conn_ ABSL_GUARDED_BY(mu_);
  bool leader_ ABSL_GUARDED_BY(mu_) = false;
  absl::Time last_success_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  // Whether last_success_ holds what job_runs said when this replica became leader.
  bool last_success_known_ ABSL_GUARDED_BY(mu_) = false;
  // When (monotonic time) the last success was last written to job_runs.
  using Steady = std::chrono::steady_clock;
  std::optional<Steady::time_point> recorded_at_ ABSL_GUARDED_BY(mu_);
  static constexpr std::chrono::seconds kRecordEvery{1};
  std::atomic<int> leader_pid_{0};
  std::atomic<bool> stopping_{false};
  absl::Mutex wake_mu_;
  bool woken_ ABSL_GUARDED_BY(wake_mu_) = false;
  bool WokenOrStopping() const ABSL_EXCLUSIVE_LOCKS_REQUIRED(wake_mu_);
  std::thread thread_;
};

// JobLockKey is the advisory lock key of a job name (a stable 63-bit FNV-1a hash).
int64_t JobLockKey(const std::string& name);

}  // namespace k8i::kit

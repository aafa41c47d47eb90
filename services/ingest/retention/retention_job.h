// RetentionJob: applies a RetentionPolicy on exactly one ingest replica, as a leader-elected
// job of the service kit (libs/kit/job.h): the leader holds a PostgreSQL session advisory lock
// and the work runs on that session, so a leader that dies can no longer delete anything and
// another replica takes over at its next attempt.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "libs/kit/job.h"
#include "libs/metrics/metrics.h"
#include "services/ingest/retention/retention_policy.h"

namespace k8i::ingest {

// The advisory lock key of the retention leader ("k8iRetn").
inline constexpr int64_t kRetentionLockKey = 0x6b38695265746e;

struct RetentionReport {
  bool leader = false;  // this instance held the lock and applied the policy
  int64_t partitions_dropped = 0;
  int64_t rows_deleted = 0;
  std::map<std::string, int64_t> by_rule;  // rule name → partitions or rows removed
};

// RetentionTask applies a policy on the leader's session (kit::JobRun). Each chunk commits on
// its own; a cancelled run stops between chunks and keeps what it removed. Thread-compatible:
// the job serializes runs.
class RetentionTask {
 public:
  RetentionTask(RetentionPolicy policy, metrics::Registry& registry);
  ~RetentionTask();
  // Run applies the policy once; the report of the run is in last_report().
  absl::Status Run(kit::JobRun& run);
  const RetentionReport& last_report() const { return report_; }

 private:
  struct Probe;
  int64_t DropPartitions(kit::JobRun& run, const PartitionRule& rule);
  int64_t DeleteRows(kit::JobRun& run, const RowRule& rule);

  const RetentionPolicy policy_;
  std::unique_ptr<Probe> probe_;
  RetentionReport report_;
};

// RetentionJob is the task on its own leader-elected job ("retention"), for the tests and
// tools that run retention alone. Thread-safe; runs are serialized. It opens its own
// connection from `pg_url` (not from a pool: the lock must stay on one session).
class RetentionJob {
 public:
  RetentionJob(std::string pg_url, RetentionPolicy policy,
               metrics::Registry& registry = metrics::Registry::Default());
  ~RetentionJob();
  RetentionJob(const RetentionJob&) = delete;
  RetentionJob& operator=(const RetentionJob&) = delete;

  // RunOnce takes (or checks) leadership and, when leading, applies the policy. A follower
  // returns leader = false. A lost connection drops leadership; the next call reconnects.
  absl::StatusOr<RetentionReport> RunOnce();
  // Start runs RunOnce now and every `interval` on a thread until Stop.
  void Start(absl::Duration interval) { job_->Start(interval); }
  // Stop interrupts a run between chunks, joins the thread and releases leadership.
  void Stop() { job_->Stop(); }
  int LeaderBackendPid() const { return job_->LeaderBackendPid(); }

  // JobOptions are the kit options of the "retention" job over `pg_url`.
  static kit::JobOptions Options(std::string pg_url, absl::Duration interval);

 private:
  absl::Mutex mu_;  // serializes RunOnce with reading the task's report
  RetentionTask task_;
  std::unique_ptr<kit::LeaderJob> job_;
};

}  // namespace k8i::ingest

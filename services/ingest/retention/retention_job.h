// RetentionJob: applies a RetentionPolicy every interval on exactly one ingest replica. The
// leader is whoever holds a PostgreSQL session advisory lock on the job's own connection; the
// work runs on that same connection, so when it dies (replica crash, network loss,
// pg_terminate_backend) the lock is released with it and another replica takes over at its
// next attempt, while the old leader can no longer run a statement.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <thread>

#include "absl/base/thread_annotations.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/synchronization/notification.h"
#include "libs/metrics/metrics.h"
#include "pqxx/pqxx"
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

// RetentionJob is thread-safe; runs are serialized. It opens its own connection from `pg_url`
// (not from a pool: the lock must stay on one session).
class RetentionJob {
 public:
  RetentionJob(std::string pg_url, RetentionPolicy policy,
               metrics::Registry& registry = metrics::Registry::Default());
  ~RetentionJob();
  RetentionJob(const RetentionJob&) = delete;
  RetentionJob& operator=(const RetentionJob&) = delete;

  // RunOnce takes (or checks) leadership and, when leading, applies the policy. A follower
  // returns leader = false. A lost connection drops leadership; the next call reconnects.
  // Errors (PostgreSQL unreachable, a statement failing) are returned; a partial run keeps
  // what it removed.
  absl::StatusOr<RetentionReport> RunOnce();

  // Start runs RunOnce now and every `interval` on a thread until Stop. Errors are logged and
  // counted. Call at most once.
  void Start(absl::Duration interval);
  // Stop interrupts a run between chunks, joins the thread and releases leadership (closes the
  // connection). Idempotent.
  void Stop();

  // LeaderBackendPid is the PostgreSQL backend pid of this instance's connection while it
  // leads, else 0. For tests and diagnostics.
  int LeaderBackendPid() const { return leader_pid_.load(); }

 private:
  struct Probe;
  absl::StatusOr<bool> EnsureLeaderLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void DropConnectionLocked() ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t DropPartitionsLocked(const PartitionRule& rule) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  int64_t DeleteRowsLocked(const RowRule& rule) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);

  const std::string url_;
  const RetentionPolicy policy_;
  std::unique_ptr<Probe> probe_;
  absl::Mutex mu_;
  std::unique_ptr<pqxx::connection> conn_ ABSL_GUARDED_BY(mu_);
  bool leader_ ABSL_GUARDED_BY(mu_) = false;
  std::atomic<int> leader_pid_{0};
  std::atomic<bool> stopping_{false};
  absl::Notification stop_;
  std::thread thread_;
};

}  // namespace k8i::ingest

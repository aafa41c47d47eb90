// A PostgreSQL connection pool on libpqxx with transactions that retry what is safe to retry.
// libpqxx throws; everything here returns absl::Status, with codes chosen by abseil's rule:
// Unavailable (connection lost: retry the call), Aborted (serialization failure or deadlock:
// retry the transaction), InvalidArgument (data exception), FailedPrecondition (constraint).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "pqxx/pqxx"

namespace k8i::pg {

// StatusFromException maps the exception being handled (call inside a catch block) to a Status.
absl::Status StatusFromCurrentException(absl::string_view context);

struct PoolOptions {
  std::string url;
  int size = 8;
  // How long Acquire waits for a free connection before ResourceExhausted.
  absl::Duration acquire_timeout = absl::Seconds(5);
};

struct RetryPolicy {
  int max_attempts = 4;
  absl::Duration initial_backoff = absl::Milliseconds(50);
  absl::Duration max_backoff = absl::Seconds(2);
};

class Pool;

// Lease is one connection borrowed from a Pool; returned on destruction. Not thread-safe.
class Lease {
 public:
  Lease(Lease&& other) noexcept;
  Lease& operator=(Lease&&) = delete;
  ~Lease();
  pqxx::connection& conn() { return *conn_; }
  // MarkBroken drops the connection instead of returning it to the pool.
  void MarkBroken() { broken_ = true; }

 private:
  friend class Pool;
  Lease(Pool* pool, std::unique_ptr<pqxx::connection> conn);
  Pool* pool_;
  std::unique_ptr<pqxx::connection> conn_;
  bool broken_ = false;
};

// Pool is thread-safe. Connections are opened lazily, so Create succeeds while PostgreSQL is
// down; calls then fail with Unavailable until it is back.
class Pool {
 public:
  static absl::StatusOr<std::unique_ptr<Pool>> Create(PoolOptions options);

  absl::StatusOr<Lease> Acquire();

  // WithTransaction runs `fn` in a read-write transaction and commits if it returns OK. It
  // retries the whole transaction (new connection if needed) on Unavailable and Aborted, with
  // backoff, up to policy.max_attempts. `fn` must therefore be safe to run more than once.
  absl::Status WithTransaction(const std::function<absl::Status(pqxx::work&)>& fn,
                               const RetryPolicy& policy = {});

  const std::string& url() const { return options_.url; }

 private:
  friend class Lease;
  explicit Pool(PoolOptions options) : options_(std::move(options)) {}
  void Return(std::unique_ptr<pqxx::connection> conn, bool broken);
  absl::Status RunOnce(const std::function<absl::Status(pqxx::work&)>& fn);

  const PoolOptions options_;
  absl::Mutex mu_;
  std::vector<std::unique_ptr<pqxx::connection>> idle_ ABSL_GUARDED_BY(mu_);
  int open_ ABSL_GUARDED_BY(mu_) = 0;
};

// ExecParams runs `sql` with positional parameters `$1..$n` bound to `params` (as text; the SQL
// casts them), for queries whose parameter count is only known at run time.
pqxx::result ExecParams(pqxx::work& tx, const std::string& sql,
                        const std::vector<std::string>& params);

// CopyRows streams `data` (COPY text format: tab-separated columns, one row per line, ending
// in '\n') into `table` (`columns` in order) inside `tx`.
absl::Status CopyRows(pqxx::work& tx, const std::string& table,
                      const std::vector<std::string>& columns, std::string data);

}  // namespace k8i::pg

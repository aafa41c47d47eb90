#include "libs/pg/pool.h"

#include <algorithm>
#include <thread>

#include "absl/strings/str_cat.h"
#include "libs/common/logging.h"
#include "pqxx/tablewriter"

namespace k8i::pg {
namespace {

absl::Status FromSqlState(const std::string& state, absl::string_view what) {
  const std::string cls = state.substr(0, 2);
  if (cls == "08" || state == "57P01" || state == "57P02" || state == "57P03") {
    return absl::UnavailableError(what);
  }
  if (cls == "40") return absl::AbortedError(what);
  if (cls == "22") return absl::InvalidArgumentError(what);
  if (cls == "23") return absl::FailedPreconditionError(what);
  if (cls == "53") return absl::ResourceExhaustedError(what);
  if (state == "57014") return absl::DeadlineExceededError(what);
  return absl::InternalError(what);
}

}  // namespace

absl::Status StatusFromCurrentException(absl::string_view context) {
  try {
    throw;
  } catch (const pqxx::broken_connection& e) {
    return absl::UnavailableError(absl::StrCat(context, ": connection lost: ", e.what()));
  } catch (const pqxx::in_doubt_error& e) {
    return absl::UnavailableError(absl::StrCat(context, ": commit in doubt: ", e.what()));
  } catch (const pqxx::sql_error& e) {
    return FromSqlState(e.sqlstate(), absl::StrCat(context, ": ", e.what()));
  } catch (const std::exception& e) {
    return absl::InternalError(absl::StrCat(context, ": ", e.what()));
  }
}

Lease::Lease(Pool* pool, std::unique_ptr<pqxx::connection> conn)
    : pool_(pool), conn_(std::move(conn)) {}

Lease::Lease(Lease&& other) noexcept
    : pool_(other.pool_), conn_(std::move(other.conn_)), broken_(other.broken_) {
  other.pool_ = nullptr;
}

Lease::~Lease() {
  if (pool_ != nullptr && conn_ != nullptr) pool_->Return(std::move(conn_), broken_);
}

absl::StatusOr<std::unique_ptr<Pool>> Pool::Create(PoolOptions options) {
  if (options.url.empty()) return absl::InvalidArgumentError("PostgreSQL url is empty");
  if (options.size <= 0) return absl::InvalidArgumentError("pool size must be positive");
  return std::unique_ptr<Pool>(new Pool(std::move(options)));
}

absl::StatusOr<Lease> Pool::Acquire() {
  {
    absl::MutexLock lock(&mu_);
    auto ready = [this]() ABSL_SHARED_LOCKS_REQUIRED(mu_) {
      return !idle_.empty() || open_ < options_.size;
    };
    if (!mu_.AwaitWithTimeout(absl::Condition(&ready), options_.acquire_timeout)) {
      return absl::ResourceExhaustedError("no free PostgreSQL connection");
    }
    if (!idle_.empty()) {
      auto conn = std::move(idle_.back());
      idle_.pop_back();
      return Lease(this, std::move(conn));
    }
    ++open_;
  }
  try {
    auto conn = std::make_unique<pqxx::connection>(options_.url);
    return Lease(this, std::move(conn));
  } catch (...) {
    absl::MutexLock lock(&mu_);
    --open_;
    return StatusFromCurrentException("connect to PostgreSQL");
  }
}

void Pool::Return(std::unique_ptr<pqxx::connection> conn, bool broken) {
  absl::MutexLock lock(&mu_);
  if (broken || !conn->is_open()) {
    --open_;
    return;
  }
  idle_.push_back(std::move(conn));
}

absl::Status Pool::RunOnce(const std::function<absl::Status(pqxx::work&)>& fn) {
  auto lease = Acquire();
  if (!lease.ok()) return lease.status();
  try {
    pqxx::work tx(lease->conn());
    absl::Status s = fn(tx);
    if (!s.ok()) {
      tx.abort();
      return s;
    }
    tx.commit();
    return absl::OkStatus();
  } catch (...) {
    absl::Status s = StatusFromCurrentException("transaction");
    if (absl::IsUnavailable(s) || !lease->conn().is_open()) lease->MarkBroken();
    return s;
  }
}

absl::Status Pool::WithTransaction(const std::function<absl::Status(pqxx::work&)>& fn,
                                   const RetryPolicy& policy) {
  absl::Duration backoff = policy.initial_backoff;
  absl::Status s;
  for (int attempt = 1; attempt <= policy.max_attempts; ++attempt) {
    s = RunOnce(fn);
    if (s.ok() || !(absl::IsUnavailable(s) || absl::IsAborted(s))) return s;
    if (attempt < policy.max_attempts) {
      Logger("pg")->warn("transaction attempt {} failed, retrying in {}: {}", attempt,
                         absl::FormatDuration(backoff), s.ToString());
      absl::SleepFor(backoff);
      backoff = std::min(backoff * 2, policy.max_backoff);
    }
  }
  return s;
}

pqxx::result ExecParams(pqxx::work& tx, const std::string& sql,
                        const std::vector<std::string>& params) {
  return tx.exec_params(sql, pqxx::prepare::make_dynamic_params(params));
}

absl::Status CopyRows(pqxx::work& tx, const std::string& table,
                      const std::vector<std::string>& columns, std::string data) {
  if (data.empty()) return absl::OkStatus();
  // tablewriter::write_raw_line appends the final newline itself.
  if (data.back() == '\n') data.pop_back();
  try {
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
    // tablewriter is the libpqxx 6.4 API that accepts pre-formatted COPY data in one call.
    pqxx::tablewriter writer(tx, table, columns.begin(), columns.end());
#pragma GCC diagnostic pop
    writer.write_raw_line(data);
    writer.complete();
  } catch (...) {
    return StatusFromCurrentException(absl::StrCat("COPY into ", table));
  }
  return absl::OkStatus();
}

}  // namespace k8i::pg

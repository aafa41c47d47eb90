#include "services/ingest/retention/retention_job.h"

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/common/logging.h"
#include "libs/pg/pool.h"

namespace k8i::ingest {
namespace {

double Seconds(absl::Duration d) { return absl::ToDoubleSeconds(d); }

// The partitions of $1 (a regclass) whose upper bound is older than now() - $2 seconds, and
// whether a DETACH CONCURRENTLY of them was interrupted. The bound comes from the catalog's
// "FOR VALUES FROM (...) TO ('...')"; MAXVALUE and DEFAULT give NULL and are kept.
constexpr char kExpiredPartitions[] = R"sql(
SELECT part, pending FROM (
  SELECT c.oid::regclass::text AS part, i.inhdetachpending AS pending,
         substring(pg_get_expr(c.relpartbound, c.oid) FROM 'TO \(''([^'']+)''\)') AS upper
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
  WHERE i.inhparent = $1::regclass) p
WHERE upper IS NOT NULL AND upper::timestamptz < now() - make_interval(secs => $2)
ORDER BY upper::timestamptz)sql";

}  // namespace

// Probe: the job's metrics in one place.
struct RetentionJob::Probe {
  explicit Probe(metrics::Registry& r)
      : rows(r.AddCounter("k8i_retention_rows_deleted_total",
                          "Rows deleted by the retention job, by rule.", {"rule"})),
        partitions(r.AddCounter("k8i_retention_partitions_dropped_total",
                                "Partitions dropped by the retention job, by rule.", {"rule"})),
        runs(r.AddCounter("k8i_retention_runs_total",
                          "Retention runs by result: ok, error, follower (another replica "
                          "leads).",
                          {"result"})),
        last_success(r.AddGauge("k8i_retention_last_success_timestamp_seconds",
                                "Unix time of the last complete retention run on this replica.")
                         .WithLabels({})),
        leader(r.AddGauge("k8i_retention_leader",
                          "1 while this replica holds the retention leader lock.")
                   .WithLabels({})) {}
  metrics::Family<metrics::Counter>& rows;
  metrics::Family<metrics::Counter>& partitions;
  metrics::Family<metrics::Counter>& runs;
  metrics::Gauge& last_success;
  metrics::Gauge& leader;
};

RetentionJob::RetentionJob(std::string pg_url, RetentionPolicy policy, metrics::Registry& registry)
    : url_(std::move(pg_url)), policy_(std::move(policy)), probe_(new Probe(registry)) {}

RetentionJob::~RetentionJob() { Stop(); }

void RetentionJob::DropConnectionLocked() {
  if (leader_) Logger("retention")->warn("retention leadership lost");
  conn_.reset();
  leader_ = false;
  leader_pid_.store(0);
  probe_->leader.Set(0);
}

absl::StatusOr<bool> RetentionJob::EnsureLeaderLocked() {
  if (conn_ != nullptr) {
    try {
      // Checks the lock itself, not just the connection: a session that was silently replaced
      // would no longer hold it.
      pqxx::nontransaction tx(*conn_);
      const bool held =
          tx.exec_params1(
                "SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND pid = pg_backend_pid() AND objsubid = 1 "
                "AND classid = ($1::bigint >> 32)::oid AND objid = ($1::bigint & 4294967295)::oid",
                kRetentionLockKey)[0]
              .as<bool>();
      if (leader_ && held) return true;
      if (leader_ && !held) DropConnectionLocked();
    } catch (...) {
      Logger("retention")
          ->warn("retention connection lost: {}",
                 pg::StatusFromCurrentException("check leadership").ToString());
      DropConnectionLocked();
    }
  }
  try {
    if (conn_ == nullptr) {
      auto conn = std::make_unique<pqxx::connection>(url_);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
      // A silently re-opened session would not hold the lock (libpqxx 6 reconnects by default).
      conn->inhibit_reactivation(true);
#pragma GCC diagnostic pop
      pqxx::nontransaction(*conn).exec("SET application_name = 'k8i-ingest-retention'");
      conn_ = std::move(conn);
    }
    pqxx::nontransaction tx(*conn_);
    leader_ = tx.exec_params1("SELECT pg_try_advisory_lock($1)", kRetentionLockKey)[0].as<bool>();
  } catch (...) {
    absl::Status s = pg::StatusFromCurrentException("retention leader election");
    DropConnectionLocked();
    return s;
  }
  if (leader_) {
    leader_pid_.store(conn_->backendpid());
    probe_->leader.Set(1);
    Logger("retention")->info("this replica leads retention (backend pid {})", conn_->backendpid());
  }
  return leader_;
}

int64_t RetentionJob::DropPartitionsLocked(const PartitionRule& rule) {
  pqxx::nontransaction tx(*conn_);
  pqxx::result expired = tx.exec_params(kExpiredPartitions, rule.parent,
                                        Seconds(rule.max_age + policy_.partition_margin));
  int64_t dropped = 0;
  for (const auto& row : expired) {
    if (stopping_.load()) break;
    const std::string part = row[0].as<std::string>();
    // DETACH CONCURRENTLY does not block ingest's inserts into the parent; FINALIZE completes
    // one that an earlier, interrupted run left pending.
    tx.exec(absl::StrCat("ALTER TABLE ", rule.parent, " DETACH PARTITION ", part,
                         row[1].as<bool>() ? " FINALIZE" : " CONCURRENTLY"));
    tx.exec(absl::StrCat("DROP TABLE ", part));
    ++dropped;
    probe_->partitions.WithLabels({rule.name}).Inc();
    Logger("retention")->info("dropped partition {} of {}", part, rule.parent);
  }
  return dropped;
}

int64_t RetentionJob::DeleteRowsLocked(const RowRule& rule) {
  pqxx::nontransaction tx(*conn_);
  // Distinct tenants by a skip scan over the index led by tenant_id.
  pqxx::result tenants = tx.exec(absl::StrCat(
      "WITH RECURSIVE t(id) AS ((SELECT tenant_id FROM ", rule.table,
      " ORDER BY tenant_id LIMIT 1) UNION ALL SELECT (SELECT tenant_id FROM ", rule.table,
      " WHERE tenant_id > t.id ORDER BY tenant_id LIMIT 1) FROM t WHERE t.id IS NOT NULL) "
      "SELECT id FROM t WHERE id IS NOT NULL"));
  const std::string match =
      absl::StrCat("tenant_id = $1 AND ", rule.where.empty() ? "" : "(" + rule.where + ") AND ",
                   rule.age_expr, " < now() - make_interval(secs => $2)");
  // The outer condition repeats the match, so that on a partitioned table (where a ctid is
  // unique only per partition) nothing but expired rows can be hit.
  const std::string sql = absl::StrCat("DELETE FROM ", rule.table, " WHERE ", match,
                                       " AND ctid = ANY(ARRAY(SELECT ctid FROM ", rule.table,
                                       " WHERE ", match, " LIMIT ", policy_.chunk_rows, "))");
  int64_t deleted = 0;
  for (const auto& t : tenants) {
    const std::string tenant = t[0].as<std::string>();
    while (!stopping_.load()) {
      // Each chunk commits on its own (autocommit): no long transaction, bounded WAL per
      // statement, and an interrupted run keeps its progress.
      const int64_t n = tx.exec_params(sql, tenant, Seconds(rule.max_age)).affected_rows();
      deleted += n;
      if (n > 0) probe_->rows.WithLabels({rule.name}).Inc(static_cast<double>(n));
      if (n < policy_.chunk_rows) break;
    }
  }
  return deleted;
}

absl::StatusOr<RetentionReport> RetentionJob::RunOnce() {
  absl::MutexLock lock(&mu_);
  RetentionReport report;
  absl::StatusOr<bool> leader = EnsureLeaderLocked();
  if (!leader.ok()) {
    probe_->runs.WithLabels({"error"}).Inc();
    return leader.status();
  }
  if (!*leader) {
    probe_->runs.WithLabels({"follower"}).Inc();
    return report;
  }
  report.leader = true;
  const absl::Time start = absl::Now();
  try {
    for (const auto& rule : policy_.partitions) {
      const int64_t n = DropPartitionsLocked(rule);
      report.partitions_dropped += n;
      report.by_rule[rule.name] += n;
    }
    for (const auto& rule : policy_.rows) {
      const int64_t n = DeleteRowsLocked(rule);
      report.rows_deleted += n;
      report.by_rule[rule.name] += n;
    }
  } catch (...) {
    absl::Status s = pg::StatusFromCurrentException("retention");
    if (absl::IsUnavailable(s) || !conn_->is_open()) DropConnectionLocked();
    probe_->runs.WithLabels({"error"}).Inc();
    Logger("retention")
        ->warn("retention run failed after removing {} rows, {} partitions: {}",
               report.rows_deleted, report.partitions_dropped, s.ToString());
    return s;
  }
  probe_->runs.WithLabels({"ok"}).Inc();
  probe_->last_success.Set(absl::ToDoubleSeconds(absl::Now() - absl::UnixEpoch()));
  Logger("retention")
      ->info("retention run: {} partitions dropped, {} rows deleted in {}",
             report.partitions_dropped, report.rows_deleted,
             absl::FormatDuration(absl::Trunc(absl::Now() - start, absl::Milliseconds(1))));
  return report;
}

void RetentionJob::Start(absl::Duration interval) {
  thread_ = std::thread([this, interval] {
    do {
      if (auto r = RunOnce(); !r.ok()) {
        Logger("retention")->warn("retention: {}", r.status().ToString());
      }
    } while (!stop_.WaitForNotificationWithTimeout(interval));
  });
}

void RetentionJob::Stop() {
  stopping_.store(true);
  if (!stop_.HasBeenNotified()) stop_.Notify();
  if (thread_.joinable()) thread_.join();
  absl::MutexLock lock(&mu_);
  if (conn_ != nullptr) {
    conn_.reset();  // closing the session releases the lock
    leader_ = false;
    leader_pid_.store(0);
    probe_->leader.Set(0);
  }
}

}  // namespace k8i::ingest

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

// Probe: the task's metrics in one place (runs, last success and leadership are the kit's
// k8i_job_* metrics with job="retention").
struct RetentionTask::Probe {
  explicit Probe(metrics::Registry& r)
      : rows(r.AddCounter("k8i_retention_rows_deleted_total",
                          "Rows deleted by the retention job, by rule.", {"rule"})),
        partitions(r.AddCounter("k8i_retention_partitions_dropped_total",
                                "Partitions dropped by the retention job, by rule.", {"rule"})) {}
  metrics::Family<metrics::Counter>& rows;
  metrics::Family<metrics::Counter>& partitions;
};

RetentionTask::RetentionTask(RetentionPolicy policy, metrics::Registry& registry)
    : policy_(std::move(policy)), probe_(new Probe(registry)) {}

RetentionTask::~RetentionTask() = default;

int64_t RetentionTask::DropPartitions(kit::JobRun& run, const PartitionRule& rule) {
  pqxx::nontransaction tx(run.conn);
  pqxx::result expired = tx.exec_params(kExpiredPartitions, rule.parent,
                                        Seconds(rule.max_age + policy_.partition_margin));
  int64_t dropped = 0;
  for (const auto& row : expired) {
    if (run.cancelled()) break;
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

int64_t RetentionTask::DeleteRows(kit::JobRun& run, const RowRule& rule) {
  pqxx::nontransaction tx(run.conn);
  const std::string age = absl::StrCat(rule.age_expr, " < now() - make_interval(secs => $2)");
  const std::string where = rule.where.empty() ? "" : "(" + rule.where + ") AND ";
  int64_t deleted = 0;
  // Each chunk commits on its own (autocommit): no long transaction, bounded WAL per statement,
  // and an interrupted run keeps its progress. The outer condition repeats the match, so that
  // on a partitioned table (where a ctid is unique only per partition) nothing but expired rows
  // can be hit.
  auto chunks = [&](const std::string& match, const std::string& tenant) {
    const std::string sql = absl::StrCat("DELETE FROM ", rule.table, " WHERE ", match,
                                         " AND ctid = ANY(ARRAY(SELECT ctid FROM ", rule.table,
                                         " WHERE ", match, " LIMIT ", policy_.chunk_rows, "))");
    while (!run.cancelled()) {
      const int64_t n = tx.exec_params(sql, tenant, Seconds(rule.max_age)).affected_rows();
      deleted += n;
      if (n > 0) probe_->rows.WithLabels({rule.name}).Inc(static_cast<double>(n));
      if (n < policy_.chunk_rows) break;
    }
  };
  if (!rule.per_tenant) {
    chunks(absl::StrCat("$1 = '' AND ", where, age), "");
    return deleted;
  }
  // Distinct tenants by a skip scan over the index led by tenant_id.
  pqxx::result tenants = tx.exec(absl::StrCat(
      "WITH RECURSIVE t(id) AS ((SELECT tenant_id FROM ", rule.table,
      " ORDER BY tenant_id LIMIT 1) UNION ALL SELECT (SELECT tenant_id FROM ", rule.table,
      " WHERE tenant_id > t.id ORDER BY tenant_id LIMIT 1) FROM t WHERE t.id IS NOT NULL) "
      "SELECT id FROM t WHERE id IS NOT NULL"));
  for (const auto& t : tenants) {
    chunks(absl::StrCat("tenant_id = $1 AND ", where, age), t[0].as<std::string>());
  }
  return deleted;
}

absl::Status RetentionTask::Run(kit::JobRun& run) {
  report_ = RetentionReport{.leader = true};
  const absl::Time start = absl::Now();
  absl::Status s;
  try {
    for (const auto& rule : policy_.partitions) {
      const int64_t n = DropPartitions(run, rule);
      report_.partitions_dropped += n;
      report_.by_rule[rule.name] += n;
    }
    for (const auto& rule : policy_.rows) {
      const int64_t n = DeleteRows(run, rule);
      report_.rows_deleted += n;
      report_.by_rule[rule.name] += n;
    }
  } catch (...) {
    s = pg::StatusFromCurrentException("retention");
    Logger("retention")
        ->warn("retention run failed after removing {} rows, {} partitions: {}",
               report_.rows_deleted, report_.partitions_dropped, s.ToString());
    return s;
  }
  Logger("retention")
      ->info("retention run: {} partitions dropped, {} rows deleted in {}",
             report_.partitions_dropped, report_.rows_deleted,
             absl::FormatDuration(absl::Trunc(absl::Now() - start, absl::Milliseconds(1))));
  return s;
}

kit::JobOptions RetentionJob::Options(std::string pg_url, absl::Duration interval) {
  return {.name = "retention",
          .pg_url = std::move(pg_url),
          .lock_key = kRetentionLockKey,
          .interval = interval,
          .jitter = interval / 10,
          .app = "k8i-ingest"};
}

RetentionJob::RetentionJob(std::string pg_url, RetentionPolicy policy, metrics::Registry& registry)
    : task_(std::move(policy), registry),
      job_(std::make_unique<kit::LeaderJob>(
          Options(std::move(pg_url), absl::Minutes(10)),
          [this](kit::JobRun& run) { return task_.Run(run); }, registry)) {}

RetentionJob::~RetentionJob() { job_->Stop(); }

absl::StatusOr<RetentionReport> RetentionJob::RunOnce() {
  absl::MutexLock lock(&mu_);
  absl::StatusOr<kit::JobResult> r = job_->RunOnce();
  if (!r.ok()) return r.status();
  if (!r->leader) return RetentionReport{};
  return task_.last_report();
}

}  // namespace k8i::ingest

#include "services/ingest/store/pg_batch_store.h"

#include <algorithm>
#include <charconv>
#include <map>

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/json_util.h"
#include "libs/common/ids.h"
#include "libs/common/logging.h"
#include "libs/common/status_macros.h"
#include "libs/grpcx/status.h"
#include "libs/pg/migrate.h"
#include "services/ingest/core/rollup.h"
#include "services/ingest/core/series.h"
#include "services/ingest/core/validate.h"
#include "services/ingest/migrations.h"

namespace k8i::ingest {
namespace {

using k8intel::v1::KubeObject;
using k8intel::v1::TelemetryBatch;

std::string DayLiteral(int64_t day) {
  std::string s;
  AppendTimestamp(day * 86'400'000, s);
  return s.substr(0, 10);
}

std::string ToJson(const google::protobuf::Message& m) {
  std::string out;
  google::protobuf::util::JsonPrintOptions opts;
  opts.preserve_proto_field_names = true;
  if (!google::protobuf::util::MessageToJsonString(m, &out, opts).ok()) return "{}";
  return out;
}

std::string TsLiteral(const google::protobuf::Timestamp& t) {
  std::string s;
  AppendTimestamp(t.seconds() * 1000 + t.nanos() / 1'000'000, s);
  return s;
}

std::string WorkloadKindName(k8intel::v1::WorkloadKind k) {
  switch (k) {
    case k8intel::v1::WORKLOAD_KIND_DEPLOYMENT: return "Deployment";
    case k8intel::v1::WORKLOAD_KIND_STATEFULSET: return "StatefulSet";
    case k8intel::v1::WORKLOAD_KIND_DAEMONSET: return "DaemonSet";
    case k8intel::v1::WORKLOAD_KIND_JOB: return "Job";
    case k8intel::v1::WORKLOAD_KIND_CRONJOB: return "CronJob";
    case k8intel::v1::WORKLOAD_KIND_REPLICASET: return "ReplicaSet";
    default: return "Workload";
  }
}

// The Kubernetes kind, metadata and JSON of a KubeObject.
struct ObjectRow {
  std::string kind;
  const k8intel::v1::ObjectMeta* meta;
  std::string json;
  const google::protobuf::Message* message = nullptr;
};

ObjectRow Describe(const KubeObject& o) {
  switch (o.object_case()) {
    case KubeObject::kNode: return {"Node", &o.node().meta(), ToJson(o.node()), &o.node()};
    case KubeObject::kNamespace:
      return {"Namespace", &o.namespace_().meta(), ToJson(o.namespace_()), &o.namespace_()};
    case KubeObject::kWorkload:
      return {WorkloadKindName(o.workload().kind()), &o.workload().meta(), ToJson(o.workload()),
              &o.workload()};
    case KubeObject::kPod: return {"Pod", &o.pod().meta(), ToJson(o.pod()), &o.pod()};
    case KubeObject::kPersistentVolumeClaim:
      return {"PersistentVolumeClaim", &o.persistent_volume_claim().meta(),
              ToJson(o.persistent_volume_claim()), &o.persistent_volume_claim()};
    case KubeObject::kConfigMap:
      return {"ConfigMap", &o.config_map().meta(), ToJson(o.config_map()), &o.config_map()};
    // TLS and other Secrets share the kind, one row per Secret as in Kubernetes (a Secret's type
    // never changes). Readers tell them apart by the stored object: only a SecretMeta has
    // content_sha256 (always set); object_pb holds the matching message.
    case KubeObject::kTlsSecret:
      return {"Secret", &o.tls_secret().meta(), ToJson(o.tls_secret()), &o.tls_secret()};
    case KubeObject::kSecret:
      return {"Secret", &o.secret().meta(), ToJson(o.secret()), &o.secret()};
    case KubeObject::kHelmRelease:
      return {"HelmRelease", &o.helm_release().meta(), ToJson(o.helm_release()),
              &o.helm_release()};
    case KubeObject::kService:
      return {"Service", &o.service().meta(), ToJson(o.service()), &o.service()};
    case KubeObject::kPodDisruptionBudget:
      return {"PodDisruptionBudget", &o.pod_disruption_budget().meta(),
              ToJson(o.pod_disruption_budget()), &o.pod_disruption_budget()};
    case KubeObject::OBJECT_NOT_SET: break;
  }
  return {"", nullptr, ""};
}

std::string QuoteBytes(pqxx::work& tx, const std::string& bytes) {
  return tx.quote_raw(reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
}

struct PreparedSeries {
  int64_t id;
  const k8intel::v1::MetricSeries* series;
  LabelSet labels;
};

// ExecUpsert runs `insert` + the VALUES tuples of `rows` (one per key, so no row is touched
// twice by one statement) + `on_conflict`.
template <typename Map>
void ExecUpsert(pqxx::work& tx, absl::string_view insert, const Map& rows,
                absl::string_view on_conflict) {
  std::string sql(insert);
  bool first = true;
  for (const auto& [key, values] : rows) {
    absl::StrAppend(&sql, first ? "" : ",", values);
    first = false;
  }
  absl::StrAppend(&sql, " ", on_conflict);
  tx.exec(sql);
}

void UpsertObjects(pqxx::work& tx, const AgentIdentity& who, const TelemetryBatch& batch) {
  if (batch.objects_size() == 0) return;
  // Last state of each object wins; one statement cannot touch the same row twice.
  std::map<std::tuple<std::string, std::string, std::string>, std::string> rows;
  for (const auto& o : batch.objects()) {
    ObjectRow r = Describe(o);
    rows[{r.kind, r.meta->namespace_(), r.meta->name()}] = absl::StrCat(
        "(", tx.quote(who.tenant), ",", tx.quote(who.cluster), ",", tx.quote(r.kind), ",",
        tx.quote(r.meta->namespace_()), ",", tx.quote(r.meta->name()), ",",
        tx.quote(r.meta->uid()), ",", tx.quote(r.meta->resource_version()), ",",
        tx.quote(r.json), "::jsonb,", (r.message ? QuoteBytes(tx, r.message->SerializeAsString()) : "NULL"), ",",
        o.deleted() ? "true" : "false", ")");
  }
  ExecUpsert(tx,
             "INSERT INTO telemetry.objects (tenant_id, cluster_id, kind, namespace, name, uid, "
             "resource_version, object, object_pb, deleted) VALUES ",
             rows,
             "ON CONFLICT (tenant_id, cluster_id, kind, namespace, name) DO UPDATE SET "
             "uid = EXCLUDED.uid, resource_version = EXCLUDED.resource_version, "
             "object = EXCLUDED.object, object_pb = EXCLUDED.object_pb, "
             "deleted = EXCLUDED.deleted, updated_at = now()");
}

void UpsertEvents(pqxx::work& tx, const AgentIdentity& who, const TelemetryBatch& batch) {
  if (batch.events_size() == 0) return;
  std::map<std::string, std::string> rows;
  for (const auto& e : batch.events()) {
    rows[e.uid()] = absl::StrCat(
        "(", tx.quote(who.tenant), ",", tx.quote(who.cluster), ",", tx.quote(e.uid()), ",",
        tx.quote(e.type()), ",", tx.quote(e.reason()), ",", tx.quote(e.message()), ",",
        tx.quote(e.involved_object().kind()), ",", tx.quote(e.involved_object().namespace_()),
        ",", tx.quote(e.involved_object().name()), ",", tx.quote(e.source_component()), ",",
        e.has_first_time() ? tx.quote(TsLiteral(e.first_time())) : "NULL", ",",
        e.has_last_time() ? tx.quote(TsLiteral(e.last_time())) : "NULL", ",",
        std::max(1, e.count()), ")");
  }
  ExecUpsert(tx,
             "INSERT INTO telemetry.events (tenant_id, cluster_id, uid, type, reason, message, "
             "involved_kind, involved_namespace, involved_name, source_component, first_time, "
             "last_time, count) VALUES ",
             rows,
             "ON CONFLICT (tenant_id, cluster_id, uid) DO UPDATE SET message = EXCLUDED.message, "
             "last_time = EXCLUDED.last_time, count = EXCLUDED.count");
}

void UpsertAlerts(pqxx::work& tx, const AgentIdentity& who, const TelemetryBatch& batch) {
  if (batch.alerts_size() == 0) return;
  std::map<std::pair<std::string, int64_t>, std::string> rows;
  for (const auto& a : batch.alerts()) {
    LabelSet labels;
    for (const auto& l : a.labels()) labels.emplace_back(l.name(), l.value());
    std::sort(labels.begin(), labels.end());
    LabelSet annotations(a.annotations().begin(), a.annotations().end());
    std::sort(annotations.begin(), annotations.end());
    const std::string fp = AlertFingerprint(a);
    rows[{fp, a.start_time().seconds()}] = absl::StrCat(
        "(", tx.quote(who.tenant), ",", tx.quote(who.cluster), ",", tx.quote(fp), ",",
        tx.quote(TsLiteral(a.start_time())), ",", tx.quote(a.name()), ",",
        static_cast<int>(a.severity()), ",", static_cast<int>(a.status()), ",",
        a.has_end_time() ? tx.quote(TsLiteral(a.end_time())) : "NULL", ",",
        tx.quote(LabelsJson(labels)), "::jsonb,", tx.quote(LabelsJson(annotations)), "::jsonb,",
        tx.quote(ToJson(a.resource())), "::jsonb,", tx.quote(a.source()), ",",
        tx.quote(a.summary()), ")");
  }
  ExecUpsert(tx,
             "INSERT INTO telemetry.alerts (tenant_id, cluster_id, fingerprint, starts_at, name, "
             "severity, status, ends_at, labels, annotations, resource, source, summary) VALUES ",
             rows,
             "ON CONFLICT (tenant_id, cluster_id, fingerprint, starts_at) DO UPDATE SET "
             "status = EXCLUDED.status, ends_at = EXCLUDED.ends_at, severity = EXCLUDED.severity, "
             "annotations = EXCLUDED.annotations, summary = EXCLUDED.summary, updated_at = now()");
}

// Percent of each rollup page filled by inserts; the rest takes the in-place updates of the
// rollup consumer (store/pg_rollups).
constexpr int kRollupFillFactor = 50;

}  // namespace

absl::Status ApplyMigrations(pg::Pool& pool) {
  return pg::Migrate(pool, kSchema, k8i::ingest::Migrations());
}

PgBatchStore::PgBatchStore(pg::Pool* pool, const Clock* clock, absl::Duration heartbeat_interval)
    : pool_(pool), clock_(clock), heartbeat_interval_(heartbeat_interval) {}

absl::Status PgBatchStore::EnsurePartitions(int64_t from_day, int64_t to_day) {
  std::vector<int64_t> missing;
  {
    absl::MutexLock lock(&mu_);
    for (int64_t d = from_day; d <= to_day; ++d) {
      if (!known_days_.contains(d)) missing.push_back(d);
    }
  }
  if (missing.empty()) return absl::OkStatus();
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) {
    // Serialises concurrent creators (other threads or replicas) of partitions.
    tx.exec("SELECT pg_advisory_xact_lock(hashtext('k8i:telemetry:partitions'))");
    for (int64_t d : missing) {
      std::string from = DayLiteral(d), to = DayLiteral(d + 1);
      std::string name = absl::StrCat("samples_", from.substr(0, 4), from.substr(5, 2),
                                      from.substr(8, 2));
      tx.exec(absl::StrCat("CREATE TABLE IF NOT EXISTS telemetry.", name,
                           " PARTITION OF telemetry.samples FOR VALUES FROM ('", from,
                           "') TO ('", to, "')"));
      // Rollups: 5-minute cells by day like samples, 1-hour cells by month. Every batch
      // updates the cells of its series in place; free space on each page (fillfactor) lets
      // those updates be HOT, i.e. write no new index entries.
      tx.exec(absl::StrCat("CREATE TABLE IF NOT EXISTS telemetry.rollup_5m_",
                           name.substr(8), " PARTITION OF telemetry.rollup_5m FOR VALUES FROM ('",
                           from, "') TO ('", to, "') WITH (fillfactor = ", kRollupFillFactor,
                           ")"));
      const MonthPartition month = MonthPartitionOf(d);
      tx.exec(absl::StrCat("CREATE TABLE IF NOT EXISTS telemetry.rollup_1h_", month.suffix,
                           " PARTITION OF telemetry.rollup_1h FOR VALUES FROM ('", month.from,
                           "') TO ('", month.to, "') WITH (fillfactor = ", kRollupFillFactor,
                           ")"));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  absl::MutexLock lock(&mu_);
  known_days_.insert(missing.begin(), missing.end());
  return absl::OkStatus();
}

bool PgBatchStore::HeartbeatDue(const AgentIdentity& who) {
  absl::MutexLock lock(&mu_);
  const std::string key = absl::StrCat(who.tenant, "/", who.cluster);
  const absl::Time now = clock_->Now();
  auto it = last_heartbeat_.find(key);
  if (it != last_heartbeat_.end() && now - it->second < heartbeat_interval_) return false;
  last_heartbeat_[key] = now;
  return true;
}

absl::StatusOr<WriteResult> PgBatchStore::Write(const AgentIdentity& who,
                                                const TelemetryBatch& batch,
                                                const std::string& payload_sha256) {
  return Write(who, batch, payload_sha256, DeterministicPayload(batch));
}

absl::StatusOr<WriteResult> PgBatchStore::Write(const AgentIdentity& who,
                                                const TelemetryBatch& batch,
                                                const std::string& payload_sha256,
                                                const std::string& payload) {
  // Work that does not depend on the transaction is done once, outside any retry.
  int64_t min_day = INT64_MAX, max_day = INT64_MIN, samples = 0;
  int64_t min_ms = INT64_MAX, max_ms = INT64_MIN;
  std::vector<PreparedSeries> prepared;
  prepared.reserve(batch.metrics_size());
  for (const auto& s : batch.metrics()) {
    LabelSet labels = CanonicalLabels(s);
    prepared.push_back({SeriesId(who.tenant, who.cluster, s.name(), labels), &s,
                        std::move(labels)});
    for (const auto& sample : s.samples()) {
      min_ms = std::min(min_ms, sample.time_unix_ms());
      max_ms = std::max(max_ms, sample.time_unix_ms());
      int64_t day = DayOf(sample.time_unix_ms());
      min_day = std::min(min_day, day);
      max_day = std::max(max_day, day);
    }
    samples += s.samples_size();
  }
  if (samples > 0) {
    if (absl::Status p = EnsurePartitions(min_day, max_day); !p.ok()) return p;
  }
  std::vector<const PreparedSeries*> new_series;
  {
    absl::MutexLock lock(&mu_);
    for (const auto& p : prepared) {
      if (!known_series_.contains(p.id)) new_series.push_back(&p);
    }
  }
  std::string copy_data;
  copy_data.reserve(static_cast<size_t>(samples) * 56);
  for (const auto& p : prepared) AppendSampleRows(who.tenant, p.id, *p.series, copy_data);
  std::string min_ts, max_ts;
  if (samples > 0) {
    AppendTimestamp(min_ms, min_ts);
    AppendTimestamp(max_ms, max_ts);
  }
  const bool heartbeat = HeartbeatDue(who);
  WriteResult result;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    result = WriteResult{};
    pqxx::result inserted = tx.exec_params(
        "INSERT INTO telemetry.batches (tenant_id, cluster_id, batch_id, payload_sha256, "
        "samples) VALUES ($1, $2, $3, $4, $5) ON CONFLICT DO NOTHING RETURNING 1",
        who.tenant, who.cluster, batch.batch_id(), payload_sha256, samples);
    if (inserted.empty()) {
      pqxx::row prior = tx.exec_params1(
          "SELECT payload_sha256, published_at IS NOT NULL FROM telemetry.batches "
          "WHERE tenant_id = $1 AND cluster_id = $2 AND batch_id = $3",
          who.tenant, who.cluster, batch.batch_id());
      if (prior[0].as<std::string>() != payload_sha256) {
        return grpcx::WithErrorInfo(
            absl::AlreadyExistsError(absl::StrCat("batch_id \"", batch.batch_id(),
                                                  "\" was already used for different content")),
            "BATCH_ID_REUSED");
      }
      result.duplicate = true;
      result.needs_publish = !prior[1].as<bool>();
      return absl::OkStatus();
    }
    tx.exec_params(
        "INSERT INTO telemetry.unpublished_batches (tenant_id, cluster_id, batch_id, payload) "
        "VALUES ($1, $2, $3, $4)",
        who.tenant, who.cluster, batch.batch_id(),
        pqxx::binarystring(payload.data(), payload.size()));
    if (!new_series.empty()) {
      std::string sql =
          "INSERT INTO telemetry.series (tenant_id, series_id, cluster_id, name, labels, type, "
          "unit) VALUES ";
      for (size_t i = 0; i < new_series.size(); ++i) {
        const auto* p = new_series[i];
        absl::StrAppend(&sql, i ? "," : "", "(", tx.quote(who.tenant), ",", p->id, ",",
                        tx.quote(who.cluster), ",", tx.quote(p->series->name()), ",",
                        tx.quote(LabelsJson(p->labels)), "::jsonb,",
                        static_cast<int>(p->series->type()), ",", tx.quote(p->series->unit()),
                        ")");
      }
      sql += " ON CONFLICT DO NOTHING";
      tx.exec(sql);
    }
    if (absl::Status c = pg::CopyRows(tx, "telemetry.samples",
                                      {"tenant_id", "series_id", "ts", "value"}, copy_data);
        !c.ok()) {
      return c;
    }
    // Only a batch stored for the first time (the dedup row was inserted above) reaches this
    // point: it owes the rollups its samples until the rollup consumer merges them.
    if (samples > 0) {
      tx.exec_params(
          "INSERT INTO telemetry.rollup_pending (tenant_id, cluster_id, batch_id, min_ts, "
          "max_ts, samples_pending) VALUES ($1, $2, $3, $4, $5, $6)",
          who.tenant, who.cluster, batch.batch_id(), min_ts, max_ts, samples);
    }
    UpsertObjects(tx, who, batch);
    UpsertEvents(tx, who, batch);
    UpsertAlerts(tx, who, batch);
    if (heartbeat) {
      tx.exec_params(
          "INSERT INTO telemetry.cluster_heartbeats (tenant_id, cluster_id, last_seen, "
          "last_batch_id) VALUES ($1, $2, now(), $3) ON CONFLICT (tenant_id, cluster_id) DO "
          "UPDATE SET last_seen = now(), last_batch_id = EXCLUDED.last_batch_id",
          who.tenant, who.cluster, batch.batch_id());
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (!result.duplicate && !new_series.empty()) {
    absl::MutexLock lock(&mu_);
    if (known_series_.size() > 5'000'000) known_series_.clear();  // bounded memory
    for (const auto* p : new_series) known_series_.insert(p->id);
  }
  return result;
}

absl::Status PgBatchStore::MarkPublished(const AgentIdentity& who, const std::string& batch_id) {
  return pool_->WithTransaction([&](pqxx::work& tx) {
    tx.exec_params(
        "UPDATE telemetry.batches SET published_at = now() WHERE tenant_id = $1 AND "
        "cluster_id = $2 AND batch_id = $3",
        who.tenant, who.cluster, batch_id);
    tx.exec_params(
        "DELETE FROM telemetry.unpublished_batches WHERE tenant_id = $1 AND cluster_id = $2 AND "
        "batch_id = $3",
        who.tenant, who.cluster, batch_id);
    return absl::OkStatus();
  });
}

PgTokenStore::PgTokenStore(pg::Pool* pool, const Clock* clock, absl::Duration cache_ttl)
    : pool_(pool), clock_(clock), cache_ttl_(cache_ttl) {}

absl::StatusOr<AgentIdentity> PgTokenStore::Authenticate(const std::string& token) {
  if (token.empty()) return absl::UnauthenticatedError("missing agent token");
  const std::string hash = Sha256Hex(token);
  const absl::Time now = clock_->Now();
  {
    absl::MutexLock lock(&mu_);
    auto it = cache_.find(hash);
    if (it != cache_.end() && it->second.expires > now) return it->second.who;
  }
  AgentIdentity who;
  bool found = false;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        "SELECT tenant_id, cluster_id FROM control.agent_tokens WHERE token_sha256 = $1 AND "
        "revoked_at IS NULL",
        hash);
    found = !r.empty();
    if (found) who = {r[0][0].as<std::string>(), r[0][1].as<std::string>()};
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (!found) return absl::UnauthenticatedError("unknown or revoked agent token");
  absl::MutexLock lock(&mu_);
  if (cache_.size() > 100'000) cache_.clear();
  cache_[hash] = {who, now + cache_ttl_};
  return who;
}

absl::StatusOr<bool> PgTokenStore::Registered(const std::string& tenant,
                                              const std::string& cluster) {
  const std::string key = absl::StrCat(tenant, "/", cluster);
  const absl::Time now = clock_->Now();
  {
    absl::MutexLock lock(&mu_);
    auto it = clusters_.find(key);
    if (it != clusters_.end() && it->second.second > now) return it->second.first;
  }
  bool found = false;
  RETURN_IF_ERROR(pool_->WithTransaction([&](pqxx::work& tx) {
    found = !tx.exec_params("SELECT 1 FROM control.clusters WHERE tenant_id = $1 AND cluster_id = $2",
                            tenant, cluster)
                 .empty();
    return absl::OkStatus();
  }));
  absl::MutexLock lock(&mu_);
  if (clusters_.size() > 100'000) clusters_.clear();
  // "Not registered" for a few seconds only: a cluster just created is written to soon after.
  clusters_[key] = {found, now + (found ? cache_ttl_ : std::min(cache_ttl_, absl::Seconds(2)))};
  return found;
}

}  // namespace k8i::ingest

#include "services/ingest/store/pg_rollups.h"

#include <charconv>
#include <map>
#include <set>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "libs/common/logging.h"
#include "absl/strings/match.h"
#include "services/ingest/core/series.h"
#include "services/ingest/store/kafka_publisher.h"

namespace k8i::ingest {
namespace {

using BatchKey = std::tuple<std::string, std::string, std::string>;  // tenant, cluster, batch

void AppendDouble(double v, std::string& out) {
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out.append(buf, end);
}

const k8intel::v1::MetricBatch& Batch(const kit::Delivery& d) {
  return static_cast<const k8intel::v1::MetricBatch&>(*d.payload);
}

std::string KeyTuple(pqxx::work& tx, const BatchKey& k) {
  return absl::StrCat("(", tx.quote(std::get<0>(k)), ",", tx.quote(std::get<1>(k)), ",",
                      tx.quote(std::get<2>(k)));
}

}  // namespace

void UpsertRollups(pqxx::work& tx, const std::string& tenant, const char* table,
                   const RollupCells& cells) {
  if (cells.empty()) return;
  // One array parameter per column, unnested in key order: the statement stays a few lines
  // whatever the number of cells, so PostgreSQL parses and plans it in microseconds. (A VALUES
  // list of literals cost more to parse, analyze and plan than the merge itself.)
  enum Column { kSeries, kBucket, kCount, kSum, kMin, kMax, kLastTs, kLastValue, kColumns };
  std::string arrays[kColumns];
  for (std::string& a : arrays) {
    a.reserve(cells.size() * 24);
    a = "{";
  }
  for (const auto& [key, c] : cells) {
    const bool first = arrays[kSeries].size() == 1;
    if (!first) {
      for (std::string& a : arrays) a += ',';
    }
    absl::StrAppend(&arrays[kSeries], key.first);
    arrays[kBucket] += '"';
    AppendTimestamp(key.second, arrays[kBucket]);
    arrays[kBucket] += '"';
    absl::StrAppend(&arrays[kCount], c.count);
    AppendDouble(c.sum, arrays[kSum]);
    AppendDouble(c.min, arrays[kMin]);
    AppendDouble(c.max, arrays[kMax]);
    arrays[kLastTs] += '"';
    AppendTimestamp(c.last_ms, arrays[kLastTs]);
    arrays[kLastTs] += '"';
    AppendDouble(c.last_value, arrays[kLastValue]);
  }
  for (std::string& a : arrays) a += '}';
  tx.exec_params(
      absl::StrCat("INSERT INTO telemetry.", table,
                   " AS r (tenant_id, series_id, bucket_start, count, sum, min, max, last_ts, "
                   "last_value) SELECT $1::text, * FROM unnest($2::bigint[], $3::timestamptz[], "
                   "$4::bigint[], "
                   "$5::float8[], $6::float8[], $7::float8[], $8::timestamptz[], $9::float8[]) "
                   "ON CONFLICT (tenant_id, series_id, bucket_start) DO UPDATE SET "
                   "count = r.count + EXCLUDED.count, "
                   // float8 + float8 that overflows is an error in PostgreSQL; here it
                   // saturates, as in IEEE arithmetic (and in RollupCell), instead of failing
                   // the transaction on every retry. ">=" also catches the sum that rounds up
                   // to infinity from exactly half an ulp past the largest double (it may
                   // saturate one ulp early there).
                   "sum = CASE WHEN sign(r.sum) = sign(EXCLUDED.sum) AND abs(r.sum) >= "
                   "1.7976931348623157e308 - abs(EXCLUDED.sum) THEN sign(r.sum) * "
                   "'Infinity'::float8 ELSE r.sum + EXCLUDED.sum END, "
                   "min = LEAST(r.min, EXCLUDED.min), max = GREATEST(r.max, EXCLUDED.max), "
                   "last_ts = CASE WHEN (EXCLUDED.last_ts, EXCLUDED.last_value) > (r.last_ts, "
                   "r.last_value) THEN EXCLUDED.last_ts ELSE r.last_ts END, "
                   "last_value = CASE WHEN (EXCLUDED.last_ts, EXCLUDED.last_value) > "
                   "(r.last_ts, r.last_value) THEN EXCLUDED.last_value ELSE r.last_value END"),
      tenant, arrays[kSeries], arrays[kBucket], arrays[kCount], arrays[kSum], arrays[kMin],
      arrays[kMax], arrays[kLastTs], arrays[kLastValue]);
}

RollupHandler::RollupHandler(metrics::Registry& registry)
    : lag_(registry
               .AddHistogram("k8i_rollup_lag_seconds",
                             "Time from a batch's commit by ingest to its rollups being "
                             "complete (every sample merged).",
                             {}, {0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 30, 60, 300, 3600})
               .WithLabels({})),
      skipped_(registry
                   .AddCounter("k8i_rollup_messages_skipped_total",
                               "Metric messages whose batch owed the rollups nothing (merged "
                               "already, or stored before rollups left the write path).")
                   .WithLabels({})) {}

const google::protobuf::Message& RollupHandler::Prototype() const {
  return k8intel::v1::MetricBatch::default_instance();
}

absl::Status RollupHandler::Validate(const kit::Delivery& d) const {
  const auto& b = Batch(d);
  if (b.tenant().empty() || b.cluster().empty() || b.batch_id().empty()) {
    return absl::InvalidArgumentError("MetricBatch without tenant, cluster or batch_id");
  }
  if (d.message->key != absl::StrCat(b.tenant(), "/", b.cluster())) {
    return absl::InvalidArgumentError(absl::StrCat("key \"", d.message->key,
                                                   "\" is not the batch's tenant/cluster"));
  }
  return absl::OkStatus();
}

absl::Status RollupHandler::Apply(pqxx::work& tx, const std::vector<const kit::Delivery*>& batch) {
  std::map<BatchKey, int64_t> samples;
  for (const kit::Delivery* d : batch) {
    const auto& b = Batch(*d);
    int64_t n = 0;
    for (const auto& s : b.series()) n += s.samples_size();
    if (n > 0) samples[{b.tenant(), b.cluster(), b.batch_id()}] += n;
  }
  if (samples.empty()) return absl::OkStatus();
  // Settle each batch's debt; the rows that exist are the batches still owed.
  std::string values;
  for (const auto& [k, n] : samples) {
    absl::StrAppend(&values, values.empty() ? "" : ",", KeyTuple(tx, k), ",", n, "::bigint)");
  }
  pqxx::result owed_rows = tx.exec(absl::StrCat(
      "UPDATE telemetry.rollup_pending p SET samples_pending = p.samples_pending - v.n FROM "
      "(VALUES ",
      values,
      ") AS v(tenant_id, cluster_id, batch_id, n) WHERE p.tenant_id = v.tenant_id AND "
      "p.cluster_id = v.cluster_id AND p.batch_id = v.batch_id RETURNING p.tenant_id, "
      "p.cluster_id, p.batch_id, p.samples_pending, "
      "extract(epoch FROM clock_timestamp() - p.stored_at)::float8"));
  std::set<BatchKey> owed;
  std::string done;
  std::vector<double> lags;
  for (const auto& row : owed_rows) {
    BatchKey k{row[0].as<std::string>(), row[1].as<std::string>(), row[2].as<std::string>()};
    const int64_t left = row[3].as<int64_t>();
    if (left < 0) {
      Logger("rollups")->error("batch {}/{}/{} over-settled by {} samples", std::get<0>(k),
                               std::get<1>(k), std::get<2>(k), -left);
    }
    if (left <= 0) {
      absl::StrAppend(&done, done.empty() ? "" : ",", KeyTuple(tx, k), ")");
      lags.push_back(row[4].as<double>());
    }
    owed.insert(std::move(k));
  }
  if (!done.empty()) {
    tx.exec(absl::StrCat(
        "DELETE FROM telemetry.rollup_pending WHERE (tenant_id, cluster_id, batch_id) IN (",
        done, ")"));
  }
  // One cell per (series, bucket) for the whole poll, per tenant.
  std::map<std::string, std::pair<RollupCells, RollupCells>> cells;
  for (const kit::Delivery* d : batch) {
    const auto& b = Batch(*d);
    if (!owed.contains({b.tenant(), b.cluster(), b.batch_id()})) {
      skipped_.Inc();
      continue;
    }
    auto& [c5, c1] = cells[b.tenant()];
    for (const auto& s : b.series()) {
      const int64_t id = SeriesId(b.tenant(), b.cluster(), s.name(), CanonicalLabels(s));
      AddSeries(id, s, kRollup5mMs, c5);
      AddSeries(id, s, kRollup1hMs, c1);
    }
  }
  for (const auto& [tenant, c] : cells) {
    UpsertRollups(tx, tenant, "rollup_5m", c.first);
    UpsertRollups(tx, tenant, "rollup_1h", c.second);
  }
  // Observed only once the transaction commits would be more exact; a rolled-back batch is
  // retried and observed again, which the histogram tolerates.
  for (double l : lags) lag_.Observe(l);
  return absl::OkStatus();
}

absl::Status ApplyRollupsNow(pg::Pool& pool, const AgentIdentity& who,
                             const k8intel::v1::TelemetryBatch& batch) {
  static RollupHandler* handler = new RollupHandler();
  const KafkaPublisher publisher(nullptr, {});
  std::vector<kafka::ConsumedMessage> msgs;
  for (kafka::Message& m : publisher.BuildMessages(who, batch, absl::Now())) {
    if (!absl::EndsWith(m.topic, "metrics.v1")) continue;
    msgs.push_back({.topic = std::move(m.topic),
                    .partition = 0,
                    .offset = static_cast<int64_t>(msgs.size()),
                    .key = std::move(m.key),
                    .value = std::move(m.value),
                    .headers = std::move(m.headers)});
  }
  if (msgs.empty()) return absl::OkStatus();
  auto r = kit::ApplyMessages(pool, "telemetry", kRollupConsumer, *handler, msgs);
  return r.status();
}

}  // namespace k8i::ingest

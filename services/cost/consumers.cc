#include "services/cost/consumers.h"

#include <cmath>
#include <map>
#include <tuple>

#include "absl/strings/str_cat.h"
#include "k8intel/v1/telemetry.pb.h"
#include "libs/pg/bulk.h"
#include "services/cost/core/observe.h"

namespace k8i::cost {
namespace {

namespace v1 = ::k8intel::v1;
using Cluster = std::pair<std::string, std::string>;  // tenant, cluster

struct Timed {
  Observation o;
  int64_t at_us = 0;
};

// Applies one round of observations of one cluster (each object at most once): close the
// current revision when the object ended or its facts changed, then open a revision unless one
// is current or a later one exists (an observation older than what is stored changes nothing).
void ApplyRound(pqxx::work& tx, const Cluster& c, const std::vector<const Timed*>& round) {
  pg::Columns cols(6);
  for (const Timed* t : round) {
    size_t i = 0;
    cols.Add(i++, t->o.kind);
    cols.Add(i++, t->o.ns);
    cols.Add(i++, t->o.name);
    cols.Add(i++, absl::StrCat(t->at_us));
    cols.Add(i++, t->o.ends ? "null" : t->o.facts);
    cols.Add(i++, t->o.ends ? "t" : "f");
  }
  constexpr char kRows[] =
      "unnest($3::text[], $4::text[], $5::text[], $6::bigint[], $7::text[], $8::bool[]) "
      "AS u(k, ns, n, t, f, e)";
  pg::ExecBulk(tx,
               absl::StrCat("UPDATE cost.objects o SET valid_to = to_timestamp(u.t::float8 / 1e6) FROM ",
                            kRows,
                            " WHERE o.tenant_id = $1 AND o.cluster_id = $2 AND o.kind = u.k AND "
                            "o.namespace = u.ns AND o.name = u.n AND o.valid_to IS NULL AND "
                            "o.valid_from < to_timestamp(u.t::float8 / 1e6) AND "
                            "(u.e OR o.facts <> u.f::jsonb)"),
               c.first, c.second, cols);
  // Several changes at one event time (watch events flushed together): the revision opened at
  // that instant takes the later facts, or goes if the object ended at the same instant.
  pg::ExecBulk(tx,
               absl::StrCat("UPDATE cost.objects o SET facts = u.f::jsonb FROM ", kRows,
                            " WHERE o.tenant_id = $1 AND o.cluster_id = $2 AND o.kind = u.k AND "
                            "o.namespace = u.ns AND o.name = u.n AND o.valid_to IS NULL AND "
                            "o.valid_from = to_timestamp(u.t::float8 / 1e6) AND NOT u.e AND "
                            "o.facts <> u.f::jsonb"),
               c.first, c.second, cols);
  pg::ExecBulk(tx,
               absl::StrCat("DELETE FROM cost.objects o USING ", kRows,
                            " WHERE o.tenant_id = $1 AND o.cluster_id = $2 AND o.kind = u.k AND "
                            "o.namespace = u.ns AND o.name = u.n AND o.valid_to IS NULL AND "
                            "o.valid_from = to_timestamp(u.t::float8 / 1e6) AND u.e"),
               c.first, c.second, cols);
  pg::ExecBulk(tx,
               absl::StrCat("INSERT INTO cost.objects (tenant_id, cluster_id, kind, namespace, "
                            "name, valid_from, facts) SELECT $1, $2, u.k, u.ns, u.n, "
                            "to_timestamp(u.t::float8 / 1e6), u.f::jsonb FROM ",
                            kRows,
                            " WHERE NOT u.e AND NOT EXISTS (SELECT 1 FROM cost.objects o WHERE "
                            "o.tenant_id = $1 AND o.cluster_id = $2 AND o.kind = u.k AND "
                            "o.namespace = u.ns AND o.name = u.n AND (o.valid_to IS NULL OR "
                            "o.valid_to > to_timestamp(u.t::float8 / 1e6))) ON CONFLICT DO NOTHING"),
               c.first, c.second, cols);
}

// TouchCluster records that input of the cluster spanning [first, last] (µs) arrived; `metrics`:
// it was metrics (how far the cluster's usage has been read).
void TouchCluster(pqxx::work& tx, const Cluster& c, int64_t first, int64_t last, bool metrics) {
  tx.exec_params(
      "INSERT INTO cost.clusters (tenant_id, cluster_id, first_seen, last_seen, metrics_seen) "
      "VALUES ($1, $2, to_timestamp($3::float8 / 1e6), to_timestamp($4::float8 / 1e6), CASE WHEN "
      "$5 THEN to_timestamp($4::float8 / 1e6) END) ON CONFLICT (tenant_id, cluster_id) DO UPDATE "
      "SET first_seen = LEAST(cost.clusters.first_seen, excluded.first_seen), last_seen = "
      "GREATEST(cost.clusters.last_seen, excluded.last_seen), metrics_seen = "
      "GREATEST(cost.clusters.metrics_seen, excluded.metrics_seen)",
      c.first, c.second, first, last, metrics);
}

}  // namespace

InventoryHandler::InventoryHandler(metrics::Registry& registry)
    : observed_(registry
                    .AddCounter("k8i_cost_objects_observed_total",
                                "Kubernetes objects (nodes, pods, PVCs, namespaces, workloads) "
                                "observed by cost.")
                    .WithLabels({})) {}

const google::protobuf::Message& InventoryHandler::Prototype() const {
  return v1::InventoryBatch::default_instance();
}

absl::Status InventoryHandler::Validate(const kit::Delivery& d) const {
  const auto& b = static_cast<const v1::InventoryBatch&>(*d.payload);
  return kit::RequireTenantAndCluster(b.tenant(), b.cluster());
}

absl::Status InventoryHandler::Apply(pqxx::work& tx,
                                     const std::vector<const kit::Delivery*>& batch) {
  // Per cluster, in message order.
  std::map<Cluster, std::vector<Timed>> by_cluster;
  std::map<Cluster, std::pair<int64_t, int64_t>> span;  // first, last event time seen
  for (const kit::Delivery* d : batch) {
    const auto& b = static_cast<const v1::InventoryBatch&>(*d->payload);
    const int64_t at = absl::ToUnixMicros(d->event.time);
    const Cluster key{b.tenant(), b.cluster()};
    auto [s, fresh] = span.try_emplace(key, at, at);
    s->second.first = std::min(s->second.first, at);
    s->second.second = std::max(s->second.second, at);
    for (const auto& o : b.objects()) {
      if (auto obs = Observe(o)) by_cluster[key].push_back({*std::move(obs), at});
    }
  }
  for (const auto& [c, s] : span) TouchCluster(tx, c, s.first, s.second, false);
  for (const auto& [c, observations] : by_cluster) {
    // Rounds: an object observed k times in the batch is in rounds 0..k-1, in order.
    std::vector<std::vector<const Timed*>> rounds;
    std::map<std::tuple<std::string, std::string, std::string>, size_t> seen;
    for (const Timed& t : observations) {
      const size_t r = seen[{t.o.kind, t.o.ns, t.o.name}]++;
      if (rounds.size() <= r) rounds.resize(r + 1);
      rounds[r].push_back(&t);
    }
    for (const auto& round : rounds) ApplyRound(tx, c, round);
    observed_.Inc(static_cast<double>(observations.size()));
  }
  return absl::OkStatus();
}

MetricsHandler::MetricsHandler(metrics::Registry& registry)
    : samples_(registry
                   .AddCounter("k8i_cost_usage_samples_total",
                               "Container CPU and memory samples added to hourly usage.")
                   .WithLabels({})) {}

const google::protobuf::Message& MetricsHandler::Prototype() const {
  return v1::MetricBatch::default_instance();
}

absl::Status MetricsHandler::Validate(const kit::Delivery& d) const {
  const auto& b = static_cast<const v1::MetricBatch&>(*d.payload);
  return kit::RequireTenantAndCluster(b.tenant(), b.cluster());
}

absl::Status MetricsHandler::Apply(pqxx::work& tx,
                                   const std::vector<const kit::Delivery*>& batch) {
  struct Sums {
    double cpu = 0, mem = 0;
    int64_t cpu_n = 0, mem_n = 0;
  };
  // tenant, cluster → (hour µs, namespace, pod, container) → sums.
  std::map<Cluster, std::map<std::tuple<int64_t, std::string, std::string, std::string>, Sums>>
      sums;
  for (const kit::Delivery* d : batch) {
    const auto& b = static_cast<const v1::MetricBatch&>(*d->payload);
    for (const auto& s : b.series()) {
      const bool cpu = s.name() == kCpuMetric;
      if ((!cpu && s.name() != kMemoryMetric) || s.resource().pod_name().empty() ||
          s.resource().container_name().empty()) {
        continue;
      }
      auto& cluster = sums[{b.tenant(), b.cluster()}];
      for (const auto& p : s.samples()) {
        if (!std::isfinite(p.value()) || p.value() < 0) continue;
        const absl::Time t = absl::FromUnixMillis(p.time_unix_ms());
        const int64_t hour =
            absl::ToUnixMicros(absl::FromUnixSeconds(absl::ToUnixSeconds(t) / 3600 * 3600));
        Sums& x = cluster[{hour, s.resource().namespace_name(), s.resource().pod_name(),
                           s.resource().container_name()}];
        (cpu ? x.cpu : x.mem) += p.value();
        ++(cpu ? x.cpu_n : x.mem_n);
        samples_.Inc();
      }
    }
  }
  // The clusters' input goes on (an open revision is charged only while its cluster reports).
  std::map<Cluster, int64_t> latest;
  for (const kit::Delivery* d : batch) {
    const auto& b = static_cast<const v1::MetricBatch&>(*d->payload);
    int64_t& l = latest[{b.tenant(), b.cluster()}];
    l = std::max(l, absl::ToUnixMicros(d->event.time));
  }
  for (const auto& [c, at] : latest) TouchCluster(tx, c, at, at, true);
  for (const auto& [c, rows] : sums) {
    pg::Columns cols(8);
    for (const auto& [k, x] : rows) {
      size_t i = 0;
      cols.Add(i++, absl::StrCat(std::get<0>(k)));
      cols.Add(i++, std::get<1>(k));
      cols.Add(i++, std::get<2>(k));
      cols.Add(i++, std::get<3>(k));
      cols.Add(i++, pg::Double(x.cpu));
      cols.Add(i++, absl::StrCat(x.cpu_n));
      cols.Add(i++, pg::Double(x.mem));
      cols.Add(i++, absl::StrCat(x.mem_n));
    }
    pg::ExecBulk(tx,
                 "INSERT INTO cost.usage (tenant_id, cluster_id, hour, namespace, pod, container, "
                 "cpu_sum, cpu_n, mem_sum, mem_n) SELECT $1, $2, to_timestamp(u.h::float8 / 1e6), u.ns, "
                 "u.p, u.c, u.cs, u.cn, u.ms, u.mn FROM unnest($3::bigint[], $4::text[], "
                 "$5::text[], $6::text[], $7::float8[], $8::bigint[], $9::float8[], $10::bigint[]) "
                 "AS u(h, ns, p, c, cs, cn, ms, mn) ON CONFLICT (tenant_id, cluster_id, hour, "
                 "namespace, pod, container) DO UPDATE SET cpu_sum = cost.usage.cpu_sum + "
                 "excluded.cpu_sum, cpu_n = cost.usage.cpu_n + excluded.cpu_n, mem_sum = "
                 "cost.usage.mem_sum + excluded.mem_sum, mem_n = cost.usage.mem_n + excluded.mem_n",
                 c.first, c.second, cols);
  }
  return absl::OkStatus();
}

}  // namespace k8i::cost

#include "services/recommendation/consumers.h"

#include <cmath>
#include <map>
#include <tuple>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/time_util.h"
#include "k8intel/v1/cost.pb.h"
#include "k8intel/v1/telemetry.pb.h"
#include "services/cost/prices.h"
#include "libs/pg/bulk.h"
#include "services/recommendation/core/facts.h"
#include "services/recommendation/core/sketch.h"

namespace k8i::recommendation {
namespace {

namespace v1 = ::k8intel::v1;
using Cluster = std::pair<std::string, std::string>;

template <typename Batch>
absl::Status CheckBatch(const kit::Delivery& d) {
  const auto& b = static_cast<const Batch&>(*d.payload);
  return kit::RequireTenantAndCluster(b.tenant(), b.cluster());
}

std::string Label(const v1::MetricSeries& s, const char* name) {
  for (const auto& l : s.labels()) {
    if (l.name() == name) return l.value();
  }
  return "";
}

int64_t FloorTo(int64_t ms, int64_t step_ms) { return ms / step_ms * step_ms; }

// Records that input of each batch's cluster arrived (the runner evaluates the clusters seen).
template <typename Batch>
void TouchClusters(pqxx::work& tx, const std::vector<const kit::Delivery*>& batch) {
  std::map<Cluster, int64_t> seen;
  for (const kit::Delivery* d : batch) {
    const auto& b = static_cast<const Batch&>(*d->payload);
    int64_t& at = seen[{b.tenant(), b.cluster()}];
    at = std::max(at, absl::ToUnixMicros(d->event.time));
  }
  for (const auto& [c, at] : seen) {
    tx.exec_params(
        "INSERT INTO recommendation.clusters (tenant_id, cluster_id, last_seen) VALUES ($1, $2, "
        "to_timestamp($3::float8 / 1e6)) ON CONFLICT (tenant_id, cluster_id) DO UPDATE SET "
        "last_seen = GREATEST(recommendation.clusters.last_seen, excluded.last_seen)",
        c.first, c.second, at);
  }
}

}  // namespace

const google::protobuf::Message& InventoryHandler::Prototype() const {
  return v1::InventoryBatch::default_instance();
}

absl::Status InventoryHandler::Validate(const kit::Delivery& d) const {
  return CheckBatch<v1::InventoryBatch>(d);
}

absl::Status InventoryHandler::Apply(pqxx::work& tx,
                                     const std::vector<const kit::Delivery*>& batch) {
  TouchClusters<v1::InventoryBatch>(tx, batch);
  // The last observation of each object in the batch (current state is all that is kept).
  std::map<Cluster, std::map<std::tuple<std::string, std::string, std::string>,
                             std::pair<ObjectFacts, int64_t>>>
      latest;
  for (const kit::Delivery* d : batch) {
    const auto& b = static_cast<const v1::InventoryBatch&>(*d->payload);
    const int64_t at = absl::ToUnixMicros(d->event.time);
    for (const auto& o : b.objects()) {
      auto f = FactsOf(o);
      if (!f) continue;
      // The key first: the object is moved from below.
      std::tuple<std::string, std::string, std::string> key{f->kind, f->ns, f->name};
      latest[{b.tenant(), b.cluster()}][std::move(key)] = {*std::move(f), at};
    }
  }
  for (const auto& [c, objects] : latest) {
    pg::Columns keep(5), gone(4);
    for (const auto& [key, v] : objects) {
      const auto& [f, at] = v;
      pg::Columns& cols = f.gone ? gone : keep;
      size_t i = 0;
      cols.Add(i++, f.kind);
      cols.Add(i++, f.ns);
      cols.Add(i++, f.name);
      cols.Add(i++, absl::StrCat(at));
      if (!f.gone) cols.Add(i++, f.facts);
    }
    pg::ExecBulk(tx,
                 "INSERT INTO recommendation.objects (tenant_id, cluster_id, kind, namespace, name, "
                 "observed_at, facts) SELECT $1, $2, u.k, u.ns, u.n, to_timestamp(u.t::float8 / "
                 "1e6), u.f::jsonb FROM unnest($3::text[], $4::text[], $5::text[], $6::bigint[], "
                 "$7::text[]) AS u(k, ns, n, t, f) ON CONFLICT (tenant_id, cluster_id, kind, "
                 "namespace, name) DO UPDATE SET facts = excluded.facts, observed_at = "
                 "excluded.observed_at WHERE recommendation.objects.observed_at <= "
                 "excluded.observed_at",
                 c.first, c.second, keep);
    pg::ExecBulk(tx,
                 "DELETE FROM recommendation.objects o USING unnest($3::text[], $4::text[], "
                 "$5::text[], $6::bigint[]) AS u(k, ns, n, t) WHERE o.tenant_id = $1 AND "
                 "o.cluster_id = $2 AND o.kind = u.k AND o.namespace = u.ns AND o.name = u.n AND "
                 "o.observed_at <= to_timestamp(u.t::float8 / 1e6)",
                 c.first, c.second, gone);
  }
  return absl::OkStatus();
}

const google::protobuf::Message& MetricsHandler::Prototype() const {
  return v1::MetricBatch::default_instance();
}

absl::Status MetricsHandler::Validate(const kit::Delivery& d) const {
  return CheckBatch<v1::MetricBatch>(d);
}

absl::Status MetricsHandler::Apply(pqxx::work& tx,
                                   const std::vector<const kit::Delivery*>& batch) {
  TouchClusters<v1::MetricBatch>(tx, batch);
  struct Usage {
    Sketch cpu;
    double mem_peak = 0;
    int64_t samples = 0;
  };
  using UsageKey = std::tuple<int64_t, std::string, std::string, std::string, std::string>;
  std::map<Cluster, std::map<UsageKey, Usage>> usage;  // hour µs, ns, wk, w, container
  std::map<Cluster, std::map<std::pair<std::string, int64_t>, double>> points;  // series, 5 min
  for (const kit::Delivery* d : batch) {
    const auto& b = static_cast<const v1::MetricBatch&>(*d->payload);
    const Cluster c{b.tenant(), b.cluster()};
    for (const auto& s : b.series()) {
      const auto& r = s.resource();
      std::string series;
      bool cpu = false, mem = false;
      if (s.name() == "k8s_container_cpu_usage_cores") {
        cpu = true;
      } else if (s.name() == "k8s_container_memory_working_set_bytes") {
        mem = true;
        series = absl::StrCat("ws/", r.namespace_name(), "/", r.pod_name(), "/", r.container_name());
      } else if (s.name() == "kubelet_volume_stats_used_bytes" ||
                 s.name() == "kubelet_volume_stats_capacity_bytes") {
        const std::string ns = r.namespace_name().empty() ? Label(s, "namespace") : r.namespace_name();
        const std::string pvc = r.pvc_name().empty() ? Label(s, "persistentvolumeclaim") : r.pvc_name();
        if (ns.empty() || pvc.empty()) continue;
        series = absl::StrCat(s.name() == "kubelet_volume_stats_used_bytes" ? "pvc/" : "pvc-capacity/",
                              ns, "/", pvc);
      } else if (s.name() == "k8s_node_filesystem_used_bytes" ||
                 s.name() == "k8s_node_filesystem_size_bytes") {
        if (r.node_name().empty()) continue;
        series = absl::StrCat(s.name() == "k8s_node_filesystem_used_bytes" ? "nodefs/" : "nodefs-size/",
                              r.node_name(), "/", r.device().empty() ? "/" : r.device());
      } else {
        continue;
      }
      if (series.size() > 600) continue;
      if ((cpu || mem) && (r.pod_name().empty() || r.container_name().empty())) continue;
      for (const auto& p : s.samples()) {
        if (!std::isfinite(p.value()) || p.value() < 0) continue;
        if (cpu || mem) {
          const std::string wk = r.workload_kind().empty() ? "Pod" : r.workload_kind();
          const std::string w = r.workload_name().empty() ? r.pod_name() : r.workload_name();
          Usage& u = usage[c][{FloorTo(p.time_unix_ms(), 3'600'000) * 1000, r.namespace_name(), wk,
                               w, r.container_name()}];
          if (cpu) {
            u.cpu.Add(p.value());
            ++u.samples;
          } else {
            u.mem_peak = std::max(u.mem_peak, p.value());
          }
        }
        if (!series.empty()) {
          points[c][{series, FloorTo(p.time_unix_ms(), point_step_ms_) * 1000}] = p.value();
        }
      }
    }
  }
  for (auto& [c, rows] : usage) {
    // Merge with what the hour has so far: read, merge, write under the cluster's lock (two
    // consumers overlapping in a rebalance must not both insert the same new row).
    tx.exec_params("SELECT pg_advisory_xact_lock(hashtext($1 || '/' || $2))", c.first, c.second);
    pg::Columns keys(5);
    for (const auto& [k, u] : rows) {
      size_t i = 0;
      keys.Add(i++, absl::StrCat(std::get<0>(k)));
      keys.Add(i++, std::get<1>(k));
      keys.Add(i++, std::get<2>(k));
      keys.Add(i++, std::get<3>(k));
      keys.Add(i++, std::get<4>(k));
    }
    std::vector<std::string> params = {c.first, c.second};
    for (auto& p : keys.Params()) params.push_back(std::move(p));
    for (const auto& r : tx.exec_params(
             "SELECT (extract(epoch FROM h.hour) * 1000000)::bigint, h.namespace, "
             "h.workload_kind, h.workload, h.container, h.cpu_sketch, h.mem_peak, h.samples FROM "
             "recommendation.usage_hours h JOIN unnest($3::bigint[], $4::text[], $5::text[], "
             "$6::text[], $7::text[]) AS u(t, ns, wk, w, c) ON h.hour = to_timestamp(u.t::float8 "
             "/ 1e6) AND h.namespace = u.ns AND h.workload_kind = u.wk AND h.workload = u.w AND "
             "h.container = u.c WHERE h.tenant_id = $1 AND h.cluster_id = $2 FOR UPDATE",
             pqxx::prepare::make_dynamic_params(params))) {
      auto it = rows.find({r[0].as<int64_t>(), r[1].as<std::string>(), r[2].as<std::string>(),
                           r[3].as<std::string>(), r[4].as<std::string>()});
      if (it == rows.end()) continue;
      it->second.cpu.Merge(Sketch::Decode(r[5].as<std::string>()));
      it->second.mem_peak = std::max(it->second.mem_peak, r[6].as<double>());
      it->second.samples += r[7].as<int64_t>();
    }
    pg::Columns cols(8);
    for (const auto& [k, u] : rows) {
      size_t i = 0;
      cols.Add(i++, absl::StrCat(std::get<0>(k)));
      cols.Add(i++, std::get<1>(k));
      cols.Add(i++, std::get<2>(k));
      cols.Add(i++, std::get<3>(k));
      cols.Add(i++, std::get<4>(k));
      cols.Add(i++, u.cpu.Encode());
      cols.Add(i++, pg::Double(u.mem_peak));
      cols.Add(i++, absl::StrCat(u.samples));
    }
    pg::ExecBulk(tx,
                 "INSERT INTO recommendation.usage_hours (tenant_id, cluster_id, hour, namespace, "
                 "workload_kind, workload, container, cpu_sketch, mem_peak, samples) SELECT $1, $2, "
                 "to_timestamp(u.t::float8 / 1e6), u.ns, u.wk, u.w, u.c, u.s, u.m, u.n FROM "
                 "unnest($3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], "
                 "$9::float8[], $10::bigint[]) AS u(t, ns, wk, w, c, s, m, n) ON CONFLICT "
                 "(tenant_id, cluster_id, hour, namespace, workload_kind, workload, container) DO "
                 "UPDATE SET cpu_sketch = excluded.cpu_sketch, mem_peak = excluded.mem_peak, "
                 "samples = excluded.samples",
                 c.first, c.second, cols);
  }
  for (const auto& [c, rows] : points) {
    pg::Columns cols(3);
    for (const auto& [k, v] : rows) {
      cols.Add(0, k.first);
      cols.Add(1, absl::StrCat(k.second));
      cols.Add(2, pg::Double(v));
    }
    pg::ExecBulk(tx,
                 "INSERT INTO recommendation.points (tenant_id, cluster_id, series, t, v) SELECT "
                 "$1, $2, u.s, to_timestamp(u.t::float8 / 1e6), u.v FROM unnest($3::text[], "
                 "$4::bigint[], $5::float8[]) AS u(s, t, v) ON CONFLICT (tenant_id, cluster_id, "
                 "series, t) DO UPDATE SET v = excluded.v",
                 c.first, c.second, cols);
  }
  return absl::OkStatus();
}

const google::protobuf::Message& AlertHandler::Prototype() const {
  return v1::AlertBatch::default_instance();
}

absl::Status AlertHandler::Validate(const kit::Delivery& d) const {
  return CheckBatch<v1::AlertBatch>(d);
}

absl::Status AlertHandler::Apply(pqxx::work& tx, const std::vector<const kit::Delivery*>& batch) {
  TouchClusters<v1::AlertBatch>(tx, batch);
  std::map<Cluster, pg::Columns> firings;
  for (const kit::Delivery* d : batch) {
    const auto& b = static_cast<const v1::AlertBatch&>(*d->payload);
    for (const auto& a : b.alerts()) {
      if (a.status() != v1::ALERT_STATUS_FIRING || !a.has_start_time() || a.fingerprint().empty() ||
          a.fingerprint().size() > 200 || a.name().size() > 200) {
        continue;
      }
      const auto& r = a.resource();
      std::string kind = "Cluster", subject;
      if (!r.pod_name().empty()) {
        kind = "Pod";
        subject = r.pod_name();
      } else if (!r.workload_name().empty()) {
        kind = r.workload_kind();
        subject = r.workload_name();
      } else if (!r.node_name().empty()) {
        kind = "Node";
        subject = r.node_name();
      }
      auto [it, fresh] = firings.try_emplace({b.tenant(), b.cluster()}, 9);
      pg::Columns& cols = it->second;
      size_t i = 0;
      cols.Add(i++, a.fingerprint());
      cols.Add(i++, absl::StrCat(a.start_time().seconds() * 1'000'000 + a.start_time().nanos() / 1000));
      cols.Add(i++, a.name());
      cols.Add(i++, kind);
      cols.Add(i++, r.namespace_name());
      cols.Add(i++, subject);
      cols.Add(i++, r.workload_kind());
      cols.Add(i++, r.workload_name());
      cols.Add(i++, r.container_name());
    }
  }
  for (const auto& [c, cols] : firings) {
    pg::ExecBulk(tx,
                 "INSERT INTO recommendation.firings (tenant_id, cluster_id, fingerprint, start_time, "
                 "name, subject_kind, namespace, subject, workload_kind, workload, container) SELECT "
                 "$1, $2, u.f, to_timestamp(u.t::float8 / 1e6), u.n, u.k, u.ns, u.s, u.wk, u.w, u.c "
                 "FROM unnest($3::text[], $4::bigint[], $5::text[], $6::text[], $7::text[], "
                 "$8::text[], $9::text[], $10::text[], $11::text[]) AS u(f, t, n, k, ns, s, wk, w, "
                 "c) ON CONFLICT DO NOTHING",
                 c.first, c.second, cols);
  }
  return absl::OkStatus();
}

const google::protobuf::Message& PriceHandler::Prototype() const {
  return v1::PriceVersionEvent::default_instance();
}

absl::Status PriceHandler::Validate(const kit::Delivery& d) const {
  const auto& e = static_cast<const v1::PriceVersionEvent&>(*d.payload);
  if (e.tenant().empty()) return absl::InvalidArgumentError("tenant is empty");
  if (!e.price_version().has_effective_time()) {
    return absl::InvalidArgumentError("price_version.effective_time is unset");
  }
  if (auto v = cost::CheckPriceVersion(e.price_version()); !v.empty()) {
    return absl::InvalidArgumentError(absl::StrCat(v[0].field, ": ", v[0].description));
  }
  return absl::OkStatus();
}

absl::Status PriceHandler::Apply(pqxx::work& tx, const std::vector<const kit::Delivery*>& batch) {
  for (const kit::Delivery* d : batch) {
    const auto& e = static_cast<const v1::PriceVersionEvent&>(*d->payload);
    const auto& t = e.price_version().effective_time();
    tx.exec_params(
        "INSERT INTO recommendation.price_versions (tenant_id, effective_time, body) VALUES ($1, "
        "to_timestamp($2::float8 / 1e6), $3::jsonb) ON CONFLICT (tenant_id, effective_time) DO "
        "UPDATE SET body = excluded.body",
        e.tenant(), t.seconds() * 1'000'000 + t.nanos() / 1000, cost::PriceJson(e.price_version()));
  }
  return absl::OkStatus();
}

const google::protobuf::Message& EventHandler::Prototype() const {
  return v1::EventBatch::default_instance();
}

absl::Status EventHandler::Validate(const kit::Delivery& d) const {
  return CheckBatch<v1::EventBatch>(d);
}

absl::Status EventHandler::Apply(pqxx::work& tx, const std::vector<const kit::Delivery*>& batch) {
  TouchClusters<v1::EventBatch>(tx, batch);
  std::map<Cluster, pg::Columns> rows;
  for (const kit::Delivery* d : batch) {
    const auto& b = static_cast<const v1::EventBatch&>(*d->payload);
    for (const auto& e : b.events()) {
      const auto& ref = e.involved_object();
      // client-go's event aggregation prefixes "(combined from similar events): ".
      absl::string_view message = e.message();
      absl::ConsumePrefix(&message, "(combined from similar events): ");
      if (e.reason() != "Unhealthy" || !absl::StartsWith(message, "Liveness probe failed") ||
          ref.kind() != "Pod" || e.uid().empty() || ref.name().empty() || !e.has_last_time()) {
        continue;
      }
      // fieldPath `spec.containers{app}` names the probe's container; a sidecar's
      // (`spec.initContainers{proxy}`) is kept under its own path, matching no container; ""
      // (every container of the pod) only from agents that do not send the path.
      std::string container = ref.field_path();
      if (absl::StartsWith(container, "spec.containers{") && absl::EndsWith(container, "}")) {
        container = container.substr(16, container.size() - 17);
      }
      const int64_t last = google::protobuf::util::TimeUtil::TimestampToMicroseconds(e.last_time());
      const int64_t first = e.has_first_time()
                                ? google::protobuf::util::TimeUtil::TimestampToMicroseconds(e.first_time())
                                : last;
      auto [it, fresh] = rows.try_emplace({b.tenant(), b.cluster()}, 7);
      pg::Columns& cols = it->second;
      cols.Add(0, e.uid());
      cols.Add(1, ref.namespace_());
      cols.Add(2, ref.name());
      cols.Add(3, container);
      cols.Add(4, absl::StrCat(std::min(first, last)));
      cols.Add(5, absl::StrCat(last));
      cols.Add(6, absl::StrCat(std::max(1, e.count())));
    }
  }
  for (const auto& [c, cols] : rows) {
    pg::ExecBulk(tx,
                 "INSERT INTO recommendation.probe_failures AS p (tenant_id, cluster_id, event_uid, "
                 "namespace, pod, container, first_time, last_time, count) SELECT DISTINCT ON "
                 "(u.id) $1, $2, u.id, u.ns, u.pod, u.c, to_timestamp(u.f::float8 / 1e6), "
                 "to_timestamp(u.l::float8 / 1e6), u.n FROM unnest($3::text[], $4::text[], "
                 "$5::text[], $6::text[], $7::bigint[], $8::bigint[], $9::int[]) AS u(id, ns, pod, "
                 "c, f, l, n) ORDER BY u.id, u.n DESC ON CONFLICT (tenant_id, cluster_id, "
                 "event_uid) DO UPDATE SET count = GREATEST(p.count, excluded.count), last_time = "
                 "GREATEST(p.last_time, excluded.last_time), first_time = LEAST(p.first_time, "
                 "excluded.first_time)",
                 c.first, c.second, cols);
  }
  return absl::OkStatus();
}

}  // namespace k8i::recommendation

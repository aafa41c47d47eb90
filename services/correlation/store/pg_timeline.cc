#include "services/correlation/store/pg_timeline.h"
#include "services/correlation/core/proto_time.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/correlation/store/pg_store.h"

namespace k8i::correlation {
namespace {

namespace v1 = ::k8intel::v1;

// The failing relations: the object itself, or the pods of a workload or node.
bool FailsAs(const std::string& relation) { return relation == kSelf || relation == kPod; }

}  // namespace

absl::StatusOr<Timeline> ReadTimeline(pg::Pool& pool, const std::string& tenant,
                                      const std::string& cluster, const ObjectRef& root,
                                      absl::Time start, absl::Time end,
                                      const TimelineOptions& options) {
  std::vector<TimelineItem> items;
  absl::Status s = pool.WithTransaction([&](pqxx::work& tx) -> absl::Status {
    items.clear();
    Topology topology;
    LoadTopology(tx, tenant, cluster, topology);
    const std::map<ObjectRef, std::string> related = RelatedObjects(topology, root);
    std::vector<std::string> kinds, namespaces, names;
    for (const auto& [ref, rel] : related) {
      kinds.push_back(ref.kind);
      namespaces.push_back(ref.ns);
      names.push_back(ref.name);
    }
    const std::string k = PgTextArray(kinds), n = PgTextArray(namespaces), m = PgTextArray(names);
    const int64_t from = absl::ToUnixMicros(start), to = absl::ToUnixMicros(end);
    const std::string in_related =
        "(kind, namespace, name) IN (SELECT * FROM unnest($3::text[], $4::text[], $5::text[]))";
    auto rel_of = [&](const std::string& kind, const std::string& ns, const std::string& name) {
      auto it = related.find({kind, ns, name});
      return it == related.end() ? std::string() : it->second;
    };
    for (const auto& r : tx.exec_params(
             absl::StrCat("SELECT kind, namespace, name, (extract(epoch FROM at) * 1000000)::bigint, "
                          "array_to_json(changes)::text FROM correlation.revisions WHERE tenant_id = "
                          "$1 AND cluster_id = $2 AND ", in_related, " AND at BETWEEN ", MicrosParam(6),
                          " AND ", MicrosParam(7)),
             tenant, cluster, k, n, m, from, to)) {
      TimelineItem it;
      it.object = {r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>()};
      it.relation = rel_of(it.object.kind, it.object.ns, it.object.name);
      it.time = absl::FromUnixMicros(r[3].as<int64_t>());
      it.kind = "change";
      it.changes = TextArrayFromJson(r[4].as<std::string>());
      it.text = absl::StrJoin(it.changes, "; ");
      items.push_back(std::move(it));
    }
    // Alerts: each firing once (members copied into a merging incident are the same firing).
    std::set<std::pair<std::string, int64_t>> seen;
    for (const auto& r : tx.exec_params(
             "SELECT body FROM correlation.members WHERE tenant_id = $1 AND cluster_id = $2 AND "
             "(object_kind, object_ns, object_name) IN "
             "(SELECT * FROM unnest($3::text[], $4::text[], $5::text[]))",
             tenant, cluster, k, n, m)) {
      const pqxx::binarystring b(r[0]);
      v1::IncidentMember mem;
      if (!mem.ParseFromArray(b.data(), static_cast<int>(b.size()))) continue;
      const absl::Time first = FromProtoTime(mem.first_seen());
      if (!seen.insert({mem.fingerprint(), absl::ToUnixMicros(first)}).second) continue;
      const ObjectRef obj{mem.object().kind(), mem.object().namespace_(), mem.object().name()};
      const std::string relation = rel_of(obj.kind, obj.ns, obj.name);
      if (first >= start && first <= end) {
        TimelineItem it;
        it.time = first;
        it.kind = "alert";
        it.object = obj;
        it.relation = relation;
        it.severity = mem.severity();
        it.text = absl::StrCat(mem.alert_name(), " firing: ", mem.summary());
        it.failure = FailsAs(relation);
        it.problem = !it.failure;
        it.failure_name = mem.alert_name();
        items.push_back(std::move(it));
      }
      const absl::Time resolved = FromProtoTime(mem.resolved_time());
      if (mem.status() == v1::ALERT_STATUS_RESOLVED && resolved >= start && resolved <= end) {
        TimelineItem it;
        it.time = resolved;
        it.kind = "alert_resolved";
        it.object = obj;
        it.relation = relation;
        it.text = absl::StrCat(mem.alert_name(), " resolved");
        items.push_back(std::move(it));
      }
    }
    for (const auto& r : tx.exec_params(
             absl::StrCat("SELECT kind, namespace, name, type, reason, message, count, "
                          "(extract(epoch FROM first_time) * 1000000)::bigint FROM correlation.events "
                          "WHERE tenant_id = $1 AND cluster_id = $2 AND ", in_related,
                          " AND last_time >= ", MicrosParam(6), " AND first_time <= ", MicrosParam(7),
                          " ORDER BY first_time LIMIT 2000"),
             tenant, cluster, k, n, m, from, to)) {
      TimelineItem it;
      it.object = {r[0].as<std::string>(), r[1].as<std::string>(), r[2].as<std::string>()};
      it.relation = rel_of(it.object.kind, it.object.ns, it.object.name);
      it.time = absl::FromUnixMicros(r[7].as<int64_t>());
      it.kind = "event";
      const std::string type = r[3].as<std::string>();
      const int count = r[6].as<int>();
      it.text = absl::StrCat(type, " ", r[4].as<std::string>(), ": ", r[5].as<std::string>(),
                             count > 1 ? absl::StrCat(" (×", count, ")") : "");
      if (type == "Warning") {
        it.severity = v1::SEVERITY_WARNING;
        it.failure = FailsAs(it.relation);
        it.problem = !it.failure;
        it.failure_name = r[4].as<std::string>();
      }
      items.push_back(std::move(it));
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return BuildTimeline(root, std::move(items), options);
}

}  // namespace k8i::correlation

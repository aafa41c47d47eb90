#include "services/correlation/store/pg_store.h"

#include <map>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "nlohmann/json.hpp"
#include "services/correlation/core/proto_time.h"

namespace k8i::correlation {
namespace {

namespace v1 = ::k8intel::v1;

// Members carried by a published IncidentEvent: the latest ones (member_count has the total;
// GetIncident has them all).
constexpr int kEventMembers = 10;

// SQL for "microseconds parameter $n as timestamptz".
// SQL reading a timestamptz column as microseconds.
std::string Us(const char* column) {
  return absl::StrCat("(extract(epoch FROM ", column, ") * 1000000)::bigint");
}

ObjectRef FromKey(const v1::ObjectKey& k) { return {k.kind(), k.namespace_(), k.name()}; }

pqxx::binarystring Bytes(const std::string& s) { return pqxx::binarystring(s.data(), s.size()); }

template <typename M>
M Parse(const pqxx::field& f) {
  const pqxx::binarystring b(f);
  M m;
  m.ParseFromArray(b.data(), static_cast<int>(b.size()));
  return m;
}

std::string IdOfName(const std::string& name) {
  const auto pos = name.rfind('/');
  return pos == std::string::npos ? name : name.substr(pos + 1);
}

// The incident's engine state from its row.
IncidentState ToState(const pqxx::row& r) {
  // Columns: id, key, quiet_since µs, fires, desired, body, last_change µs, held_joins,
  // held_last µs, held_detail.
  const v1::Incident b = Parse<v1::Incident>(r[5]);
  IncidentState s;
  s.id = r[0].as<std::string>();
  s.key = r[1].as<std::string>();
  s.scope = b.scope();
  s.subject = FromKey(b.subject());
  s.rule = b.rule();
  s.explanation = b.explanation();
  s.title = b.title();
  s.state = b.state();
  s.severity = b.severity();
  s.open_time = FromProtoTime(b.open_time());
  s.update_time = FromProtoTime(b.update_time());
  s.ack_time = FromProtoTime(b.acknowledge_time());
  s.resolve_time = FromProtoTime(b.resolve_time());
  s.quiet_since = FromMicros(r[2], absl::InfiniteFuture());
  s.seq = b.sequence();
  s.flapping = b.flapping();
  s.reopen_count = b.reopen_count();
  for (absl::string_view f : absl::StrSplit(r[3].as<std::string>(), ',', absl::SkipEmpty())) {
    int64_t us = 0;
    if (absl::SimpleAtoi(f, &us)) s.fires.push_back(absl::FromUnixMicros(us));
  }
  s.evidence.assign(b.evidence().begin(), b.evidence().end());
  if (!b.merged_into().empty()) s.merged_into = IdOfName(b.merged_into());
  s.desired = r[4].as<int>();
  s.last_change = FromMicros(r[6], absl::InfinitePast());
  s.held_joins = r[7].as<int>();
  s.held_last = FromMicros(r[8], absl::InfinitePast());
  s.held_detail = r[9].as<std::string>();
  return s;
}

AlertState ToMember(const pqxx::row& r) {
  // Columns: incident_id, node, workload kind/ns/name, body.
  const v1::IncidentMember b = Parse<v1::IncidentMember>(r[5]);
  AlertState m;
  m.incident_id = r[0].as<std::string>();
  m.node = r[1].as<std::string>();
  m.workload = {r[2].as<std::string>(), r[3].as<std::string>(), r[4].as<std::string>()};
  m.fingerprint = b.fingerprint();
  m.name = b.alert_name();
  m.source = b.source();
  m.summary = b.summary();
  m.container = b.container();
  m.object = FromKey(b.object());
  m.severity = b.severity();
  m.firing = b.status() == v1::ALERT_STATUS_FIRING;
  m.first_seen = FromProtoTime(b.first_seen());
  m.last_seen = FromProtoTime(b.last_seen());
  m.resolved_at = FromProtoTime(b.resolved_time());
  m.count = b.count();
  m.fires = b.fires();
  m.reason = b.reason();
  m.labels = {b.labels().begin(), b.labels().end()};
  return m;
}

}  // namespace

std::vector<std::string> TextArrayFromJson(const std::string& text) {
  const auto j = nlohmann::json::parse(text, nullptr, false);
  std::vector<std::string> out;
  if (!j.is_array()) return out;
  for (const auto& e : j) {
    if (e.is_string()) out.push_back(e.get<std::string>());
  }
  return out;
}

ClusterRow LockCluster(pqxx::work& tx, const std::string& tenant, const std::string& cluster) {
  const std::string select = absl::StrCat(
      "SELECT version, ", Us("watermark"), ", ", Us("last_input"),
      " FROM correlation.clusters WHERE tenant_id = $1 AND cluster_id = $2 FOR UPDATE");
  // The row exists but for a cluster's first transaction: one statement (a round trip) then.
  pqxx::result r = tx.exec_params(select, tenant, cluster);
  if (r.empty()) {
    tx.exec_params(
        "INSERT INTO correlation.clusters (tenant_id, cluster_id) VALUES ($1, $2) "
        "ON CONFLICT DO NOTHING",
        tenant, cluster);
    r = tx.exec_params(select, tenant, cluster);
  }
  return {r.at(0)[0].as<int64_t>(), FromMicros(r.at(0)[1], absl::InfinitePast()),
          FromMicros(r.at(0)[2], absl::InfinitePast())};
}

void LoadTopology(pqxx::work& tx, const std::string& tenant, const std::string& cluster,
                  Topology& topology) {
  for (const auto& r : tx.exec_params(
           "SELECT body FROM correlation.objects WHERE tenant_id = $1 AND cluster_id = $2 "
           "ORDER BY kind, namespace, name",
           tenant, cluster)) {
    topology.Apply(Parse<v1::KubeObject>(r[0]));
  }
}

void SaveEvent(pqxx::work& tx, const std::string& tenant, const std::string& cluster,
               const v1::KubeEvent& e) {
  const absl::Time first = FromProtoTime(e.first_time());
  const absl::Time last = e.has_last_time() ? FromProtoTime(e.last_time()) : first;
  if (e.uid().empty() || first == absl::InfinitePast()) return;
  tx.exec_params(
      absl::StrCat("INSERT INTO correlation.events (tenant_id, cluster_id, uid, type, reason, "
                   "message, kind, namespace, name, first_time, last_time, count) VALUES ($1, $2, "
                   "$3, $4, $5, $6, $7, $8, $9, ", MicrosParam(10), ", ", MicrosParam(11), ", $12) "
                   "ON CONFLICT (tenant_id, cluster_id, uid) DO UPDATE SET message = "
                   "excluded.message, last_time = greatest(correlation.events.last_time, "
                   "excluded.last_time), count = greatest(correlation.events.count, excluded.count)"),
      tenant, cluster, e.uid(), e.type(), e.reason(), e.message().substr(0, 1024),
      e.involved_object().kind(), e.involved_object().namespace_(), e.involved_object().name(),
      absl::ToUnixMicros(first), absl::ToUnixMicros(std::max(first, last)), std::max(1, e.count()));
}

void LoadCluster(pqxx::work& tx, ClusterCorrelator& c, absl::Time since) {
  const std::string& t = c.tenant();
  const std::string& cl = c.cluster();
  LoadTopology(tx, t, cl, c.topology());
  const std::optional<int64_t> since_us = ToMicros(since);
  std::vector<std::string> ids;
  for (const auto& r : tx.exec_params(
           absl::StrCat("SELECT id, key, ", Us("quiet_since"), ", fires, desired, body, ",
                        Us("last_change"), ", held_joins, ", Us("held_last"),
                        ", held_detail FROM correlation.incidents "
                        "WHERE tenant_id = $1 AND cluster_id = $2 AND (state <> $3 OR "
                        "resolve_time IS NULL OR $4::bigint IS NULL OR resolve_time >= ",
                        MicrosParam(4), ") ORDER BY open_time, id"),
           t, cl, static_cast<int>(v1::INCIDENT_STATE_RESOLVED), since_us)) {
    IncidentState s = ToState(r);
    ids.push_back(s.id);
    c.Restore(std::move(s));
  }
  if (ids.empty()) return;
  // Members in joining order per incident; incidents restored first so membership resolves.
  std::map<std::string, std::vector<std::string>> order;
  for (const auto& r : tx.exec_params(
           "SELECT incident_id, node, workload_kind, workload_ns, workload_name, body "
           "FROM correlation.members WHERE tenant_id = $1 AND cluster_id = $2 "
           "AND incident_id = ANY($3::text[]) ORDER BY incident_id, ord",
           t, cl, absl::StrCat("{", absl::StrJoin(ids, ","), "}"))) {
    AlertState m = ToMember(r);
    order[m.incident_id].push_back(m.fingerprint);
    c.Restore(std::move(m));
  }
  c.SetMemberOrder(order);
}

std::string MicrosOrEmpty(std::optional<int64_t> us) { return us ? absl::StrCat(*us) : ""; }

void SaveCluster(pqxx::work& tx, ClusterCorrelator& c, const ClusterRow& row,
                 std::vector<QueuedEvent>* queued) {
  const std::string& t = c.tenant();
  const std::string& cl = c.cluster();
  // Members: one statement for the batch.
  Columns members(13);
  for (const auto& [id, fp] : c.TakeDirtyMembers()) {
    const IncidentState* inc = c.incident(id);
    const AlertState* m = c.member(id, fp);
    if (inc == nullptr || m == nullptr) continue;
    const auto pos = m->ord >= 0 ? m->ord
                                 : std::find(inc->members.begin(), inc->members.end(), fp) -
                                       inc->members.begin();
    size_t i = 0;
    members.Add(i++, id);
    members.Add(i++, fp);
    members.Add(i++, absl::StrCat(pos));
    members.Add(i++, m->firing ? "t" : "f");
    members.Add(i++, m->node);
    members.Add(i++, m->workload.kind);
    members.Add(i++, m->workload.ns);
    members.Add(i++, m->workload.name);
    members.Add(i++, m->object.kind);
    members.Add(i++, m->object.ns);
    members.Add(i++, m->object.name);
    members.AddMessage(i, MemberToProto(*m));
  }
  ExecBulk(
      tx,
      "INSERT INTO correlation.members (tenant_id, cluster_id, incident_id, fingerprint, ord, "
      "firing, node, workload_kind, workload_ns, workload_name, object_kind, object_ns, "
      "object_name, body) SELECT $1, $2, u.i, u.f, u.o, u.fi, u.n, u.wk, u.wns, u.wn, u.ok, "
      "u.ons, u.onm, substring($16::bytea FROM u.bo FOR u.bl) FROM unnest($3::text[], $4::text[], "
      "$5::int[], $6::bool[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], "
      "$12::text[], $13::text[], $14::int[], $15::int[]) AS u(i, f, o, fi, n, wk, wns, wn, "
      "ok, ons, onm, bo, bl) ON CONFLICT (tenant_id, incident_id, fingerprint) DO UPDATE SET ord = "
      "excluded.ord, "
      "firing = excluded.firing, node = excluded.node, body = excluded.body",
      t, cl, members);
  // Incidents.
  Columns incidents(21);
  for (const auto& id : c.TakeDirtyIncidents()) {
    const IncidentState* inc = c.incident(id);
    if (inc == nullptr) continue;
    std::vector<std::string> fires;
    for (absl::Time f : inc->fires) fires.push_back(absl::StrCat(absl::ToUnixMicros(f)));
    size_t i = 0;
    incidents.Add(i++, id);
    incidents.Add(i++, inc->key);
    incidents.Add(i++, inc->subject.kind == "Namespace" ? inc->subject.name : inc->subject.ns);
    incidents.Add(i++, absl::StrCat(static_cast<int>(inc->state)));
    incidents.Add(i++, absl::StrCat(static_cast<int>(inc->severity)));
    incidents.Add(i++, absl::StrCat(static_cast<int>(inc->scope)));
    incidents.Add(i++, inc->rule);
    incidents.Add(i++, inc->title);
    incidents.Add(i++, inc->flapping ? "t" : "f");
    incidents.Add(i++, MicrosOrEmpty(ToMicros(inc->open_time)));
    incidents.Add(i++, MicrosOrEmpty(ToMicros(inc->update_time)));
    incidents.Add(i++, MicrosOrEmpty(inc->state == v1::INCIDENT_STATE_RESOLVED
                                         ? ToMicros(inc->resolve_time)
                                         : std::nullopt));
    incidents.Add(i++, MicrosOrEmpty(ToMicros(inc->quiet_since)));
    incidents.Add(i++, absl::StrJoin(fires, ","));
    incidents.Add(i++, absl::StrCat(inc->desired));
    incidents.Add(i++, MicrosOrEmpty(ToMicros(inc->last_change)));
    incidents.Add(i++, absl::StrCat(inc->held_joins));
    incidents.Add(i++, MicrosOrEmpty(ToMicros(inc->held_last)));
    incidents.Add(i++, inc->held_detail);
    incidents.AddMessage(i, c.ToProto(*inc, false));
  }
  // Empty strings stand for NULL times.
  const std::string ts = "to_timestamp(nullif(%s, '')::double precision / 1e6)";
  auto T = [&](const char* col) { return absl::StrReplaceAll(ts, {{"%s", col}}); };
  ExecBulk(tx,
           absl::StrCat(
               "INSERT INTO correlation.incidents (tenant_id, cluster_id, id, key, namespace, "
               "state, severity, scope, rule, title, flapping, open_time, update_time, "
               "resolve_time, quiet_since, fires, desired, last_change, held_joins, held_last, "
               "held_detail, body) SELECT $1, $2, u.id, u.k, u.ns, u.st, u.sv, u.sc, u.r, u.ti, "
               "u.fl, ",
               T("u.ot"), ", ", T("u.ut"), ", ", T("u.rt"), ", ", T("u.qs"), ", u.fi, u.d, ",
               T("u.lc"), ", u.hj, ", T("u.hl"),
               ", u.hd, substring($24::bytea FROM u.bo FOR u.bl) FROM "
               "unnest($3::text[], $4::text[], $5::text[], $6::smallint[], $7::smallint[], "
               "$8::smallint[], $9::text[], $10::text[], $11::bool[], $12::text[], $13::text[], "
               "$14::text[], $15::text[], $16::text[], $17::int[], $18::text[], $19::int[], "
               "$20::text[], $21::text[], $22::int[], $23::int[]) AS "
               "u(id, k, ns, st, sv, sc, r, ti, fl, ot, ut, rt, qs, fi, d, lc, hj, hl, hd, bo, bl) "
               "ON CONFLICT (tenant_id, id) DO UPDATE SET state "
               "= excluded.state, severity = excluded.severity, title = excluded.title, flapping "
               "= excluded.flapping, update_time = excluded.update_time, resolve_time = "
               "excluded.resolve_time, quiet_since = excluded.quiet_since, fires = "
               "excluded.fires, desired = excluded.desired, last_change = excluded.last_change, "
               "held_joins = excluded.held_joins, held_last = excluded.held_last, held_detail = "
               "excluded.held_detail, body = excluded.body"),
           t, cl, incidents);
  // State changes: the history (`changes`) and, with the incident as it is now, the event
  // the publisher sends (`incident_events`, deleted once Kafka has it) — only for a change the
  // history did not hold already, so an event is never queued twice under one id.
  Columns changes(8);
  // Where each change's event lies in the blob, by (incident, seq).
  std::map<std::pair<std::string, int64_t>, std::pair<size_t, size_t>> slices;
  for (const Change& ch : c.TakeChanges()) {
    const IncidentState* inc = c.incident(ch.incident_id);
    if (inc == nullptr) continue;
    v1::IncidentEvent event;
    event.set_tenant(t);
    *event.mutable_change() = ch.change;
    *event.mutable_incident() = c.ToProto(*inc, true, kEventMembers);
    size_t i = 0;
    changes.Add(i++, ch.incident_id);
    changes.Add(i++, absl::StrCat(ch.change.sequence()));
    changes.Add(i++, absl::StrCat(static_cast<int>(ch.change.type())));
    changes.Add(i++,
                absl::StrCat(absl::ToUnixMicros(absl::FromUnixSeconds(ch.change.time().seconds()) +
                                                absl::Nanoseconds(ch.change.time().nanos()))));
    changes.AddMessage(i, ch.change);
    i += 2;
    const size_t offset = changes.blob().size();
    changes.AddMessage(i, event);
    if (queued != nullptr) {
      slices[{ch.incident_id, ch.change.sequence()}] = {offset, changes.blob().size() - offset};
    }
  }
  // Event ids are drawn in row order (ORDER BY u.n): within an incident, sequence order.
  const pqxx::result ids = ExecBulk(
      tx,
      "WITH u AS (SELECT * FROM unnest($3::text[], $4::bigint[], $5::smallint[], "
      "$6::bigint[], $7::int[], $8::int[], $9::int[], $10::int[]) WITH ORDINALITY AS "
      "u(i, s, ty, a, cbo, cbl, ebo, ebl, n)), "
      "ins AS (INSERT INTO correlation.changes (tenant_id, cluster_id, incident_id, seq, "
      "type, at, body) SELECT $1, $2, u.i, u.s, u.ty, to_timestamp(u.a::double precision / "
      "1e6), substring($11::bytea FROM u.cbo FOR u.cbl) FROM u ON CONFLICT DO NOTHING "
      "RETURNING incident_id, seq) "
      "INSERT INTO correlation.incident_events (tenant_id, incident_id, seq, at, event) "
      "SELECT $1, u.i, u.s, to_timestamp(u.a::double precision / 1e6), "
      "substring($11::bytea FROM u.ebo FOR u.ebl) FROM u JOIN ins ON ins.incident_id = u.i "
      "AND ins.seq = u.s ORDER BY u.n RETURNING id, incident_id, seq",
      t, cl, changes);
  if (queued != nullptr) {
    for (const auto& r : ids) {
      const auto it = slices.find({r[1].as<std::string>(), r[2].as<int64_t>()});
      if (it == slices.end()) continue;
      queued->push_back({.id = r[0].as<int64_t>(),
                         .tenant = t,
                         .incident_id = r[1].as<std::string>(),
                         .seq = r[2].as<int64_t>(),
                         .event = changes.blob().substr(it->second.first, it->second.second)});
    }
  }
  // Firings, the history patterns are found in.
  Columns firings(9);
  for (const Firing& f : c.TakeFirings()) {
    size_t i = 0;
    firings.Add(i++, f.fingerprint);
    firings.Add(i++, absl::StrCat(absl::ToUnixMicros(f.at)));
    firings.Add(i++, f.name);
    firings.Add(i++, f.object.kind);
    firings.Add(i++, f.object.ns);
    firings.Add(i++, f.object.name);
    firings.Add(i++, f.workload.kind);
    firings.Add(i++, f.workload.ns);
    firings.Add(i++, f.workload.name);
  }
  ExecBulk(tx,
           "INSERT INTO correlation.firings (tenant_id, cluster_id, fingerprint, at, name, "
           "object_kind, object_ns, object_name, workload_kind, workload_ns, workload_name) "
           "SELECT $1, $2, u.f, to_timestamp(u.a::double precision / 1e6), u.n, u.ok, u.ons, "
           "u.onm, u.wk, u.wns, u.wn FROM unnest($3::text[], $4::bigint[], $5::text[], "
           "$6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[]) AS "
           "u(f, a, n, ok, ons, onm, wk, wns, wn) ON CONFLICT DO NOTHING",
           t, cl, firings);
  tx.exec_params(absl::StrCat("UPDATE correlation.clusters SET version = $3, watermark = ", MicrosParam(4),
                              ", last_input = ", MicrosParam(5),
                              " WHERE tenant_id = $1 AND cluster_id = $2"),
                 t, cl, row.version, ToMicros(c.watermark()), ToMicros(row.last_input));
}

void SaveObject(pqxx::work& tx, const std::string& tenant, const std::string& cluster,
                const v1::KubeObject& object, absl::Time at) {
  const ObjectRef ref = RefOf(object);
  if (ref.empty()) return;
  if (object.deleted()) {
    tx.exec_params(
        "DELETE FROM correlation.objects WHERE tenant_id = $1 AND cluster_id = $2 AND kind = $3 "
        "AND namespace = $4 AND name = $5",
        tenant, cluster, ref.kind, ref.ns, ref.name);
    return;
  }
  tx.exec_params(
      absl::StrCat("INSERT INTO correlation.objects (tenant_id, cluster_id, kind, namespace, "
                   "name, body, updated_at) VALUES ($1, $2, $3, $4, $5, $6, ", MicrosParam(7),
                   ") ON CONFLICT (tenant_id, cluster_id, kind, namespace, name) DO UPDATE SET "
                   "body = excluded.body, updated_at = excluded.updated_at "
                   "WHERE correlation.objects.body IS DISTINCT FROM excluded.body"),
      tenant, cluster, ref.kind, ref.ns, ref.name, Bytes(object.SerializeAsString()),
      absl::ToUnixMicros(at));
}

void SaveRevision(pqxx::work& tx, const std::string& tenant, const std::string& cluster,
                  const RevisionDelta& d, absl::Time at) {
  const std::string changes = PgTextArray(d.changes);
  tx.exec_params(
      absl::StrCat(
          "INSERT INTO correlation.revisions (tenant_id, cluster_id, kind, namespace, name, "
          "revision, at, hash, changes) SELECT $1, $2, $3, $4, $5, coalesce(max(revision), 0) + "
          "1, ", MicrosParam(6), ", $7, $8::text[] FROM correlation.revisions WHERE tenant_id = $1 AND "
          "cluster_id = $2 AND kind = $3 AND namespace = $4 AND name = $5"),
      tenant, cluster, d.object.kind, d.object.ns, d.object.name, absl::ToUnixMicros(at), d.hash,
      changes);
}

}  // namespace k8i::correlation

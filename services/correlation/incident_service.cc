#include "services/correlation/incident_service.h"

#include "services/correlation/core/proto_time.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "libs/auth/grpc_auth.h"
#include "libs/common/logging.h"
#include "libs/grpcx/status.h"
#include "services/correlation/commands.h"
#include "services/correlation/store/pg_store.h"
#include "services/correlation/store/pg_patterns.h"
#include "services/correlation/store/pg_timeline.h"

namespace k8i::correlation {
namespace {

namespace v1 = ::k8intel::v1;
using inventory::resources::Equals;
using inventory::resources::Pattern;
using inventory::resources::KindSpec;
using inventory::resources::NameForm;

constexpr int kDefaultDepth = 2;
constexpr int kMaxDepth = 5;
constexpr int kMaxLookbackDays = 90;

aip::FieldSpec Field(std::string sql, aip::FieldType type, bool sortable = false) {
  return {.sql = std::move(sql), .type = type, .sortable = sortable};
}

const aip::ResourcePattern& IncidentPattern() {
  static const auto* p = new aip::ResourcePattern(Pattern("clusters/{cluster}/incidents/{incident}"));
  return *p;
}

template <typename M>
absl::Status ParseInto(const pqxx::field& f, M* out) {
  const pqxx::binarystring b(f);
  if (!out->ParseFromArray(b.data(), static_cast<int>(b.size()))) {
    return absl::DataLossError("stored incident does not parse");
  }
  return absl::OkStatus();
}

absl::Status CheckObject(const v1::ObjectKey& o, const std::string& cluster) {
  std::vector<FieldViolation> v;
  if (cluster.empty()) v.push_back({"cluster", "required"});
  if (o.kind().empty()) v.push_back({"object.kind", "required"});
  if (o.name().empty()) v.push_back({"object.name", "required"});
  if (v.empty()) return absl::OkStatus();
  return grpcx::InvalidArgumentWithViolations("the object is incomplete", v);
}

v1::ObjectKey ToKey(const ObjectRef& r) {
  v1::ObjectKey k;
  k.set_kind(r.kind);
  k.set_namespace_(r.ns);
  k.set_name(r.name);
  return k;
}

}  // namespace

const auth::Policy& CorrelationPolicy() {
  static const auth::Policy* p = [] {
    auto* policy = new auth::Policy;
    const std::string svc = "/k8intel.v1.IncidentService/";
    policy->AllowHealthAndReflection()
        .Allow(svc + "ListIncidents", auth::Role::kViewer)
        .Allow(svc + "GetIncident", auth::Role::kViewer)
        .Allow(svc + "GetDependencies", auth::Role::kViewer)
        .Allow(svc + "ListRevisions", auth::Role::kViewer)
        .Allow(svc + "GetTimeline", auth::Role::kViewer)
        .Allow(svc + "ListPatterns", auth::Role::kViewer)
        .Allow(svc + "AcknowledgeIncident", auth::Role::kOperator)
        .Allow(svc + "ResolveIncident", auth::Role::kOperator);
    return policy;
  }();
  return *p;
}

const KindSpec& IncidentsKind() {
  static const KindSpec* k = [] {
    auto* k = new KindSpec;
    k->list_method = "ListIncidents";
    k->from = "correlation.incidents i";
    k->tenant_column = "i.tenant_id";
    k->base = "TRUE";
    k->columns =
        "i.cluster_id, i.namespace, i.id, NULL::text, "
        "(extract(epoch FROM i.update_time) * 1000000)::bigint, i.body";
    using aip::FieldType;
    k->schema = {
        {"cluster", Field("i.cluster_id", FieldType::kString, true)},
        {"id", Field("i.id", FieldType::kString, true)},
        {"namespace", Field("i.namespace", FieldType::kString, true)},
        {"state", Field("(CASE i.state WHEN 1 THEN 'open' WHEN 2 THEN 'acknowledged' "
                        "WHEN 3 THEN 'resolved' ELSE '' END)",
                        FieldType::kString)},
        {"severity", Field("(CASE i.severity WHEN 1 THEN 'info' WHEN 2 THEN 'warning' "
                           "WHEN 3 THEN 'critical' ELSE '' END)",
                           FieldType::kString)},
        {"scope", Field("(CASE i.scope WHEN 1 THEN 'object' WHEN 2 THEN 'workload' "
                        "WHEN 3 THEN 'node' WHEN 4 THEN 'namespace' ELSE '' END)",
                        FieldType::kString)},
        {"rule", Field("i.rule", FieldType::kString)},
        {"title", Field("i.title", FieldType::kString)},
        {"flapping", Field("i.flapping", FieldType::kBool)},
        {"open_time", Field("i.open_time", FieldType::kTimestamp, true)},
        {"update_time", Field("i.update_time", FieldType::kTimestamp, true)},
    };
    k->tiebreak = "id";
    k->default_order = "open_time desc";
    k->parents.push_back(
        NameForm{Pattern("clusters/{cluster}"), {{"cluster", Equals("i.cluster_id")}}, true});
    k->name = NameForm{Pattern("clusters/{cluster}/incidents/{incident}"),
                       {{"cluster", Equals("i.cluster_id")}, {"incident", Equals("i.id")}},
                       false};
    k->to_proto = [](const pqxx::row& row, google::protobuf::Message* m) {
      return ParseInto(row[inventory::resources::kBodyProto], static_cast<v1::Incident*>(m));
    };
    return k;
  }();
  return *k;
}

IncidentServiceImpl::IncidentServiceImpl(pg::Pool* pool, Engine* engine,
                                         const aip::PageTokenCodec* page_tokens)
    : pool_(pool), engine_(engine), page_tokens_(page_tokens), store_(pool, page_tokens) {}

grpc::Status IncidentServiceImpl::ListIncidents(grpc::ServerContext* ctx,
                                                const v1::ListIncidentsRequest* req,
                                                v1::ListIncidentsResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  auto result = store_.List(principal.tenant, IncidentsKind(),
                            {.parent = req->parent(),
                             .page_size = req->page_size(),
                             .page_token = req->page_token(),
                             .filter = req->filter(),
                             .order_by = req->order_by()},
                            [&](const pqxx::row& row) {
                              return IncidentsKind().to_proto(row, resp->add_incidents());
                            });
  if (!result.ok()) {
    resp->Clear();
    return grpcx::ToGrpcStatus(result.status());
  }
  resp->set_next_page_token(result->next_page_token);
  resp->set_total_size(static_cast<int32_t>(std::min<int64_t>(result->total_size, INT32_MAX)));
  return grpc::Status::OK;
}

absl::StatusOr<v1::Incident> IncidentServiceImpl::Read(const std::string& tenant,
                                                       const std::string& cluster,
                                                       const std::string& id) {
  v1::Incident out;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    out.Clear();
    const pqxx::result r = tx.exec_params(
        "SELECT body FROM correlation.incidents WHERE tenant_id = $1 AND cluster_id = $2 AND "
        "id = $3",
        tenant, cluster, id);
    if (r.empty()) {
      return absl::NotFoundError(absl::StrCat("incident ", IncidentName(cluster, id), " not found"));
    }
    if (auto st = ParseInto(r[0][0], &out); !st.ok()) return st;
    for (const auto& m : tx.exec_params(
             "SELECT body FROM correlation.members WHERE tenant_id = $1 AND incident_id = $2 "
             "ORDER BY ord",
             tenant, id)) {
      if (auto st = ParseInto(m[0], out.add_members()); !st.ok()) return st;
    }
    for (const auto& c : tx.exec_params(
             "SELECT body FROM correlation.changes WHERE tenant_id = $1 AND incident_id = $2 "
             "ORDER BY seq",
             tenant, id)) {
      if (auto st = ParseInto(c[0], out.add_changes()); !st.ok()) return st;
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

grpc::Status IncidentServiceImpl::GetIncident(grpc::ServerContext* ctx,
                                              const v1::GetIncidentRequest* req,
                                              v1::GetIncidentResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  auto vars = IncidentPattern().Parse(req->name(), "name");
  if (!vars.ok()) return grpcx::ToGrpcStatus(vars.status());
  auto inc = Read(principal.tenant, vars->at("cluster"), vars->at("incident"));
  if (!inc.ok()) return grpcx::ToGrpcStatus(inc.status());
  *resp->mutable_incident() = *std::move(inc);
  return grpc::Status::OK;
}

absl::StatusOr<v1::Incident> IncidentServiceImpl::Change(const auth::Principal& who,
                                                         const std::string& name, bool resolve,
                                                         const std::string& comment) {
  auto vars = IncidentPattern().Parse(name, "name");
  if (!vars.ok()) return vars.status();
  const std::string& cluster = vars->at("cluster");
  const std::string& id = vars->at("incident");
  if (comment.size() > 1024) {
    return grpcx::InvalidArgumentWithViolations("comment is too long",
                                                {{"comment", "at most 1024 bytes"}});
  }
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    return ApplyAction(tx, *engine_, who.tenant, cluster, id, resolve, who.subject,
                       engine_->clock().Now(), comment);
  });
  if (!s.ok()) return s;
  Logger("correlation")
      ->info("incident {} {} by {} (tenant {})", name, resolve ? "resolved" : "acknowledged",
             who.subject, who.tenant);
  return Read(who.tenant, cluster, id);
}

grpc::Status IncidentServiceImpl::AcknowledgeIncident(grpc::ServerContext* ctx,
                                                      const v1::AcknowledgeIncidentRequest* req,
                                                      v1::AcknowledgeIncidentResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  auto inc = Change(principal, req->name(), false, req->comment());
  if (!inc.ok()) return grpcx::ToGrpcStatus(inc.status());
  *resp->mutable_incident() = *std::move(inc);
  return grpc::Status::OK;
}

grpc::Status IncidentServiceImpl::ResolveIncident(grpc::ServerContext* ctx,
                                                  const v1::ResolveIncidentRequest* req,
                                                  v1::ResolveIncidentResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  auto inc = Change(principal, req->name(), true, req->comment());
  if (!inc.ok()) return grpcx::ToGrpcStatus(inc.status());
  *resp->mutable_incident() = *std::move(inc);
  return grpc::Status::OK;
}

grpc::Status IncidentServiceImpl::GetDependencies(grpc::ServerContext* ctx,
                                                  const v1::GetDependenciesRequest* req,
                                                  v1::GetDependenciesResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  if (auto s = CheckObject(req->object(), req->cluster()); !s.ok()) return grpcx::ToGrpcStatus(s);
  if (req->depth() < 0 || req->depth() > kMaxDepth) {
    return grpcx::ToGrpcStatus(grpcx::InvalidArgumentWithViolations(
        "depth is out of range", {{"depth", absl::StrCat("between 0 and ", kMaxDepth)}}));
  }
  const int depth = req->depth() == 0 ? kDefaultDepth : req->depth();
  Topology topology;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    topology = Topology();
    LoadTopology(tx, principal.tenant, req->cluster(), topology);
    return absl::OkStatus();
  });
  if (!s.ok()) return grpcx::ToGrpcStatus(s);
  const ObjectRef root{req->object().kind(), req->object().namespace_(), req->object().name()};
  if (!topology.Exists(root)) {
    return grpcx::ToGrpcStatus(absl::NotFoundError(
        absl::StrCat(root.Key(), " is not known in cluster ", req->cluster())));
  }
  std::map<ObjectRef, int> nodes;
  std::vector<Edge> edges;
  topology.Neighbourhood(root, depth, nodes, edges);
  std::vector<std::pair<int, ObjectRef>> ordered;
  for (const auto& [ref, d] : nodes) ordered.push_back({d, ref});
  std::sort(ordered.begin(), ordered.end());
  for (const auto& [d, ref] : ordered) {
    auto* n = resp->add_nodes();
    *n->mutable_object() = ToKey(ref);
    n->set_depth(d);
    n->set_status(topology.Status(ref));
  }
  for (const auto& e : edges) {
    auto* out = resp->add_edges();
    *out->mutable_from() = ToKey(e.from);
    *out->mutable_to() = ToKey(e.to);
    out->set_relation(e.relation);
  }
  return grpc::Status::OK;
}

grpc::Status IncidentServiceImpl::ListRevisions(grpc::ServerContext* ctx,
                                                const v1::ListRevisionsRequest* req,
                                                v1::ListRevisionsResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  if (auto s = CheckObject(req->object(), req->cluster()); !s.ok()) return grpcx::ToGrpcStatus(s);
  auto size = aip::ValidatePageSize(req->page_size(), 50, 1000);
  if (!size.ok()) return grpcx::ToGrpcStatus(size.status());
  const std::string fp = aip::PageTokenCodec::QueryFingerprint(
      "ListRevisions", req->cluster(),
      absl::StrCat(req->object().kind(), "/", req->object().namespace_(), "/", req->object().name()),
      "");
  int64_t before = INT64_MAX;
  if (!req->page_token().empty()) {
    auto values = page_tokens_->Decode(req->page_token(), fp);
    if (!values.ok() || values->size() != 1 || !absl::SimpleAtoi((*values)[0], &before)) {
      return grpcx::ToGrpcStatus(grpcx::InvalidArgumentWithViolations(
          "invalid page token", {{"page_token", "not a token of this query"}}));
    }
  }
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    resp->Clear();
    const pqxx::result rows = tx.exec_params(
        "SELECT revision, (extract(epoch FROM at) * 1000000)::bigint, hash, array_to_json(changes)::text "
        "FROM correlation.revisions WHERE tenant_id = $1 AND cluster_id = $2 AND kind = $3 AND "
        "namespace = $4 AND name = $5 AND revision < $6 ORDER BY revision DESC LIMIT $7",
        principal.tenant, req->cluster(), req->object().kind(), req->object().namespace_(),
        req->object().name(), before, *size + 1);
    for (int i = 0; i < static_cast<int>(rows.size()) && i < *size; ++i) {
      const auto& r = rows[i];
      auto* rev = resp->add_revisions();
      *rev->mutable_object() = req->object();
      rev->set_revision(r[0].as<int64_t>());
      const int64_t us = r[1].as<int64_t>();
      rev->mutable_time()->set_seconds(us / 1'000'000);
      rev->mutable_time()->set_nanos(static_cast<int32_t>(us % 1'000'000) * 1000);
      rev->set_hash(r[2].as<std::string>());
      for (const auto& c : TextArrayFromJson(r[3].as<std::string>())) rev->add_changes(c);
    }
    if (static_cast<int>(rows.size()) > *size) {
      resp->set_next_page_token(page_tokens_->Encode(
          fp, {absl::StrCat(resp->revisions(resp->revisions_size() - 1).revision())}));
    }
    return absl::OkStatus();
  });
  return grpcx::ToGrpcStatus(s);
}

grpc::Status IncidentServiceImpl::GetTimeline(grpc::ServerContext* ctx,
                                              const v1::GetTimelineRequest* req,
                                              v1::GetTimelineResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  if (auto s = CheckObject(req->object(), req->cluster()); !s.ok()) return grpcx::ToGrpcStatus(s);
  const absl::Time now = engine_->clock().Now();
  const absl::Time end = req->has_end_time() ? FromProtoTime(req->end_time()) : now;
  const absl::Time start =
      req->has_start_time() ? FromProtoTime(req->start_time()) : end - absl::Hours(6);
  const bool finite = start != absl::InfinitePast() && end != absl::InfinitePast();
  if (!finite || start > end || end - start > absl::Hours(24 * 31)) {
    return grpcx::ToGrpcStatus(grpcx::InvalidArgumentWithViolations(
        "invalid window", {{"start_time", "must be before end_time, at most 31 days apart"}}));
  }
  const ObjectRef root{req->object().kind(), req->object().namespace_(), req->object().name()};
  auto tl = ReadTimeline(*pool_, principal.tenant, req->cluster(), root, start, end);
  if (!tl.ok()) return grpcx::ToGrpcStatus(tl.status());
  for (const TimelineItem& it : tl->items) {
    auto* e = resp->add_entries();
    const int64_t us = absl::ToUnixMicros(it.time);
    e->mutable_time()->set_seconds(us / 1'000'000);
    e->mutable_time()->set_nanos(static_cast<int32_t>(us % 1'000'000) * 1000);
    e->set_kind(it.kind);
    *e->mutable_object() = ToKey(it.object);
    e->set_relation(it.relation);
    e->set_text(it.text);
    e->set_severity(it.severity);
    e->set_failure(it.failure);
  }
  for (size_t i = 0; i < tl->causes.size(); ++i) {
    const Cause& c = tl->causes[i];
    auto* out = resp->add_causes();
    out->set_rank(static_cast<int32_t>(i + 1));
    out->set_score(c.score);
    out->set_entry(c.entry);
    out->set_reason(c.reason);
    out->set_arithmetic(c.arithmetic);
  }
  resp->set_first_failure(tl->first_failure);
  return grpc::Status::OK;
}

grpc::Status IncidentServiceImpl::ListPatterns(grpc::ServerContext* ctx,
                                               const v1::ListPatternsRequest* req,
                                               v1::ListPatternsResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  std::vector<FieldViolation> v;
  if (req->cluster().empty()) v.push_back({"cluster", "required"});
  if (req->lookback_days() < 0 || req->lookback_days() > kMaxLookbackDays) {
    v.push_back({"lookback_days", absl::StrCat("between 1 and ", kMaxLookbackDays, " (0: 28)")});
  }
  if (!v.empty()) {
    return grpcx::ToGrpcStatus(grpcx::InvalidArgumentWithViolations("invalid request", v));
  }
  const int days = req->lookback_days() == 0 ? 28 : req->lookback_days();
  auto found = ReadPatterns(*pool_, principal.tenant, req->cluster(), absl::Hours(24 * days),
                            engine_->clock().Now());
  if (!found.ok()) return grpcx::ToGrpcStatus(found.status());
  for (auto& p : found->patterns) *resp->add_patterns() = std::move(p);
  SetProtoTime(found->start, resp->mutable_start_time());
  SetProtoTime(found->end, resp->mutable_end_time());
  return grpc::Status::OK;
}

}  // namespace k8i::correlation

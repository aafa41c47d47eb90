#include "services/recommendation/recommendation_service.h"

#include "absl/strings/str_cat.h"
#include "google/protobuf/util/time_util.h"
#include "libs/auth/grpc_auth.h"
#include "libs/grpcx/status.h"
#include "libs/kit/audit.h"
#include "libs/kit/outbox.h"
#include "services/recommendation/runner.h"
#include "services/recommendation/store/pg_recommendations.h"

namespace k8i::recommendation {
namespace {

namespace v1 = ::k8intel::v1;
using aip::FieldType;
using google::protobuf::util::TimeUtil;
using inventory::resources::Equals;
using inventory::resources::KindSpec;
using inventory::resources::NameForm;
using inventory::resources::Pattern;

aip::FieldSpec Field(std::string sql, FieldType type, bool sortable = false) {
  return {.sql = std::move(sql), .type = type, .sortable = sortable};
}

const KindSpec& RecommendationsKind() {
  static const KindSpec* k = [] {
    auto* k = new KindSpec;
    k->list_method = "ListRecommendations";
    k->from = "recommendation.recommendations r";
    k->tenant_column = "r.tenant_id";
    k->base = "TRUE";
    k->columns =
        "r.cluster_id, r.namespace, r.id, r.body::text, "
        "(extract(epoch FROM r.update_time) * 1000000)::bigint, NULL::bytea";
    k->schema = {
        {"id", Field("r.id", FieldType::kString, true)},
        {"kind", Field("r.kind", FieldType::kString)},
        {"rule", Field("r.rule", FieldType::kString)},
        {"severity", Field("(CASE r.severity WHEN 1 THEN 'info' WHEN 2 THEN 'warning' WHEN 3 "
                           "THEN 'critical' ELSE '' END)",
                           FieldType::kString)},
        {"severity_rank", Field("r.severity", FieldType::kInt, true)},
        {"state", Field("(CASE r.state WHEN 1 THEN 'open' WHEN 2 THEN 'dismissed' WHEN 3 THEN "
                        "'resolved' ELSE '' END)",
                        FieldType::kString)},
        {"cluster", Field("r.cluster_id", FieldType::kString)},
        {"namespace", Field("r.namespace", FieldType::kString)},
        {"subject_kind", Field("r.subject_kind", FieldType::kString)},
        {"subject_name", Field("r.subject_name", FieldType::kString)},
        {"container", Field("r.container", FieldType::kString)},
        {"monthly_impact", Field("r.monthly_impact", FieldType::kDouble, true)},
        {"predicted_time",
         Field("coalesce(r.predicted_time, 'infinity'::timestamptz)", FieldType::kTimestamp, true)},
        {"update_time", Field("r.update_time", FieldType::kTimestamp, true)},
    };
    k->tiebreak = "id";
    k->default_order = "severity_rank desc, monthly_impact desc";
    k->parents.push_back(
        NameForm{Pattern("clusters/{cluster}"), {{"cluster", Equals("r.cluster_id")}}, true});
    k->name = NameForm{Pattern("recommendations/{recommendation}"),
                       {{"recommendation", Equals("r.id")}},
                       false};
    k->to_proto = [](const pqxx::row& row, google::protobuf::Message* m) {
      *static_cast<v1::Recommendation*>(m) =
          FromBody(row[inventory::resources::kBody].as<std::string>());
      return absl::OkStatus();
    };
    return k;
  }();
  return *k;
}

}  // namespace

const auth::Policy& RecommendationPolicy() {
  static const auth::Policy* p = [] {
    auto* policy = new auth::Policy;
    const std::string svc = "/k8intel.v1.RecommendationService/";
    policy->AllowHealthAndReflection()
        .Allow(svc + "ListRecommendations", auth::Role::kViewer)
        .Allow(svc + "GetRecommendation", auth::Role::kViewer)
        .Allow(svc + "DismissRecommendation", auth::Role::kOperator);
    // Simulations read the stored inventory and change nothing.
    const std::string sim = "/k8intel.v1.SimulationService/";
    policy->Allow(sim + "SimulateNodeRemoval", auth::Role::kViewer)
        .Allow(sim + "SimulateScale", auth::Role::kViewer)
        .Allow(sim + "SimulateObjectDeletion", auth::Role::kViewer);
    return policy;
  }();
  return *p;
}

RecommendationServiceImpl::RecommendationServiceImpl(pg::Pool* pool,
                                                     const aip::PageTokenCodec* tokens,
                                                     const Clock* clock,
                                                     std::string recommendations_topic,
                                                     std::string audit_topic)
    : pool_(pool),
      clock_(clock),
      recommendations_topic_(std::move(recommendations_topic)),
      audit_topic_(std::move(audit_topic)),
      store_(pool, tokens) {}

grpc::Status RecommendationServiceImpl::ListRecommendations(
    grpc::ServerContext* ctx, const v1::ListRecommendationsRequest* req,
    v1::ListRecommendationsResponse* resp) {
  K8I_AUTHORIZE(who, ctx);
  const std::string filter = req->filter().empty() ? "state = \"open\"" : req->filter();
  auto result = store_.List(who.tenant, RecommendationsKind(),
                            {.parent = req->parent().empty() ? "clusters/-" : req->parent(),
                             .page_size = req->page_size(),
                             .page_token = req->page_token(),
                             .filter = filter,
                             .order_by = req->order_by()},
                            [&](const pqxx::row& row) {
                              return RecommendationsKind().to_proto(
                                  row, resp->add_recommendations());
                            });
  if (!result.ok()) {
    resp->Clear();
    return grpcx::ToGrpcStatus(result.status());
  }
  resp->set_next_page_token(result->next_page_token);
  return grpc::Status::OK;
}

grpc::Status RecommendationServiceImpl::GetRecommendation(grpc::ServerContext* ctx,
                                                          const v1::GetRecommendationRequest* req,
                                                          v1::GetRecommendationResponse* resp) {
  K8I_AUTHORIZE(who, ctx);
  absl::Status s = store_.Get(who.tenant, RecommendationsKind(), req->name(),
                              [&](const pqxx::row& row) {
                                return RecommendationsKind().to_proto(
                                    row, resp->mutable_recommendation());
                              });
  return grpcx::ToGrpcStatus(s);
}

grpc::Status RecommendationServiceImpl::DismissRecommendation(
    grpc::ServerContext* ctx, const v1::DismissRecommendationRequest* req,
    v1::DismissRecommendationResponse* resp) {
  K8I_AUTHORIZE(who, ctx);
  auto vars = Pattern("recommendations/{recommendation}").Parse(req->name(), "name");
  if (!vars.ok()) return grpcx::ToGrpcStatus(vars.status());
  if (req->reason().empty() || req->reason().size() > 1000) {
    return grpcx::ToGrpcStatus(grpcx::InvalidArgumentWithViolations(
        "invalid request", {{"reason", "required: why it does not apply (at most 1000 characters)"}}));
  }
  const std::string id = vars->at("recommendation");
  const absl::Time now = clock_->Now();
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    const auto rows = tx.exec_params(
        "SELECT body::text, cluster_id FROM recommendation.recommendations WHERE tenant_id = $1 "
        "AND id = $2 FOR UPDATE",
        who.tenant, id);
    if (rows.empty()) return absl::NotFoundError(absl::StrCat(req->name(), " not found"));
    v1::Recommendation r = FromBody(rows[0][0].as<std::string>());
    if (r.state() == v1::RECOMMENDATION_STATE_RESOLVED) {
      return absl::FailedPreconditionError("resolved: its condition has cleared");
    }
    if (r.state() == v1::RECOMMENDATION_STATE_OPEN) {
      r.set_state(v1::RECOMMENDATION_STATE_DISMISSED);
      r.set_dismiss_reason(req->reason());
      r.set_dismissed_by(who.subject);
      *r.mutable_update_time() = TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(now));
      SaveRecommendation(tx, who.tenant, r);
      v1::RecommendationEvent e;
      e.set_tenant(who.tenant);
      e.set_change("dismissed");
      *e.mutable_recommendation() = r;
      kit::OutboxMessage m;
      m.topic = recommendations_topic_;
      m.key = absl::StrCat(who.tenant, "/", rows[0][1].as<std::string>());
      e.SerializeToString(&m.value);
      m.event = {.id = absl::StrCat(who.tenant, "/", r.id(), "/dismissed/", absl::ToUnixMicros(now)),
                 .source = RecommendationSource(who.tenant),
                 .type = "dev.k8intel.recommendations.v1",
                 .time = now};
      kit::Enqueue(tx, "recommendation", m);
      if (!audit_topic_.empty()) {
        kit::EnqueueAudit(tx, "recommendation", audit_topic_, "recommendation",
                          {.tenant = who.tenant,
                           .actor = who.subject,
                           .action = "DismissRecommendation",
                           .target = absl::StrCat(req->name(), ": ", req->reason()),
                           .peer = ctx->peer(),
                           .time = now});
      }
    }
    *resp->mutable_recommendation() = std::move(r);
    return absl::OkStatus();
  });
  return grpcx::ToGrpcStatus(s);
}

}  // namespace k8i::recommendation

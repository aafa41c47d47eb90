#include "services/cost/cost_service.h"

#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "google/protobuf/util/time_util.h"
#include "libs/auth/grpc_auth.h"
#include "libs/common/ids.h"
#include "libs/grpcx/status.h"
#include "libs/kit/audit.h"
#include "libs/kit/outbox.h"
#include "libs/pg/bulk.h"
#include "services/cost/budgets.h"
#include "services/cost/config.h"
#include "services/cost/cost_queries.h"
#include "services/cost/prices.h"
#include "services/cost/store/pg_hours.h"
#include "services/cost/store/pg_time.h"

namespace k8i::cost {
namespace {

namespace v1 = ::k8intel::v1;
using google::protobuf::util::TimeUtil;

constexpr int kDefaultPage = 100;
constexpr int kMaxPage = 1000;

absl::Time FromProto(const google::protobuf::Timestamp& t) {
  return absl::FromUnixMicros(TimeUtil::TimestampToMicroseconds(t));
}

google::protobuf::Timestamp ToProto(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

grpc::Status Invalid(const std::string& field, const absl::Status& s) {
  return grpcx::ToGrpcStatus(grpcx::InvalidArgumentWithViolations(
      "invalid request", {{field, std::string(s.message())}}));
}

// ValidTime: a timestamp protobuf accepts, from 2000 to 2200 (what a cost question can be about).
bool ValidTime(const google::protobuf::Timestamp& t) {
  return t.nanos() >= 0 && t.nanos() < 1'000'000'000 && t.seconds() >= 946'684'800 &&
         t.seconds() < 7'258'118'400;
}

absl::StatusOr<Window> WindowOf(const v1::CostWindow& w, absl::Time now,
                                const std::string& fallback) {
  if ((w.has_start_time() && !ValidTime(w.start_time())) ||
      (w.has_end_time() && !ValidTime(w.end_time()))) {
    return absl::InvalidArgumentError("window: times from 2000 to 2200");
  }
  if (!w.window().empty() && (w.has_start_time() || w.has_end_time())) {
    return absl::InvalidArgumentError("window: a name or start_time and end_time, not both");
  }
  if (w.has_start_time() != w.has_end_time()) {
    return absl::InvalidArgumentError("window: both start_time and end_time");
  }
  const std::string name = w.window().empty() && !w.has_start_time() ? fallback : w.window();
  return ResolveWindow(name, w.has_start_time() ? FromProto(w.start_time()) : absl::InfinitePast(),
                       w.has_end_time() ? FromProto(w.end_time()) : absl::InfinitePast(), now);
}

int PageSize(int requested) {
  return requested <= 0 ? kDefaultPage : std::min(requested, kMaxPage);
}

// Offset paging (the rows of an allocation are computed whole): the token carries the offset,
// bound to the query.
absl::StatusOr<int> OffsetOf(const aip::PageTokenCodec& codec, const std::string& token,
                             const std::string& fingerprint) {
  if (token.empty()) return 0;
  auto v = codec.Decode(token, fingerprint);
  if (!v.ok()) return v.status();
  int offset = 0;
  if (v->size() != 1 || !absl::SimpleAtoi((*v)[0], &offset) || offset < 0) {
    return absl::InvalidArgumentError("page_token: not a token of this query");
  }
  return offset;
}

std::string WindowKey(const Window& w) {
  return absl::StrCat(absl::ToUnixSeconds(w.start), "-", absl::ToUnixSeconds(w.end));
}

void Audit(pqxx::work& tx, const CostServiceOptions& o, const auth::Principal& who,
           const grpc::ServerContext* ctx, const std::string& action, const std::string& target,
           absl::Time now) {
  if (o.audit_topic.empty()) return;
  kit::EnqueueAudit(tx, kSchema, o.audit_topic, "cost",
                    {.tenant = who.tenant,
                     .actor = who.subject,
                     .action = action,
                     .target = target,
                     .peer = ctx->peer(),
                     .time = now});
}

template <typename Fn>
grpc::Status InTx(pg::Pool* pool, Fn&& fn) {
  auto lease = pool->Acquire();
  if (!lease.ok()) return grpcx::ToGrpcStatus(lease.status());
  try {
    pqxx::work tx(lease->conn());
    grpc::Status s = fn(tx);
    if (s.ok()) tx.commit();
    return s;
  } catch (const pqxx::broken_connection& e) {
    lease->MarkBroken();
    return grpc::Status(grpc::StatusCode::UNAVAILABLE, "database unavailable");
  } catch (const std::exception& e) {
    return grpc::Status(grpc::StatusCode::INTERNAL, "database error");
  }
}

void ToProto(const BudgetStatus& b, v1::Budget* out) {
  out->set_name(absl::StrCat("budgets/", b.id));
  out->set_scope(b.budget.scope);
  out->set_key(b.budget.key);
  out->set_cluster(b.cluster);
  out->set_monthly_amount(b.budget.monthly);
  out->set_spike_factor(b.budget.spike_factor);
  *out->mutable_create_time() = ToProto(b.create_time);
  out->set_creator(b.creator);
  out->set_month_to_date(b.projection.month_to_date);
  out->set_projected(b.projection.projected);
  auto it = b.verdicts.find("projection");
  out->set_over(it != b.verdicts.end() && it->second.has_value());
  out->set_explanation(b.projection.explanation);
}

}  // namespace

const auth::Policy& CostPolicy() {
  static const auth::Policy* p = [] {
    auto* policy = new auth::Policy;
    const std::string svc = "/k8intel.v1.CostService/";
    policy->AllowHealthAndReflection()
        .Allow(svc + "QueryAllocation", auth::Role::kViewer)
        .Allow(svc + "GetCostTrend", auth::Role::kViewer)
        .Allow(svc + "ListCostLines", auth::Role::kViewer)
        .Allow(svc + "ExplainCostLine", auth::Role::kViewer)
        .Allow(svc + "ListPriceVersions", auth::Role::kViewer)
        .Allow(svc + "ListBudgets", auth::Role::kViewer)
        .Allow(svc + "CreatePriceVersion", auth::Role::kAdmin)
        .Allow(svc + "RecomputeCosts", auth::Role::kAdmin)
        .Allow(svc + "CreateBudget", auth::Role::kAdmin)
        .Allow(svc + "DeleteBudget", auth::Role::kAdmin);
    return policy;
  }();
  return *p;
}

CostServiceImpl::CostServiceImpl(pg::Pool* pool, const aip::PageTokenCodec* tokens,
                                 const Clock* clock, CostServiceOptions options)
    : pool_(pool), tokens_(tokens), clock_(clock), options_(std::move(options)) {}

grpc::Status CostServiceImpl::QueryAllocation(grpc::ServerContext* ctx,
                                              const v1::QueryAllocationRequest* req,
                                              v1::QueryAllocationResponse* resp) {
  K8I_AUTHORIZE(who, ctx);
  auto w = WindowOf(req->window(), clock_->Now(), "7d");
  if (!w.ok()) return Invalid("window", w.status());
  AllocationQuery q{.tenant = who.tenant,
                    .window = *w,
                    .group_by = req->group_by(),
                    .idle = req->idle(),
                    .filter = req->filter(),
                    .order_by = req->order_by(),
                    .now = clock_->Now()};
  const std::string fp = aip::PageTokenCodec::QueryFingerprint(
      "QueryAllocation", absl::StrCat(who.tenant, "|", WindowKey(*w), "|", q.group_by, "|",
                                      static_cast<int>(q.idle)),
      q.filter, q.order_by);
  auto offset = OffsetOf(*tokens_, req->page_token(), fp);
  if (!offset.ok()) return Invalid("page_token", offset.status());
  const int size = PageSize(req->page_size());
  return InTx(pool_, [&](pqxx::work& tx) {
    int hours = 0;
    std::string currency;
    auto rows = QueryAllocations(tx, q, resp->mutable_total(), &hours, &currency);
    if (!rows.ok()) {
      const std::string msg(rows.status().message());
      const std::string field = absl::StartsWith(msg, "group_by")   ? "group_by"
                                : absl::StartsWith(msg, "order_by") ? "order_by"
                                                                    : "filter";
      return Invalid(field, rows.status());
    }
    for (size_t i = *offset; i < rows->size() && i < static_cast<size_t>(*offset + size); ++i) {
      *resp->add_allocations() = std::move((*rows)[i]);
    }
    if (static_cast<size_t>(*offset + size) < rows->size()) {
      resp->set_next_page_token(tokens_->Encode(fp, {absl::StrCat(*offset + size)}));
    }
    resp->set_total_size(static_cast<int>(rows->size()));
    resp->set_currency(currency);
    *resp->mutable_start_time() = ToProto(w->start);
    *resp->mutable_end_time() = ToProto(w->end);
    resp->set_hours_attributed(hours);
    return grpc::Status::OK;
  });
}

grpc::Status CostServiceImpl::GetCostTrend(grpc::ServerContext* ctx,
                                           const v1::GetCostTrendRequest* req,
                                           v1::GetCostTrendResponse* resp) {
  K8I_AUTHORIZE(who, ctx);
  const absl::Time now = clock_->Now();
  auto w = WindowOf(req->window(), now, "30d");
  if (!w.ok()) return Invalid("window", w.status());
  return InTx(pool_, [&](pqxx::work& tx) {
    if (auto s = QueryTrend(tx, who.tenant, *w, req->filter(), now, resp); !s.ok()) {
      return Invalid("filter", s);
    }
    return grpc::Status::OK;
  });
}

grpc::Status CostServiceImpl::ListCostLines(grpc::ServerContext* ctx,
                                            const v1::ListCostLinesRequest* req,
                                            v1::ListCostLinesResponse* resp) {
  K8I_AUTHORIZE(who, ctx);
  auto w = WindowOf(req->window(), clock_->Now(), "today");
  if (!w.ok()) return Invalid("window", w.status());
  const std::string fp = aip::PageTokenCodec::QueryFingerprint(
      "ListCostLines", absl::StrCat(who.tenant, "|", WindowKey(*w)), req->filter(), "");
  auto offset = OffsetOf(*tokens_, req->page_token(), fp);
  if (!offset.ok()) return Invalid("page_token", offset.status());
  const int size = PageSize(req->page_size());
  return InTx(pool_, [&](pqxx::work& tx) {
    auto lines = QueryLines(tx, who.tenant, *w, req->filter(), *offset, size + 1);
    if (!lines.ok()) return Invalid("filter", lines.status());
    for (int i = 0; i < static_cast<int>(lines->size()) && i < size; ++i) {
      *resp->add_lines() = std::move((*lines)[i]);
    }
    if (static_cast<int>(lines->size()) > size) {
      resp->set_next_page_token(tokens_->Encode(fp, {absl::StrCat(*offset + size)}));
    }
    return grpc::Status::OK;
  });
}

grpc::Status CostServiceImpl::ExplainCostLine(grpc::ServerContext* ctx,
                                              const v1::ExplainCostLineRequest* req,
                                              v1::ExplainCostLineResponse* resp) {
  K8I_AUTHORIZE(who, ctx);
  absl::string_view id = req->name();
  if (!absl::ConsumePrefix(&id, "lines/") || id.empty() || id.size() > 64) {
    return Invalid("name", absl::InvalidArgumentError("must be lines/{id}"));
  }
  return InTx(pool_, [&](pqxx::work& tx) {
    auto line = LineById(tx, who.tenant, std::string(id));
    if (!line) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such line");
    const auto eff = tx.exec_params(
        absl::StrCat("SELECT CASE WHEN isfinite(price_effective) THEN ",
                     pg::MicrosOf("price_effective"),
                     " END FROM cost.hours WHERE tenant_id = $1 AND cluster_id = $2 AND hour = "
                     "$3::timestamptz"),
        who.tenant, line->cluster(), Ts(FromProto(line->hour())));
    auto book = LoadPriceBook(tx, who.tenant);
    if (!book.ok()) return grpcx::ToGrpcStatus(book.status());
    // The version the hour was attributed with: the one with that effective time.
    absl::Time effective = absl::InfinitePast();
    if (!eff.empty() && !eff[0][0].is_null()) {
      effective = absl::FromUnixMicros(eff[0][0].as<int64_t>());
    }
    *resp->mutable_prices() = cost::ToProto(book->At(effective));
    resp->mutable_prices()->set_builtin(effective == absl::InfinitePast());
    if (effective != absl::InfinitePast()) {
      *line->mutable_price_effective_time() = ToProto(effective);
    }
    *resp->mutable_line() = std::move(*line);
    return grpc::Status::OK;
  });
}

grpc::Status CostServiceImpl::ListPriceVersions(grpc::ServerContext* ctx,
                                                const v1::ListPriceVersionsRequest* req,
                                                v1::ListPriceVersionsResponse* resp) {
  K8I_AUTHORIZE(who, ctx);
  return InTx(pool_, [&](pqxx::work& tx) {
    for (const auto& r : tx.exec_params(
             absl::StrCat("SELECT body::text, ", pg::MicrosOf("create_time"),
                          ", creator FROM cost.price_versions WHERE tenant_id = $1 ORDER BY "
                          "effective_time DESC"),
             who.tenant)) {
      auto p = PriceFromJson(r[0].as<std::string>());
      if (!p.ok()) return grpcx::ToGrpcStatus(p.status());
      *p->mutable_create_time() = TimeUtil::MicrosecondsToTimestamp(r[1].as<int64_t>());
      p->set_creator(r[2].as<std::string>());
      *resp->add_versions() = *std::move(p);
    }
    auto book = LoadPriceBook(tx, who.tenant);
    if (!book.ok()) return grpcx::ToGrpcStatus(book.status());
    const PriceVersion& now = book->At(clock_->Now());
    *resp->mutable_current() = cost::ToProto(now);
    resp->mutable_current()->set_builtin(now.effective == absl::InfinitePast());
    return grpc::Status::OK;
  });
}

grpc::Status CostServiceImpl::CreatePriceVersion(grpc::ServerContext* ctx,
                                                 const v1::CreatePriceVersionRequest* req,
                                                 v1::CreatePriceVersionResponse* resp) {
  K8I_AUTHORIZE(who, ctx);
  const absl::Time now = clock_->Now();
  v1::PriceVersion p = req->price_version();
  std::vector<FieldViolation> bad;
  if (p.has_effective_time() && !ValidTime(p.effective_time())) {
    bad.push_back({"price_version.effective_time", "a time from 2000 to 2200"});
  }
  if (!bad.empty()) {
    return grpcx::ToGrpcStatus(grpcx::InvalidArgumentWithViolations("invalid price version", bad));
  }
  // Whole seconds (hours record the version they used by its effective time).
  *p.mutable_effective_time() = ToProto(absl::FromUnixSeconds(absl::ToUnixSeconds(
      p.has_effective_time() ? FromProto(p.effective_time()) : now)));
  if (auto v = CheckPriceVersion(p); !v.empty()) {
    return grpcx::ToGrpcStatus(grpcx::InvalidArgumentWithViolations("invalid price version", v));
  }
  // Stored as given, with the defaults made explicit.
  v1::PriceVersion stored = cost::ToProto(cost::FromProto(p));
  return InTx(pool_, [&](pqxx::work& tx) {
    const absl::Time eff = FromProto(stored.effective_time());
    const auto ins = tx.exec_params(
        "INSERT INTO cost.price_versions (tenant_id, effective_time, body, create_time, creator) "
        "VALUES ($1, $2::timestamptz, $3::jsonb, $4::timestamptz, $5) ON CONFLICT DO NOTHING "
        "RETURNING 1",
        who.tenant, Ts(eff), PriceJson(stored), Ts(now), who.subject);
    if (ins.empty()) {
      return grpc::Status(grpc::StatusCode::ALREADY_EXISTS,
                          "a price version with this effective_time exists");
    }
    const auto affected = tx.exec_params1(
        "SELECT count(*) FROM cost.hours WHERE tenant_id = $1 AND hour >= $2::timestamptz",
        who.tenant, Ts(eff));
    if (!options_.prices_topic.empty()) {
      v1::PriceVersionEvent e;
      e.set_tenant(who.tenant);
      *e.mutable_price_version() = stored;
      *e.mutable_price_version()->mutable_create_time() = ToProto(now);
      e.mutable_price_version()->set_creator(who.subject);
      kit::OutboxMessage m;
      m.topic = options_.prices_topic;
      m.key = who.tenant;
      e.SerializeToString(&m.value);
      m.event = {.id = absl::StrCat(who.tenant, "/", absl::ToUnixMicros(eff)),
                 .source = absl::StrCat("/k8intel/cost/tenants/", who.tenant),
                 .type = "dev.k8intel.prices.v1",
                 .time = now};
      kit::Enqueue(tx, kSchema, m);
    }
    Audit(tx, options_, who, ctx, "CreatePriceVersion",
          absl::StrCat("prices/", absl::FormatTime(absl::RFC3339_sec, eff, absl::UTCTimeZone())),
          now);
    *resp->mutable_price_version() = stored;
    *resp->mutable_price_version()->mutable_create_time() = ToProto(now);
    resp->mutable_price_version()->set_creator(who.subject);
    resp->set_hours_affected(affected[0].as<int>());
    return grpc::Status::OK;
  });
}

grpc::Status CostServiceImpl::RecomputeCosts(grpc::ServerContext* ctx,
                                             const v1::RecomputeCostsRequest* req,
                                             v1::RecomputeCostsResponse* resp) {
  K8I_AUTHORIZE(who, ctx);
  const absl::Time now = clock_->Now();
  std::vector<FieldViolation> v;
  if (!req->has_start_time() || !ValidTime(req->start_time())) {
    v.push_back({"start_time", "required: a time from 2000 to 2200"});
  }
  if (!req->has_end_time() || !ValidTime(req->end_time())) {
    v.push_back({"end_time", "required: a time from 2000 to 2200"});
  }
  if (req->cluster().size() > 253) v.push_back({"cluster", "at most 253 characters"});
  if (req->reason().size() > 1000) v.push_back({"reason", "at most 1000 characters"});
  absl::Time start, end;
  if (v.empty()) {
    start = FloorHour(FromProto(req->start_time()));
    end = FloorHour(FromProto(req->end_time()) + absl::Hours(1) - absl::Seconds(1));
    if (end <= start) v.push_back({"end_time", "must be after start_time"});
    if (end - start > absl::Hours(24 * 93)) v.push_back({"end_time", "at most 93 days after start_time"});
    if (start < now - options_.backfill) {
      v.push_back({"start_time", "older than the backfill horizon (K8I_COST_BACKFILL)"});
    }
  }
  if (!v.empty()) {
    return grpcx::ToGrpcStatus(grpcx::InvalidArgumentWithViolations("invalid request", v));
  }
  grpc::Status s = InTx(pool_, [&](pqxx::work& tx) {
    const auto r = tx.exec_params1(
        "WITH u AS (UPDATE cost.hours SET recompute = true WHERE tenant_id = $1 AND ($2 = '' OR "
        "cluster_id = $2) AND hour >= $3::timestamptz AND hour < $4::timestamptz RETURNING 1) "
        "SELECT count(*) FROM u",
        who.tenant, req->cluster(), Ts(start), Ts(end));
    Audit(tx, options_, who, ctx, "RecomputeCosts",
          absl::StrCat(req->cluster().empty() ? "clusters/-" : absl::StrCat("clusters/", req->cluster()),
                       " ", Ts(start), "/", Ts(end),
                       req->reason().empty() ? "" : absl::StrCat(": ", req->reason())),
          now);
    resp->set_hours(r[0].as<int>());
    return grpc::Status::OK;
  });
  if (s.ok() && options_.wake) options_.wake();
  return s;
}

grpc::Status CostServiceImpl::ListBudgets(grpc::ServerContext* ctx,
                                          const v1::ListBudgetsRequest* req,
                                          v1::ListBudgetsResponse* resp) {
  K8I_AUTHORIZE(who, ctx);
  return InTx(pool_, [&](pqxx::work& tx) {
    std::string currency = "USD";
    for (const BudgetStatus& b : EvaluateBudgets(tx, who.tenant, &currency)) {
      ToProto(b, resp->add_budgets());
    }
    resp->set_currency(currency);
    return grpc::Status::OK;
  });
}

grpc::Status CostServiceImpl::CreateBudget(grpc::ServerContext* ctx,
                                           const v1::CreateBudgetRequest* req,
                                           v1::CreateBudgetResponse* resp) {
  K8I_AUTHORIZE(who, ctx);
  const v1::Budget& b = req->budget();
  std::vector<FieldViolation> v;
  if (b.scope() != "namespace" && b.scope() != "team" && b.scope() != "cluster") {
    v.push_back({"budget.scope", "namespace, team or cluster"});
  }
  if (b.key().empty() || b.key().size() > 253) v.push_back({"budget.key", "required (1-253)"});
  if (!b.cluster().empty() && b.scope() != "namespace") {
    v.push_back({"budget.cluster", "only for namespace budgets"});
  }
  if (b.cluster().size() > 253) v.push_back({"budget.cluster", "at most 253 characters"});
  if (!std::isfinite(b.monthly_amount()) || b.monthly_amount() <= 0) {
    v.push_back({"budget.monthly_amount", "a positive amount"});
  }
  const double spike = b.spike_factor() == 0 ? 3 : b.spike_factor();
  if (!std::isfinite(spike) || spike < 1.5 || spike > 1000) {
    v.push_back({"budget.spike_factor", "from 1.5 to 1000 (default 3)"});
  }
  if (!v.empty()) {
    return grpcx::ToGrpcStatus(grpcx::InvalidArgumentWithViolations("invalid budget", v));
  }
  const absl::Time now = clock_->Now();
  const std::string id = NewId();
  return InTx(pool_, [&](pqxx::work& tx) {
    tx.exec_params(
        "INSERT INTO cost.budgets (tenant_id, id, scope, key, cluster_id, monthly_amount, "
        "spike_factor, create_time, creator) VALUES ($1, $2, $3, $4, $5, $6, $7, "
        "$8::timestamptz, $9)",
        who.tenant, id, b.scope(), b.key(), b.cluster(), b.monthly_amount(), spike, Ts(now),
        who.subject);
    Audit(tx, options_, who, ctx, "CreateBudget", absl::StrCat("budgets/", id), now);
    std::string currency;
    for (const BudgetStatus& s : EvaluateBudgets(tx, who.tenant, &currency)) {
      if (s.id == id) ToProto(s, resp->mutable_budget());
    }
    return grpc::Status::OK;
  });
}

grpc::Status CostServiceImpl::DeleteBudget(grpc::ServerContext* ctx,
                                           const v1::DeleteBudgetRequest* req,
                                           v1::DeleteBudgetResponse* resp) {
  K8I_AUTHORIZE(who, ctx);
  absl::string_view id = req->name();
  if (!absl::ConsumePrefix(&id, "budgets/") || id.empty() || id.size() > 64) {
    return Invalid("name", absl::InvalidArgumentError("must be budgets/{id}"));
  }
  const absl::Time now = clock_->Now();
  return InTx(pool_, [&](pqxx::work& tx) {
    std::string currency;
    std::optional<BudgetStatus> found;
    for (BudgetStatus& s : EvaluateBudgets(tx, who.tenant, &currency, /*lock=*/true)) {
      if (s.id == id) found = std::move(s);
    }
    if (!found) return grpc::Status(grpc::StatusCode::NOT_FOUND, "no such budget");
    // Its open alerts end with it.
    ResolveBudgetAlerts(tx, options_.alerts_topic, who.tenant, *found, "", now);
    tx.exec_params("DELETE FROM cost.budgets WHERE tenant_id = $1 AND id = $2", who.tenant,
                   std::string(id));
    Audit(tx, options_, who, ctx, "DeleteBudget", req->name(), now);
    return grpc::Status::OK;
  });
}

}  // namespace k8i::cost

#include "services/inventory/resources/resource_store.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/strip.h"
#include "libs/grpcx/status.h"

namespace k8i::inventory::resources {
namespace {

// AsViolation turns an InvalidArgument about request field `field` into one carrying a
// BadRequest field violation (AIP-193); other errors pass unchanged.
absl::Status AsViolation(const absl::Status& s, const std::string& field) {
  if (!absl::IsInvalidArgument(s)) return s;
  absl::string_view why = s.message();
  absl::ConsumePrefix(&why, field + ": ");
  return grpcx::InvalidArgumentWithViolations(absl::StrCat("invalid ", field),
                                              {{field, std::string(why)}});
}

// BindName parses `name` with `form` and appends one condition per non-wildcard variable.
absl::Status BindName(const NameForm& form, const std::string& name, const std::string& field,
                      std::vector<std::string>& conds, std::vector<std::string>& params) {
  auto vars = form.pattern.Parse(name, field, form.allow_wildcard);
  if (!vars.ok()) return vars.status();
  for (const auto& [var, value] : *vars) {
    if (value == "-") continue;
    auto cond = form.binders.at(var)(value, params);
    if (!cond.ok()) return absl::InvalidArgumentError(absl::StrCat(field, ": ", cond.status().message()));
    conds.push_back(*std::move(cond));
  }
  return absl::OkStatus();
}

std::string Where(const KindSpec& kind, const std::vector<std::string>& conds) {
  std::string where = absl::StrCat(" FROM ", kind.from, " WHERE ", kind.tenant_column,
                                   " = $1 AND ", kind.base);
  for (const auto& c : conds) absl::StrAppend(&where, " AND (", c, ")");
  return where;
}

}  // namespace

struct ResourceStore::Plan {
  std::string page_sql;
  std::vector<std::string> page_params;
  std::string count_sql;  // empty when the total comes from the token
  std::vector<std::string> count_params;
  std::vector<aip::OrderField> order;
  std::string fingerprint;
  int limit = 0;
  int64_t total = 0;
};

absl::StatusOr<ResourceStore::Plan> ResourceStore::Prepare(const std::string& tenant,
                                                           const KindSpec& kind,
                                                           const ListArgs& args) const {
  Plan plan;
  auto limit = aip::ValidatePageSize(args.page_size, kDefaultPageSize, kMaxPageSize);
  if (!limit.ok()) return AsViolation(limit.status(), "page_size");
  plan.limit = *limit;

  std::vector<std::string> conds, params = {tenant};
  absl::Status parent_status = absl::InvalidArgumentError("parent: must be set");
  if (!args.parent.empty()) {
    // The first form the parent matches decides (its variables may still be invalid); when
    // none matches, the error names every accepted form.
    std::vector<std::string> forms;
    bool matched = false;
    for (const NameForm& form : kind.parents) {
      auto vars = form.pattern.Parse(args.parent, "parent", form.allow_wildcard);
      if (!vars.ok()) {
        parent_status = vars.status();
        forms.push_back(form.pattern.pattern());
        continue;
      }
      matched = true;
      parent_status = BindName(form, args.parent, "parent", conds, params);
      break;
    }
    if (!matched && kind.parents.size() > 1) {
      parent_status = absl::InvalidArgumentError(
          absl::StrCat("parent: \"", args.parent.substr(0, 300), "\" is none of ",
                       absl::StrJoin(forms, ", ")));
    }
  }
  if (!parent_status.ok()) return AsViolation(parent_status, "parent");

  auto filter = aip::CompileFilter(args.filter, kind.schema, static_cast<int>(params.size()) + 1);
  if (!filter.ok()) return AsViolation(filter.status(), "filter");
  conds.push_back(filter->sql);
  params.insert(params.end(), filter->params.begin(), filter->params.end());

  const std::string& order_by = args.order_by.empty() ? kind.default_order : args.order_by;
  auto order = aip::ParseOrderBy(order_by, kind.schema, kind.tiebreak);
  if (!order.ok()) return AsViolation(order.status(), "order_by");
  plan.order = *std::move(order);

  plan.fingerprint = aip::PageTokenCodec::QueryFingerprint(kind.list_method, args.parent,
                                                           args.filter, args.order_by);
  std::vector<std::string> cursor;
  if (!args.page_token.empty()) {
    // A token holds the cursor (one value per order field) and the total of the first page.
    auto values = tokens_->Decode(args.page_token, plan.fingerprint);
    if (!values.ok()) return AsViolation(values.status(), "page_token");
    if (values->size() != plan.order.size() + 1 ||
        !absl::SimpleAtoi(values->back(), &plan.total)) {
      return AsViolation(absl::InvalidArgumentError("page_token does not fit this query"),
                         "page_token");
    }
    cursor.assign(values->begin(), values->end() - 1);
  }

  const std::string where = Where(kind, conds);
  if (cursor.empty()) {
    plan.count_sql = absl::StrCat("SELECT count(*)", where);
    plan.count_params = params;
  }
  std::vector<std::string> cursor_columns;
  for (const auto& f : plan.order) {
    cursor_columns.push_back(absl::StrCat("(", kind.schema.at(f.name).sql, ")::text"));
  }
  plan.page_sql = absl::StrCat("SELECT ", kind.columns, ", ", absl::StrJoin(cursor_columns, ", "),
                               where);
  if (auto s = aip::AppendKeysetPage(plan.order, kind.schema, cursor, plan.limit, plan.page_sql,
                                     params);
      !s.ok()) {
    return AsViolation(s, "page_token");
  }
  plan.page_params = std::move(params);
  return plan;
}

absl::StatusOr<std::pair<std::string, std::vector<std::string>>> ResourceStore::ListSql(
    const std::string& tenant, const KindSpec& kind, const ListArgs& args) const {
  auto plan = Prepare(tenant, kind, args);
  if (!plan.ok()) return plan.status();
  return std::make_pair(plan->page_sql, plan->page_params);
}

absl::StatusOr<ListResult> ResourceStore::List(const std::string& tenant, const KindSpec& kind,
                                               const ListArgs& args, const RowSink& sink) const {
  auto plan = Prepare(tenant, kind, args);
  if (!plan.ok()) return plan.status();
  ListResult result;
  pqxx::result rows;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) {
    rows = pg::ExecParams(tx, plan->page_sql, plan->page_params);
    if (!plan->count_sql.empty() && static_cast<int>(rows.size()) <= plan->limit) {
      // A first page that is also the last counts itself: no second scan.
      result.total_size = static_cast<int64_t>(rows.size());
    } else {
      result.total_size = plan->count_sql.empty()
                              ? plan->total
                              : pg::ExecParams(tx, plan->count_sql, plan->count_params)[0][0]
                                    .as<int64_t>();
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  const int n = std::min(static_cast<int>(rows.size()), plan->limit);
  for (int i = 0; i < n; ++i) {
    if (absl::Status st = sink(rows[i]); !st.ok()) return st;
  }
  if (static_cast<int>(rows.size()) > plan->limit) {
    // The cursor is the last returned row's order values (selected after the kind's columns).
    const auto& last = rows[plan->limit - 1];
    const int first = static_cast<int>(last.size() - plan->order.size());
    std::vector<std::string> values;
    for (int c = first; c < static_cast<int>(last.size()); ++c) {
      values.push_back(last[c].as<std::string>());
    }
    values.push_back(absl::StrCat(result.total_size));
    result.next_page_token = tokens_->Encode(plan->fingerprint, values);
  }
  return result;
}

absl::Status ResourceStore::Get(const std::string& tenant, const KindSpec& kind,
                                const std::string& name, const RowSink& sink) const {
  std::vector<std::string> conds, params = {tenant};
  if (absl::Status s = BindName(*kind.name, name, "name", conds, params); !s.ok()) {
    return AsViolation(s, "name");
  }
  const std::string sql = absl::StrCat("SELECT ", kind.columns, Where(kind, conds), " LIMIT 2");
  pqxx::result rows;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) {
    rows = pg::ExecParams(tx, sql, params);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (rows.empty()) return absl::NotFoundError(absl::StrCat(name.substr(0, 300), " not found"));
  return sink(rows[0]);
}

}  // namespace k8i::inventory::resources

#include "services/inventory/store/pg_cluster_store.h"

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "libs/common/status_macros.h"
#include "nlohmann/json.hpp"

namespace k8i::inventory {
namespace {

std::string Micros(absl::string_view column) {
  return absl::StrCat("(extract(epoch from ", column, ") * 1000000)::bigint");
}

// Envelopes travel as hex (bind parameters are text); "" stands for NULL.
constexpr char kClusterColumns[] =
    "cluster_id, tenant_id, display_name, labels::text, coalesce(encode(kubeconfig_sealed, "
    "'hex'), ''), coalesce(encode(kubeconfig_summary_sealed, 'hex'), ''), coalesce(kek_id, ''), "
    "(extract(epoch from created_at) * 1000000)::bigint, "
    "(extract(epoch from updated_at) * 1000000)::bigint, 'clusters/' || cluster_id, "
    "created_at::text";

std::optional<std::string> Unhex(const pqxx::field& f) {
  std::string hex = f.as<std::string>();
  if (hex.empty()) return std::nullopt;
  return absl::HexStringToBytes(hex);
}

std::string Hex(const std::optional<std::string>& bytes) {
  return bytes ? absl::BytesToHexString(*bytes) : std::string();
}

std::string LabelsJson(const std::map<std::string, std::string>& labels) {
  nlohmann::json j = nlohmann::json::object();
  for (const auto& [k, v] : labels) j[k] = v;
  return j.dump();
}

ClusterRow ClusterFromRow(const pqxx::row& r) {
  ClusterRow c;
  c.cluster_id = r[0].as<std::string>();
  c.tenant_id = r[1].as<std::string>();
  c.display_name = r[2].as<std::string>();
  auto labels = nlohmann::json::parse(r[3].as<std::string>(), nullptr, false);
  if (labels.is_object()) {
    for (const auto& [k, v] : labels.items()) {
      if (v.is_string()) c.labels[k] = v.get<std::string>();
    }
  }
  c.kubeconfig_sealed = Unhex(r[4]);
  c.summary_sealed = Unhex(r[5]);
  c.kek_id = r[6].as<std::string>();
  c.created_at = absl::FromUnixMicros(r[7].as<int64_t>());
  c.updated_at = absl::FromUnixMicros(r[8].as<int64_t>());
  return c;
}

// The column of kClusterColumns holding each sortable field's cursor text.
int CursorColumn(const std::string& field) {
  if (field == "display_name") return 2;
  if (field == "create_time") return 10;
  return 9;  // name
}

std::string TokenColumns() {
  return absl::StrCat("tenant_id, cluster_id, token_id, display_name, ", Micros("created_at"),
                      ", ", Micros("revoked_at"), ", created_at::text");
}

AgentTokenRow TokenFromRow(const pqxx::row& r) {
  AgentTokenRow t;
  t.tenant_id = r[0].as<std::string>();
  t.cluster_id = r[1].as<std::string>();
  t.token_id = r[2].as<std::string>();
  t.display_name = r[3].as<std::string>();
  t.created_at = absl::FromUnixMicros(r[4].as<int64_t>());
  if (!r[5].is_null()) t.revoked_at = absl::FromUnixMicros(r[5].as<int64_t>());
  return t;
}

const aip::Schema& TokenSchema() {
  static const aip::Schema s = {
      {"create_time", {.sql = "created_at", .type = aip::FieldType::kTimestamp, .sortable = true}},
      {"token_id", {.sql = "token_id", .type = aip::FieldType::kString, .sortable = true}},
  };
  return s;
}

absl::Status ClusterNotFound(const std::string& id) {
  return absl::NotFoundError(absl::StrCat("clusters/", id, " not found"));
}

bool ClusterExists(pqxx::work& tx, const std::string& tenant, const std::string& id) {
  return !tx.exec_params("SELECT 1 FROM control.clusters WHERE tenant_id = $1 AND cluster_id = $2",
                         tenant, id)
              .empty();
}

}  // namespace

const aip::Schema& ClusterSchema() {
  static const aip::Schema s = {
      {"name",
       {.sql = "('clusters/' || cluster_id)", .type = aip::FieldType::kString, .sortable = true}},
      {"display_name",
       {.sql = "display_name", .type = aip::FieldType::kString, .sortable = true}},
      {"create_time", {.sql = "created_at", .type = aip::FieldType::kTimestamp, .sortable = true}},
      {"labels", {.sql = "labels", .type = aip::FieldType::kMap}},
  };
  return s;
}

absl::StatusOr<ClusterRow> PgClusterStore::CreateCluster(const std::string& caller_tenant,
                                                         const ClusterRow& row) {
  std::optional<ClusterRow> out;
  bool exists = false;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) {
    out.reset();
    exists = ClusterExists(tx, caller_tenant, row.cluster_id);
    if (exists) return absl::OkStatus();
    // Selecting from the caller's own tenant row: a missing tenant inserts nothing.
    pqxx::result r = tx.exec_params(
        absl::StrCat("INSERT INTO control.clusters (tenant_id, cluster_id, display_name, labels, "
                     "kubeconfig_sealed, kubeconfig_summary_sealed, kek_id) SELECT tenant_id, $2, "
                     "$3, $4::jsonb, decode(nullif($5, ''), 'hex'), decode(nullif($6, ''), 'hex'), "
                     "nullif($7, '') FROM control.tenants WHERE tenant_id = $1 "
                     "ON CONFLICT DO NOTHING RETURNING ",
                     kClusterColumns),
        caller_tenant, row.cluster_id, row.display_name, LabelsJson(row.labels),
        Hex(row.kubeconfig_sealed), Hex(row.summary_sealed),
        row.kubeconfig_sealed ? row.kek_id : std::string());
    if (!r.empty()) {
      out = ClusterFromRow(r[0]);
    } else {
      exists = ClusterExists(tx, caller_tenant, row.cluster_id);
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (exists) return absl::AlreadyExistsError(absl::StrCat("clusters/", row.cluster_id,
                                                           " already exists"));
  if (!out) return absl::FailedPreconditionError(absl::StrCat("no tenant ", caller_tenant));
  return *out;
}

absl::StatusOr<ClusterRow> PgClusterStore::GetCluster(const std::string& caller_tenant,
                                                      const std::string& cluster_id) {
  std::optional<ClusterRow> out;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        absl::StrCat("SELECT ", kClusterColumns,
                     " FROM control.clusters WHERE tenant_id = $1 AND cluster_id = $2"),
        caller_tenant, cluster_id);
    if (!r.empty()) out = ClusterFromRow(r[0]);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (!out) return ClusterNotFound(cluster_id);
  return *out;
}

absl::StatusOr<Page<ClusterRow>> PgClusterStore::ListClusters(
    const std::string& caller_tenant, const std::string& filter,
    const std::vector<aip::OrderField>& order, const ListQuery& query) {
  ASSIGN_OR_RETURN(aip::SqlCondition cond, aip::CompileFilter(filter, ClusterSchema(), 2));
  std::vector<std::string> params = {caller_tenant};
  params.insert(params.end(), cond.params.begin(), cond.params.end());
  const std::string where =
      absl::StrCat(" FROM control.clusters WHERE tenant_id = $1 AND (", cond.sql, ")");
  const std::vector<std::string> count_params = params;
  std::string sql = absl::StrCat("SELECT ", kClusterColumns, where);
  RETURN_IF_ERROR(
      aip::AppendKeysetPage(order, ClusterSchema(), query.cursor, query.limit, sql, params));
  Page<ClusterRow> page;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) {
    page = {};
    pqxx::result r = pg::ExecParams(tx, sql, params);
    for (int i = 0; i < static_cast<int>(r.size()) && i < query.limit; ++i) {
      page.rows.push_back(ClusterFromRow(r[i]));
      if (i == query.limit - 1 && static_cast<int>(r.size()) > query.limit) {
        for (const auto& f : order) {
          page.next_cursor.push_back(r[i][CursorColumn(f.name)].as<std::string>());
        }
      }
    }
    page.total = pg::ExecParams(tx, absl::StrCat("SELECT count(*)", where), count_params)[0][0]
                     .as<int64_t>();
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return page;
}

absl::StatusOr<ClusterRow> PgClusterStore::UpdateCluster(const std::string& caller_tenant,
                                                         const std::string& cluster_id,
                                                         const ClusterUpdate& u) {
  std::string sets = "updated_at = now()";
  std::vector<std::string> params = {caller_tenant, cluster_id};
  auto bind = [&](std::string v) {
    params.push_back(std::move(v));
    return absl::StrCat("$", params.size());
  };
  if (u.display_name) absl::StrAppend(&sets, ", display_name = ", bind(*u.display_name));
  if (u.labels) absl::StrAppend(&sets, ", labels = ", bind(LabelsJson(*u.labels)), "::jsonb");
  if (u.set_kubeconfig) {
    absl::StrAppend(&sets, ", kubeconfig_sealed = decode(nullif(", bind(Hex(u.kubeconfig_sealed)),
                    ", ''), 'hex'), kubeconfig_summary_sealed = decode(nullif(",
                    bind(Hex(u.summary_sealed)), ", ''), 'hex'), kek_id = nullif(",
                    bind(u.kubeconfig_sealed ? u.kek_id : std::string()), ", '')");
  }
  const std::string sql =
      absl::StrCat("UPDATE control.clusters SET ", sets,
                   " WHERE tenant_id = $1 AND cluster_id = $2 RETURNING ", kClusterColumns);
  std::optional<ClusterRow> out;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) {
    pqxx::result r = pg::ExecParams(tx, sql, params);
    if (!r.empty()) out = ClusterFromRow(r[0]);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (!out) return ClusterNotFound(cluster_id);
  return *out;
}

absl::StatusOr<int64_t> PgClusterStore::DeleteCluster(const std::string& caller_tenant,
                                                      const std::string& cluster_id) {
  int64_t active = 0;
  bool found = false;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) {
    active = tx.exec_params1(
                   "SELECT count(*) FROM control.agent_tokens WHERE tenant_id = $1 AND "
                   "cluster_id = $2 AND revoked_at IS NULL",
                   caller_tenant, cluster_id)[0]
                 .as<int64_t>();
    // The foreign key deletes the cluster's agent tokens with it.
    found = !tx.exec_params(
                   "DELETE FROM control.clusters WHERE tenant_id = $1 AND cluster_id = $2 "
                   "RETURNING cluster_id",
                   caller_tenant, cluster_id)
                 .empty();
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (!found) return ClusterNotFound(cluster_id);
  return active;
}

absl::StatusOr<AgentTokenRow> PgClusterStore::CreateAgentToken(const std::string& caller_tenant,
                                                               const std::string& cluster_id,
                                                               const std::string& token_id,
                                                               const std::string& display_name,
                                                               const std::string& token_sha256) {
  std::optional<AgentTokenRow> out;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        absl::StrCat("INSERT INTO control.agent_tokens (tenant_id, cluster_id, token_id, "
                     "display_name, token_sha256) SELECT tenant_id, cluster_id, $3, $4, $5 FROM "
                     "control.clusters WHERE tenant_id = $1 AND cluster_id = $2 RETURNING ",
                     TokenColumns()),
        caller_tenant, cluster_id, token_id, display_name, token_sha256);
    if (!r.empty()) out = TokenFromRow(r[0]);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (!out) return ClusterNotFound(cluster_id);
  return *out;
}

absl::StatusOr<Page<AgentTokenRow>> PgClusterStore::ListAgentTokens(
    const std::string& caller_tenant, const std::string& cluster_id, const ListQuery& query) {
  static const auto* order =
      new std::vector<aip::OrderField>(*aip::ParseOrderBy("create_time", TokenSchema(), "token_id"));
  std::string sql = absl::StrCat("SELECT ", TokenColumns(),
                                 " FROM control.agent_tokens WHERE tenant_id = $1 AND "
                                 "cluster_id = $2");
  std::vector<std::string> params = {caller_tenant, cluster_id};
  RETURN_IF_ERROR(
      aip::AppendKeysetPage(*order, TokenSchema(), query.cursor, query.limit, sql, params));
  Page<AgentTokenRow> page;
  bool found = false;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) {
    page = {};
    found = ClusterExists(tx, caller_tenant, cluster_id);
    if (!found) return absl::OkStatus();
    pqxx::result r = pg::ExecParams(tx, sql, params);
    for (int i = 0; i < static_cast<int>(r.size()) && i < query.limit; ++i) {
      page.rows.push_back(TokenFromRow(r[i]));
      if (i == query.limit - 1 && static_cast<int>(r.size()) > query.limit) {
        page.next_cursor = {r[i][6].as<std::string>(), r[i][2].as<std::string>()};
      }
    }
    page.total = tx.exec_params1(
                       "SELECT count(*) FROM control.agent_tokens WHERE tenant_id = $1 AND "
                       "cluster_id = $2",
                       caller_tenant, cluster_id)[0]
                     .as<int64_t>();
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (!found) return ClusterNotFound(cluster_id);
  return page;
}

absl::StatusOr<AgentTokenRow> PgClusterStore::RevokeAgentToken(const std::string& caller_tenant,
                                                               const std::string& cluster_id,
                                                               const std::string& token_id) {
  std::optional<AgentTokenRow> out;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) {
    pqxx::result r = tx.exec_params(
        absl::StrCat("UPDATE control.agent_tokens SET revoked_at = coalesce(revoked_at, now()) "
                     "WHERE tenant_id = $1 AND cluster_id = $2 AND token_id = $3 RETURNING ",
                     TokenColumns()),
        caller_tenant, cluster_id, token_id);
    if (!r.empty()) out = TokenFromRow(r[0]);
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  if (!out) {
    return absl::NotFoundError(
        absl::StrCat("clusters/", cluster_id, "/agentTokens/", token_id, " not found"));
  }
  return *out;
}

absl::StatusOr<std::vector<std::string>> PgClusterStore::TenantIds() {
  std::vector<std::string> out;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) {
    out.clear();
    for (const auto& r : tx.exec("SELECT tenant_id FROM control.tenants ORDER BY tenant_id")) {
      out.push_back(r[0].as<std::string>());
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return out;
}

absl::StatusOr<RewrapCounts> PgClusterStore::RewrapKubeconfigs(
    const std::string& caller_tenant, const std::string& kek_id,
    const std::function<bool(const std::string&)>& needs,
    const std::function<absl::StatusOr<std::string>(const std::string&)>& rewrap) {
  RewrapCounts counts;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) -> absl::Status {
    counts = {};
    pqxx::result rows = tx.exec_params(
        "SELECT cluster_id, encode(kubeconfig_sealed, 'hex'), "
        "encode(kubeconfig_summary_sealed, 'hex') FROM control.clusters WHERE tenant_id = $1 "
        "AND kubeconfig_sealed IS NOT NULL ORDER BY cluster_id FOR UPDATE",
        caller_tenant);
    for (const auto& r : rows) {
      ++counts.clusters;
      std::string envelopes[2] = {absl::HexStringToBytes(r[1].as<std::string>()),
                                  absl::HexStringToBytes(r[2].as<std::string>())};
      bool changed = false;
      for (auto& e : envelopes) {
        if (!needs(e)) {
          ++counts.unchanged;
          continue;
        }
        ASSIGN_OR_RETURN(e, rewrap(e));
        ++counts.rewrapped;
        changed = true;
      }
      if (!changed) continue;
      tx.exec_params(
          "UPDATE control.clusters SET kubeconfig_sealed = decode($3, 'hex'), "
          "kubeconfig_summary_sealed = decode($4, 'hex'), kek_id = $5 "
          "WHERE tenant_id = $1 AND cluster_id = $2",
          caller_tenant, r[0].as<std::string>(), absl::BytesToHexString(envelopes[0]),
          absl::BytesToHexString(envelopes[1]), kek_id);
    }
    return absl::OkStatus();
  });
  if (!s.ok()) return s;
  return counts;
}

}  // namespace k8i::inventory

#include "services/inventory/cluster_service.h"

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "libs/aip/resource_name.h"
#include "libs/common/ids.h"
#include "libs/common/logging.h"
#include "libs/common/status_macros.h"
#include "libs/crypto/envelope.h"
#include "libs/grpcx/status.h"
#include "services/inventory/proto_util.h"

namespace k8i::inventory {
namespace {

namespace v1 = ::k8intel::v1;

const aip::ResourcePattern& Pattern(const char* text) {
  // Leaked on purpose: patterns live for the process.
  return *new aip::ResourcePattern(*aip::ResourcePattern::Create(text));
}
const aip::ResourcePattern& ClusterPattern() {
  static const auto& p = Pattern("clusters/{cluster}");
  return p;
}
const aip::ResourcePattern& TokenPattern() {
  static const auto& p = Pattern("clusters/{cluster}/agentTokens/{agent_token}");
  return p;
}
const aip::ResourcePattern& HealthPattern() {
  static const auto& p = Pattern("clusters/{cluster}/health");
  return p;
}

absl::Status Invalid(const std::string& field, const std::string& why) {
  return grpcx::InvalidArgumentWithViolations(absl::StrCat("invalid ", field), {{field, why}});
}

absl::StatusOr<std::string> ClusterId(const std::string& name, const char* field) {
  ASSIGN_OR_RETURN(auto vars, ClusterPattern().Parse(name, field));
  return vars["cluster"];
}

absl::Status ValidateDisplayName(const std::string& s) {
  if (s.size() > 100) return Invalid("cluster.display_name", "must be at most 100 characters");
  return absl::OkStatus();
}

bool IsLabelText(const std::string& s, bool allow_empty) {
  if (s.empty()) return allow_empty;
  if (s.size() > 63) return false;
  for (char c : s) {
    if (!absl::ascii_isalnum(c) && c != '-' && c != '_' && c != '.' && c != '/') return false;
  }
  return true;
}

absl::Status ValidateLabels(const google::protobuf::Map<std::string, std::string>& labels) {
  if (labels.size() > 64) return Invalid("cluster.labels", "at most 64 labels");
  for (const auto& [k, v] : labels) {
    if (!IsLabelText(k, false) || !IsLabelText(v, true)) {
      return Invalid("cluster.labels",
                     absl::StrCat("label \"", k.substr(0, 63),
                                  "\": keys 1..63 and values 0..63 characters of "
                                  "[A-Za-z0-9._/-]"));
    }
  }
  return absl::OkStatus();
}

std::map<std::string, std::string> Labels(const google::protobuf::Map<std::string, std::string>& m) {
  return {m.begin(), m.end()};
}

void TokenToProto(const AgentTokenRow& row, v1::AgentToken* out) {
  out->set_name(
      TokenPattern().Format({{"cluster", row.cluster_id}, {"agent_token", row.token_id}}));
  out->set_display_name(row.display_name);
  SetTime(row.created_at, out->mutable_create_time());
  if (row.revoked_at) SetTime(*row.revoked_at, out->mutable_revoke_time());
}

std::string AgentTokenDisplayName(const std::string& requested) {
  return requested.empty() ? "agent" : requested;
}

}  // namespace

bool IsValidClusterId(const std::string& id) {
  if (id.empty() || id.size() > 63 || !absl::ascii_islower(id[0])) return false;
  for (char c : id) {
    if (!absl::ascii_islower(c) && !absl::ascii_isdigit(c) && c != '-') return false;
  }
  return true;
}

absl::StatusOr<IssuedAgentToken> IssueAgentToken(PgClusterStore& store, const std::string& tenant,
                                                 const std::string& cluster,
                                                 const std::string& display_name) {
  // The token is opaque (no id inside): ingest finds it by its SHA-256.
  std::string token = absl::StrCat("k8i_agt_", RandomToken(32));
  ASSIGN_OR_RETURN(AgentTokenRow row, store.CreateAgentToken(tenant, cluster, NewId().substr(0, 16),
                                                             display_name, Sha256Hex(token)));
  return IssuedAgentToken{std::move(row), std::move(token)};
}

absl::StatusOr<RewrapCounts> RotateKubeconfigKeys(PgClusterStore& store,
                                                  const crypto::Keyring& keyring) {
  ASSIGN_OR_RETURN(std::vector<std::string> tenants, store.TenantIds());
  RewrapCounts total;
  for (const std::string& tenant : tenants) {
    ASSIGN_OR_RETURN(
        RewrapCounts c,
        store.RewrapKubeconfigs(
            tenant, keyring.ActiveId(),
            [&](const std::string& envelope) {
              auto id = crypto::EnvelopeKeyId(envelope);
              return !id.ok() || *id != keyring.ActiveId();
            },
            [&](const std::string& envelope) { return crypto::Rewrap(keyring, envelope); }));
    total.clusters += c.clusters;
    total.rewrapped += c.rewrapped;
    total.unchanged += c.unchanged;
  }
  return total;
}

void ClusterServiceImpl::Used(const auth::Principal& p) {
  if (deps_.keys != nullptr) deps_.keys->NoteUsedBy(p);
}

void ClusterServiceImpl::ToProto(const ClusterRow& row, v1::Cluster* out) const {
  out->set_name(ClusterPattern().Format({{"cluster", row.cluster_id}}));
  out->set_display_name(row.display_name);
  out->mutable_labels()->insert(row.labels.begin(), row.labels.end());
  SetTime(row.created_at, out->mutable_create_time());
  SetTime(row.updated_at, out->mutable_update_time());
  out->set_has_kubeconfig(row.kubeconfig_sealed.has_value());
  if (!row.summary_sealed) return;
  // Context and server are shown when the keyring can open them; a missing key only hides
  // them (the registration stays usable, and rotate-keys names the missing key).
  if (deps_.keyring == nullptr) return;
  auto summary =
      OpenKubeconfigSummary(*deps_.keyring, row.tenant_id, row.cluster_id, *row.summary_sealed);
  if (!summary.ok()) {
    Logger("inventory")->warn("cluster {}/{}: kubeconfig summary does not open: {}", row.tenant_id,
                              row.cluster_id, summary.status().ToString());
    return;
  }
  out->set_kubeconfig_context(summary->context);
  out->set_kubeconfig_server(summary->server);
}

absl::StatusOr<SealedKubeconfig> ClusterServiceImpl::Seal(const std::string& tenant,
                                                          const std::string& cluster,
                                                          const std::string& yaml) const {
  auto summary = ValidateKubeconfig(yaml);
  if (!summary.ok()) return Invalid("kubeconfig", std::string(summary.status().message()));
  if (deps_.keyring == nullptr) {
    return absl::FailedPreconditionError(
        "no keyring is configured, so kubeconfigs cannot be stored: set K8I_KEYRING_FILE (or "
        "K8I_KEYRING) on k8i-inventory, or register the cluster without a kubeconfig");
  }
  return SealKubeconfig(*deps_.keyring, tenant, cluster, yaml, *summary);
}

grpc::Status ClusterServiceImpl::CreateCluster(grpc::ServerContext* ctx,
                                               const v1::CreateClusterRequest* req,
                                               v1::CreateClusterResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  Used(principal);
  const std::string target = absl::StrCat("clusters/", req->cluster_id());
  absl::Status st = [&]() -> absl::Status {
    if (!IsValidClusterId(req->cluster_id())) {
      return Invalid("cluster_id", "must be 1..63 characters of [a-z0-9-], starting with a letter");
    }
    RETURN_IF_ERROR(ValidateDisplayName(req->cluster().display_name()));
    RETURN_IF_ERROR(ValidateLabels(req->cluster().labels()));
    ClusterRow row{.tenant_id = principal.tenant,
                   .cluster_id = req->cluster_id(),
                   .display_name = req->cluster().display_name(),
                   .labels = Labels(req->cluster().labels())};
    if (!req->kubeconfig().empty()) {
      ASSIGN_OR_RETURN(SealedKubeconfig sealed,
                       Seal(principal.tenant, req->cluster_id(), req->kubeconfig()));
      row.kubeconfig_sealed = std::move(sealed.kubeconfig);
      row.summary_sealed = std::move(sealed.summary);
      row.kek_id = sealed.kek_id;
    }
    ASSIGN_OR_RETURN(ClusterRow stored, deps_.store->CreateCluster(principal.tenant, row));
    ToProto(stored, resp->mutable_cluster());
    return absl::OkStatus();
  }();
  deps_.audit->Record(principal, ctx->peer(), "CreateCluster", target, st);
  return grpcx::ToGrpcStatus(st);
}

grpc::Status ClusterServiceImpl::GetCluster(grpc::ServerContext* ctx,
                                            const v1::GetClusterRequest* req,
                                            v1::GetClusterResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  Used(principal);
  absl::Status st = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string id, ClusterId(req->name(), "name"));
    ASSIGN_OR_RETURN(ClusterRow row, deps_.store->GetCluster(principal.tenant, id));
    ToProto(row, resp->mutable_cluster());
    return absl::OkStatus();
  }();
  return grpcx::ToGrpcStatus(st);
}

grpc::Status ClusterServiceImpl::ListClusters(grpc::ServerContext* ctx,
                                              const v1::ListClustersRequest* req,
                                              v1::ListClustersResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  Used(principal);
  absl::Status st = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(int size, aip::ValidatePageSize(req->page_size(), 100, 1000));
    const std::string order_text = req->order_by().empty() ? "name" : req->order_by();
    auto order = aip::ParseOrderBy(order_text, ClusterSchema(), "name");
    if (!order.ok()) return Invalid("order_by", std::string(order.status().message()));
    if (auto f = aip::CompileFilter(req->filter(), ClusterSchema()); !f.ok()) {
      return Invalid("filter", std::string(f.status().message()));
    }
    const std::string fp = aip::PageTokenCodec::QueryFingerprint(
        "ListClusters", principal.tenant, req->filter(), order_text);
    ASSIGN_OR_RETURN(auto cursor, Cursor(*deps_.page_tokens, req->page_token(), fp));
    auto page = deps_.store->ListClusters(principal.tenant, req->filter(), *order, {cursor, size});
    if (absl::IsInvalidArgument(page.status())) {
      return Invalid("page_token", std::string(page.status().message()));
    }
    if (!page.ok()) return page.status();
    for (const auto& row : page->rows) ToProto(row, resp->add_clusters());
    if (!page->next_cursor.empty()) {
      resp->set_next_page_token(deps_.page_tokens->Encode(fp, page->next_cursor));
    }
    resp->set_total_size(static_cast<int32_t>(page->total));
    return absl::OkStatus();
  }();
  return grpcx::ToGrpcStatus(st);
}

grpc::Status ClusterServiceImpl::UpdateCluster(grpc::ServerContext* ctx,
                                               const v1::UpdateClusterRequest* req,
                                               v1::UpdateClusterResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  Used(principal);
  absl::Status st = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string id, ClusterId(req->cluster().name(), "cluster.name"));
    std::vector<std::string> fields;
    for (absl::string_view f : absl::StrSplit(req->update_mask(), ',', absl::SkipWhitespace())) {
      fields.emplace_back(absl::StripAsciiWhitespace(f));
    }
    if (fields.empty()) {
      return Invalid("update_mask", "name the fields to change: display_name, labels, kubeconfig");
    }
    ClusterUpdate u;
    for (const std::string& f : fields) {
      if (f == "display_name") {
        RETURN_IF_ERROR(ValidateDisplayName(req->cluster().display_name()));
        u.display_name = req->cluster().display_name();
      } else if (f == "labels") {
        RETURN_IF_ERROR(ValidateLabels(req->cluster().labels()));
        u.labels = Labels(req->cluster().labels());
      } else if (f == "kubeconfig") {
        u.set_kubeconfig = true;
      } else {
        return Invalid("update_mask", absl::StrCat("unknown or read-only field \"", f,
                                                   "\" (display_name, labels, kubeconfig)"));
      }
    }
    // The cluster must be the caller's before anything is validated against it.
    RETURN_IF_ERROR(deps_.store->GetCluster(principal.tenant, id).status());
    if (u.set_kubeconfig && !req->kubeconfig().empty()) {
      ASSIGN_OR_RETURN(SealedKubeconfig sealed, Seal(principal.tenant, id, req->kubeconfig()));
      u.kubeconfig_sealed = std::move(sealed.kubeconfig);
      u.summary_sealed = std::move(sealed.summary);
      u.kek_id = sealed.kek_id;
    }
    ASSIGN_OR_RETURN(ClusterRow row, deps_.store->UpdateCluster(principal.tenant, id, u));
    ToProto(row, resp->mutable_cluster());
    return absl::OkStatus();
  }();
  deps_.audit->Record(principal, ctx->peer(), "UpdateCluster", req->cluster().name(), st);
  return grpcx::ToGrpcStatus(st);
}

grpc::Status ClusterServiceImpl::DeleteCluster(grpc::ServerContext* ctx,
                                               const v1::DeleteClusterRequest* req,
                                               v1::DeleteClusterResponse* /*resp*/) {
  K8I_AUTHORIZE(principal, ctx);
  Used(principal);
  absl::Status st = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string id, ClusterId(req->name(), "name"));
    ASSIGN_OR_RETURN(int64_t revoked, deps_.store->DeleteCluster(principal.tenant, id));
    Logger("inventory")->info("cluster {}/{} deleted; {} agent tokens revoked", principal.tenant,
                              id, revoked);
    return absl::OkStatus();
  }();
  deps_.audit->Record(principal, ctx->peer(), "DeleteCluster", req->name(), st);
  return grpcx::ToGrpcStatus(st);
}

grpc::Status ClusterServiceImpl::CreateAgentToken(grpc::ServerContext* ctx,
                                                  const v1::CreateAgentTokenRequest* req,
                                                  v1::CreateAgentTokenResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  Used(principal);
  std::string target = req->parent();
  absl::Status st = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string id, ClusterId(req->parent(), "parent"));
    const std::string& display = req->agent_token().display_name();
    if (display.size() > 100) {
      return Invalid("agent_token.display_name", "must be at most 100 characters");
    }
    ASSIGN_OR_RETURN(IssuedAgentToken issued,
                     IssueAgentToken(*deps_.store, principal.tenant, id,
                                     AgentTokenDisplayName(display)));
    TokenToProto(issued.row, resp->mutable_agent_token());
    resp->set_token(issued.token);
    target = resp->agent_token().name();
    return absl::OkStatus();
  }();
  deps_.audit->Record(principal, ctx->peer(), "CreateAgentToken", target, st);
  return grpcx::ToGrpcStatus(st);
}

grpc::Status ClusterServiceImpl::ListAgentTokens(grpc::ServerContext* ctx,
                                                 const v1::ListAgentTokensRequest* req,
                                                 v1::ListAgentTokensResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  Used(principal);
  absl::Status st = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(std::string id, ClusterId(req->parent(), "parent"));
    ASSIGN_OR_RETURN(int size, aip::ValidatePageSize(req->page_size(), 50, 500));
    const std::string fp =
        aip::PageTokenCodec::QueryFingerprint("ListAgentTokens", req->parent(), "", "");
    ASSIGN_OR_RETURN(auto cursor, Cursor(*deps_.page_tokens, req->page_token(), fp));
    ASSIGN_OR_RETURN(auto page, deps_.store->ListAgentTokens(principal.tenant, id, {cursor, size}));
    for (const auto& row : page.rows) TokenToProto(row, resp->add_agent_tokens());
    if (!page.next_cursor.empty()) {
      resp->set_next_page_token(deps_.page_tokens->Encode(fp, page.next_cursor));
    }
    resp->set_total_size(static_cast<int32_t>(page.total));
    return absl::OkStatus();
  }();
  return grpcx::ToGrpcStatus(st);
}

grpc::Status ClusterServiceImpl::RevokeAgentToken(grpc::ServerContext* ctx,
                                                  const v1::RevokeAgentTokenRequest* req,
                                                  v1::RevokeAgentTokenResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  Used(principal);
  absl::Status st = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(auto vars, TokenPattern().Parse(req->name(), "name"));
    ASSIGN_OR_RETURN(AgentTokenRow row,
                     deps_.store->RevokeAgentToken(principal.tenant, vars["cluster"],
                                                   vars["agent_token"]));
    TokenToProto(row, resp->mutable_agent_token());
    return absl::OkStatus();
  }();
  deps_.audit->Record(principal, ctx->peer(), "RevokeAgentToken", req->name(), st);
  return grpcx::ToGrpcStatus(st);
}

grpc::Status ClusterServiceImpl::GetClusterHealth(grpc::ServerContext* ctx,
                                                  const v1::GetClusterHealthRequest* req,
                                                  v1::GetClusterHealthResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  Used(principal);
  absl::Status st = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(auto vars, HealthPattern().Parse(req->name(), "name"));
    const std::string id = vars["cluster"];
    RETURN_IF_ERROR(deps_.store->GetCluster(principal.tenant, id).status());
    if (deps_.health_source == nullptr) {
      return absl::UnimplementedError("cluster health is not configured on this server");
    }
    ASSIGN_OR_RETURN(auto healths, deps_.health_source->Evaluate(principal.tenant, {id}));
    if (healths.size() != 1) {
      return absl::InternalError("health source returned the wrong number of results");
    }
    *resp->mutable_health() = std::move(healths[0]);
    resp->mutable_health()->set_name(req->name());
    return absl::OkStatus();
  }();
  return grpcx::ToGrpcStatus(st);
}

grpc::Status ClusterServiceImpl::ListClusterHealths(grpc::ServerContext* ctx,
                                                    const v1::ListClusterHealthsRequest* req,
                                                    v1::ListClusterHealthsResponse* resp) {
  K8I_AUTHORIZE(principal, ctx);
  Used(principal);
  absl::Status st = [&]() -> absl::Status {
    ASSIGN_OR_RETURN(int size, aip::ValidatePageSize(req->page_size(), 100, 1000));
    if (deps_.health_source == nullptr) {
      return absl::UnimplementedError("cluster health is not configured on this server");
    }
    static const auto* order =
        new std::vector<aip::OrderField>(*aip::ParseOrderBy("name", ClusterSchema(), "name"));
    const std::string fp =
        aip::PageTokenCodec::QueryFingerprint("ListClusterHealths", principal.tenant, "", "name");
    ASSIGN_OR_RETURN(auto cursor, Cursor(*deps_.page_tokens, req->page_token(), fp));
    ASSIGN_OR_RETURN(auto page,
                     deps_.store->ListClusters(principal.tenant, "", *order, {cursor, size}));
    std::vector<std::string> ids;
    for (const auto& row : page.rows) ids.push_back(row.cluster_id);
    std::vector<v1::ClusterHealth> healths;
    if (!ids.empty()) {
      ASSIGN_OR_RETURN(healths, deps_.health_source->Evaluate(principal.tenant, ids));
    }
    if (healths.size() != ids.size()) {
      return absl::InternalError("health source returned the wrong number of results");
    }
    for (size_t i = 0; i < ids.size(); ++i) {
      healths[i].set_name(HealthPattern().Format({{"cluster", ids[i]}}));
      *resp->add_healths() = std::move(healths[i]);
    }
    if (!page.next_cursor.empty()) {
      resp->set_next_page_token(deps_.page_tokens->Encode(fp, page.next_cursor));
    }
    resp->set_total_size(static_cast<int32_t>(page.total));
    return absl::OkStatus();
  }();
  return grpcx::ToGrpcStatus(st);
}

}  // namespace k8i::inventory

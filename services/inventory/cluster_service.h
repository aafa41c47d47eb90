// ClusterServiceImpl: k8intel.v1.ClusterService — a tenant's registered clusters (kubeconfigs
// validated and sealed, never returned), their agent tokens and their health (delegated to a
// ClusterHealthSource). Every handler starts with K8I_AUTHORIZE and scopes every store call by
// the caller's tenant; changes are audited.
#pragma once

#include <string>

#include "k8intel/v1/cluster.grpc.pb.h"
#include "libs/aip/paging.h"
#include "libs/crypto/keyring.h"
#include "services/inventory/auth_setup.h"
#include "services/inventory/core/kubeconfig.h"
#include "services/inventory/health/health_source.h"
#include "services/inventory/store/pg_api_key_store.h"
#include "services/inventory/store/pg_cluster_store.h"

namespace k8i::inventory {

// IssuedAgentToken is a token just stored: its row and the full token, shown once.
struct IssuedAgentToken {
  AgentTokenRow row;
  std::string token;
};

// IssueAgentToken generates a token for a registered cluster of `tenant` and stores its
// SHA-256 (used by CreateAgentToken and the `create-agent-token` command). NotFound when the
// cluster is not registered.
absl::StatusOr<IssuedAgentToken> IssueAgentToken(PgClusterStore& store, const std::string& tenant,
                                                 const std::string& cluster,
                                                 const std::string& display_name);

// RotateKubeconfigKeys re-wraps the data key of every stored kubeconfig envelope (all tenants,
// one transaction per tenant) that is not under the keyring's active KEK, leaving the data
// ciphertext unchanged. Idempotent: a second run re-wraps nothing. FailedPrecondition naming the
// key id when an envelope's KEK is not in the keyring (nothing of that tenant is changed).
absl::StatusOr<RewrapCounts> RotateKubeconfigKeys(PgClusterStore& store,
                                                  const crypto::Keyring& keyring);

// IsValidClusterId: 1..63 characters of [a-z0-9-], starting with a letter.
bool IsValidClusterId(const std::string& id);

// What ClusterServiceImpl uses; pointers are not owned and must outlive it.
struct ClusterServiceDeps {
  PgClusterStore* store = nullptr;
  PgApiKeyStore* keys = nullptr;
  AuditLog* audit = nullptr;
  const aip::PageTokenCodec* page_tokens = nullptr;
  // Seals kubeconfigs. Null: no keyring configured — registering a kubeconfig is
  // FAILED_PRECONDITION, everything else works.
  const crypto::Keyring* keyring = nullptr;
  // Answers GetClusterHealth / ListClusterHealths. Null: those are UNIMPLEMENTED.
  ClusterHealthSource* health_source = nullptr;
};

// ClusterServiceImpl is thread-safe.
class ClusterServiceImpl final : public k8intel::v1::ClusterService::Service {
 public:
  explicit ClusterServiceImpl(ClusterServiceDeps deps) : deps_(deps) {}

  grpc::Status CreateCluster(grpc::ServerContext* ctx, const k8intel::v1::CreateClusterRequest* req,
                             k8intel::v1::CreateClusterResponse* resp) override;
  grpc::Status GetCluster(grpc::ServerContext* ctx, const k8intel::v1::GetClusterRequest* req,
                          k8intel::v1::GetClusterResponse* resp) override;
  grpc::Status ListClusters(grpc::ServerContext* ctx, const k8intel::v1::ListClustersRequest* req,
                            k8intel::v1::ListClustersResponse* resp) override;
  grpc::Status UpdateCluster(grpc::ServerContext* ctx, const k8intel::v1::UpdateClusterRequest* req,
                             k8intel::v1::UpdateClusterResponse* resp) override;
  grpc::Status DeleteCluster(grpc::ServerContext* ctx, const k8intel::v1::DeleteClusterRequest* req,
                             k8intel::v1::DeleteClusterResponse* resp) override;
  grpc::Status CreateAgentToken(grpc::ServerContext* ctx,
                                const k8intel::v1::CreateAgentTokenRequest* req,
                                k8intel::v1::CreateAgentTokenResponse* resp) override;
  grpc::Status ListAgentTokens(grpc::ServerContext* ctx,
                               const k8intel::v1::ListAgentTokensRequest* req,
                               k8intel::v1::ListAgentTokensResponse* resp) override;
  grpc::Status RevokeAgentToken(grpc::ServerContext* ctx,
                                const k8intel::v1::RevokeAgentTokenRequest* req,
                                k8intel::v1::RevokeAgentTokenResponse* resp) override;
  grpc::Status GetClusterHealth(grpc::ServerContext* ctx,
                                const k8intel::v1::GetClusterHealthRequest* req,
                                k8intel::v1::GetClusterHealthResponse* resp) override;
  grpc::Status ListClusterHealths(grpc::ServerContext* ctx,
                                  const k8intel::v1::ListClusterHealthsRequest* req,
                                  k8intel::v1::ListClusterHealthsResponse* resp) override;

 private:
  void Used(const auth::Principal& p);
  // ToProto fills the output fields, opening the summary envelope for context and server.
  void ToProto(const ClusterRow& row, k8intel::v1::Cluster* out) const;
  // Seal validates and seals a kubeconfig for `tenant`/`cluster`.
  absl::StatusOr<SealedKubeconfig> Seal(const std::string& tenant, const std::string& cluster,
                                        const std::string& yaml) const;

  ClusterServiceDeps deps_;
};

}  // namespace k8i::inventory

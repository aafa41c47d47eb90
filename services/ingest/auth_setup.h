// Authentication for ingest: agent tokens (bound to one tenant and cluster) through the shared
// auth interceptor, and the policy table for every ingest RPC (fail closed).
#pragma once

#include "libs/auth/authenticator.h"
#include "libs/auth/policy.h"
#include "services/ingest/core/ports.h"

namespace k8i::ingest {

// IngestPolicy: IngestService methods for agents only; health public; reflection for admins.
const auth::Policy& IngestPolicy();

// AgentTokens adapts a TokenStore to the auth library: subject "agent:<cluster>", credential id
// the cluster id (an agent token is bound to exactly one). Thread-safe; borrows `tokens`.
class AgentTokens final : public auth::AgentTokenVerifier {
 public:
  explicit AgentTokens(TokenStore* tokens) : tokens_(tokens) {}
  absl::StatusOr<auth::Principal> Verify(absl::string_view token) override;

 private:
  TokenStore* tokens_;
};

// IdentityOf maps an agent Principal back to the ingest identity.
inline AgentIdentity IdentityOf(const auth::Principal& p) { return {p.tenant, p.credential_id}; }

}  // namespace k8i::ingest

#include "libs/auth/authenticator.h"

#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/auth/api_key.h"

namespace k8i::auth {

void InMemoryApiKeyStore::Put(const std::string& key_id, ApiKeyRecord record) {
  absl::MutexLock lock(&mu_);
  records_[key_id] = std::move(record);
}

absl::StatusOr<ApiKeyRecord> InMemoryApiKeyStore::FindByKeyId(absl::string_view key_id) {
  absl::MutexLock lock(&mu_);
  auto it = records_.find(std::string(key_id));
  if (it == records_.end()) return absl::NotFoundError(absl::StrCat("no API key ", key_id));
  return it->second;
}

CredentialAuthenticator::CredentialAuthenticator(CredentialAuthenticatorOptions options)
    : options_(std::move(options)) {}

absl::StatusOr<Principal> CredentialAuthenticator::Authenticate(
    absl::string_view authorization_header) {
  absl::string_view h = absl::StripAsciiWhitespace(authorization_header);
  if (h.empty()) {
    return absl::UnauthenticatedError(
        "missing credentials: send `authorization: Bearer <API key or token>`");
  }
  if (!absl::StartsWithIgnoreCase(h, "bearer ")) {
    return absl::UnauthenticatedError("authorization must use the Bearer scheme");
  }
  absl::string_view credential = absl::StripLeadingAsciiWhitespace(h.substr(7));
  if (credential.empty()) return absl::UnauthenticatedError("empty bearer credential");
  // Agent tokens are "k8i_agt_<secret>"; API keys are "k8i_<keyid>_<secret>".
  const bool agent_token = absl::StartsWith(credential, kAgentTokenPrefix);
  if (!agent_token && absl::StartsWith(credential, "k8i_")) return ApiKey(credential);
  if (!agent_token && std::count(credential.begin(), credential.end(), '.') == 2) {
    return Jwt(credential);
  }
  if (options_.agents == nullptr) {
    return absl::UnauthenticatedError("unrecognized credential (not an API key or a JWT)");
  }
  absl::StatusOr<Principal> p = options_.agents->Verify(credential);
  if (p.ok() && p->role != Role::kAgent) {
    return absl::InternalError("agent token verifier returned a non-agent principal");
  }
  return p;
}

absl::StatusOr<Principal> CredentialAuthenticator::ApiKey(absl::string_view credential) {
  if (options_.api_keys == nullptr) {
    return absl::UnauthenticatedError("API keys are not accepted by this service");
  }
  auto parsed = ParseApiKey(credential);
  if (!parsed.ok()) return absl::UnauthenticatedError(parsed.status().message());
  auto record = options_.api_keys->FindByKeyId(parsed->key_id);
  if (absl::IsNotFound(record.status())) {
    return absl::UnauthenticatedError(absl::StrCat("unknown API key ", parsed->key_id));
  }
  if (!record.ok()) return record.status();
  // Verify the secret before looking at revocation, so the answer for a revoked key does not
  // leak to someone who only knows its (public) id.
  if (!VerifyApiKeySecret(parsed->secret, record->hash)) {
    return absl::UnauthenticatedError(absl::StrCat("wrong secret for API key ", parsed->key_id));
  }
  if (record->revoked) {
    return absl::UnauthenticatedError(absl::StrCat("API key ", parsed->key_id, " is revoked"));
  }
  if (record->role == Role::kNone || record->role == Role::kAgent) {
    return absl::PermissionDeniedError(
        absl::StrCat("API key ", parsed->key_id, " has no usable role"));
  }
  Principal p;
  p.subject = record->name.empty() ? absl::StrCat("apikey:", parsed->key_id)
                                   : absl::StrCat("apikey:", record->name);
  p.tenant = record->tenant;
  p.role = record->role;
  p.credential_id = parsed->key_id;
  return p;
}

absl::StatusOr<Principal> CredentialAuthenticator::Jwt(absl::string_view credential) {
  if (options_.jwt == nullptr) {
    return absl::UnauthenticatedError("SSO tokens are not accepted by this service");
  }
  auto claims = options_.jwt->Verify(credential);
  if (!claims.ok()) return claims.status();
  Principal p;
  p.subject = claims->subject;
  p.tenant = claims->tenant.empty() ? options_.jwt_default_tenant : claims->tenant;
  if (p.tenant.empty()) {
    return absl::UnauthenticatedError("token names no tenant and no default tenant is set");
  }
  std::optional<Role> bound;
  if (options_.roles != nullptr) {
    auto r = options_.roles->RoleOf(p.tenant, p.subject);
    if (!r.ok()) {
      return absl::UnavailableError(absl::StrCat("role directory: ", r.status().message()));
    }
    bound = *r;
  }
  if (bound.has_value()) {
    if (*bound != Role::kAgent) p.role = *bound;
  } else {
    for (const std::string& name : claims->roles) {
      auto r = ParseRole(name);
      if (!r.ok() || *r == Role::kAgent) continue;
      if (static_cast<int>(*r) > static_cast<int>(p.role)) p.role = *r;
    }
  }
  if (p.role == Role::kNone) {
    return absl::PermissionDeniedError(absl::StrCat(
        "token of ", p.subject, " grants no k8intel role (viewer, operator or admin)"));
  }
  p.credential_id = absl::StrCat("jwt:", claims->issuer);
  return p;
}

}  // namespace k8i::auth

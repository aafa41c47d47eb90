// JwtVerifier: verifies signed JWTs (RFC 7519, JWS compact serialization RFC 7515) from an
// SSO identity provider with RS256, ES256 or HS256, checks the registered claims, and maps the
// rest to the caller's subject, tenant and roles. Written on OpenSSL 3; no JWT library.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "absl/time/time.h"
#include "libs/auth/jwks.h"
#include "libs/common/clock.h"

namespace k8i::auth {

struct JwtOptions {
  // Required "iss" value; empty accepts any issuer (not recommended outside tests).
  std::string issuer;
  // The token's "aud" (string or array) must contain one of these; empty skips the check.
  std::vector<std::string> audiences;
  // Tolerated clock skew for exp, nbf and iat.
  absl::Duration leeway = absl::Seconds(60);
  // Tokens without "exp" are rejected unless this is false.
  bool require_exp = true;
  // Claim holding the tenant id (string) and the role names (array of strings, or one string).
  std::string tenant_claim = "tenant";
  std::string roles_claim = "roles";
  // Time source; must outlive the verifier. Null means the real clock.
  const Clock* clock = nullptr;
};

// JwtClaims is what a verified token says about its caller.
struct JwtClaims {
  std::string subject;             // "sub"
  std::string issuer;              // "iss"
  std::string tenant;              // options.tenant_claim; empty when absent
  std::vector<std::string> roles;  // options.roles_claim; empty when absent
  absl::Time expires = absl::InfiniteFuture();
};

// JwtVerifier is immutable and thread-safe.
class JwtVerifier {
 public:
  JwtVerifier(JwtOptions options, Jwks keys);

  // Verify checks `token` (compact JWS, no "Bearer " prefix) and returns its claims. Every
  // failure is Unauthenticated with the precise reason: malformed token, base64url or JSON;
  // unsupported or "none" alg; "crit" header; unknown kid; alg not matching the key type
  // (e.g. HS256 against an RSA key); bad signature; expired; not yet valid; issued in the
  // future; wrong issuer; wrong audience; missing sub.
  absl::StatusOr<JwtClaims> Verify(absl::string_view token) const;

 private:
  JwtOptions options_;
  Jwks keys_;
};

}  // namespace k8i::auth

// JSON Web Keys (RFC 7517) for verifying JWT signatures: RSA (RS256), EC P-256 (ES256) and
// symmetric "oct" keys (HS256), parsed into OpenSSL 3 EVP_PKEYs. A Jwks comes from an
// identity provider's jwks_uri document or from a shared HS256 secret.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

typedef struct evp_pkey_st EVP_PKEY;

namespace k8i::auth {

// Base64UrlDecode decodes RFC 4648 §5 base64url without padding, strictly: only [A-Za-z0-9-_],
// no '=', no whitespace, no impossible length, and unused trailing bits must be zero (so each
// value has exactly one encoding). InvalidArgument otherwise.
absl::StatusOr<std::string> Base64UrlDecode(absl::string_view in);
// Base64UrlEncode encodes without padding.
std::string Base64UrlEncode(absl::string_view in);

// Jwk is one verification key.
struct Jwk {
  enum class Type { kRsa, kEcP256, kOct };
  Type type = Type::kOct;
  std::string kid;                // may be empty
  std::string alg;                // the JWK's "alg" when given; then tokens must use it
  std::shared_ptr<EVP_PKEY> key;  // kRsa, kEcP256
  std::string secret;             // kOct
};

// Jwks is an immutable set of keys; thread-safe to share.
class Jwks {
 public:
  // Parse reads a JWKS document {"keys": [...]}. Keys with "use" other than "sig", and key
  // types or curves this verifier does not support, are skipped (an identity provider may
  // publish encryption keys too). A key that claims a supported type but is malformed (bad
  // base64url, RSA modulus under 2048 bits, EC point not on P-256, oct key under 32 bytes)
  // is an InvalidArgument naming its kid. No usable key at all is InvalidArgument.
  static absl::StatusOr<Jwks> Parse(absl::string_view json);
  // FromHmacSecret holds one HS256 key; the secret must be at least 32 bytes.
  static absl::StatusOr<Jwks> FromHmacSecret(absl::string_view secret, std::string kid = "");

  const std::vector<Jwk>& keys() const { return keys_; }

 private:
  std::vector<Jwk> keys_;
};

}  // namespace k8i::auth

// Test-only helpers to mint real JWTs: generate RSA and EC P-256 keys with OpenSSL, publish
// their public parts as JWKs, and sign compact JWS tokens with EVP_DigestSign (ES256
// signatures converted from DER to JOSE's raw r||s). Never linked into a production binary.
#pragma once

#include <memory>
#include <string>

#include "nlohmann/json.hpp"

typedef struct evp_pkey_st EVP_PKEY;

namespace k8i::auth::testing {

using PkeyPtr = std::shared_ptr<EVP_PKEY>;

// NewRsaKey generates an RSA key pair of `bits` bits; NewEcKey a P-256 key pair. Abort on
// OpenSSL failure.
PkeyPtr NewRsaKey(int bits = 2048);
PkeyPtr NewEcKey();

// PublicJwk returns the RFC 7517 public JWK of `key` (kty RSA or EC) with `kid` (and "alg"
// when non-empty).
nlohmann::json PublicJwk(EVP_PKEY* key, const std::string& kid, const std::string& alg = "");

// Sign returns header.payload.signature. `alg` is RS256 / ES256 (signed with `key`), HS256
// (signed with `secret`) or anything else (signature part empty, e.g. "none").
std::string Sign(const nlohmann::json& header, const nlohmann::json& payload, EVP_PKEY* key,
                 const std::string& secret = "");

}  // namespace k8i::auth::testing

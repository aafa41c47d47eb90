// API keys for people and automation: `k8i_<keyid>_<secret>`. The key id (12 characters of
// [a-z0-9]) is public and looks the key up; the secret is 32 random bytes in base64url (43
// characters). Only SHA-256(secret) is stored: the secret has 256 bits of entropy, so a plain
// hash cannot be brute-forced and needs no salt, pepper or slow KDF (which would cost a KDF
// run per request). Compare with VerifyApiKeySecret (constant time).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace k8i::auth {

inline constexpr size_t kApiKeyIdChars = 12;

// NewApiKey is a freshly generated key. `key` is shown to the user once and never stored.
struct NewApiKey {
  std::string key_id;  // public, stored in clear, unique
  std::string key;     // "k8i_<key_id>_<secret>"
  std::string hash;    // lowercase hex SHA-256 of the secret; store this
};

// GenerateApiKey draws a key id and a secret from OpenSSL's CSPRNG. Thread-safe.
NewApiKey GenerateApiKey();

// ParsedApiKey is a syntactically valid presented key.
struct ParsedApiKey {
  std::string key_id;
  std::string secret;
};

// ParseApiKey splits `key` ("k8i_<id>_<secret>", optionally after "Bearer ") and checks the
// shapes. InvalidArgument saying what is wrong; the message never contains the secret.
absl::StatusOr<ParsedApiKey> ParseApiKey(absl::string_view key);

// HashApiKeySecret returns the stored form of `secret` (lowercase hex SHA-256).
std::string HashApiKeySecret(absl::string_view secret);

// VerifyApiKeySecret reports whether `secret` hashes to `stored_hash`, in time independent of
// where they differ (CRYPTO_memcmp over equal-length digests).
bool VerifyApiKeySecret(absl::string_view secret, absl::string_view stored_hash);

}  // namespace k8i::auth

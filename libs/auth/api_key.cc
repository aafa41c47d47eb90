#include "libs/auth/api_key.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "libs/common/check.h"
#include "libs/common/ids.h"
#include "openssl/crypto.h"
#include "openssl/rand.h"

namespace k8i::auth {
namespace {

constexpr absl::string_view kPrefix = "k8i_";
constexpr size_t kSecretChars = 43;  // base64url of 32 bytes, no padding
constexpr char kIdAlphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789";

bool IsIdChar(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool IsB64UrlChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '_';
}

std::string RandomKeyId() {
  // 36^12 ≈ 2^62 ids; rejection sampling keeps the draw uniform.
  std::string id;
  while (id.size() < kApiKeyIdChars) {
    unsigned char b[16];
    K8I_CHECK(RAND_bytes(b, sizeof(b)) == 1, "RAND_bytes failed");
    for (unsigned char x : b) {
      if (x < 252 && id.size() < kApiKeyIdChars) id.push_back(kIdAlphabet[x % 36]);
    }
  }
  return id;
}

}  // namespace

NewApiKey GenerateApiKey() {
  NewApiKey k;
  k.key_id = RandomKeyId();
  std::string secret = RandomToken(32);
  k.key = absl::StrCat(kPrefix, k.key_id, "_", secret);
  k.hash = HashApiKeySecret(secret);
  OPENSSL_cleanse(secret.data(), secret.size());
  return k;
}

absl::StatusOr<ParsedApiKey> ParseApiKey(absl::string_view key) {
  if (absl::StartsWithIgnoreCase(key, "bearer ")) key.remove_prefix(7);
  if (!absl::StartsWith(key, kPrefix)) {
    return absl::InvalidArgumentError("API key does not start with k8i_");
  }
  key.remove_prefix(kPrefix.size());
  if (key.size() != kApiKeyIdChars + 1 + kSecretChars || key[kApiKeyIdChars] != '_') {
    return absl::InvalidArgumentError(
        "API key has the wrong length; expected k8i_<12-character id>_<43-character secret>");
  }
  ParsedApiKey out;
  out.key_id = std::string(key.substr(0, kApiKeyIdChars));
  for (char c : out.key_id) {
    if (!IsIdChar(c)) return absl::InvalidArgumentError("API key id has invalid characters");
  }
  absl::string_view secret = key.substr(kApiKeyIdChars + 1);
  for (char c : secret) {
    if (!IsB64UrlChar(c)) {
      return absl::InvalidArgumentError(
          absl::StrCat("API key ", out.key_id, ": secret has invalid characters"));
    }
  }
  out.secret = std::string(secret);
  return out;
}

std::string HashApiKeySecret(absl::string_view secret) {
  return Sha256Hex(std::string_view(secret.data(), secret.size()));
}

bool VerifyApiKeySecret(absl::string_view secret, absl::string_view stored_hash) {
  const std::string got = HashApiKeySecret(secret);
  if (got.size() != stored_hash.size()) return false;
  return CRYPTO_memcmp(got.data(), stored_hash.data(), got.size()) == 0;
}

}  // namespace k8i::auth

#include "libs/common/ids.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>

#include <cstring>

#include "libs/common/check.h"
#include "absl/strings/escaping.h"

namespace k8i {

std::string NewId() {
  unsigned char buf[16];
  K8I_CHECK(RAND_bytes(buf, sizeof buf) == 1, "OpenSSL RAND_bytes failed");
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(buf), sizeof buf));
}

std::string RandomToken(int bytes) {
  std::string buf(bytes, '\0');
  K8I_CHECK(RAND_bytes(reinterpret_cast<unsigned char*>(buf.data()), bytes) == 1, "OpenSSL RAND_bytes failed");
  std::string out;
  absl::WebSafeBase64Escape(buf, &out);
  return out;
}

std::string Sha256Hex(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(md), sizeof md));
}

std::string HmacSha256(std::string_view key, std::string_view data) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), md, &len);
  return std::string(reinterpret_cast<char*>(md), len);
}

std::string HmacSha256Hex(std::string_view key, std::string_view data) {
  return absl::BytesToHexString(HmacSha256(key, data));
}

bool ConstantTimeEquals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

int64_t StableId64(std::string_view data) {
  unsigned char md[SHA256_DIGEST_LENGTH];
  SHA256(reinterpret_cast<const unsigned char*>(data.data()), data.size(), md);
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | md[i];
  return static_cast<int64_t>(v & 0x7fffffffffffffffULL);
}

}  // namespace k8i

// Keyring: the key-encryption keys (KEKs) that wrap per-record data keys in envelope
// encryption (envelope.h). Each KEK is 32 bytes (AES-256) under a short id; one is active and
// seals new envelopes, the others only open old ones, so keys rotate without downtime and an
// operator can bring their own keys (BYOK). Text format and rotation: libs/crypto/README.md.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace k8i::crypto {

inline constexpr size_t kKekBytes = 32;

// Keyring holds KEKs by id. Immutable after loading, so thread-safe to share; movable, not
// copyable; the key bytes are wiped (OPENSSL_cleanse) on destruction.
class Keyring {
 public:
  // FromString parses keyring text: one `keyid:base64key` per line (standard base64, padding
  // optional), `#` comments and blank lines ignored, `,` also separates entries (for env
  // variables). A leading `*` marks the active key; without one the first key is active.
  // InvalidArgument naming the line and the problem: bad id (1-64 of [A-Za-z0-9._-]), bad
  // base64, key not 32 bytes, duplicate id, two keys marked active, or no key at all.
  static absl::StatusOr<Keyring> FromString(absl::string_view text);
  // FromFile reads `path` and parses it as FromString. NotFound / PermissionDenied when the
  // file cannot be read; InvalidArgument (prefixed with the path) when it does not parse.
  static absl::StatusOr<Keyring> FromFile(const std::string& path);
  // FromEnv reads the environment variable `name` (FromString format). NotFound when unset.
  static absl::StatusOr<Keyring> FromEnv(const char* name);

  Keyring(Keyring&&) = default;
  Keyring& operator=(Keyring&&) = default;
  Keyring(const Keyring&) = delete;
  Keyring& operator=(const Keyring&) = delete;
  ~Keyring();

  // ActiveId returns the id of the key that seals new envelopes.
  const std::string& ActiveId() const { return active_id_; }
  // Find returns the 32 key bytes of `id`, or nullptr when the keyring does not hold it.
  const std::string* Find(absl::string_view id) const;
  // Ids returns every key id, sorted.
  std::vector<std::string> Ids() const;

 private:
  Keyring() = default;
  std::map<std::string, std::string> keys_;
  std::string active_id_;
};

// LoadConfiguredKeyring reads the keyring a service is configured with: K8I_KEYRING_FILE's
// file (`file`) or K8I_KEYRING's text (`text`); nullptr when neither is set. InvalidArgument
// naming the variable (never key bytes) when it does not parse, or when both are set.
absl::StatusOr<std::unique_ptr<Keyring>> LoadConfiguredKeyring(const std::string& file,
                                                               const std::string& text);

}  // namespace k8i::crypto

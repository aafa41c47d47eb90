#include "libs/crypto/keyring.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "absl/strings/ascii.h"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "openssl/crypto.h"

namespace k8i::crypto {
namespace {

bool ValidKeyId(absl::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  for (char c : id) {
    if (!absl::ascii_isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '_' && c != '-') {
      return false;
    }
  }
  return true;
}

}  // namespace

Keyring::~Keyring() {
  for (auto& [id, key] : keys_) OPENSSL_cleanse(key.data(), key.size());
}

absl::StatusOr<Keyring> Keyring::FromString(absl::string_view text) {
  Keyring ring;
  bool marked = false;
  int entry = 0;
  for (absl::string_view raw : absl::StrSplit(text, absl::ByAnyChar("\n,"))) {
    absl::string_view line = absl::StripAsciiWhitespace(raw);
    if (line.empty() || line.front() == '#') continue;
    ++entry;
    bool active = false;
    if (line.front() == '*') {
      active = true;
      line = absl::StripLeadingAsciiWhitespace(line.substr(1));
    }
    const size_t colon = line.find(':');
    if (colon == absl::string_view::npos) {
      return absl::InvalidArgumentError(
          absl::StrCat("keyring entry ", entry, ": expected `keyid:base64key`"));
    }
    const std::string id(absl::StripAsciiWhitespace(line.substr(0, colon)));
    if (!ValidKeyId(id)) {
      return absl::InvalidArgumentError(absl::StrCat("keyring entry ", entry, ": key id '", id,
                                                     "' must be 1-64 of [A-Za-z0-9._-]"));
    }
    std::string key;
    if (!absl::Base64Unescape(absl::StripAsciiWhitespace(line.substr(colon + 1)), &key)) {
      return absl::InvalidArgumentError(
          absl::StrCat("keyring entry ", entry, " (key '", id, "'): key is not valid base64"));
    }
    if (key.size() != kKekBytes) {
      const size_t n = key.size();
      OPENSSL_cleanse(key.data(), key.size());
      return absl::InvalidArgumentError(absl::StrCat("keyring entry ", entry, " (key '", id,
                                                     "'): key is ", n, " bytes, want ", kKekBytes,
                                                     " (AES-256)"));
    }
    if (ring.keys_.count(id) != 0) {
      OPENSSL_cleanse(key.data(), key.size());
      return absl::InvalidArgumentError(
          absl::StrCat("keyring entry ", entry, ": duplicate key id '", id, "'"));
    }
    if (active) {
      if (marked) {
        return absl::InvalidArgumentError(
            absl::StrCat("keyring entry ", entry, ": key '", id, "' is marked active (*) but '",
                         ring.active_id_, "' already is; mark exactly one"));
      }
      marked = true;
      ring.active_id_ = id;
    } else if (ring.active_id_.empty()) {
      ring.active_id_ = id;
    }
    ring.keys_.emplace(id, std::move(key));
  }
  if (ring.keys_.empty()) return absl::InvalidArgumentError("keyring holds no key");
  return ring;
}

absl::StatusOr<Keyring> Keyring::FromFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return absl::NotFoundError(absl::StrCat("cannot read keyring file ", path));
  }
  std::stringstream buf;
  buf << in.rdbuf();
  std::string text = buf.str();
  absl::StatusOr<Keyring> ring = FromString(text);
  OPENSSL_cleanse(text.data(), text.size());
  if (!ring.ok()) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", ring.status().message()));
  }
  return ring;
}

absl::StatusOr<Keyring> Keyring::FromEnv(const char* name) {
  const char* v = std::getenv(name);
  if (v == nullptr) return absl::NotFoundError(absl::StrCat("$", name, " is not set"));
  absl::StatusOr<Keyring> ring = FromString(v);
  if (!ring.ok()) {
    return absl::InvalidArgumentError(absl::StrCat("$", name, ": ", ring.status().message()));
  }
  return ring;
}

const std::string* Keyring::Find(absl::string_view id) const {
  auto it = keys_.find(std::string(id));
  return it == keys_.end() ? nullptr : &it->second;
}

std::vector<std::string> Keyring::Ids() const {
  std::vector<std::string> out;
  for (const auto& [id, key] : keys_) out.push_back(id);
  return out;
}

absl::StatusOr<std::unique_ptr<Keyring>> LoadConfiguredKeyring(const std::string& file,
                                                               const std::string& text) {
  if (!file.empty() && !text.empty()) {
    return absl::InvalidArgumentError(
        "invalid configuration: K8I_KEYRING_FILE and K8I_KEYRING are exclusive");
  }
  if (file.empty() && text.empty()) return std::unique_ptr<Keyring>();
  auto k = !file.empty() ? Keyring::FromFile(file) : Keyring::FromString(text);
  if (!k.ok()) {
    // The keyring parser names entries, never key bytes.
    return absl::InvalidArgumentError(absl::StrCat("invalid configuration: ",
                                                   !file.empty() ? "K8I_KEYRING_FILE" : "K8I_KEYRING",
                                                   ": ", k.status().message()));
  }
  return std::make_unique<Keyring>(*std::move(k));
}

}  // namespace k8i::crypto

#include "libs/crypto/envelope.h"

#include <memory>

#include "absl/strings/str_cat.h"
#include "openssl/crypto.h"
#include "openssl/evp.h"
#include "openssl/rand.h"

namespace k8i::crypto {
namespace {

// Envelope v1, all integers big-endian:
//   "K8E" 0x01 | u8 kek_id_len | kek_id | wrap_nonce[12] | wrapped_dek[32] | wrap_tag[16]
//   | data_nonce[12] | ciphertext[n] | data_tag[16]
// The DEK wrap authenticates kWrapAad + kek_id; the data authenticates kDataAad + the caller's
// associated data.
constexpr absl::string_view kMagic("K8E\x01", 4);
constexpr size_t kNonce = 12;
constexpr size_t kTag = 16;
constexpr size_t kDek = 32;
constexpr absl::string_view kWrapAad("k8i-envelope-v1/dek\0", 20);
constexpr absl::string_view kDataAad("k8i-envelope-v1/data\0", 21);

struct CtxFree {
  void operator()(EVP_CIPHER_CTX* c) const { EVP_CIPHER_CTX_free(c); }
};
using CtxPtr = std::unique_ptr<EVP_CIPHER_CTX, CtxFree>;

const unsigned char* U(absl::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

struct Parsed {
  absl::string_view kek_id, wrap_nonce, wrapped_dek, wrap_tag, data_nonce, ciphertext, data_tag;
};

absl::StatusOr<Parsed> Parse(absl::string_view env) {
  if (env.size() < kMagic.size() + 1 || env.substr(0, 3) != kMagic.substr(0, 3)) {
    return absl::DataLossError("not a k8intel envelope (bad magic)");
  }
  if (env[3] != kMagic[3]) {
    return absl::DataLossError(
        absl::StrCat("unsupported envelope version ", static_cast<int>(env[3])));
  }
  const size_t id_len = static_cast<unsigned char>(env[4]);
  const size_t fixed = 5 + id_len + kNonce + kDek + kTag + kNonce + kTag;
  if (id_len == 0 || env.size() < fixed) return absl::DataLossError("envelope is truncated");
  Parsed p;
  size_t at = 5;
  auto take = [&](size_t n) {
    absl::string_view out = env.substr(at, n);
    at += n;
    return out;
  };
  p.kek_id = take(id_len);
  p.wrap_nonce = take(kNonce);
  p.wrapped_dek = take(kDek);
  p.wrap_tag = take(kTag);
  p.data_nonce = take(kNonce);
  p.ciphertext = take(env.size() - fixed);
  p.data_tag = take(kTag);
  return p;
}

// GcmSeal encrypts with AES-256-GCM; writes ciphertext to `out` and the tag to `tag`.
absl::Status GcmSeal(absl::string_view key, absl::string_view nonce, absl::string_view aad1,
                     absl::string_view aad2, absl::string_view plaintext, std::string& out,
                     std::string& tag) {
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  out.resize(plaintext.size());
  tag.resize(kTag);
  unsigned char* o = reinterpret_cast<unsigned char*>(out.data());
  if (ctx == nullptr ||
      EVP_EncryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonce, nullptr) != 1 ||
      EVP_EncryptInit_ex(ctx.get(), nullptr, nullptr, U(key), U(nonce)) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, U(aad1), aad1.size()) != 1 ||
      EVP_EncryptUpdate(ctx.get(), nullptr, &len, U(aad2), aad2.size()) != 1 ||
      EVP_EncryptUpdate(ctx.get(), o, &len, U(plaintext), plaintext.size()) != 1 ||
      EVP_EncryptFinal_ex(ctx.get(), o + len, &len) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_GET_TAG, kTag, tag.data()) != 1) {
    return absl::InternalError("AES-256-GCM encryption failed in OpenSSL");
  }
  return absl::OkStatus();
}

// GcmOpen decrypts and authenticates; DataLoss with `what` in the message on a bad tag.
absl::StatusOr<std::string> GcmOpen(absl::string_view key, absl::string_view nonce,
                                    absl::string_view aad1, absl::string_view aad2,
                                    absl::string_view ciphertext, absl::string_view tag,
                                    absl::string_view what) {
  CtxPtr ctx(EVP_CIPHER_CTX_new());
  int len = 0;
  std::string out(ciphertext.size(), '\0');
  unsigned char* o = reinterpret_cast<unsigned char*>(out.data());
  std::string tag_copy(tag);
  if (ctx == nullptr ||
      EVP_DecryptInit_ex(ctx.get(), EVP_aes_256_gcm(), nullptr, nullptr, nullptr) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_IVLEN, kNonce, nullptr) != 1 ||
      EVP_DecryptInit_ex(ctx.get(), nullptr, nullptr, U(key), U(nonce)) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, U(aad1), aad1.size()) != 1 ||
      EVP_DecryptUpdate(ctx.get(), nullptr, &len, U(aad2), aad2.size()) != 1 ||
      EVP_DecryptUpdate(ctx.get(), o, &len, U(ciphertext), ciphertext.size()) != 1 ||
      EVP_CIPHER_CTX_ctrl(ctx.get(), EVP_CTRL_GCM_SET_TAG, kTag, tag_copy.data()) != 1) {
    return absl::InternalError("AES-256-GCM decryption failed in OpenSSL");
  }
  if (EVP_DecryptFinal_ex(ctx.get(), o + len, &len) != 1) {
    OPENSSL_cleanse(out.data(), out.size());
    return absl::DataLossError(what);
  }
  return out;
}

absl::StatusOr<std::string> RandomBytes(size_t n) {
  std::string out(n, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) != 1) {
    return absl::InternalError("OpenSSL RAND_bytes failed");
  }
  return out;
}

const std::string* KeyFor(const Keyring& keyring, absl::string_view id, absl::Status& error) {
  const std::string* kek = keyring.Find(id);
  if (kek == nullptr) {
    error = absl::FailedPreconditionError(
        absl::StrCat("envelope was sealed with key '", id,
                     "' which is not in the keyring; restore that key to open it (keyring holds ",
                     keyring.Ids().size(), " keys, active '", keyring.ActiveId(), "')"));
  }
  return kek;
}

absl::StatusOr<std::string> UnwrapDek(const Keyring& keyring, const Parsed& p) {
  absl::Status error;
  const std::string* kek = KeyFor(keyring, p.kek_id, error);
  if (kek == nullptr) return error;
  return GcmOpen(*kek, p.wrap_nonce, kWrapAad, p.kek_id, p.wrapped_dek, p.wrap_tag,
                 absl::StrCat("envelope data key failed authentication under key '", p.kek_id,
                              "': the envelope was altered, or the key with that id changed"));
}

// AppendWrapped appends the header and the DEK wrapped under the active KEK.
absl::Status AppendWrapped(const Keyring& keyring, absl::string_view dek, std::string& out) {
  const std::string& id = keyring.ActiveId();
  const std::string* kek = keyring.Find(id);
  if (kek == nullptr) return absl::InternalError("keyring has no active key");
  auto nonce = RandomBytes(kNonce);
  if (!nonce.ok()) return nonce.status();
  std::string wrapped, tag;
  absl::Status st = GcmSeal(*kek, *nonce, kWrapAad, id, dek, wrapped, tag);
  if (!st.ok()) return st;
  absl::StrAppend(&out, kMagic, std::string(1, static_cast<char>(id.size())), id, *nonce, wrapped,
                  tag);
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::string> Seal(const Keyring& keyring, absl::string_view plaintext,
                                 absl::string_view associated_data) {
  auto dek = RandomBytes(kDek);
  if (!dek.ok()) return dek.status();
  auto nonce = RandomBytes(kNonce);
  if (!nonce.ok()) return nonce.status();
  std::string out;
  absl::Status st = AppendWrapped(keyring, *dek, out);
  std::string ciphertext, tag;
  if (st.ok()) st = GcmSeal(*dek, *nonce, kDataAad, associated_data, plaintext, ciphertext, tag);
  OPENSSL_cleanse(dek->data(), dek->size());
  if (!st.ok()) return st;
  absl::StrAppend(&out, *nonce, ciphertext, tag);
  return out;
}

absl::StatusOr<std::string> Open(const Keyring& keyring, absl::string_view envelope,
                                 absl::string_view associated_data) {
  auto p = Parse(envelope);
  if (!p.ok()) return p.status();
  auto dek = UnwrapDek(keyring, *p);
  if (!dek.ok()) return dek.status();
  auto plain = GcmOpen(*dek, p->data_nonce, kDataAad, associated_data, p->ciphertext, p->data_tag,
                       "envelope failed authentication: it was altered, or it belongs to "
                       "another record (associated data differs)");
  OPENSSL_cleanse(dek->data(), dek->size());
  return plain;
}

absl::StatusOr<std::string> Rewrap(const Keyring& keyring, absl::string_view envelope) {
  auto p = Parse(envelope);
  if (!p.ok()) return p.status();
  auto dek = UnwrapDek(keyring, *p);
  if (!dek.ok()) return dek.status();
  std::string out;
  absl::Status st = AppendWrapped(keyring, *dek, out);
  OPENSSL_cleanse(dek->data(), dek->size());
  if (!st.ok()) return st;
  absl::StrAppend(&out, p->data_nonce, p->ciphertext, p->data_tag);
  return out;
}

absl::StatusOr<std::string> EnvelopeKeyId(absl::string_view envelope) {
  auto p = Parse(envelope);
  if (!p.ok()) return p.status();
  return std::string(p->kek_id);
}

}  // namespace k8i::crypto

#include "libs/auth/jwks.h"

#include "absl/strings/str_cat.h"
#include "nlohmann/json.hpp"
#include "openssl/bn.h"
#include "openssl/core_names.h"
#include "openssl/evp.h"
#include "openssl/param_build.h"

namespace k8i::auth {
namespace {

constexpr char kB64Url[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

int B64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

struct BnFree {
  void operator()(BIGNUM* b) const { BN_free(b); }
};
struct BldFree {
  void operator()(OSSL_PARAM_BLD* b) const { OSSL_PARAM_BLD_free(b); }
};
struct ParamFree {
  void operator()(OSSL_PARAM* p) const { OSSL_PARAM_free(p); }
};
struct PkeyCtxFree {
  void operator()(EVP_PKEY_CTX* c) const { EVP_PKEY_CTX_free(c); }
};

// FromData builds a public EVP_PKEY of `type` ("RSA", "EC") from the built params.
absl::StatusOr<std::shared_ptr<EVP_PKEY>> FromData(const char* type, OSSL_PARAM_BLD* bld,
                                                   const std::string& what) {
  std::unique_ptr<OSSL_PARAM, ParamFree> params(OSSL_PARAM_BLD_to_param(bld));
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> ctx(
      EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (params == nullptr || ctx == nullptr || EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": OpenSSL rejected the key"));
  }
  std::shared_ptr<EVP_PKEY> key(raw, EVP_PKEY_free);
  std::unique_ptr<EVP_PKEY_CTX, PkeyCtxFree> check(
      EVP_PKEY_CTX_new_from_pkey(nullptr, raw, nullptr));
  if (check == nullptr || EVP_PKEY_public_check(check.get()) != 1) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": public key fails validation"));
  }
  return key;
}

absl::StatusOr<std::string> Member(const nlohmann::json& jwk, const char* name,
                                   const std::string& what) {
  auto it = jwk.find(name);
  if (it == jwk.end() || !it->is_string()) {
    return absl::InvalidArgumentError(absl::StrCat(what, ": missing string member \"", name, "\""));
  }
  auto bytes = Base64UrlDecode(it->get<std::string>());
  if (!bytes.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": member \"", name, "\": ", bytes.status().message()));
  }
  return bytes;
}

absl::StatusOr<std::shared_ptr<EVP_PKEY>> RsaKey(const nlohmann::json& jwk,
                                                 const std::string& what) {
  auto n = Member(jwk, "n", what);
  if (!n.ok()) return n.status();
  auto e = Member(jwk, "e", what);
  if (!e.ok()) return e.status();
  std::unique_ptr<BIGNUM, BnFree> bn_n(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(n->data()), n->size(), nullptr));
  std::unique_ptr<BIGNUM, BnFree> bn_e(
      BN_bin2bn(reinterpret_cast<const unsigned char*>(e->data()), e->size(), nullptr));
  if (bn_n == nullptr || bn_e == nullptr) return absl::InternalError("BN_bin2bn failed");
  if (BN_num_bits(bn_n.get()) < 2048) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": RSA modulus is ", BN_num_bits(bn_n.get()), " bits, minimum 2048"));
  }
  std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
  if (bld == nullptr || OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) != 1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) != 1) {
    return absl::InternalError("OSSL_PARAM_BLD failed");
  }
  return FromData("RSA", bld.get(), what);
}

absl::StatusOr<std::shared_ptr<EVP_PKEY>> EcKey(const nlohmann::json& jwk,
                                                const std::string& what) {
  auto x = Member(jwk, "x", what);
  if (!x.ok()) return x.status();
  auto y = Member(jwk, "y", what);
  if (!y.ok()) return y.status();
  if (x->size() != 32 || y->size() != 32) {
    return absl::InvalidArgumentError(
        absl::StrCat(what, ": P-256 coordinates must be 32 bytes each"));
  }
  const std::string point = absl::StrCat("\x04", *x, *y);
  std::unique_ptr<OSSL_PARAM_BLD, BldFree> bld(OSSL_PARAM_BLD_new());
  if (bld == nullptr ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) !=
          1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY, point.data(),
                                       point.size()) != 1) {
    return absl::InternalError("OSSL_PARAM_BLD failed");
  }
  return FromData("EC", bld.get(), what);
}

}  // namespace

absl::StatusOr<std::string> Base64UrlDecode(absl::string_view in) {
  if (in.size() % 4 == 1) return absl::InvalidArgumentError("base64url has an impossible length");
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    const int v = B64Value(c);
    if (v < 0) return absl::InvalidArgumentError("base64url has an invalid character");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if ((acc & ((1u << bits) - 1)) != 0) {
    return absl::InvalidArgumentError("base64url has non-zero trailing bits");
  }
  return out;
}

std::string Base64UrlEncode(absl::string_view in) {
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kB64Url[(acc >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kB64Url[(acc << (6 - bits)) & 0x3f]);
  return out;
}

absl::StatusOr<Jwks> Jwks::Parse(absl::string_view json) {
  const nlohmann::json doc = nlohmann::json::parse(json.begin(), json.end(), nullptr, false);
  if (doc.is_discarded() || !doc.is_object()) {
    return absl::InvalidArgumentError("JWKS is not a JSON object");
  }
  auto keys = doc.find("keys");
  if (keys == doc.end() || !keys->is_array()) {
    return absl::InvalidArgumentError("JWKS has no \"keys\" array");
  }
  Jwks out;
  int index = 0;
  for (const nlohmann::json& jwk : *keys) {
    ++index;
    if (!jwk.is_object()) return absl::InvalidArgumentError("JWKS key is not an object");
    auto str = [&](const char* name) {
      auto it = jwk.find(name);
      return it != jwk.end() && it->is_string() ? it->get<std::string>() : std::string();
    };
    Jwk key;
    key.kid = str("kid");
    key.alg = str("alg");
    const std::string what = absl::StrCat("JWKS key ", index, " (kid '", key.kid, "')");
    const std::string use = str("use");
    if (!use.empty() && use != "sig") continue;
    const std::string kty = str("kty");
    if (kty == "RSA") {
      auto k = RsaKey(jwk, what);
      if (!k.ok()) return k.status();
      key.type = Jwk::Type::kRsa;
      key.key = *std::move(k);
    } else if (kty == "EC") {
      if (str("crv") != "P-256") continue;
      auto k = EcKey(jwk, what);
      if (!k.ok()) return k.status();
      key.type = Jwk::Type::kEcP256;
      key.key = *std::move(k);
    } else if (kty == "oct") {
      auto k = Member(jwk, "k", what);
      if (!k.ok()) return k.status();
      if (k->size() < 32) {
        return absl::InvalidArgumentError(absl::StrCat(what, ": oct key under 32 bytes"));
      }
      key.type = Jwk::Type::kOct;
      key.secret = *std::move(k);
    } else {
      continue;
    }
    out.keys_.push_back(std::move(key));
  }
  if (out.keys_.empty()) {
    return absl::InvalidArgumentError("JWKS holds no RSA, EC P-256 or oct signing key");
  }
  return out;
}

absl::StatusOr<Jwks> Jwks::FromHmacSecret(absl::string_view secret, std::string kid) {
  if (secret.size() < 32) {
    return absl::InvalidArgumentError("HS256 secret must be at least 32 bytes");
  }
  Jwks out;
  Jwk key;
  key.type = Jwk::Type::kOct;
  key.kid = std::move(kid);
  key.secret = std::string(secret);
  out.keys_.push_back(std::move(key));
  return out;
}

}  // namespace k8i::auth

#include "libs/auth/jwt.h"

#include <cmath>
#include <memory>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "nlohmann/json.hpp"
#include "openssl/bn.h"
#include "openssl/crypto.h"
#include "openssl/ecdsa.h"
#include "openssl/evp.h"
#include "openssl/hmac.h"

namespace k8i::auth {
namespace {

using json = nlohmann::json;

absl::Status Unauth(absl::string_view why) {
  return absl::UnauthenticatedError(absl::StrCat("invalid token: ", why));
}

struct MdCtxFree {
  void operator()(EVP_MD_CTX* c) const { EVP_MD_CTX_free(c); }
};
struct SigFree {
  void operator()(ECDSA_SIG* s) const { ECDSA_SIG_free(s); }
};

bool DigestVerify(EVP_PKEY* key, absl::string_view signed_part, absl::string_view sig) {
  std::unique_ptr<EVP_MD_CTX, MdCtxFree> ctx(EVP_MD_CTX_new());
  return ctx != nullptr &&
         EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr, key) == 1 &&
         EVP_DigestVerify(ctx.get(), reinterpret_cast<const unsigned char*>(sig.data()), sig.size(),
                          reinterpret_cast<const unsigned char*>(signed_part.data()),
                          signed_part.size()) == 1;
}

// EcdsaRawToDer converts a JOSE ES256 signature (r || s, 32 bytes each) to the DER
// ECDSA-Sig-Value OpenSSL verifies. Empty on malformed input.
std::string EcdsaRawToDer(absl::string_view raw) {
  if (raw.size() != 64) return "";
  const auto* p = reinterpret_cast<const unsigned char*>(raw.data());
  std::unique_ptr<ECDSA_SIG, SigFree> sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(p, 32, nullptr);
  BIGNUM* s = BN_bin2bn(p + 32, 32, nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr || ECDSA_SIG_set0(sig.get(), r, s) != 1) {
    BN_free(r);
    BN_free(s);
    return "";
  }
  unsigned char* der = nullptr;
  const int len = i2d_ECDSA_SIG(sig.get(), &der);
  if (len <= 0) return "";
  std::string out(reinterpret_cast<char*>(der), len);
  OPENSSL_free(der);
  return out;
}

bool HmacVerify(absl::string_view secret, absl::string_view signed_part, absl::string_view sig) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           reinterpret_cast<const unsigned char*>(signed_part.data()), signed_part.size(), mac,
           &len) == nullptr) {
    return false;
  }
  return sig.size() == len && CRYPTO_memcmp(mac, sig.data(), len) == 0;
}

Jwk::Type TypeForAlg(absl::string_view alg) {
  if (alg == "RS256") return Jwk::Type::kRsa;
  if (alg == "ES256") return Jwk::Type::kEcP256;
  return Jwk::Type::kOct;
}

const char* TypeName(Jwk::Type t) {
  switch (t) {
    case Jwk::Type::kRsa:
      return "RSA";
    case Jwk::Type::kEcP256:
      return "EC P-256";
    case Jwk::Type::kOct:
      return "oct (HMAC)";
  }
  return "?";
}

absl::StatusOr<json> DecodeJsonPart(absl::string_view part, absl::string_view name) {
  auto bytes = Base64UrlDecode(part);
  if (!bytes.ok())
    return Unauth(absl::StrCat(name, " is not base64url: ", bytes.status().message()));
  json doc = json::parse(*bytes, nullptr, /*allow_exceptions=*/false);
  if (doc.is_discarded() || !doc.is_object())
    return Unauth(absl::StrCat(name, " is not a JSON object"));
  return doc;
}

// ReadTime reads the NumericDate claim `name` into `out`; false when absent.
absl::StatusOr<bool> ReadTime(const json& claims, const char* name, absl::Time& out) {
  auto it = claims.find(name);
  if (it == claims.end()) return false;
  if (!it->is_number() || !std::isfinite(it->get<double>())) {
    return Unauth(absl::StrCat("claim \"", name, "\" is not a number"));
  }
  const double secs = it->get<double>();
  if (secs > 1e12) {
    out = absl::InfiniteFuture();
  } else if (secs < -1e12) {
    out = absl::InfinitePast();
  } else {
    out = absl::FromUnixMillis(static_cast<int64_t>(std::floor(secs * 1000)));
  }
  return true;
}

}  // namespace

JwtVerifier::JwtVerifier(JwtOptions options, Jwks keys)
    : options_(std::move(options)), keys_(std::move(keys)) {}

absl::StatusOr<JwtClaims> JwtVerifier::Verify(absl::string_view token) const {
  if (token.size() > 16 * 1024) return Unauth("longer than 16 KiB");
  const size_t dot1 = token.find('.');
  const size_t dot2 = dot1 == absl::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == absl::string_view::npos || token.find('.', dot2 + 1) != absl::string_view::npos) {
    return Unauth("not a JWS compact serialization (header.payload.signature)");
  }
  const absl::string_view signed_part = token.substr(0, dot2);
  auto header = DecodeJsonPart(token.substr(0, dot1), "header");
  if (!header.ok()) return header.status();
  auto alg_it = header->find("alg");
  if (alg_it == header->end() || !alg_it->is_string()) return Unauth("header has no alg");
  const std::string alg = alg_it->get<std::string>();
  if (alg == "none") return Unauth("alg none is not accepted");
  if (alg != "RS256" && alg != "ES256" && alg != "HS256") {
    return Unauth(absl::StrCat("alg ", alg, " is not supported (RS256, ES256, HS256)"));
  }
  if (header->contains("crit")) return Unauth("header has crit extensions, none are supported");
  std::string kid;
  if (auto it = header->find("kid"); it != header->end()) {
    if (!it->is_string()) return Unauth("kid is not a string");
    kid = it->get<std::string>();
  }

  // Key selection: by kid when the token names one, else the only key of the alg's type.
  const Jwk* key = nullptr;
  if (!kid.empty()) {
    for (const Jwk& k : keys_.keys()) {
      if (k.kid == kid) key = &k;
    }
    if (key == nullptr) return Unauth(absl::StrCat("unknown kid '", kid, "'"));
  } else {
    int n = 0;
    for (const Jwk& k : keys_.keys()) {
      if (k.type == TypeForAlg(alg)) {
        key = &k;
        ++n;
      }
    }
    if (n != 1) {
      return Unauth(absl::StrCat("token has no kid and ", n, " keys could verify ", alg));
    }
  }
  // The alg must fit the key: this is what stops HS256-signed-with-the-RSA-public-key tokens.
  if (key->type != TypeForAlg(alg)) {
    return Unauth(absl::StrCat("alg ", alg, " does not match key '", key->kid, "' of type ",
                               TypeName(key->type)));
  }
  if (!key->alg.empty() && key->alg != alg) {
    return Unauth(absl::StrCat("alg ", alg, " but key '", key->kid, "' is for ", key->alg));
  }

  auto sig = Base64UrlDecode(token.substr(dot2 + 1));
  if (!sig.ok())
    return Unauth(absl::StrCat("signature is not base64url: ", sig.status().message()));
  bool valid = false;
  switch (key->type) {
    case Jwk::Type::kRsa:
      valid = DigestVerify(key->key.get(), signed_part, *sig);
      break;
    case Jwk::Type::kEcP256: {
      const std::string der = EcdsaRawToDer(*sig);
      valid = !der.empty() && DigestVerify(key->key.get(), signed_part, der);
      break;
    }
    case Jwk::Type::kOct:
      valid = HmacVerify(key->secret, signed_part, *sig);
      break;
  }
  if (!valid) return Unauth("bad signature");

  auto claims = DecodeJsonPart(token.substr(dot1 + 1, dot2 - dot1 - 1), "payload");
  if (!claims.ok()) return claims.status();
  const absl::Time now = (options_.clock ? *options_.clock : RealClock::Instance()).Now();
  JwtClaims out;
  absl::Time t;
  auto has = ReadTime(*claims, "exp", t);
  if (!has.ok()) return has.status();
  if (*has) {
    out.expires = t;
    if (now >= t + options_.leeway) return Unauth(absl::StrCat("expired at ", absl::FormatTime(t)));
  } else if (options_.require_exp) {
    return Unauth("no exp claim");
  }
  if (has = ReadTime(*claims, "nbf", t); !has.ok()) return has.status();
  if (*has && now + options_.leeway < t) {
    return Unauth(absl::StrCat("not valid before ", absl::FormatTime(t)));
  }
  if (has = ReadTime(*claims, "iat", t); !has.ok()) return has.status();
  if (*has && now + options_.leeway < t) return Unauth("issued in the future (iat)");

  auto str = [&](const std::string& name) {
    auto it = claims->find(name);
    return it != claims->end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  out.issuer = str("iss");
  if (!options_.issuer.empty() && out.issuer != options_.issuer) {
    return Unauth(absl::StrCat("wrong issuer '", out.issuer, "'"));
  }
  if (!options_.audiences.empty()) {
    std::vector<std::string> aud;
    if (auto it = claims->find("aud"); it != claims->end()) {
      if (it->is_string()) aud.push_back(it->get<std::string>());
      if (it->is_array()) {
        for (const json& a : *it) {
          if (a.is_string()) aud.push_back(a.get<std::string>());
        }
      }
    }
    bool match = false;
    for (const std::string& a : aud) {
      for (const std::string& want : options_.audiences) match = match || a == want;
    }
    if (!match) {
      return Unauth(absl::StrCat("wrong audience [", absl::StrJoin(aud, ","), "], want one of [",
                                 absl::StrJoin(options_.audiences, ","), "]"));
    }
  }
  out.subject = str("sub");
  if (out.subject.empty()) return Unauth("no sub claim");
  out.tenant = str(options_.tenant_claim);
  if (auto it = claims->find(options_.roles_claim); it != claims->end()) {
    if (it->is_string()) out.roles.push_back(it->get<std::string>());
    if (it->is_array()) {
      for (const json& r : *it) {
        if (r.is_string()) out.roles.push_back(r.get<std::string>());
      }
    }
  }
  return out;
}

}  // namespace k8i::auth

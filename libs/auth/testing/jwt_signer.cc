#include "libs/auth/testing/jwt_signer.h"

#include "libs/auth/jwks.h"
#include "libs/common/check.h"
#include "openssl/bn.h"
#include "openssl/core_names.h"
#include "openssl/ecdsa.h"
#include "openssl/evp.h"
#include "openssl/hmac.h"
#include "openssl/rsa.h"

namespace k8i::auth::testing {
namespace {

std::string BnParam(EVP_PKEY* key, const char* name, int pad = 0) {
  BIGNUM* bn = nullptr;
  K8I_CHECK(EVP_PKEY_get_bn_param(key, name, &bn) == 1, name);
  const int len = pad > 0 ? pad : BN_num_bytes(bn);
  std::string out(len, '\0');
  K8I_CHECK(BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()), len) == len, "pad");
  BN_free(bn);
  return out;
}

std::string DigestSign(EVP_PKEY* key, const std::string& data) {
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  K8I_CHECK(EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) == 1, "init");
  K8I_CHECK(EVP_DigestSign(ctx, nullptr, &len, reinterpret_cast<const unsigned char*>(data.data()),
                           data.size()) == 1,
            "size");
  std::string sig(len, '\0');
  K8I_CHECK(EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                           reinterpret_cast<const unsigned char*>(data.data()), data.size()) == 1,
            "sign");
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  return sig;
}

std::string DerToRaw(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, der.size());
  K8I_CHECK(sig != nullptr, "d2i_ECDSA_SIG");
  std::string out(64, '\0');
  auto* o = reinterpret_cast<unsigned char*>(out.data());
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), o, 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), o + 32, 32);
  ECDSA_SIG_free(sig);
  return out;
}

}  // namespace

PkeyPtr NewRsaKey(int bits) {
  EVP_PKEY* k = EVP_RSA_gen(static_cast<unsigned int>(bits));
  K8I_CHECK(k != nullptr, "EVP_RSA_gen");
  return PkeyPtr(k, EVP_PKEY_free);
}

PkeyPtr NewEcKey() {
  EVP_PKEY* k = EVP_EC_gen("P-256");
  K8I_CHECK(k != nullptr, "EVP_EC_gen");
  return PkeyPtr(k, EVP_PKEY_free);
}

nlohmann::json PublicJwk(EVP_PKEY* key, const std::string& kid, const std::string& alg) {
  nlohmann::json j;
  if (EVP_PKEY_is_a(key, "RSA")) {
    j = {{"kty", "RSA"},
         {"n", Base64UrlEncode(BnParam(key, OSSL_PKEY_PARAM_RSA_N))},
         {"e", Base64UrlEncode(BnParam(key, OSSL_PKEY_PARAM_RSA_E))}};
  } else {
    j = {{"kty", "EC"},
         {"crv", "P-256"},
         {"x", Base64UrlEncode(BnParam(key, OSSL_PKEY_PARAM_EC_PUB_X, 32))},
         {"y", Base64UrlEncode(BnParam(key, OSSL_PKEY_PARAM_EC_PUB_Y, 32))}};
  }
  j["kid"] = kid;
  j["use"] = "sig";
  if (!alg.empty()) j["alg"] = alg;
  return j;
}

std::string Sign(const nlohmann::json& header, const nlohmann::json& payload, EVP_PKEY* key,
                 const std::string& secret) {
  const std::string signing_input =
      Base64UrlEncode(header.dump()) + "." + Base64UrlEncode(payload.dump());
  const std::string alg = header.value("alg", "");
  std::string sig;
  if (alg == "RS256") {
    sig = DigestSign(key, signing_input);
  } else if (alg == "ES256") {
    sig = DerToRaw(DigestSign(key, signing_input));
  } else if (alg == "HS256") {
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int len = 0;
    HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
         reinterpret_cast<const unsigned char*>(signing_input.data()), signing_input.size(), mac,
         &len);
    sig.assign(reinterpret_cast<char*>(mac), len);
  }
  return signing_input + "." + Base64UrlEncode(sig);
}

}  // namespace k8i::auth::testing

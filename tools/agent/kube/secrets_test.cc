#include "tools/agent/kube/secrets.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <zlib.h>

#include <memory>

#include "absl/strings/escaping.h"
#include "gtest/gtest.h"
#include "tools/agent/kube/convert.h"

namespace k8i::agent::kube {
namespace {

// SelfSignedPem makes an EC certificate for CN=shop.example.com valid [now-1h, now+30d] with
// two DNS names.
std::string SelfSignedPem(int64_t* not_after) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 30 * 86400);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("Shop"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("shop.example.com"), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, NID_subject_alt_name,
                                            "DNS:shop.example.com,DNS:*.shop.example.com");
  X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
  X509_sign(x, key, EVP_sha256());
  BIO* bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(bio, x);
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  std::string pem(data, static_cast<size_t>(n));
  *not_after = time(nullptr) + 30 * 86400;
  BIO_free(bio);
  X509_free(x);
  EVP_PKEY_free(key);
  return pem;
}

TEST(SecretsTest, TlsSecretCertificateFacts) {
  int64_t not_after = 0;
  const std::string pem = SelfSignedPem(&not_after);
  const Json secret = {{"metadata", {{"name", "shop-tls"}, {"namespace", "shop"}}},
                       {"type", "kubernetes.io/tls"},
                       {"data", {{"tls.crt", absl::Base64Escape(pem)}, {"tls.key", "c2VjcmV0"}}}};
  auto o = ToKubeObject("secrets", secret);
  ASSERT_TRUE(o && o->has_tls_secret());
  EXPECT_FALSE(o->has_secret());
  const auto& t = o->tls_secret();
  EXPECT_NEAR(t.not_after().seconds(), not_after, 5);
  EXPECT_NEAR(t.not_before().seconds(), not_after - 30 * 86400 - 3600, 5);
  EXPECT_EQ(t.subject(), "CN=shop.example.com,O=Shop");
  EXPECT_EQ(t.issuer(), t.subject());
  ASSERT_EQ(t.dns_names_size(), 2);
  EXPECT_EQ(t.dns_names(1), "*.shop.example.com");
  EXPECT_EQ(t.SerializeAsString().find("c2VjcmV0"), std::string::npos);  // no key material

  // Garbage tls.crt: still inventoried, no facts.
  Json bad = secret;
  bad["data"]["tls.crt"] = absl::Base64Escape("-----BEGIN CERTIFICATE-----\nxx\n");
  auto b = ToKubeObject("secrets", bad);
  ASSERT_TRUE(b && b->has_tls_secret());
  EXPECT_FALSE(b->tls_secret().has_not_after());
  bad["data"] = 5;
  EXPECT_TRUE(ToKubeObject("secrets", bad));
}

TEST(SecretsTest, ConfigMapHashIsOrderIndependentAndContentSensitive) {
  const Json a = Json::parse(R"({"data": {"a": "1", "b": "2"}, "binaryData": {"c": "AA=="}})");
  // nlohmann sorts object keys, so build the other order from text parsed into an ordered json.
  const auto reordered = nlohmann::ordered_json::parse(
      R"({"binaryData": {"c": "AA=="}, "data": {"b": "2", "a": "1"}})");
  EXPECT_EQ(ConfigMapHash(a), ConfigMapHash(Json::parse(reordered.dump())));
  EXPECT_EQ(ConfigMapHash(a).size(), 64u);
  EXPECT_NE(ConfigMapHash(a), ConfigMapHash(Json::parse(R"({"data": {"a": "1", "b": "3"}})")));
  // Concatenation ambiguity: {"ab": "c"} vs {"a": "bc"}.
  EXPECT_NE(ConfigMapHash(Json::parse(R"({"data": {"ab": "c"}})")),
            ConfigMapHash(Json::parse(R"({"data": {"a": "bc"}})")));
  // data vs binaryData with the same key.
  EXPECT_NE(ConfigMapHash(Json::parse(R"({"data": {"k": "v"}})")),
            ConfigMapHash(Json::parse(R"({"binaryData": {"k": "v"}})")));
  auto o = ToKubeObject("configmaps", Json::parse(R"({"metadata": {"name": "cfg"},
      "data": {"password": "hunter2", "x": "y"}})"));
  ASSERT_TRUE(o && o->has_config_map());
  EXPECT_EQ(o->config_map().keys_size(), 2);
  EXPECT_EQ(o->SerializeAsString().find("hunter2"), std::string::npos);  // never the data
}

TEST(SecretsTest, ConfigMapHashEncodingIsPinned) {
  // sha256("3:b:c4:AA==" "3:d:a1:1"): hashes stored by earlier agents must stay comparable.
  EXPECT_EQ(ConfigMapHash(Json::parse(R"({"data": {"a": "1"}, "binaryData": {"c": "AA=="}})")),
            "d8aeadb2cf971e6e3b14c13a71269b7b9ed82257714444b66321e810acdfdb5d");
}

// A Secret that is neither TLS nor a Helm release, and what is sent for it.
struct GenericSecretCase {
  std::string name;
  Json secret;
  std::string type;
  std::vector<std::string> keys;
  std::vector<std::string> values;  // base64 as served, and decoded: none may be sent
};

class GenericSecretCases : public ::testing::TestWithParam<GenericSecretCase> {};

TEST_P(GenericSecretCases, MetadataTypeKeysAndHashButNeverAValue) {
  const GenericSecretCase& c = GetParam();
  auto o = ToKubeObject("secrets", c.secret);
  ASSERT_TRUE(o && o->has_secret());
  const auto& s = o->secret();
  EXPECT_EQ(s.meta().name(), "creds");
  EXPECT_EQ(s.meta().namespace_(), "shop");
  EXPECT_EQ(s.meta().labels().at("app"), "shop");
  EXPECT_EQ(s.type(), c.type);
  EXPECT_EQ(std::vector<std::string>(s.keys().begin(), s.keys().end()), c.keys);
  EXPECT_EQ(s.content_sha256(), SecretHash(c.secret));
  EXPECT_EQ(s.content_sha256().size(), 64u);
  const std::string wire = o->SerializeAsString();
  for (const auto& v : c.values) {
    EXPECT_EQ(wire.find(v), std::string::npos) << v;
    std::string plain;
    ASSERT_TRUE(absl::Base64Unescape(v, &plain));
    EXPECT_EQ(wire.find(plain), std::string::npos) << plain;
  }
  EXPECT_TRUE(s.meta().annotations().empty());  // last-applied-configuration holds the values
}

Json Secret(const std::string& type, Json data) {
  Json s = {
      {"metadata",
       {{"name", "creds"},
        {"namespace", "shop"},
        {"uid", "u-9"},
        {"labels", {{"app", "shop"}}},
        {"annotations", {{"kubectl.kubernetes.io/last-applied-configuration", data.dump()}}}}},
      {"data", std::move(data)}};
  if (!type.empty()) s["type"] = type;
  return s;
}

constexpr char kDockerConfig[] = R"({"auths":{"r.example.com":{"auth":"dXNlcjpwdw=="}}})";

INSTANTIATE_TEST_SUITE_P(
    Types, GenericSecretCases,
    ::testing::Values(
        GenericSecretCase{"Opaque",
                          Secret("Opaque", {{"username", absl::Base64Escape("shop-admin")},
                                            {"password", absl::Base64Escape("hunter2-value")}}),
                          "Opaque",
                          {"password", "username"},
                          {absl::Base64Escape("shop-admin"), absl::Base64Escape("hunter2-value")}},
        GenericSecretCase{"NoType",
                          Secret("", {{"token", absl::Base64Escape("tok-123456")}}),
                          "",
                          {"token"},
                          {absl::Base64Escape("tok-123456")}},
        GenericSecretCase{"DockerConfigJson",
                          Secret("kubernetes.io/dockerconfigjson",
                                 {{".dockerconfigjson", absl::Base64Escape(kDockerConfig)}}),
                          "kubernetes.io/dockerconfigjson",
                          {".dockerconfigjson"},
                          {absl::Base64Escape(kDockerConfig)}},
        GenericSecretCase{"ServiceAccountToken",
                          Secret("kubernetes.io/service-account-token",
                                 {{"token", absl::Base64Escape("eyJhbGciOiJSUzI1NiJ9.payload")},
                                  {"ca.crt", absl::Base64Escape("-----BEGIN CERT-----")}}),
                          "kubernetes.io/service-account-token",
                          {"ca.crt", "token"},
                          {absl::Base64Escape("eyJhbGciOiJSUzI1NiJ9.payload")}},
        GenericSecretCase{"Empty", Secret("Opaque", Json::object()), "Opaque", {}, {}}),
    [](const auto& info) { return info.param.name; });

TEST(SecretsTest, KeyedSecretHashCannotBeTestedWithoutTheKey) {
  // With the agent's token as key the hash is an HMAC: stable for the same content and key,
  // different from the plain SHA-256 anyone could compute from a guessed value, and different
  // under another key.
  const Json a = Secret("Opaque", {{"password", absl::Base64Escape("hunter2")}});
  const std::string keyed = SecretHash(a, "agent-token-1");
  EXPECT_EQ(keyed, SecretHash(a, "agent-token-1"));
  EXPECT_NE(keyed, SecretHash(a));
  EXPECT_NE(keyed, SecretHash(a, "agent-token-2"));
  EXPECT_EQ(keyed.size(), 64u);
  auto o = ToKubeObject("secrets", a, "agent-token-1");
  ASSERT_TRUE(o && o->has_secret());
  EXPECT_EQ(o->secret().content_sha256(), keyed);
}

TEST(SecretsTest, SecretHashIsOrderIndependentAndContentSensitive) {
  const Json a = Secret("Opaque", {{"a", "MQ=="}, {"b", "Mg=="}});
  const auto reordered = nlohmann::ordered_json::parse(R"({"data": {"b": "Mg==", "a": "MQ=="}})");
  EXPECT_EQ(SecretHash(a), SecretHash(Json::parse(reordered.dump())));
  EXPECT_NE(SecretHash(a), SecretHash(Secret("Opaque", {{"a", "MQ=="}, {"b", "Mw=="}})));
  EXPECT_NE(SecretHash(a), SecretHash(Secret("Opaque", {{"a", "MQ=="}, {"c", "Mg=="}})));
  // Metadata, type and a stray binaryData do not count; only `data`.
  Json other = a;
  other["metadata"]["name"] = "other";
  other["type"] = "kubernetes.io/basic-auth";
  other["binaryData"] = {{"x", "AA=="}};
  EXPECT_EQ(SecretHash(a), SecretHash(other));
  // The same entries hash as a ConfigMap's `data` would: one encoding for both.
  EXPECT_EQ(SecretHash(a), ConfigMapHash(Json{{"data", a["data"]}}));
  // Mistyped data: no crash, the hash of nothing.
  Json bad = a;
  bad["data"] = {{"a", 5}, {"b", nullptr}};
  EXPECT_EQ(SecretHash(bad), SecretHash(Secret("Opaque", Json::object())));
  auto o = ToKubeObject("secrets", bad);
  ASSERT_TRUE(o && o->has_secret());
  EXPECT_EQ(o->secret().keys_size(), 2);
}

std::string Gzip(const std::string& in) {
  z_stream zs = {};
  deflateInit2(&zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
  std::string out(compressBound(in.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

TEST(SecretsTest, HelmReleaseFromLabelsAndPayload) {
  const std::string release =
      R"({"name": "shop", "version": 4, "info": {"status": "deployed"},
          "chart": {"metadata": {"name": "shop-chart", "version": "1.2.3", "appVersion": "2.0"}}})";
  Json secret = {
      {"metadata",
       {{"name", "sh.helm.release.v1.shop.v4"},
        {"namespace", "shop"},
        {"labels",
         {{"name", "shop"}, {"owner", "helm"}, {"status", "deployed"}, {"version", "4"}}}}},
      {"type", "helm.sh/release.v1"},
      {"data", {{"release", absl::Base64Escape(absl::Base64Escape(Gzip(release)))}}}};
  auto o = ToKubeObject("secrets", secret);
  ASSERT_TRUE(o && o->has_helm_release());
  EXPECT_FALSE(o->has_secret());
  const auto& h = o->helm_release();
  EXPECT_EQ(h.release_name(), "shop");
  EXPECT_EQ(h.status(), "deployed");
  EXPECT_EQ(h.revision(), 4);
  EXPECT_EQ(h.chart(), "shop-chart");
  EXPECT_EQ(h.chart_version(), "1.2.3");
  EXPECT_EQ(h.app_version(), "2.0");
  // A corrupt payload keeps what the labels say.
  secret["data"]["release"] = absl::Base64Escape(absl::Base64Escape("\x1f\x8bnot gzip"));
  auto c = ToKubeObject("secrets", secret);
  ASSERT_TRUE(c && c->has_helm_release());
  EXPECT_EQ(c->helm_release().revision(), 4);
  EXPECT_TRUE(c->helm_release().chart().empty());
  EXPECT_FALSE(DecodeHelmPayload("!!!").ok());
}

}  // namespace
}  // namespace k8i::agent::kube

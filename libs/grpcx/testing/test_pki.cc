#include "libs/grpcx/testing/test_pki.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

#include <filesystem>
#include <memory>
#include <vector>

#include "absl/strings/str_cat.h"

namespace k8i::grpcx::testing {
namespace {

struct Deleter {
  void operator()(X509* x) const { X509_free(x); }
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
  void operator()(BIO* b) const { BIO_free(b); }
};
using X509Ptr = std::unique_ptr<X509, Deleter>;
using KeyPtr = std::unique_ptr<EVP_PKEY, Deleter>;
using BioPtr = std::unique_ptr<BIO, Deleter>;

absl::Status SslError(absl::string_view what) {
  char buf[256] = "";
  ERR_error_string_n(ERR_get_error(), buf, sizeof(buf));
  return absl::InternalError(absl::StrCat(what, ": ", buf));
}

struct CertSpec {
  std::string cn;
  bool ca = false;
  std::string san;  // subjectAltName value, empty for none
  long not_before = -3600;  // seconds from now
  long not_after = 86400;
  long serial = 1;
};

absl::StatusOr<X509Ptr> MakeCert(const CertSpec& spec, EVP_PKEY* key, X509* issuer,
                                 EVP_PKEY* issuer_key) {
  X509Ptr x(X509_new());
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), spec.serial);
  X509_gmtime_adj(X509_getm_notBefore(x.get()), spec.not_before);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), spec.not_after);
  X509_set_pubkey(x.get(), key);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("k8intel test"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(spec.cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x.get(), issuer ? X509_get_subject_name(issuer) : name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer ? issuer : x.get(), x.get(), nullptr, nullptr, 0);
  std::vector<std::pair<int, std::string>> exts = {
      {NID_basic_constraints, spec.ca ? "critical,CA:TRUE" : "critical,CA:FALSE"},
      {NID_key_usage, spec.ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature"},
      {NID_subject_key_identifier, "hash"},
  };
  if (!spec.ca) exts.push_back({NID_ext_key_usage, "serverAuth,clientAuth"});
  if (!spec.san.empty()) exts.push_back({NID_subject_alt_name, spec.san});
  for (const auto& [nid, value] : exts) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (ext == nullptr) return SslError(absl::StrCat("extension ", value));
    X509_add_ext(x.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(x.get(), issuer_key ? issuer_key : key, EVP_sha256()) == 0) {
    return SslError("X509_sign");
  }
  return x;
}

absl::Status WriteCert(const std::string& path, X509* cert) {
  BioPtr bio(BIO_new_file(path.c_str(), "w"));
  if (!bio || PEM_write_bio_X509(bio.get(), cert) != 1) return SslError(path);
  return absl::OkStatus();
}

absl::Status WriteKey(const std::string& path, EVP_PKEY* key) {
  BioPtr bio(BIO_new_file(path.c_str(), "w"));
  if (!bio ||
      PEM_write_bio_PrivateKey(bio.get(), key, nullptr, nullptr, 0, nullptr, nullptr) != 1) {
    return SslError(path);
  }
  chmod(path.c_str(), 0600);
  return absl::OkStatus();
}

// Issue makes a key and a certificate signed by (issuer, issuer_key) and writes both.
absl::Status Issue(const CertSpec& spec, X509* issuer, EVP_PKEY* issuer_key,
                   const std::string& cert_path, const std::string& key_path) {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return SslError("EVP_EC_gen");
  auto cert = MakeCert(spec, key.get(), issuer, issuer_key);
  if (!cert.ok()) return cert.status();
  if (auto s = WriteCert(cert_path, cert->get()); !s.ok()) return s;
  return WriteKey(key_path, key.get());
}

}  // namespace

absl::StatusOr<TestPki> CreateTestPki(const std::string& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) return absl::InternalError(absl::StrCat("mkdir ", dir, ": ", ec.message()));
  TestPki p;
  p.dir = dir;
  auto f = [&](const char* name) { return absl::StrCat(dir, "/", name); };
  p.ca_cert = f("ca.crt");
  p.ca_key = f("ca.key");
  p.server_cert = f("server.crt");
  p.server_key = f("server.key");
  p.client_cert = f("client.crt");
  p.client_key = f("client.key");
  p.other_ca_cert = f("other-ca.crt");
  p.other_client_cert = f("other-client.crt");
  p.other_client_key = f("other-client.key");
  p.expired_cert = f("expired.crt");
  p.expired_key = f("expired.key");

  KeyPtr ca_key(EVP_EC_gen("P-256"));
  KeyPtr other_key(EVP_EC_gen("P-256"));
  if (!ca_key || !other_key) return SslError("EVP_EC_gen");
  auto ca = MakeCert({.cn = "k8intel test CA", .ca = true, .serial = 1}, ca_key.get(), nullptr,
                     nullptr);
  if (!ca.ok()) return ca.status();
  auto other = MakeCert({.cn = "unrelated test CA", .ca = true, .serial = 1}, other_key.get(),
                        nullptr, nullptr);
  if (!other.ok()) return other.status();
  for (auto s : {WriteCert(p.ca_cert, ca->get()), WriteKey(p.ca_key, ca_key.get()),
                 WriteCert(p.other_ca_cert, other->get())}) {
    if (!s.ok()) return s;
  }
  for (auto s :
       {Issue({.cn = "localhost", .san = "DNS:localhost,IP:127.0.0.1,IP:::1", .serial = 2},
              ca->get(), ca_key.get(), p.server_cert, p.server_key),
        Issue({.cn = "k8i-agent-test", .serial = 3}, ca->get(), ca_key.get(), p.client_cert,
              p.client_key),
        Issue({.cn = "k8i-agent-other", .serial = 2}, other->get(), other_key.get(),
              p.other_client_cert, p.other_client_key),
        Issue({.cn = "localhost",
               .san = "DNS:localhost,IP:127.0.0.1",
               .not_before = -2 * 86400,
               .not_after = -86400,
               .serial = 4},
              ca->get(), ca_key.get(), p.expired_cert, p.expired_key)}) {
    if (!s.ok()) return s;
  }
  return p;
}

}  // namespace k8i::grpcx::testing

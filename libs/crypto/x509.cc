#include "libs/crypto/x509.h"

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <memory>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"

namespace k8i::crypto {
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
  ERR_clear_error();
  return absl::InternalError(absl::StrCat(what, ": ", buf));
}

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

void AddName(X509_NAME* name, const char* field, const std::string& value) {
  if (value.empty()) return;
  X509_NAME_add_entry_by_txt(name, field, MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(value.c_str()), -1, -1, 0);
}

}  // namespace

absl::StatusOr<KeyAndCert> IssueCertificate(const CertSpec& spec, const KeyAndCert* issuer) {
  KeyPtr key(EVP_EC_gen("P-256"));
  if (!key) return SslError("EVP_EC_gen");
  X509Ptr issuer_cert;
  KeyPtr issuer_key;
  if (issuer != nullptr) {
    BioPtr cb(BIO_new_mem_buf(issuer->cert_pem.data(), static_cast<int>(issuer->cert_pem.size())));
    issuer_cert.reset(PEM_read_bio_X509(cb.get(), nullptr, nullptr, nullptr));
    BioPtr kb(BIO_new_mem_buf(issuer->key_pem.data(), static_cast<int>(issuer->key_pem.size())));
    issuer_key.reset(PEM_read_bio_PrivateKey(kb.get(), nullptr, nullptr, nullptr));
    if (!issuer_cert || !issuer_key) return SslError("issuer certificate or key");
  }
  X509Ptr x(X509_new());
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), spec.serial);
  ASN1_TIME_set(X509_getm_notBefore(x.get()), absl::ToTimeT(spec.not_before));
  ASN1_TIME_set(X509_getm_notAfter(x.get()), absl::ToTimeT(spec.not_after));
  X509_set_pubkey(x.get(), key.get());
  X509_NAME* name = X509_get_subject_name(x.get());
  AddName(name, "O", spec.organization);
  AddName(name, "CN", spec.common_name);
  X509_set_issuer_name(x.get(), issuer_cert ? X509_get_subject_name(issuer_cert.get()) : name);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer_cert ? issuer_cert.get() : x.get(), x.get(), nullptr, nullptr, 0);
  std::vector<std::pair<int, std::string>> exts = {
      {NID_basic_constraints, spec.ca ? "critical,CA:TRUE" : "critical,CA:FALSE"},
      {NID_key_usage, spec.ca ? "critical,keyCertSign,cRLSign" : "critical,digitalSignature"},
      {NID_subject_key_identifier, "hash"},
  };
  if (!spec.ca) exts.push_back({NID_ext_key_usage, "serverAuth,clientAuth"});
  if (!spec.subject_alt_names.empty()) {
    exts.push_back({NID_subject_alt_name, spec.subject_alt_names});
  }
  for (const auto& [nid, value] : exts) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
    if (ext == nullptr) return SslError(absl::StrCat("extension ", value));
    X509_add_ext(x.get(), ext, -1);
    X509_EXTENSION_free(ext);
  }
  if (X509_sign(x.get(), issuer_key ? issuer_key.get() : key.get(), EVP_sha256()) == 0) {
    return SslError("X509_sign");
  }
  KeyAndCert out;
  BioPtr cert_bio(BIO_new(BIO_s_mem()));
  BioPtr key_bio(BIO_new(BIO_s_mem()));
  if (PEM_write_bio_X509(cert_bio.get(), x.get()) != 1 ||
      PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) !=
          1) {
    return SslError("PEM_write");
  }
  out.cert_pem = BioText(cert_bio.get());
  out.key_pem = BioText(key_bio.get());
  return out;
}

}  // namespace k8i::crypto

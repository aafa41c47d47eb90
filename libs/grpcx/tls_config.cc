#include "libs/grpcx/tls_config.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libs/common/status_macros.h"

namespace k8i::grpcx {
namespace {

constexpr char kCertVar[] = "K8I_TLS_CERT_FILE";
constexpr char kKeyVar[] = "K8I_TLS_KEY_FILE";
constexpr char kClientCaVar[] = "K8I_TLS_CLIENT_CA_FILE";
constexpr char kClientAuthVar[] = "K8I_TLS_CLIENT_AUTH";

absl::Status Invalid(absl::string_view variable, absl::string_view reason) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid configuration: ", variable, ": ", reason));
}

struct X509Deleter {
  void operator()(X509* x) const { X509_free(x); }
};
struct PkeyDeleter {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct BioDeleter {
  void operator()(BIO* b) const { BIO_free(b); }
};
using X509Ptr = std::unique_ptr<X509, X509Deleter>;
using PkeyPtr = std::unique_ptr<EVP_PKEY, PkeyDeleter>;
using BioPtr = std::unique_ptr<BIO, BioDeleter>;

// ParseCertificates returns every certificate in `pem`, in order; an error when there is none.
absl::StatusOr<std::vector<X509Ptr>> ParseCertificates(absl::string_view variable,
                                                       const std::string& path,
                                                       const std::string& pem) {
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())));
  std::vector<X509Ptr> out;
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(x);
  ERR_clear_error();  // the loop ends on a "no start line" error
  if (out.empty()) {
    return Invalid(variable, absl::StrCat(path, " holds no PEM certificate"));
  }
  return out;
}

absl::Status CheckValidity(absl::string_view variable, const std::string& path, X509* cert) {
  if (X509_cmp_current_time(X509_get0_notAfter(cert)) < 0) {
    return Invalid(variable, absl::StrCat("the certificate in ", path, " has expired"));
  }
  if (X509_cmp_current_time(X509_get0_notBefore(cert)) > 0) {
    return Invalid(variable, absl::StrCat("the certificate in ", path, " is not valid yet"));
  }
  return absl::OkStatus();
}

// CheckKeyPair loads a certificate chain and its private key and checks they belong together.
absl::Status CheckKeyPair(absl::string_view cert_var, const std::string& cert_path,
                          absl::string_view key_var, const std::string& key_path) {
  ASSIGN_OR_RETURN(std::string cert_pem, ReadPemFile(cert_var, cert_path));
  ASSIGN_OR_RETURN(std::string key_pem, ReadPemFile(key_var, key_path));
  ASSIGN_OR_RETURN(auto chain, ParseCertificates(cert_var, cert_path, cert_pem));
  RETURN_IF_ERROR(CheckValidity(cert_var, cert_path, chain.front().get()));
  ERR_clear_error();
  BioPtr bio(BIO_new_mem_buf(key_pem.data(), static_cast<int>(key_pem.size())));
  PkeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    const std::string why = OpenSslErrors();
    return Invalid(key_var,
                   absl::StrCat(key_path, " holds no unencrypted PEM private key (", why, ")"));
  }
  if (X509_check_private_key(chain.front().get(), key.get()) != 1) {
    ERR_clear_error();
    return Invalid(key_var,
                   absl::StrCat("the key in ", key_path, " does not match the certificate in ",
                                cert_var, " (", cert_path, ")"));
  }
  return absl::OkStatus();
}

absl::Status CheckCaFile(absl::string_view variable, const std::string& path) {
  ASSIGN_OR_RETURN(std::string pem, ReadPemFile(variable, path));
  return ParseCertificates(variable, path, pem).status();
}

}  // namespace

std::string OpenSslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    absl::StrAppend(&out, out.empty() ? "" : "; ", buf);
  }
  return out;
}

absl::StatusOr<std::string> ReadPemFile(absl::string_view variable, const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Invalid(variable, absl::StrCat("cannot read ", path, ": ", std::strerror(errno)));
  }
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Invalid(variable, absl::StrCat("cannot read ", path));
  std::string pem = ss.str();
  if (pem.empty()) return Invalid(variable, absl::StrCat(path, " is empty"));
  return pem;
}

std::string TlsVar(const TlsClientConfig& c, absl::string_view suffix) {
  return absl::StrCat(c.prefix, suffix);
}

std::string HostOfTarget(absl::string_view address) {
  absl::string_view a = address;
  for (absl::string_view scheme : {"dns:", "ipv4:", "ipv6:"}) {
    if (absl::ConsumePrefix(&a, scheme)) break;
  }
  if (absl::ConsumePrefix(&a, "//")) {
    const size_t slash = a.find('/');  // authority, usually empty
    a = slash == absl::string_view::npos ? a : a.substr(slash + 1);
  }
  if (!a.empty() && a.front() == '[') {
    const size_t close = a.find(']');
    return std::string(close == absl::string_view::npos ? a.substr(1) : a.substr(1, close - 1));
  }
  const size_t colon = a.rfind(':');
  return std::string(colon == absl::string_view::npos ? a : a.substr(0, colon));
}

absl::StatusOr<TlsServerConfig> LoadTlsServerConfig(EnvReader& env) {
  TlsServerConfig c;
  c.cert_file = env.String(kCertVar, "");
  c.key_file = env.String(kKeyVar, "");
  c.client_ca_file = env.String(kClientCaVar, "");
  const std::string mode = absl::AsciiStrToLower(
      env.String(kClientAuthVar, c.client_ca_file.empty() ? "none" : "require"));
  if (mode == "none") {
    c.client_auth = ClientAuth::kNone;
  } else if (mode == "optional") {
    c.client_auth = ClientAuth::kOptional;
  } else if (mode == "require") {
    c.client_auth = ClientAuth::kRequire;
  } else {
    return Invalid(kClientAuthVar, absl::StrCat("\"", mode, "\" is not none, optional or require"));
  }
  RETURN_IF_ERROR(ValidateTlsServerConfig(c));
  return c;
}

absl::Status ValidateTlsServerConfig(const TlsServerConfig& c) {
  if (c.cert_file.empty()) {
    if (!c.key_file.empty()) return Invalid(kCertVar, "required with K8I_TLS_KEY_FILE");
    if (!c.client_ca_file.empty()) return Invalid(kCertVar, "required with K8I_TLS_CLIENT_CA_FILE");
    if (c.client_auth != ClientAuth::kNone) return Invalid(kCertVar, "required for client auth");
    return absl::OkStatus();
  }
  if (c.key_file.empty()) return Invalid(kKeyVar, "required with K8I_TLS_CERT_FILE");
  RETURN_IF_ERROR(CheckKeyPair(kCertVar, c.cert_file, kKeyVar, c.key_file));
  if (c.client_auth != ClientAuth::kNone && c.client_ca_file.empty()) {
    return Invalid(kClientCaVar,
                   "required when K8I_TLS_CLIENT_AUTH is optional or require (the CA that "
                   "signs client certificates)");
  }
  if (!c.client_ca_file.empty()) {
    if (c.client_auth == ClientAuth::kNone) {
      return Invalid(kClientAuthVar, "none, but K8I_TLS_CLIENT_CA_FILE is set");
    }
    RETURN_IF_ERROR(CheckCaFile(kClientCaVar, c.client_ca_file));
  }
  return absl::OkStatus();
}

bool IsLoopbackAddress(absl::string_view address) {
  if (absl::StartsWith(address, "unix:") || absl::StartsWith(address, "unix-abstract:")) {
    return true;
  }
  return metrics::IsLoopbackHost(HostOfTarget(address));
}

absl::Status CheckListener(absl::string_view variable, absl::string_view address,
                           const TlsServerConfig& config) {
  if (config.enabled() || IsLoopbackAddress(address)) return absl::OkStatus();
  return absl::FailedPreconditionError(
      absl::StrCat("invalid configuration: ", variable, ": \"", address,
                   "\" is not a loopback address and TLS is off: set K8I_TLS_CERT_FILE and "
                   "K8I_TLS_KEY_FILE, or bind 127.0.0.1 (plaintext is allowed only on loopback)"));
}

metrics::HttpTlsOptions MetricsTls(const TlsServerConfig& c) {
  return {.cert_file = c.cert_file, .key_file = c.key_file};
}

TlsClientConfig ReadTlsClientConfig(EnvReader& env, absl::string_view prefix) {
  TlsClientConfig c;
  c.prefix = std::string(prefix);
  c.ca_file = env.String(TlsVar(c, "_TLS_CA_FILE"), "");
  c.cert_file = env.String(TlsVar(c, "_TLS_CERT_FILE"), "");
  c.key_file = env.String(TlsVar(c, "_TLS_KEY_FILE"), "");
  c.server_name = env.String(TlsVar(c, "_TLS_SERVER_NAME"), "");
  const bool any_file = !c.ca_file.empty() || !c.cert_file.empty() || !c.key_file.empty();
  c.tls = env.Bool(TlsVar(c, "_TLS"), any_file);
  c.insecure_plaintext = env.Bool(TlsVar(c, "_INSECURE_PLAINTEXT"), false);
  return c;
}

absl::Status ValidateTlsClientConfig(const TlsClientConfig& c, absl::string_view target) {
  if (!c.tls) {
    for (const auto& [suffix, value] :
         {std::pair<absl::string_view, const std::string*>{"_TLS_CA_FILE", &c.ca_file},
          {"_TLS_CERT_FILE", &c.cert_file},
          {"_TLS_KEY_FILE", &c.key_file}}) {
      if (!value->empty()) {
        return Invalid(TlsVar(c, suffix),
                       absl::StrCat("set while ", TlsVar(c, "_TLS"), " is false"));
      }
    }
    if (!c.insecure_plaintext && !IsLoopbackAddress(target)) {
      return absl::FailedPreconditionError(
          absl::StrCat("invalid configuration: ", TlsVar(c, "_TLS"), ": plaintext to \"", target,
                       "\", which is not a loopback address: set ", TlsVar(c, "_TLS_CA_FILE"),
                       " (or ", TlsVar(c, "_TLS"), "=true for the system CAs); ",
                       TlsVar(c, "_INSECURE_PLAINTEXT"), "=true allows plaintext for development"));
    }
    return absl::OkStatus();
  }
  if (c.cert_file.empty() != c.key_file.empty()) {
    return Invalid(
        TlsVar(c, c.cert_file.empty() ? "_TLS_CERT_FILE" : "_TLS_KEY_FILE"),
        absl::StrCat("required with ",
                     TlsVar(c, c.cert_file.empty() ? "_TLS_KEY_FILE" : "_TLS_CERT_FILE")));
  }
  if (!c.ca_file.empty()) RETURN_IF_ERROR(CheckCaFile(TlsVar(c, "_TLS_CA_FILE"), c.ca_file));
  if (!c.cert_file.empty()) {
    RETURN_IF_ERROR(CheckKeyPair(TlsVar(c, "_TLS_CERT_FILE"), c.cert_file,
                                 TlsVar(c, "_TLS_KEY_FILE"), c.key_file));
  }
  return absl::OkStatus();
}

}  // namespace k8i::grpcx

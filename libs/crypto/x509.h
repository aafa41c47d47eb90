// X.509 certificates made with the OpenSSL API: P-256 keys, SHA-256 signatures, PEM in and out.
// For certificates the project makes itself — k8i-kubesim's serving certificate and the
// certificates of its simulated TLS Secrets, the test PKIs — never for production trust.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"

namespace k8i::crypto {

struct CertSpec {
  std::string common_name;
  std::string organization = "k8intel";
  bool ca = false;
  std::string subject_alt_names;  // OpenSSL form, "DNS:localhost,IP:127.0.0.1"; empty: none
  absl::Time not_before;
  absl::Time not_after;
  long serial = 1;
};

struct KeyAndCert {
  std::string cert_pem;
  std::string key_pem;  // PKCS#8
};

// IssueCertificate makes a new key and a certificate for it, signed by `issuer` (a CA's
// certificate and key) or self-signed when `issuer` is null.
absl::StatusOr<KeyAndCert> IssueCertificate(const CertSpec& spec,
                                            const KeyAndCert* issuer = nullptr);

}  // namespace k8i::crypto

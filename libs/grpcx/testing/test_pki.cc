#include "libs/grpcx/testing/test_pki.h"

#include <sys/stat.h>

#include <filesystem>
#include <fstream>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "libs/crypto/x509.h"

namespace k8i::grpcx::testing {
namespace {

absl::Status WriteFile(const std::string& path, const std::string& text, bool secret) {
  std::ofstream out(path, std::ios::trunc);
  out << text;
  out.close();
  if (!out) return absl::InternalError(absl::StrCat("cannot write ", path));
  if (secret) chmod(path.c_str(), 0600);
  return absl::OkStatus();
}

// Issue makes a certificate (signed by `issuer`, or self-signed) and writes its files.
absl::StatusOr<crypto::KeyAndCert> Issue(const std::string& cn, bool ca, const std::string& san,
                                         absl::Duration from, absl::Duration until, long serial,
                                         const crypto::KeyAndCert* issuer,
                                         const std::string& cert_path,
                                         const std::string& key_path) {
  const absl::Time now = absl::Now();
  auto kc = crypto::IssueCertificate({.common_name = cn,
                                      .organization = "k8intel test",
                                      .ca = ca,
                                      .subject_alt_names = san,
                                      .not_before = now + from,
                                      .not_after = now + until,
                                      .serial = serial},
                                     issuer);
  if (!kc.ok()) return kc.status();
  if (auto s = WriteFile(cert_path, kc->cert_pem, false); !s.ok()) return s;
  if (!key_path.empty()) {
    if (auto s = WriteFile(key_path, kc->key_pem, true); !s.ok()) return s;
  }
  return kc;
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
  const absl::Duration hour = absl::Hours(1), day = absl::Hours(24);
  auto ca = Issue("k8intel test CA", true, "", -hour, day, 1, nullptr, p.ca_cert, p.ca_key);
  if (!ca.ok()) return ca.status();
  auto other = Issue("unrelated test CA", true, "", -hour, day, 1, nullptr, p.other_ca_cert, "");
  if (!other.ok()) return other.status();
  for (const auto& s :
       {Issue("localhost", false, "DNS:localhost,IP:127.0.0.1,IP:::1", -hour, day, 2, &*ca,
              p.server_cert, p.server_key)
            .status(),
        Issue("k8i-agent-test", false, "", -hour, day, 3, &*ca, p.client_cert, p.client_key)
            .status(),
        Issue("k8i-agent-other", false, "", -hour, day, 2, &*other, p.other_client_cert,
              p.other_client_key)
            .status(),
        Issue("localhost", false, "DNS:localhost,IP:127.0.0.1", -2 * day, -day, 4, &*ca,
              p.expired_cert, p.expired_key)
            .status()}) {
    if (!s.ok()) return s;
  }
  return p;
}

}  // namespace k8i::grpcx::testing

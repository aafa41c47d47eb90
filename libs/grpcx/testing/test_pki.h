// CreateTestPki: a throwaway PKI for TLS tests, made with the OpenSSL API at test time and
// written as PEM files into a directory: a CA, a server certificate for localhost / 127.0.0.1
// / ::1, a client certificate from the same CA, a second unrelated CA with its own client
// certificate, and an expired server certificate. Test-only; never use these files elsewhere.
#pragma once

#include <string>

#include "absl/status/statusor.h"

namespace k8i::grpcx::testing {

// TestPki holds the paths of the generated files (all inside `dir`).
struct TestPki {
  std::string dir;
  std::string ca_cert, ca_key;
  std::string server_cert, server_key;          // SAN DNS:localhost, IP:127.0.0.1, IP:::1
  std::string client_cert, client_key;          // CN k8i-agent-test, signed by the CA
  std::string other_ca_cert;                    // an unrelated CA
  std::string other_client_cert, other_client_key;  // signed by the unrelated CA
  std::string expired_cert, expired_key;        // signed by the CA, expired yesterday
};

// CreateTestPki creates `dir` if needed and writes every file; keys are P-256, mode 0600.
absl::StatusOr<TestPki> CreateTestPki(const std::string& dir);

}  // namespace k8i::grpcx::testing

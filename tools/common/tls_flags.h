// The client TLS flags every command-line tool shares (k8i, k8i-health): --tls, --tls-ca,
// --tls-cert, --tls-key, --tls-server-name, --insecure-plaintext, over the K8I_CLIENT_TLS_*
// environment defaults that grpcx::ReadTlsClientConfig has already put in `tls`.
#pragma once

#include "CLI/CLI.hpp"
#include "libs/grpcx/tls.h"

namespace k8i::tools {

inline void AddTlsClientFlags(CLI::App& app, grpcx::TlsClientConfig& tls) {
  app.add_flag("--tls", tls.tls, "TLS with the system CAs (env K8I_CLIENT_TLS)");
  app.add_option("--tls-ca", tls.ca_file, "CA file of the server (env K8I_CLIENT_TLS_CA_FILE)");
  app.add_option("--tls-cert", tls.cert_file,
                 "client certificate for mTLS (env K8I_CLIENT_TLS_CERT_FILE)");
  app.add_option("--tls-key", tls.key_file, "client key for mTLS (env K8I_CLIENT_TLS_KEY_FILE)");
  app.add_option("--tls-server-name", tls.server_name,
                 "expected name in the server certificate (env K8I_CLIENT_TLS_SERVER_NAME)");
  app.add_flag("--insecure-plaintext", tls.insecure_plaintext,
               "allow plaintext to a non-loopback address, for development "
               "(env K8I_CLIENT_INSECURE_PLAINTEXT)");
}

// TlsRequested: after parsing, a CA or a client certificate implies TLS.
inline void ApplyTlsClientFlags(grpcx::TlsClientConfig& tls) {
  tls.tls = tls.tls || !tls.ca_file.empty() || !tls.cert_file.empty();
}

}  // namespace k8i::tools

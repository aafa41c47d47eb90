// TLS settings for every k8intel listener and client, without gRPC: the server settings every
// service reads from the same K8I_TLS_* variables, the client settings (<prefix>_TLS_*), checks
// of the PEM files with OpenSSL (readable, parsable, key matches certificate, not expired) with
// errors naming the variable, and the rule that plaintext is allowed only on loopback. The gRPC
// credentials built from them are in tls.h; k8i-agent, which speaks gRPC without gRPC C++, uses
// only this header.
#pragma once

#include <memory>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"
#include "libs/common/config.h"
#include "libs/metrics/metrics.h"

namespace k8i::grpcx {

// ClientAuth: whether a TLS server asks clients for a certificate (mTLS).
enum class ClientAuth {
  kNone,      // no client certificate is requested
  kOptional,  // requested; verified against the client CA when presented
  kRequire,   // a certificate signed by the client CA is required
};

// TlsServerConfig: the server side of TLS, shared by every listener of a process (gRPC and
// metrics). Empty cert_file = TLS off (allowed only on loopback addresses).
struct TlsServerConfig {
  std::string cert_file;       // K8I_TLS_CERT_FILE: PEM chain, leaf first
  std::string key_file;        // K8I_TLS_KEY_FILE: PEM private key of the leaf
  std::string client_ca_file;  // K8I_TLS_CLIENT_CA_FILE: PEM CA(s) that sign client certs
  ClientAuth client_auth = ClientAuth::kNone;  // K8I_TLS_CLIENT_AUTH
  bool enabled() const { return !cert_file.empty(); }
};

// LoadTlsServerConfig reads K8I_TLS_CERT_FILE, K8I_TLS_KEY_FILE, K8I_TLS_CLIENT_CA_FILE and
// K8I_TLS_CLIENT_AUTH (none|optional|require; default require when a client CA is set, else
// none) and validates them with ValidateTlsServerConfig. Every service calls this one
// function from its LoadConfig.
absl::StatusOr<TlsServerConfig> LoadTlsServerConfig(EnvReader& env);

// ValidateTlsServerConfig checks the combination and the files: cert and key both set, each
// readable and parsable PEM, the key matching the certificate, the certificate within its
// validity period, the client CA present (and parsable) when client auth is optional or
// require. Errors are InvalidArgument naming the variable, e.g. "invalid configuration:
// K8I_TLS_KEY_FILE: the key does not match the certificate in K8I_TLS_CERT_FILE".
absl::Status ValidateTlsServerConfig(const TlsServerConfig& config);

// CheckListener refuses a plaintext listener on a non-loopback address: FailedPrecondition
// naming `variable` (the address's setting, e.g. K8I_GRPC_ADDR) and the TLS variables to set.
// OK when TLS is enabled or the host is 127.0.0.0/8, ::1 or localhost.
absl::Status CheckListener(absl::string_view variable, absl::string_view address,
                           const TlsServerConfig& config);

// IsLoopbackAddress: true for a gRPC address ("host:port", "[v6]:port", "ipv4:…", "ipv6:…",
// "dns:…") whose host is loopback, and for unix sockets.
bool IsLoopbackAddress(absl::string_view address);

// MetricsTls maps the server TLS settings onto the metrics HTTP listener (server certificate
// only; see docs/security.md for why scrapes are not asked for client certificates).
metrics::HttpTlsOptions MetricsTls(const TlsServerConfig& config);

// TlsClientConfig: how a client (agent, CLI, health probe) reaches a server.
struct TlsClientConfig {
  bool tls = false;       // verify the server: with ca_file, or the system roots when empty
  std::string ca_file;    // PEM CA(s) that sign the server's certificate
  std::string cert_file;  // client certificate chain for mTLS (with key_file)
  std::string key_file;
  std::string server_name;  // expected name in the server certificate, when not the target host
  // Plaintext to a non-loopback target. For development only: credentials cross the network
  // in clear text.
  bool insecure_plaintext = false;
  // Variable prefix used in error messages ("K8I_AGENT" -> K8I_AGENT_TLS_CA_FILE, ...).
  std::string prefix = "K8I_CLIENT";
};

// ReadTlsClientConfig reads <prefix>_TLS (bool; default true when any of the files is set),
// <prefix>_TLS_CA_FILE, <prefix>_TLS_CERT_FILE, <prefix>_TLS_KEY_FILE,
// <prefix>_TLS_SERVER_NAME and <prefix>_INSECURE_PLAINTEXT. Bad values go to `env`.
TlsClientConfig ReadTlsClientConfig(EnvReader& env, absl::string_view prefix);

// ValidateTlsClientConfig checks the files like ValidateTlsServerConfig, that cert and key
// come together, and that plaintext is not used for a non-loopback `target` unless
// insecure_plaintext. InvalidArgument naming the variable.
absl::Status ValidateTlsClientConfig(const TlsClientConfig& config, absl::string_view target);

// OpenSslErrors drains OpenSSL's error queue into one line (empty when it was empty).
std::string OpenSslErrors();

// ReadPemFile reads a PEM file named by `variable`: InvalidArgument naming the variable when it
// cannot be read or is empty.
absl::StatusOr<std::string> ReadPemFile(absl::string_view variable, const std::string& path);

// TlsVar names one of a client's variables: TlsVar(c, "_TLS_CA_FILE") -> K8I_AGENT_TLS_CA_FILE.
std::string TlsVar(const TlsClientConfig& config, absl::string_view suffix);

// HostOfTarget returns the host of a gRPC address after its scheme: "h:p" -> h, "[v6]:p" -> v6,
// "dns:///h:p" -> h.
std::string HostOfTarget(absl::string_view address);

}  // namespace k8i::grpcx

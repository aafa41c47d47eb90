#include "libs/grpcx/tls.h"

#include "libs/common/status_macros.h"

namespace k8i::grpcx {
namespace {

constexpr char kCertVar[] = "K8I_TLS_CERT_FILE";
constexpr char kKeyVar[] = "K8I_TLS_KEY_FILE";
constexpr char kClientCaVar[] = "K8I_TLS_CLIENT_CA_FILE";

}  // namespace

absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const TlsServerConfig& c) {
  if (!c.enabled()) return grpc::InsecureServerCredentials();
  RETURN_IF_ERROR(ValidateTlsServerConfig(c));
  grpc_ssl_client_certificate_request_type request = GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
  if (c.client_auth == ClientAuth::kOptional) {
    request = GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
  } else if (c.client_auth == ClientAuth::kRequire) {
    request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  }
  grpc::SslServerCredentialsOptions opts(request);
  grpc::SslServerCredentialsOptions::PemKeyCertPair pair;
  ASSIGN_OR_RETURN(pair.private_key, ReadPemFile(kKeyVar, c.key_file));
  ASSIGN_OR_RETURN(pair.cert_chain, ReadPemFile(kCertVar, c.cert_file));
  opts.pem_key_cert_pairs.push_back(std::move(pair));
  if (!c.client_ca_file.empty()) {
    ASSIGN_OR_RETURN(opts.pem_root_certs, ReadPemFile(kClientCaVar, c.client_ca_file));
  }
  return grpc::SslServerCredentials(opts);
}

absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateChannel(const std::string& target,
                                                             const TlsClientConfig& c,
                                                             grpc::ChannelArguments args) {
  RETURN_IF_ERROR(ValidateTlsClientConfig(c, target));
  if (!c.tls) {
    return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
  }
  grpc::SslCredentialsOptions opts;
  if (!c.ca_file.empty()) {
    ASSIGN_OR_RETURN(opts.pem_root_certs, ReadPemFile(TlsVar(c, "_TLS_CA_FILE"), c.ca_file));
  }
  if (!c.cert_file.empty()) {
    ASSIGN_OR_RETURN(opts.pem_cert_chain, ReadPemFile(TlsVar(c, "_TLS_CERT_FILE"), c.cert_file));
    ASSIGN_OR_RETURN(opts.pem_private_key, ReadPemFile(TlsVar(c, "_TLS_KEY_FILE"), c.key_file));
  }
  if (!c.server_name.empty()) args.SetSslTargetNameOverride(c.server_name);
  return grpc::CreateCustomChannel(target, grpc::SslCredentials(opts), args);
}

}  // namespace k8i::grpcx

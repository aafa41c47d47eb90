// gRPC credentials and channels from the TLS settings of tls_config.h.
#pragma once

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "grpcpp/grpcpp.h"
#include "libs/grpcx/tls_config.h"

namespace k8i::grpcx {

// ServerCredentials validates `config` and returns TLS credentials for it, or insecure
// credentials when TLS is off.
absl::StatusOr<std::shared_ptr<grpc::ServerCredentials>> ServerCredentials(
    const TlsServerConfig& config);

// CreateChannel validates `config` for `target` and returns a channel with TLS (and the
// client certificate when set) or plaintext. `args` may carry other channel arguments.
absl::StatusOr<std::shared_ptr<grpc::Channel>> CreateChannel(
    const std::string& target, const TlsClientConfig& config,
    grpc::ChannelArguments args = grpc::ChannelArguments());

}  // namespace k8i::grpcx

// CheckHealth: one grpc.health.v1 Check call, for the probe tool, the CLI and tests.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.pb.h"
#include "libs/grpcx/tls.h"

namespace k8i::grpcx {

using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

// CheckHealth asks `address` (host:port) for the health of `service` ("" = the whole server),
// over TLS as `tls` says (plaintext by default, which ValidateTlsClientConfig allows only for
// loopback addresses). A bad TLS configuration or the RPC's failure is returned as the status.
absl::StatusOr<ServingStatus> CheckHealth(const std::string& address, const std::string& service,
                                          absl::Duration timeout,
                                          const TlsClientConfig& tls = {});

// ServingStatusName returns "SERVING", "NOT_SERVING", ...
std::string ServingStatusName(ServingStatus status);

}  // namespace k8i::grpcx

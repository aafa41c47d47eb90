// CheckHealth: one grpc.health.v1 Check call, for the probe tool, the CLI and tests.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "grpc/health/v1/health.pb.h"

namespace k8i::grpcx {

using ServingStatus = grpc::health::v1::HealthCheckResponse::ServingStatus;

// CheckHealth asks `address` (host:port, plaintext) for the health of `service` ("" = the
// whole server). The RPC's failure is returned as its status.
absl::StatusOr<ServingStatus> CheckHealth(const std::string& address, const std::string& service,
                                          absl::Duration timeout);

// ServingStatusName returns "SERVING", "NOT_SERVING", ...
std::string ServingStatusName(ServingStatus status);

}  // namespace k8i::grpcx

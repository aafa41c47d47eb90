// Error details for the gRPC edge (AIP-193): build absl::Status values that carry BadRequest
// field violations, RetryInfo and ErrorInfo as payloads, and convert them to grpc::Status /
// google.rpc.Status with those details attached, and back.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"
#include "google/rpc/error_details.pb.h"
#include "google/rpc/status.pb.h"
#include "libs/common/field_violation.h"

namespace grpc {
class Status;
}  // namespace grpc

namespace k8i::grpcx {

inline constexpr char kErrorDomain[] = "k8intel.dev";

using FieldViolation = ::k8i::FieldViolation;

// InvalidArgument whose message lists the violations and whose payload carries them.
absl::Status InvalidArgumentWithViolations(absl::string_view message,
                                           const std::vector<FieldViolation>& violations);

// WithRetryDelay attaches RetryInfo: the client may resend after `delay`.
absl::Status WithRetryDelay(absl::Status status, absl::Duration delay);

// WithErrorInfo attaches ErrorInfo{reason, domain kErrorDomain, metadata}.
absl::Status WithErrorInfo(absl::Status status, absl::string_view reason,
                           const std::map<std::string, std::string>& metadata = {});

// ToRpcStatus converts to google.rpc.Status with details from the payloads. Every non-OK status
// carries an ErrorInfo (reason defaults to the code name).
google::rpc::Status ToRpcStatus(const absl::Status& status);

// ToGrpcStatus converts for returning from a handler; details travel in
// grpc-status-details-bin. It and FromGrpcStatus are defined in grpc_status.cc (library
// k8i::grpcx); include grpcpp/support/status.h to call them.
grpc::Status ToGrpcStatus(const absl::Status& status);

// FromRpcStatus / FromGrpcStatus convert back (clients, tests), keeping the details.
absl::Status FromRpcStatus(const google::rpc::Status& status);
absl::Status FromGrpcStatus(const grpc::Status& status);

// Accessors for details on an absl::Status (empty when absent).
std::vector<FieldViolation> GetFieldViolations(const absl::Status& status);
absl::Duration GetRetryDelay(const absl::Status& status);

}  // namespace k8i::grpcx

// Authentication and authorization at the gRPC edge.
//
// gRPC 1.51's C++ server interceptors cannot reject a call before its handler runs (Hijack()
// is client-only: grpc/grpc#24017), and AuthMetadataProcessor, which can, is refused by
// InsecureServerCredentials (our services sit behind nginx/Ingress on plaintext h2c). So the
// work is split in two, and both halves are required:
//  1. AuthInterceptorFactory, installed on the server, authenticates the `authorization`
//     metadata at POST_RECV_INITIAL_METADATA, checks the Policy (and optionally a rate
//     limit) and records the outcome for the call. On failure it also replaces whatever status
//     the handler returns with the auth error, so the client always sees UNAUTHENTICATED /
//     PERMISSION_DENIED / RESOURCE_EXHAUSTED even from a handler that forgot step 2.
//  2. Every handler starts with K8I_AUTHORIZE(principal, context) (or AuthorizeCall), which
//     returns that recorded outcome; the handler must not act on the request when it fails.
// A service test lists the service's methods against the Policy with UncoveredMethods.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "google/protobuf/descriptor.h"
#include "grpcpp/server_context.h"
#include "grpcpp/support/server_interceptor.h"
#include "libs/auth/authenticator.h"
#include "libs/auth/policy.h"
#include "libs/auth/rate_limiter.h"
#include "libs/grpcx/status.h"

namespace k8i::auth {

struct AuthInterceptorOptions {
  Authenticator* authenticator = nullptr;  // required; not owned
  const Policy* policy = nullptr;          // required; not owned
  // Optional: every authenticated call costs one token of the bucket keyed by
  // "<tenant>" (or "<tenant>/<credential_id>" when per_credential_rate_limit). Not owned.
  RateLimiter* rate_limiter = nullptr;
  bool per_credential_rate_limit = false;
};

// AuthInterceptorFactory creates one interceptor per call. The objects in `options` must
// outlive the server. Register with
// builder.experimental().SetInterceptorCreators(...), before other interceptors that should
// see only authorized calls.
class AuthInterceptorFactory final : public grpc::experimental::ServerInterceptorFactoryInterface {
 public:
  explicit AuthInterceptorFactory(AuthInterceptorOptions options);
  grpc::experimental::Interceptor* CreateServerInterceptor(
      grpc::experimental::ServerRpcInfo* info) override;

 private:
  AuthInterceptorOptions options_;
};

// AuthorizeCall returns the Principal of the call `context` belongs to, or the error that
// rejected it (Unauthenticated, PermissionDenied, ResourceExhausted with RetryInfo,
// Unavailable). For a public method without credentials the Principal has Role::kNone.
// Internal when no AuthInterceptorFactory saw the call (fail closed). Thread-safe; valid
// until the call completes.
absl::StatusOr<Principal> AuthorizeCall(const grpc::ServerContextBase& context);

// K8I_AUTHORIZE(var, context): declares `Principal var` from AuthorizeCall(*context), or
// returns its error as a grpc::Status from the enclosing handler.
#define K8I_AUTHORIZE(var, context)                                           \
  auto var##_or_ = ::k8i::auth::AuthorizeCall(*(context));                    \
  if (!var##_or_.ok()) return ::k8i::grpcx::ToGrpcStatus(var##_or_.status()); \
  const ::k8i::auth::Principal& var = *var##_or_

// FullMethodName returns "/<package>.<Service>/<Method>" as gRPC names it.
std::string FullMethodName(const google::protobuf::MethodDescriptor& method);

// UncoveredMethods returns the methods of `service` that `policy` has no entry for; a
// service's test asserts it is empty.
std::vector<std::string> UncoveredMethods(const Policy& policy,
                                          const google::protobuf::ServiceDescriptor& service);

}  // namespace k8i::auth

#include "libs/auth/grpc_auth.h"

#include <map>
#include <optional>

#include "absl/base/thread_annotations.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "libs/common/check.h"
#include "libs/common/logging.h"
#include "libs/metrics/metrics.h"

namespace k8i::auth {
namespace {

using grpc::experimental::InterceptionHookPoints;

metrics::Family<metrics::Counter>& Decisions() {
  static auto& f = metrics::Registry::Default().AddCounter(
      "k8i_auth_decisions_total", "Authorization decisions at the gRPC edge, by result.",
      {"result"});
  return f;
}

std::string ResultLabel(const absl::Status& st) {
  if (st.ok()) return "ok";
  switch (st.code()) {
    case absl::StatusCode::kUnauthenticated:
      return "unauthenticated";
    case absl::StatusCode::kPermissionDenied:
      return "permission_denied";
    case absl::StatusCode::kResourceExhausted:
      return "rate_limited";
    case absl::StatusCode::kUnavailable:
      return "unavailable";
    default:
      return "error";
  }
}

// CallRegistry holds the outcome of each call in flight, keyed by its server context.
class CallRegistry {
 public:
  static CallRegistry& Get() {
    static CallRegistry* r = new CallRegistry;
    return *r;
  }
  void Put(const grpc::ServerContextBase* ctx, absl::StatusOr<Principal> result) {
    absl::MutexLock lock(&mu_);
    calls_.insert_or_assign(ctx, std::move(result));
  }
  std::optional<absl::StatusOr<Principal>> Find(const grpc::ServerContextBase* ctx) {
    absl::MutexLock lock(&mu_);
    auto it = calls_.find(ctx);
    if (it == calls_.end()) return std::nullopt;
    return it->second;
  }
  void Erase(const grpc::ServerContextBase* ctx) {
    absl::MutexLock lock(&mu_);
    calls_.erase(ctx);
  }

 private:
  absl::Mutex mu_;
  std::map<const grpc::ServerContextBase*, absl::StatusOr<Principal>> calls_ ABSL_GUARDED_BY(mu_);
};

class AuthInterceptor final : public grpc::experimental::Interceptor {
 public:
  AuthInterceptor(grpc::experimental::ServerRpcInfo* info, const AuthInterceptorOptions& options)
      : info_(info), options_(options) {}
  ~AuthInterceptor() override {
    if (registered_) CallRegistry::Get().Erase(info_->server_context());
  }

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      std::string header;
      auto* md = methods->GetRecvInitialMetadata();
      if (md != nullptr) {
        auto it = md->find("authorization");
        if (it != md->end()) header.assign(it->second.data(), it->second.size());
      }
      absl::StatusOr<Principal> result = Decide(info_->method(), header);
      Decisions().WithLabels({ResultLabel(result.status())}).Inc();
      if (!result.ok()) {
        Logger("auth")->info("rpc {} rejected: {}", info_->method(), result.status().ToString());
        failure_ = result.status();
        // The suite's handlers refuse a rejected call themselves (K8I_AUTHORIZE); gRPC's own
        // reflection service does not, and would answer before the status is replaced:
        // cancel it before its handler runs.
        if (absl::StartsWith(info_->method(), "/grpc.reflection.")) {
          info_->server_context()->TryCancel();
        }
      }
      CallRegistry::Get().Put(info_->server_context(), std::move(result));
      registered_ = true;
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS) &&
        !failure_.ok()) {
      methods->ModifySendStatus(grpcx::ToGrpcStatus(failure_));
    }
    methods->Proceed();
  }

 private:
  absl::StatusOr<Principal> Decide(const std::string& method, const std::string& header) {
    const Requirement* req = options_.policy->Find(method);
    if (req == nullptr) {
      return absl::PermissionDeniedError(absl::StrCat("no policy for method ", method));
    }
    if (req->kind == Requirement::Kind::kPublic && header.empty()) {
      return Principal{
          .subject = "anonymous", .tenant = "", .role = Role::kNone, .credential_id = ""};
    }
    absl::StatusOr<Principal> p = options_.authenticator->Authenticate(header);
    if (!p.ok()) return p.status();
    absl::Status st = options_.policy->Check(*p, method);
    if (!st.ok()) return st;
    if (options_.rate_limiter != nullptr && req->kind != Requirement::Kind::kPublic) {
      const std::string key = options_.per_credential_rate_limit
                                  ? absl::StrCat(p->tenant, "/", p->credential_id)
                                  : p->tenant;
      st = options_.rate_limiter->Acquire(key);
      if (!st.ok()) return st;
    }
    return p;
  }

  grpc::experimental::ServerRpcInfo* info_;
  const AuthInterceptorOptions& options_;
  absl::Status failure_;
  bool registered_ = false;
};

}  // namespace

AuthInterceptorFactory::AuthInterceptorFactory(AuthInterceptorOptions options)
    : options_(std::move(options)) {
  K8I_CHECK(options_.authenticator != nullptr && options_.policy != nullptr,
            "AuthInterceptorFactory needs an authenticator and a policy");
}

grpc::experimental::Interceptor* AuthInterceptorFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new AuthInterceptor(info, options_);
}

absl::StatusOr<Principal> AuthorizeCall(const grpc::ServerContextBase& context) {
  auto found = CallRegistry::Get().Find(&context);
  if (!found.has_value()) {
    return absl::InternalError("call was not seen by the auth interceptor; refusing it");
  }
  return *std::move(found);
}

std::string FullMethodName(const google::protobuf::MethodDescriptor& method) {
  return absl::StrCat("/", method.service()->full_name(), "/", method.name());
}

std::vector<std::string> UncoveredMethods(const Policy& policy,
                                          const google::protobuf::ServiceDescriptor& service) {
  std::vector<std::string> out;
  for (int i = 0; i < service.method_count(); ++i) {
    std::string name = FullMethodName(*service.method(i));
    if (policy.Find(name) == nullptr) out.push_back(std::move(name));
  }
  return out;
}

}  // namespace k8i::auth

#include "services/inventory/auth_setup.h"

#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "libs/auth/api_key.h"
#include "libs/common/logging.h"
#include "libs/metrics/metrics.h"

namespace k8i::inventory {
namespace {

using grpc::experimental::InterceptionHookPoints;

metrics::Family<metrics::Counter>& AuditWriteFailures() {
  static auto& f = metrics::Registry::Default().AddCounter(
      "k8i_audit_write_failures_total", "Audit events that could not be written.", {});
  return f;
}

std::string CodeName(const absl::Status& s) {
  return s.ok() ? "OK" : absl::StatusCodeToString(s.code());
}

class AuditRejected final : public grpc::experimental::Interceptor {
 public:
  AuditRejected(grpc::experimental::ServerRpcInfo* info, AuditLog* log) : info_(info), log_(log) {}

  void Intercept(grpc::experimental::InterceptorBatchMethods* methods) override {
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::POST_RECV_INITIAL_METADATA)) {
      if (auto* md = methods->GetRecvInitialMetadata(); md != nullptr) {
        auto it = md->find("authorization");
        if (it != md->end()) header_.assign(it->second.data(), it->second.size());
      }
    }
    if (methods->QueryInterceptionHookPoint(InterceptionHookPoints::PRE_SEND_STATUS)) {
      auto decision = auth::AuthorizeCall(*info_->server_context());
      const absl::Status& st = decision.status();
      if (absl::IsUnauthenticated(st) || absl::IsPermissionDenied(st)) {
        log_->RecordRejected(info_->method(), header_, info_->server_context()->peer(), st);
      } else if (decision.ok() && absl::StartsWith(decision->credential_id, "jwt:")) {
        log_->RecordLogin(*decision, info_->method(), info_->server_context()->peer());
      }
    }
    methods->Proceed();
  }

 private:
  grpc::experimental::ServerRpcInfo* info_;
  AuditLog* log_;
  std::string header_;
};

}  // namespace

const auth::Policy& AdminPolicy() {
  static const auth::Policy* p = [] {
    auto* policy = new auth::Policy;
    const std::string svc = "/k8intel.v1.AdminService/";
    policy->AllowHealthAndReflection()
        .Allow(svc + "GetTenant", auth::Role::kViewer)
        .Allow(svc + "UpdateTenant", auth::Role::kAdmin)
        .Allow(svc + "GetApiKey", auth::Role::kViewer)
        .Allow(svc + "ListApiKeys", auth::Role::kViewer)
        .Allow(svc + "CreateApiKey", auth::Role::kAdmin)
        .Allow(svc + "RevokeApiKey", auth::Role::kAdmin)
        .Allow(svc + "GetUser", auth::Role::kViewer)
        .Allow(svc + "ListUsers", auth::Role::kViewer)
        .Allow(svc + "CreateUser", auth::Role::kAdmin)
        .Allow(svc + "UpdateUser", auth::Role::kAdmin)
        .Allow(svc + "DeleteUser", auth::Role::kAdmin)
        .Allow(svc + "ListAuditEvents", auth::Role::kAdmin);
    const std::string metrics = "/k8intel.v1.MetricsService/";
    policy->Allow(metrics + "QueryMetric", auth::Role::kViewer)
        .Allow(metrics + "SummarizeResource", auth::Role::kViewer);
    const std::string clusters = "/k8intel.v1.ClusterService/";
    policy->Allow(clusters + "GetCluster", auth::Role::kViewer)
        .Allow(clusters + "ListClusters", auth::Role::kViewer)
        .Allow(clusters + "ListAgentTokens", auth::Role::kViewer)
        .Allow(clusters + "GetClusterHealth", auth::Role::kViewer)
        .Allow(clusters + "ListClusterHealths", auth::Role::kViewer)
        .Allow(clusters + "CreateCluster", auth::Role::kAdmin)
        .Allow(clusters + "UpdateCluster", auth::Role::kAdmin)
        .Allow(clusters + "DeleteCluster", auth::Role::kAdmin)
        .Allow(clusters + "CreateAgentToken", auth::Role::kAdmin)
        .Allow(clusters + "RevokeAgentToken", auth::Role::kAdmin);
    // ResourceService only reads: every method is open to viewers.
    for (const char* method : {"GetNode", "ListNodes", "GetNamespace", "ListNamespaces",
                               "GetWorkload", "ListWorkloads", "GetPod", "ListPods",
                               "GetContainer", "ListContainers", "GetPersistentVolumeClaim",
                               "ListPersistentVolumeClaims", "GetHelmRelease",
                               "ListHelmReleases", "GetEvent", "ListEvents", "GetAlert",
                               "ListAlerts"}) {
      policy->Allow(absl::StrCat("/k8intel.v1.ResourceService/", method), auth::Role::kViewer);
    }
    return policy;
  }();
  return *p;
}

void AuditLog::Record(const auth::Principal& principal, const std::string& peer,
                      const std::string& action, const std::string& target,
                      const absl::Status& result) {
  Append({.tenant_id = principal.tenant,
          .actor = principal.subject,
          .action = action,
          .target = target,
          .result = CodeName(result),
          .peer = peer});
}

void AuditLog::RecordRejected(const std::string& method, const std::string& authorization,
                              const std::string& peer, const absl::Status& result) {
  AuditRow row{
      .action = "Authenticate", .target = method, .result = CodeName(result), .peer = peer};
  absl::string_view cred = absl::StripAsciiWhitespace(authorization);
  absl::ConsumePrefix(&cred, "Bearer ");
  if (cred.empty()) {
    row.actor = "anonymous";
  } else if (auto key = auth::ParseApiKey(cred); key.ok()) {
    row.actor = absl::StrCat("apikey:", key->key_id);
    // The key's own tenant sees the rejection (even with a wrong secret: the id is public).
    if (auto rec = keys_->FindByKeyId(key->key_id); rec.ok()) row.tenant_id = rec->tenant;
  } else if (absl::StrContains(cred, '.')) {
    row.actor = "jwt";
  } else {
    row.actor = "unrecognized-credential";
  }
  Append(std::move(row));
}

void AuditLog::RecordLogin(const auth::Principal& principal, const std::string& method,
                           const std::string& peer) {
  const absl::Time now = clock_->Now();
  {
    absl::MutexLock lock(&mu_);
    if (last_login_.size() > 100'000) last_login_.clear();
    auto [it, inserted] = last_login_.try_emplace(absl::StrCat(principal.tenant, "\n",
                                                               principal.subject), now);
    if (!inserted) {
      if (now - it->second < kLoginEvery) return;
      it->second = now;
    }
  }
  Append({.tenant_id = principal.tenant,
          .actor = principal.subject,
          .action = "Login",
          .target = method,
          .result = "OK",
          .peer = peer});
}

void AuditLog::Append(AuditRow row) {
  if (auto s = store_->AppendAudit(row); !s.ok()) {
    AuditWriteFailures().WithLabels({}).Inc();
    Logger("audit")->error("audit event {} {} by {} not written: {}", row.action, row.target,
                           row.actor, s.ToString());
  }
}

grpc::experimental::Interceptor* AuditRejectedFactory::CreateServerInterceptor(
    grpc::experimental::ServerRpcInfo* info) {
  return new AuditRejected(info, log_);
}

}  // namespace k8i::inventory

#include "services/ingest/auth_setup.h"

#include "absl/strings/str_cat.h"

namespace k8i::ingest {

const auth::Policy& IngestPolicy() {
  static const auth::Policy* p = [] {
    auto* policy = new auth::Policy;
    policy->AllowHealthAndReflection()
        .AllowAgent("/k8intel.v1.IngestService/Stream")
        .AllowAgent("/k8intel.v1.IngestService/Push")
        .AllowAgent("/opentelemetry.proto.collector.metrics.v1.MetricsService/Export");
    return policy;
  }();
  return *p;
}

absl::StatusOr<auth::Principal> AgentTokens::Verify(absl::string_view token) {
  auto who = tokens_->Authenticate(std::string(token));
  if (!who.ok()) return who.status();
  return auth::Principal{.subject = absl::StrCat("agent:", who->cluster),
                         .tenant = who->tenant,
                         .role = auth::Role::kAgent,
                         .credential_id = who->cluster};
}

}  // namespace k8i::ingest

// AuditHandler appends the audit events other services publish (AuditRecord on k8i.audit.v1:
// channel and route changes, incidents acknowledged from Slack or PagerDuty, ...) to the
// tenant's audit log, control.audit_events, once per message (the kit's processed records).
#pragma once

#include "libs/kit/consumer.h"

namespace k8i::inventory {

class AuditHandler final : public kit::Handler {
 public:
  const google::protobuf::Message& Prototype() const override;
  absl::Status Validate(const kit::Delivery& d) const override;
  absl::Status Apply(pqxx::work& tx, const std::vector<const kit::Delivery*>& batch) override;
};

inline constexpr char kAuditConsumer[] = "k8i-inventory-audit";

}  // namespace k8i::inventory

// Audit events and alerts a service raises through its outbox. Audit events of a service
// other than k8i-inventory (which owns the tenant's audit log):
// written to the service's outbox in the transaction that made the change, published as
// AuditRecords on k8i.audit.v1, appended to control.audit_events by k8i-inventory's consumer
// (once per CloudEvent id). So an audited change and its audit event commit together.
#pragma once

#include <string>

#include "absl/time/time.h"
#include "k8intel/v1/telemetry.pb.h"
#include "pqxx/pqxx"

namespace k8i::kit {

struct AuditEntry {
  std::string tenant;
  std::string actor;   // "apikey:<id>", the SSO subject, "slack:T0/U1 (alice)"
  std::string action;  // the method ("CreateChannel") or what was done
  std::string target;  // a resource name
  std::string result = "OK";
  std::string peer;  // the client address, when known
  absl::Time time;
};

// EnqueueAudit writes `entry` to `<schema>.outbox` within `tx`, for `topic` (the service's
// prefix + "audit.v1"); `service` names the source ("notification").
void EnqueueAudit(pqxx::work& tx, const std::string& schema, const std::string& topic,
                  const std::string& service, const AuditEntry& entry);

// EnqueueAlert writes `alert`, as an AlertBatch of one for `topic` (the service's prefix +
// "alerts.v1") keyed `tenant/cluster`, to `<schema>.outbox` within `tx`: how a service raises
// alerts that correlation and notification carry like any other. `id` (the CloudEvent id and
// batch id) must be stable for the same alert and status, so a retried transaction cannot
// raise it twice; `source` is the service's CloudEvents source, `at` the event time.
void EnqueueAlert(pqxx::work& tx, const std::string& schema, const std::string& topic,
                  const std::string& tenant, const std::string& cluster,
                  const k8intel::v1::Alert& alert, const std::string& id,
                  const std::string& source, absl::Time at);

}  // namespace k8i::kit

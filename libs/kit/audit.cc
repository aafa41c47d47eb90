#include "libs/kit/audit.h"

#include "absl/strings/str_cat.h"
#include "k8intel/v1/admin.pb.h"
#include "libs/common/ids.h"
#include "libs/kit/outbox.h"

namespace k8i::kit {

void EnqueueAudit(pqxx::work& tx, const std::string& schema, const std::string& topic,
                  const std::string& service, const AuditEntry& e) {
  k8intel::v1::AuditRecord r;
  r.set_tenant(e.tenant);
  auto* ev = r.mutable_event();
  ev->set_actor(e.actor);
  ev->set_action(e.action);
  ev->set_target(e.target);
  ev->set_result(e.result);
  ev->set_peer(e.peer);
  const int64_t us = absl::ToUnixMicros(e.time);
  ev->mutable_time()->set_seconds(us / 1'000'000);
  ev->mutable_time()->set_nanos(static_cast<int32_t>(us % 1'000'000) * 1000);
  OutboxMessage m;
  m.topic = topic;
  m.key = e.tenant;
  r.SerializeToString(&m.value);
  m.event = {.id = NewId(),
             .source = absl::StrCat("/k8i-", service, "/audit"),
             .type = "dev.k8intel.audit.v1",
             .time = e.time};
  Enqueue(tx, schema, m);
}

void EnqueueAlert(pqxx::work& tx, const std::string& schema, const std::string& topic,
                  const std::string& tenant, const std::string& cluster,
                  const k8intel::v1::Alert& alert, const std::string& id,
                  const std::string& source, absl::Time at) {
  k8intel::v1::AlertBatch batch;
  batch.set_tenant(tenant);
  batch.set_cluster(cluster);
  batch.set_batch_id(id);
  *batch.add_alerts() = alert;
  OutboxMessage m;
  m.topic = topic;
  m.key = absl::StrCat(tenant, "/", cluster);
  batch.SerializeToString(&m.value);
  m.event = {.id = id, .source = source, .type = "dev.k8intel.alerts.v1", .time = at};
  Enqueue(tx, schema, m);
}

}  // namespace k8i::kit

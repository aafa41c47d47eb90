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

}  // namespace k8i::kit

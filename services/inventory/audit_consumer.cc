#include "services/inventory/audit_consumer.h"

#include "absl/strings/str_cat.h"
#include "absl/time/time.h"
#include "k8intel/v1/admin.pb.h"

namespace k8i::inventory {
namespace {

namespace v1 = ::k8intel::v1;

constexpr size_t kMaxField = 1024;

}  // namespace

const google::protobuf::Message& AuditHandler::Prototype() const {
  return v1::AuditRecord::default_instance();
}

absl::Status AuditHandler::Validate(const kit::Delivery& d) const {
  const auto& r = static_cast<const v1::AuditRecord&>(*d.payload);
  if (r.tenant().empty()) return absl::InvalidArgumentError("tenant is empty");
  const auto& e = r.event();
  if (e.actor().empty() || e.action().empty()) {
    return absl::InvalidArgumentError("event.actor and event.action are required");
  }
  for (const std::string* f : {&e.actor(), &e.action(), &e.target(), &e.result(), &e.peer()}) {
    if (f->size() > kMaxField) {
      return absl::InvalidArgumentError(absl::StrCat("a field is longer than ", kMaxField, " bytes"));
    }
  }
  return absl::OkStatus();
}

absl::Status AuditHandler::Apply(pqxx::work& tx, const std::vector<const kit::Delivery*>& batch) {
  for (const kit::Delivery* d : batch) {
    const auto& r = static_cast<const v1::AuditRecord&>(*d->payload);
    const auto& e = r.event();
    // When it happened: the event's time, else the message's.
    const absl::Time at = e.has_time() ? absl::FromUnixSeconds(e.time().seconds()) +
                                             absl::Nanoseconds(e.time().nanos())
                                       : d->event.time;
    tx.exec_params(
        "INSERT INTO control.audit_events (tenant_id, time, actor, action, target, result, peer) "
        "VALUES ($1, to_timestamp($2::double precision / 1e6), $3, $4, $5, $6, $7)",
        r.tenant(), absl::ToUnixMicros(at), e.actor(), e.action(), e.target(),
        e.result().empty() ? "OK" : e.result(), e.peer());
  }
  return absl::OkStatus();
}

}  // namespace k8i::inventory

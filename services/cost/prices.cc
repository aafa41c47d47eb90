#include "services/cost/prices.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "google/protobuf/util/json_util.h"
#include "google/protobuf/util/time_util.h"

namespace k8i::cost {
namespace {

namespace v1 = ::k8intel::v1;
using google::protobuf::util::TimeUtil;

absl::Time FromTimestamp(const google::protobuf::Timestamp& t) {
  return absl::FromUnixSeconds(t.seconds()) + absl::Nanoseconds(t.nanos());
}

google::protobuf::Timestamp ToTimestamp(absl::Time t) {
  return TimeUtil::MicrosecondsToTimestamp(absl::ToUnixMicros(t));
}

}  // namespace

PriceVersion FromProto(const v1::PriceVersion& p) {
  PriceVersion v;  // the defaults, for what is left at zero
  if (p.has_effective_time()) v.effective = FromTimestamp(p.effective_time());
  if (!p.currency().empty()) v.currency = p.currency();
  if (p.cpu_core_hour() != 0) v.cpu_core_hour = p.cpu_core_hour();
  if (p.memory_gib_hour() != 0) v.memory_gib_hour = p.memory_gib_hour();
  if (p.storage_gib_month() != 0) v.storage_gib_month = p.storage_gib_month();
  v.spot_discount = p.spot_discount();
  for (const auto& o : p.node_overrides()) {
    v.nodes.push_back({.instance_type = o.instance_type(),
                       .label_key = o.label_key(),
                       .label_value = o.label_value(),
                       .cpu_core_hour = o.cpu_core_hour(),
                       .memory_gib_hour = o.memory_gib_hour()});
  }
  for (const auto& [cls, price] : p.storage_class_gib_month()) {
    v.storage_class_gib_month[cls] = price;
  }
  return v;
}

v1::PriceVersion ToProto(const PriceVersion& v) {
  v1::PriceVersion p;
  if (v.effective != absl::InfinitePast()) *p.mutable_effective_time() = ToTimestamp(v.effective);
  p.set_currency(v.currency);
  p.set_cpu_core_hour(v.cpu_core_hour);
  p.set_memory_gib_hour(v.memory_gib_hour);
  p.set_storage_gib_month(v.storage_gib_month);
  p.set_spot_discount(v.spot_discount);
  for (const auto& o : v.nodes) {
    auto* n = p.add_node_overrides();
    n->set_instance_type(o.instance_type);
    n->set_label_key(o.label_key);
    n->set_label_value(o.label_value);
    n->set_cpu_core_hour(o.cpu_core_hour);
    n->set_memory_gib_hour(o.memory_gib_hour);
  }
  for (const auto& [cls, price] : v.storage_class_gib_month) {
    (*p.mutable_storage_class_gib_month())[cls] = price;
  }
  return p;
}

std::vector<FieldViolation> CheckPriceVersion(const v1::PriceVersion& p) {
  std::vector<FieldViolation> out;
  if (auto s = Validate(FromProto(p)); !s.ok()) {
    // "nodes[1]: prices >= 0" → price_version.node_overrides[1].
    std::string msg(s.message());
    std::string field = "price_version";
    if (auto colon = msg.find(": "); colon != std::string::npos) {
      field = absl::StrCat("price_version.",
                           absl::StrReplaceAll(msg.substr(0, colon), {{"nodes[", "node_overrides["}}));
      msg = msg.substr(colon + 2);
    }
    out.push_back({field, msg});
  }
  for (const auto& [cls, price] : p.storage_class_gib_month()) {
    if (cls.empty() || cls.size() > 253) {
      out.push_back({"price_version.storage_class_gib_month", "a storage class name (1-253)"});
    }
  }
  if (p.node_overrides_size() > 1000) {
    out.push_back({"price_version.node_overrides", "at most 1000"});
  }
  return out;
}

std::string PriceJson(const v1::PriceVersion& p) {
  std::string out;
  google::protobuf::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  (void)google::protobuf::util::MessageToJsonString(p, &out, o);
  return out;
}

absl::StatusOr<v1::PriceVersion> PriceFromJson(const std::string& json) {
  v1::PriceVersion p;
  if (auto s = google::protobuf::util::JsonStringToMessage(json, &p); !s.ok()) {
    return absl::DataLossError(absl::StrCat("stored price version: ", s.ToString()));
  }
  return p;
}

}  // namespace k8i::cost

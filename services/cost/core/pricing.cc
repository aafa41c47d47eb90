#include "services/cost/core/pricing.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace k8i::cost {
namespace {

bool Price(double p) { return std::isfinite(p) && p >= 0; }

}  // namespace

absl::Status Validate(const PriceVersion& v) {
  if (!Price(v.cpu_core_hour)) return absl::InvalidArgumentError("cpu_core_hour: a price >= 0");
  if (!Price(v.memory_gib_hour)) return absl::InvalidArgumentError("memory_gib_hour: a price >= 0");
  if (!Price(v.storage_gib_month)) {
    return absl::InvalidArgumentError("storage_gib_month: a price >= 0");
  }
  if (!(v.spot_discount >= 0 && v.spot_discount < 1)) {
    return absl::InvalidArgumentError("spot_discount: a fraction in [0, 1)");
  }
  if (v.currency.size() != 3 || !std::all_of(v.currency.begin(), v.currency.end(), [](char c) {
        return absl::ascii_isupper(static_cast<unsigned char>(c));
      })) {
    return absl::InvalidArgumentError("currency: an ISO 4217 code such as USD or EUR");
  }
  for (size_t i = 0; i < v.nodes.size(); ++i) {
    const auto& o = v.nodes[i];
    if (o.instance_type.empty() == o.label_key.empty()) {
      return absl::InvalidArgumentError(
          absl::StrCat("nodes[", i, "]: an instance type or a label key, not both"));
    }
    if (!Price(o.cpu_core_hour) || !Price(o.memory_gib_hour)) {
      return absl::InvalidArgumentError(absl::StrCat("nodes[", i, "]: prices >= 0"));
    }
  }
  for (const auto& [cls, p] : v.storage_class_gib_month) {
    if (cls.empty() || !Price(p)) {
      return absl::InvalidArgumentError("storage_class_gib_month: a class name and a price >= 0");
    }
  }
  return absl::OkStatus();
}

NodeRates RatesFor(const PriceVersion& v, const NodeFacts& node) {
  NodeRates r{v.cpu_core_hour, v.memory_gib_hour, "default prices"};
  const NodePriceOverride* hit = nullptr;
  for (const auto& o : v.nodes) {
    if (!o.instance_type.empty() && o.instance_type == node.instance_type) {
      hit = &o;
      r.basis = absl::StrCat("instance type ", o.instance_type);
      break;
    }
  }
  if (hit == nullptr) {
    for (const auto& o : v.nodes) {
      if (o.label_key.empty()) continue;
      auto it = node.labels.find(o.label_key);
      if (it != node.labels.end() && it->second == o.label_value) {
        hit = &o;
        r.basis = absl::StrCat("label ", o.label_key, "=", o.label_value);
        break;
      }
    }
  }
  if (hit != nullptr) {
    r.cpu_core_hour = hit->cpu_core_hour;
    r.memory_gib_hour = hit->memory_gib_hour;
  }
  if (node.spot && v.spot_discount > 0) {
    r.cpu_core_hour *= 1 - v.spot_discount;
    r.memory_gib_hour *= 1 - v.spot_discount;
    absl::StrAppend(&r.basis, absl::StrFormat(", spot -%g %%", v.spot_discount * 100));
  }
  return r;
}

double StorageGibHour(const PriceVersion& v, const std::string& storage_class) {
  auto it = v.storage_class_gib_month.find(storage_class);
  return (it != v.storage_class_gib_month.end() ? it->second : v.storage_gib_month) /
         kHoursPerMonth;
}

PriceBook::PriceBook(std::vector<PriceVersion> versions) : versions_(std::move(versions)) {
  std::stable_sort(versions_.begin(), versions_.end(),
                   [](const PriceVersion& a, const PriceVersion& b) {
                     return a.effective < b.effective;
                   });
}

const PriceVersion& PriceBook::At(absl::Time t) const {
  const PriceVersion* in_effect = &defaults_;
  for (const auto& v : versions_) {
    if (v.effective > t) break;
    in_effect = &v;
  }
  return *in_effect;
}

}  // namespace k8i::cost

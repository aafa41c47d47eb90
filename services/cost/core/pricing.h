// Prices of a tenant's clusters (pure): what a vCPU-hour, a GiB-hour of memory and a GiB-month
// of storage cost, as versions with an effective time — a price change applies from its time
// on and never rewrites the hours before it. Out of the box, OpenCost's published defaults
// (its default.json for clusters without a cloud price list): $0.031611 per vCPU-hour,
// $0.004237 per GiB-hour of memory, $0.04 per GiB-month of storage (0.00005479 per GiB-hour).
// A version may override a node's prices by instance type or by a node label, a storage
// class's price, and discount spot/preemptible nodes.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace k8i::cost {

// Hours in a month, for prices given per month (365 × 24 / 12).
inline constexpr double kHoursPerMonth = 730.0;

struct NodePriceOverride {
  // Matches nodes of this instance type (node.kubernetes.io/instance-type), or — when
  // `label_key` is set — nodes whose label has this value. Instance type is tried first.
  std::string instance_type;
  std::string label_key, label_value;
  double cpu_core_hour = 0;
  double memory_gib_hour = 0;
};

struct PriceVersion {
  absl::Time effective = absl::InfinitePast();
  std::string currency = "USD";
  double cpu_core_hour = 0.031611;
  double memory_gib_hour = 0.004237;
  double storage_gib_month = 0.04;
  // Fraction taken off a spot/preemptible node's price (0.6 = 60 % cheaper).
  double spot_discount = 0;
  std::vector<NodePriceOverride> nodes;
  std::map<std::string, double> storage_class_gib_month;
};

// Validate: prices non-negative and finite, the discount in [0, 1), an override names an
// instance type or a label, currency a 3-letter code. InvalidArgument naming the field.
absl::Status Validate(const PriceVersion& v);

// What a node's resources cost for one hour, and why.
struct NodeRates {
  double cpu_core_hour = 0;
  double memory_gib_hour = 0;
  // "default prices", "instance type m5.large", "label pool=batch", plus ", spot −60 %".
  std::string basis;
};

struct NodeFacts {
  std::string instance_type;
  std::map<std::string, std::string> labels;
  bool spot = false;
};

NodeRates RatesFor(const PriceVersion& v, const NodeFacts& node);

// Storage price per GiB-hour of a storage class (the class's override, else the default).
double StorageGibHour(const PriceVersion& v, const std::string& storage_class);

// PriceBook holds a tenant's versions; At(t) is the version in effect at t (the latest whose
// effective time is at or before t), or the defaults when none is.
class PriceBook {
 public:
  PriceBook() = default;
  explicit PriceBook(std::vector<PriceVersion> versions);
  const PriceVersion& At(absl::Time t) const;
  const std::vector<PriceVersion>& versions() const { return versions_; }

 private:
  std::vector<PriceVersion> versions_;  // by effective time
  PriceVersion defaults_;
};

}  // namespace k8i::cost

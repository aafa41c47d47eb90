// Kubernetes resource quantities ("100m", "1.5", "2Gi", "500M", "1e3", "12345k") parsed into
// numbers, and the ResourceQuantities proto built from a resources map.
#pragma once

#include <cstdint>
#include <optional>

#include "absl/strings/string_view.h"
#include "k8intel/v1/telemetry.pb.h"
#include "tools/agent/kube/json_util.h"

namespace k8i::agent::kube {

// ParseQuantity returns the value of a Kubernetes quantity in base units (cores, bytes, ...), or
// nullopt when `s` is not a valid quantity or is not finite.
std::optional<double> ParseQuantity(absl::string_view s);

// MilliValue returns the quantity in thousandths, rounded up as Kubernetes does (0 if invalid,
// saturated at the int64 range).
int64_t MilliValue(absl::string_view s);
// Value returns the quantity rounded up to an integer (0 if invalid, saturated).
int64_t Value(absl::string_view s);

// ToQuantities reads cpu, memory, ephemeral-storage and pods from a resources map such as
// `{"cpu": "250m", "memory": "64Mi"}`; missing or invalid entries stay 0.
k8intel::v1::ResourceQuantities ToQuantities(const Json& resources);

}  // namespace k8i::agent::kube

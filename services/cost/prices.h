// Price versions between the API (k8intel.v1.PriceVersion, stored as its JSON) and the rules
// (core/pricing.h).
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "k8intel/v1/cost.pb.h"
#include "libs/common/field_violation.h"
#include "services/cost/core/pricing.h"

namespace k8i::cost {

PriceVersion FromProto(const k8intel::v1::PriceVersion& p);
k8intel::v1::PriceVersion ToProto(const PriceVersion& v);

// CheckPriceVersion: the field violations of a version as given to CreatePriceVersion (paths
// under "price_version.").
std::vector<FieldViolation> CheckPriceVersion(const k8intel::v1::PriceVersion& p);

// The stored body (JSON of the proto) and back.
std::string PriceJson(const k8intel::v1::PriceVersion& p);
absl::StatusOr<k8intel::v1::PriceVersion> PriceFromJson(const std::string& json);

}  // namespace k8i::cost

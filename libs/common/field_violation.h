// FieldViolation: one invalid field of a request, named by its path (AIP-193 BadRequest), as
// plain data so domain code can report violations without depending on gRPC.
#pragma once

#include <string>

namespace k8i {

struct FieldViolation {
  // Path to the field, e.g. `batch.metrics[3].labels[1].name`.
  std::string field;
  // Why the value is invalid.
  std::string description;
};

}  // namespace k8i

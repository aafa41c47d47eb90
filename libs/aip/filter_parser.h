// The AIP-160 filter grammar (subset) as a recursive-descent parser producing a small AST.
//   expression  = sequence { "AND" sequence }
//   sequence    = factor { factor }            (juxtaposition means AND)
//   factor      = term { "OR" term }           (OR binds tighter than AND, as in AIP-160)
//   term        = [ "NOT" | "-" ] simple
//   simple      = "(" expression ")" | restriction
//   restriction = member [ comparator value ]  (comparators: = != < <= > >= :)
//   member      = name { "." name }
//   value       = quoted string | bare word (numbers, true/false, durations, wildcards)
// Internal to libs/aip.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "libs/aip/filter.h"

namespace k8i::aip::internal {

struct Node {
  enum class Kind { kAnd, kOr, kNot, kRestriction, kBareValue };
  Kind kind;
  std::vector<std::unique_ptr<Node>> children;  // kAnd, kOr (>= 2), kNot (1)
  // kRestriction: member path and optional comparator + value; kBareValue: value only.
  std::vector<std::string> member;
  std::string comparator;  // "" for a bare member (presence) or global text search
  std::string value;
  bool value_quoted = false;
  int position = 0;  // character offset in the filter, for errors
};

absl::StatusOr<std::unique_ptr<Node>> Parse(absl::string_view filter, const FilterLimits& limits);

}  // namespace k8i::aip::internal

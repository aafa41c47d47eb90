// AIP-160 filtering for List methods: parses a filter string into an AST, checks it against a
// per-resource whitelist of fields and types, and compiles it to a parameterised SQL condition.
// User input never reaches SQL text: every literal becomes a bind parameter.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace k8i::aip {

enum class FieldType { kString, kInt, kDouble, kBool, kTimestamp, kDuration, kMap };

// How a public field name maps to SQL. `sql` is trusted text written by the service (a column or
// expression), never user input.
struct FieldSpec {
  std::string sql;
  FieldType type = FieldType::kString;
  bool filterable = true;
  bool sortable = false;
};

// The fields of one resource, by public name (e.g. "name", "labels", "create_time").
using Schema = std::map<std::string, FieldSpec>;

// A SQL condition with `$n` placeholders and the text of each parameter, in order.
struct SqlCondition {
  std::string sql;
  std::vector<std::string> params;
};

struct FilterLimits {
  int max_length = 4096;
  int max_depth = 32;
  int max_restrictions = 128;
};

// CompileFilter parses and type-checks `filter` against `schema` and returns the SQL condition
// ("TRUE" for an empty filter), numbering parameters from `first_param`. Errors are
// InvalidArgument saying what is wrong and at which character position.
absl::StatusOr<SqlCondition> CompileFilter(absl::string_view filter, const Schema& schema,
                                           int first_param = 1, const FilterLimits& limits = {});

// ValidateFilterSyntax only parses (no schema); used by the fuzzer and for early checks.
absl::Status ValidateFilterSyntax(absl::string_view filter, const FilterLimits& limits = {});

}  // namespace k8i::aip

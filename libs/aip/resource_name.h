// AIP-122 resource names: patterns such as "clusters/{cluster}/namespaces/{namespace}/pods/{pod}"
// that parse user-supplied names into their variables (validated, so they are safe to use as
// query parameters) and format names back.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace k8i::aip {

// ResourcePattern is immutable and thread-safe.
class ResourcePattern {
 public:
  // Create parses a pattern of alternating collection ids and {variables}; InvalidArgument for
  // a malformed pattern (a programming error, so callers usually CHECK it).
  static absl::StatusOr<ResourcePattern> Create(absl::string_view pattern);

  // Parse matches `name` (field `field` of the request, for messages) and returns its
  // variables. Segment values are 1..253 characters of [A-Za-z0-9._:-]; "-" stands for "any"
  // (AIP-159) only where `allow_wildcard` is set.
  absl::StatusOr<std::map<std::string, std::string>> Parse(absl::string_view name,
                                                           absl::string_view field,
                                                           bool allow_wildcard = false) const;

  // Format fills the pattern with `vars` (every variable must be present).
  std::string Format(const std::map<std::string, std::string>& vars) const;

  const std::string& pattern() const { return pattern_; }

 private:
  struct Segment {
    std::string literal;   // a collection id, or empty for a variable
    std::string variable;  // the variable name, or empty for a literal
  };
  ResourcePattern(std::string pattern, std::vector<Segment> segments)
      : pattern_(std::move(pattern)), segments_(std::move(segments)) {}
  std::string pattern_;
  std::vector<Segment> segments_;
};

// IsValidNameSegment: 1..253 characters of [A-Za-z0-9._:-].
bool IsValidNameSegment(absl::string_view s);

}  // namespace k8i::aip

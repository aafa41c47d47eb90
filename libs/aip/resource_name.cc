#include "libs/aip/resource_name.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"

namespace k8i::aip {

bool IsValidNameSegment(absl::string_view s) {
  if (s.empty() || s.size() > 253) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == ':' || c == '-';
    if (!ok) return false;
  }
  return true;
}

absl::StatusOr<ResourcePattern> ResourcePattern::Create(absl::string_view pattern) {
  std::vector<Segment> segments;
  std::vector<absl::string_view> parts = absl::StrSplit(pattern, '/');
  for (size_t i = 0; i < parts.size(); ++i) {
    absl::string_view p = parts[i];
    const bool variable = p.size() > 2 && p.front() == '{' && p.back() == '}';
    if ((i % 2 == 1) != variable || (!variable && !IsValidNameSegment(p))) {
      return absl::InvalidArgumentError(
          absl::StrCat("resource pattern \"", pattern, "\": bad segment \"", p, "\""));
    }
    segments.push_back(variable ? Segment{"", std::string(p.substr(1, p.size() - 2))}
                                : Segment{std::string(p), ""});
  }
  return ResourcePattern(std::string(pattern), std::move(segments));
}

absl::StatusOr<std::map<std::string, std::string>> ResourcePattern::Parse(
    absl::string_view name, absl::string_view field, bool allow_wildcard) const {
  auto invalid = [&](absl::string_view why) {
    return absl::InvalidArgumentError(
        absl::StrCat(field, ": \"", name.substr(0, 300), "\" is not a name of the form ",
                     pattern_, ": ", why));
  };
  std::vector<absl::string_view> parts = absl::StrSplit(name, '/');
  if (parts.size() != segments_.size()) return invalid("wrong number of segments");
  std::map<std::string, std::string> vars;
  for (size_t i = 0; i < parts.size(); ++i) {
    const Segment& s = segments_[i];
    if (s.variable.empty()) {
      if (parts[i] != s.literal) return invalid(absl::StrCat("expected \"", s.literal, "\""));
      continue;
    }
    if (parts[i] == "-" && !allow_wildcard) return invalid("\"-\" is not allowed here");
    if (parts[i] != "-" && !IsValidNameSegment(parts[i])) {
      return invalid(absl::StrCat("{", s.variable, "} must be 1..253 of [A-Za-z0-9._:-]"));
    }
    vars[s.variable] = std::string(parts[i]);
  }
  return vars;
}

std::string ResourcePattern::Format(const std::map<std::string, std::string>& vars) const {
  std::string out;
  for (size_t i = 0; i < segments_.size(); ++i) {
    if (i > 0) out += '/';
    const Segment& s = segments_[i];
    out += s.variable.empty() ? s.literal : vars.at(s.variable);
  }
  return out;
}

}  // namespace k8i::aip

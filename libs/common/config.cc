#include "libs/common/config.h"

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace k8i {

EnvReader::EnvReader(Getenv getenv)
    : getenv_(getenv ? std::move(getenv) : [](const char* n) { return std::getenv(n); }) {}

const char* EnvReader::Get(absl::string_view name) const {
  const char* v = getenv_(std::string(name).c_str());
  return (v != nullptr && *v != '\0') ? v : nullptr;
}

void EnvReader::Fail(absl::string_view name, absl::string_view reason) {
  errors_.push_back(absl::StrCat(name, ": ", reason));
}

std::string EnvReader::String(absl::string_view name, absl::string_view default_value) {
  const char* v = Get(name);
  return v ? std::string(v) : std::string(default_value);
}

std::string EnvReader::RequiredString(absl::string_view name) {
  const char* v = Get(name);
  if (!v) {
    Fail(name, "required but not set");
    return "";
  }
  return v;
}

int64_t EnvReader::Int(absl::string_view name, int64_t default_value, int64_t min, int64_t max) {
  const char* v = Get(name);
  if (!v) return default_value;
  int64_t out = 0;
  if (!absl::SimpleAtoi(v, &out)) {
    Fail(name, absl::StrCat("\"", v, "\" is not an integer"));
    return default_value;
  }
  if (out < min || out > max) {
    Fail(name, absl::StrCat(out, " is outside [", min, ", ", max, "]"));
    return default_value;
  }
  return out;
}

bool EnvReader::Bool(absl::string_view name, bool default_value) {
  const char* v = Get(name);
  if (!v) return default_value;
  std::string s = absl::AsciiStrToLower(v);
  if (s == "1" || s == "true" || s == "yes" || s == "on") return true;
  if (s == "0" || s == "false" || s == "no" || s == "off") return false;
  Fail(name, absl::StrCat("\"", v, "\" is not a boolean (true/false)"));
  return default_value;
}

absl::Duration EnvReader::Duration(absl::string_view name, absl::Duration default_value) {
  const char* v = Get(name);
  if (!v) return default_value;
  absl::Duration d;
  if (!absl::ParseDuration(v, &d) || d < absl::ZeroDuration()) {
    Fail(name, absl::StrCat("\"", v, "\" is not a non-negative duration such as 30s or 5m"));
    return default_value;
  }
  return d;
}

std::string EnvReader::HostPort(absl::string_view name, absl::string_view default_value) {
  std::string v = String(name, default_value);
  auto colon = v.rfind(':');
  int port = 0;
  if (colon == std::string::npos || colon == 0 ||
      !absl::SimpleAtoi(absl::string_view(v).substr(colon + 1), &port) || port < 0 ||
      port > 65535) {
    Fail(name, absl::StrCat("\"", v, "\" is not host:port"));
  }
  return v;
}

absl::Status EnvReader::Finish() const {
  if (errors_.empty()) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("invalid configuration: ", absl::StrJoin(errors_, "; ")));
}

}  // namespace k8i

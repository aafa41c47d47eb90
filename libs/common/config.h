// EnvReader reads typed configuration from environment variables. Every problem (missing
// required value, unparsable number, out-of-range value) is collected with the exact variable
// name, and Finish() reports them all at once so a bad deployment fails at start with one
// clear message.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include "absl/strings/string_view.h"
#include <vector>

#include "absl/status/status.h"
#include "absl/time/time.h"

namespace k8i {

// EnvReader is not thread-safe; use it once at start-up.
class EnvReader {
 public:
  using Getenv = std::function<const char*(const char*)>;
  // `getenv` defaults to the process environment; tests pass a map lookup.
  explicit EnvReader(Getenv getenv = nullptr);

  std::string String(absl::string_view name, absl::string_view default_value);
  std::string RequiredString(absl::string_view name);
  int64_t Int(absl::string_view name, int64_t default_value, int64_t min, int64_t max);
  bool Bool(absl::string_view name, bool default_value);
  // Accepts Go-style durations ("1.5s", "250ms", "2h45m").
  absl::Duration Duration(absl::string_view name, absl::Duration default_value);
  // A host:port pair, validated.
  std::string HostPort(absl::string_view name, absl::string_view default_value);

  // OK, or InvalidArgument naming every bad variable: "K8I_X: reason; K8I_Y: reason".
  absl::Status Finish() const;

 private:
  const char* Get(absl::string_view name) const;
  void Fail(absl::string_view name, absl::string_view reason);

  Getenv getenv_;
  std::vector<std::string> errors_;
};

}  // namespace k8i

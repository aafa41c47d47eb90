// Parser: reads typed scenario fields out of YAML nodes, collecting every error with its field
// path ("workloads[2].requests.cpu: \"abc\" is not a quantity"). Internal to the scenario
// parsing files (scenario.cc, scenario_pod.cc).
#pragma once

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <initializer_list>
#include <optional>
#include <string>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"
#include "absl/strings/strip.h"
#include "absl/time/time.h"
#include "tools/kubesim/core/scenario.h"
#include "tools/kubesim/core/units.h"

namespace k8i::kubesim::scenario_internal {

using Keys = std::initializer_list<absl::string_view>;

inline std::string Join(const std::string& path, absl::string_view key) {
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", key);
}

inline std::string Index(const std::string& path, size_t i) {
  return absl::StrCat(path, "[", i, "]");
}

inline std::string Quote(absl::string_view s) { return absl::StrCat("\"", s, "\""); }

// Parser reads typed fields out of YAML nodes, collecting every error with its field path.
class Parser {
 public:
  void Err(const std::string& path, absl::string_view msg) {
    errors_.push_back(absl::StrCat(path, ": ", msg));
  }
  const std::vector<std::string>& errors() const { return errors_; }

  // Map checks that `n` is a mapping whose keys are all in `allowed`.
  bool Map(const YAML::Node& n, const std::string& path, Keys allowed) {
    if (!n.IsMap()) {
      Err(path, "must be a mapping");
      return false;
    }
    for (auto it = n.begin(); it != n.end(); ++it) {
      const std::string key = it->first.IsScalar() ? it->first.Scalar() : "?";
      if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
        Err(Join(path, key), "unknown field");
      }
    }
    return true;
  }

  // Scalar returns the text of a scalar node; errors for other node types.
  std::optional<std::string> Scalar(const YAML::Node& n, const std::string& path) {
    if (!n.IsScalar()) {
      Err(path, "must be a scalar");
      return std::nullopt;
    }
    return n.Scalar();
  }

  void Str(const YAML::Node& m, absl::string_view key, const std::string& path, std::string& out,
           bool required = false) {
    const YAML::Node v = m[std::string(key)];
    if (!v || v.IsNull()) {
      if (required) Err(Join(path, key), "is required");
      return;
    }
    if (auto s = Scalar(v, Join(path, key))) {
      if (s->empty() && required) Err(Join(path, key), "must not be empty");
      out = *s;
    }
  }

  template <typename T>
  void Int(const YAML::Node& m, absl::string_view key, const std::string& path, T& out, int64_t min,
           int64_t max) {
    const YAML::Node v = m[std::string(key)];
    if (!v || v.IsNull()) return;
    auto s = Scalar(v, Join(path, key));
    if (!s) return;
    int64_t x = 0;
    if (!absl::SimpleAtoi(*s, &x)) {
      Err(Join(path, key), absl::StrCat(Quote(*s), " is not an integer"));
    } else if (x < min || x > max) {
      Err(Join(path, key), absl::StrCat(x, " is out of range [", min, ", ", max, "]"));
    } else {
      out = static_cast<T>(x);
    }
  }

  // Bool reads `true` or `false` into `out` (a bool or a std::optional<bool>), left alone when
  // absent.
  template <typename T>
  void Bool(const YAML::Node& m, absl::string_view key, const std::string& path, T& out) {
    const YAML::Node v = m[std::string(key)];
    if (!v || v.IsNull()) return;
    auto s = Scalar(v, Join(path, key));
    if (!s) return;
    if (*s == "true" || *s == "false") {
      out = *s == "true";
    } else {
      Err(Join(path, key), absl::StrCat(Quote(*s), " is not true or false"));
    }
  }

  std::optional<double> Quantity(const YAML::Node& m, absl::string_view key,
                                 const std::string& path, bool allow_zero = true) {
    const YAML::Node v = m[std::string(key)];
    if (!v || v.IsNull()) return std::nullopt;
    auto s = Scalar(v, Join(path, key));
    if (!s) return std::nullopt;
    auto q = ParseQuantity(*s);
    if (!q) {
      Err(Join(path, key), absl::StrCat(Quote(*s), " is not a quantity"));
    } else if (*q < 0 || (!allow_zero && *q == 0)) {
      Err(Join(path, key), absl::StrCat(Quote(*s), " must be positive"));
      return std::nullopt;
    }
    return q;
  }

  void Duration(const YAML::Node& m, absl::string_view key, const std::string& path,
                absl::Duration& out, bool allow_zero = false) {
    const YAML::Node v = m[std::string(key)];
    if (!v || v.IsNull()) return;
    auto s = Scalar(v, Join(path, key));
    if (!s) return;
    if (allow_zero && (*s == "0" || *s == "0s")) {
      out = absl::ZeroDuration();
      return;
    }
    auto d = ParseDuration(*s);
    if (!d) {
      Err(Join(path, key), absl::StrCat(Quote(*s), " is not a duration (like 30s, 5m, 2h, 7d)"));
    } else {
      out = *d;
    }
  }

  // Fraction reads "30%" or 0.3.
  std::optional<double> Fraction(const YAML::Node& m, absl::string_view key,
                                 const std::string& path) {
    const YAML::Node v = m[std::string(key)];
    if (!v || v.IsNull()) return std::nullopt;
    auto s = Scalar(v, Join(path, key));
    if (!s) return std::nullopt;
    absl::string_view t = *s;
    const bool pct = absl::ConsumeSuffix(&t, "%");
    double x = 0;
    if (!absl::SimpleAtod(t, &x) || x < 0) {
      Err(Join(path, key), absl::StrCat(Quote(*s), " is not a fraction (like 30% or 0.3)"));
      return std::nullopt;
    }
    return pct ? x / 100 : x;
  }

  std::optional<double> Rate(const YAML::Node& m, absl::string_view key, const std::string& path) {
    const YAML::Node v = m[std::string(key)];
    if (!v || v.IsNull()) return std::nullopt;
    auto s = Scalar(v, Join(path, key));
    if (!s) return std::nullopt;
    auto r = ParseRatePerHour(*s);
    if (!r || *r < 0) {
      Err(Join(path, key), absl::StrCat(Quote(*s), " is not a rate (like 20Mi/h)"));
      return std::nullopt;
    }
    return r;
  }

  void StringMapField(const YAML::Node& m, absl::string_view key, const std::string& path,
                      StringMap& out) {
    const YAML::Node v = m[std::string(key)];
    if (!v || v.IsNull()) return;
    const std::string p = Join(path, key);
    if (!v.IsMap()) {
      Err(p, "must be a mapping");
      return;
    }
    for (auto it = v.begin(); it != v.end(); ++it) {
      const std::string k = it->first.IsScalar() ? it->first.Scalar() : "?";
      if (auto s = Scalar(it->second, Join(p, k))) out[k] = *s;
    }
  }

  void StringList(const YAML::Node& m, absl::string_view key, const std::string& path,
                  std::vector<std::string>& out) {
    const YAML::Node v = m[std::string(key)];
    if (!v || v.IsNull()) return;
    const std::string p = Join(path, key);
    if (!v.IsSequence()) {
      Err(p, "must be a list");
      return;
    }
    for (size_t i = 0; i < v.size(); ++i) {
      if (auto s = Scalar(v[i], Index(p, i))) out.push_back(*s);
    }
  }

  // List calls `f(item, path)` for each element of the sequence `m[key]`.
  template <typename F>
  void List(const YAML::Node& m, absl::string_view key, const std::string& path, F f) {
    const YAML::Node v = m[std::string(key)];
    if (!v || v.IsNull()) return;
    const std::string p = Join(path, key);
    if (!v.IsSequence()) {
      Err(p, "must be a list");
      return;
    }
    for (size_t i = 0; i < v.size(); ++i) f(v[i], Index(p, i));
  }

 private:
  std::vector<std::string> errors_;
};

// ParsePodSettings reads a workload's `security`, `host_path`, `empty_dir`, `priority`,
// `safe_to_evict` and `anti_affinity` (scenario_pod.cc); call it after `config_maps`.
void ParsePodSettings(Parser& p, const YAML::Node& n, const std::string& path, WorkloadSpec& w);

}  // namespace k8i::kubesim::scenario_internal

#include "tools/agent/kube/quantity.h"

#include <cmath>
#include <cstdlib>
#include <string>

#include "absl/strings/ascii.h"

namespace k8i::agent::kube {
namespace {

std::optional<double> Multiplier(absl::string_view suffix) {
  struct Entry {
    absl::string_view suffix;
    double factor;
  };
  static constexpr Entry kTable[] = {
      {"", 1},
      {"n", 1e-9},
      {"u", 1e-6},
      {"m", 1e-3},
      {"k", 1e3},
      {"M", 1e6},
      {"G", 1e9},
      {"T", 1e12},
      {"P", 1e15},
      {"E", 1e18},
      {"Ki", 1024.0},
      {"Mi", 1048576.0},
      {"Gi", 1073741824.0},
      {"Ti", 1099511627776.0},
      {"Pi", 1125899906842624.0},
      {"Ei", 1152921504606846976.0},
  };
  for (const auto& e : kTable) {
    if (e.suffix == suffix) return e.factor;
  }
  return std::nullopt;
}

int64_t Saturate(double v) {
  if (!std::isfinite(v)) return 0;
  if (v >= 9.2e18) return INT64_MAX;
  if (v <= -9.2e18) return INT64_MIN;
  return static_cast<int64_t>(std::ceil(v));
}

}  // namespace

std::optional<double> ParseQuantity(absl::string_view s) {
  s = absl::StripAsciiWhitespace(s);
  if (s.empty() || s.size() > 64) return std::nullopt;
  size_t i = 0;
  if (s[i] == '+' || s[i] == '-') ++i;
  bool dot = false;
  int digits = 0;
  while (i < s.size() && (absl::ascii_isdigit(s[i]) || (s[i] == '.' && !dot))) {
    if (s[i] == '.')
      dot = true;
    else
      ++digits;
    ++i;
  }
  if (digits == 0) return std::nullopt;
  const std::string number(s.substr(0, i));
  const double base = std::strtod(number.c_str(), nullptr);
  absl::string_view suffix = s.substr(i);
  double factor = 1;
  const bool exponent = suffix.size() > 1 && (suffix[0] == 'e' || suffix[0] == 'E') &&
                        (absl::ascii_isdigit(suffix[1]) || suffix[1] == '+' || suffix[1] == '-');
  if (exponent) {
    // Decimal exponent ("1e3", "2E-2"); a lone "E" is the exa suffix.
    size_t j = 1;
    if (suffix[j] == '+' || suffix[j] == '-') ++j;
    if (j >= suffix.size() || suffix.size() - j > 3) return std::nullopt;
    for (size_t k = j; k < suffix.size(); ++k) {
      if (!absl::ascii_isdigit(suffix[k])) return std::nullopt;
    }
    factor = std::pow(10.0, std::atoi(std::string(suffix.substr(1)).c_str()));
  } else {
    auto m = Multiplier(suffix);
    if (!m) return std::nullopt;
    factor = *m;
  }
  const double v = base * factor;
  if (!std::isfinite(v)) return std::nullopt;
  return v;
}

int64_t MilliValue(absl::string_view s) {
  auto q = ParseQuantity(s);
  // Round away tiny binary fractions ("0.1" * 1000 = 100.00000000000001) before ceil.
  return q ? Saturate(std::round(*q * 1000 * 1e6) / 1e6) : 0;
}

int64_t Value(absl::string_view s) {
  auto q = ParseQuantity(s);
  return q ? Saturate(std::round(*q * 1e6) / 1e6) : 0;
}

k8intel::v1::ResourceQuantities ToQuantities(const Json& resources) {
  k8intel::v1::ResourceQuantities q;
  q.set_cpu_millicores(MilliValue(Str(resources, "cpu")));
  q.set_memory_bytes(Value(Str(resources, "memory")));
  q.set_ephemeral_storage_bytes(Value(Str(resources, "ephemeral-storage")));
  q.set_pods(Value(Str(resources, "pods")));
  return q;
}

}  // namespace k8i::agent::kube

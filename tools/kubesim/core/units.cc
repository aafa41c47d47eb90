#include "tools/kubesim/core/units.h"

#include <cmath>
#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace k8i::kubesim {
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

// Reads an unsigned decimal number ("1", "1.5", ".5") from the front of `s`, advancing it.
std::optional<double> TakeNumber(absl::string_view& s) {
  size_t i = 0;
  bool dot = false;
  int digits = 0;
  while (i < s.size() && (absl::ascii_isdigit(s[i]) || (s[i] == '.' && !dot))) {
    if (s[i] == '.') {
      dot = true;
    } else {
      ++digits;
    }
    ++i;
  }
  if (digits == 0) return std::nullopt;
  const double v = std::strtod(std::string(s.substr(0, i)).c_str(), nullptr);
  s.remove_prefix(i);
  return v;
}

}  // namespace

std::optional<double> ParseQuantity(absl::string_view s) {
  s = absl::StripAsciiWhitespace(s);
  if (s.empty() || s.size() > 64) return std::nullopt;
  double sign = 1;
  if (s[0] == '+' || s[0] == '-') {
    sign = s[0] == '-' ? -1 : 1;
    s.remove_prefix(1);
  }
  auto base = TakeNumber(s);
  if (!base) return std::nullopt;
  double factor = 1;
  if (s.size() > 1 && (s[0] == 'e' || s[0] == 'E') &&
      (absl::ascii_isdigit(s[1]) || s[1] == '+' || s[1] == '-')) {
    int exp = 0;
    if (!absl::SimpleAtoi(s.substr(1), &exp) || std::abs(exp) > 300) return std::nullopt;
    factor = std::pow(10.0, exp);
  } else {
    auto m = Multiplier(s);
    if (!m) return std::nullopt;
    factor = *m;
  }
  const double v = sign * *base * factor;
  if (!std::isfinite(v)) return std::nullopt;
  return v;
}

std::optional<absl::Duration> ParseDuration(absl::string_view s) {
  s = absl::StripAsciiWhitespace(s);
  if (s.empty()) return std::nullopt;
  absl::Duration total = absl::ZeroDuration();
  while (!s.empty()) {
    auto n = TakeNumber(s);
    if (!n) return std::nullopt;
    absl::Duration unit;
    if (absl::StartsWith(s, "ms")) {
      unit = absl::Milliseconds(1);
      s.remove_prefix(2);
    } else if (!s.empty() && (s[0] == 's' || s[0] == 'm' || s[0] == 'h' || s[0] == 'd')) {
      unit = s[0] == 's'   ? absl::Seconds(1)
             : s[0] == 'm' ? absl::Minutes(1)
             : s[0] == 'h' ? absl::Hours(1)
                           : absl::Hours(24);
      s.remove_prefix(1);
    } else {
      return std::nullopt;
    }
    total += unit * *n;
  }
  if (total <= absl::ZeroDuration()) return std::nullopt;
  return total;
}

std::optional<double> ParseRatePerHour(absl::string_view s) {
  const size_t slash = s.rfind('/');
  if (slash == absl::string_view::npos) return std::nullopt;
  auto q = ParseQuantity(s.substr(0, slash));
  const absl::string_view unit = absl::StripAsciiWhitespace(s.substr(slash + 1));
  if (!q) return std::nullopt;
  if (unit == "s") return *q * 3600;
  if (unit == "m") return *q * 60;
  if (unit == "h") return *q;
  if (unit == "d") return *q / 24;
  return std::nullopt;
}

std::string FormatCpu(double cores) {
  const int64_t milli = static_cast<int64_t>(std::llround(cores * 1000));
  if (milli % 1000 == 0) return absl::StrCat(milli / 1000);
  return absl::StrCat(milli, "m");
}

std::string FormatBytes(double bytes) {
  const int64_t b = static_cast<int64_t>(std::llround(bytes));
  static constexpr std::pair<const char*, int64_t> kUnits[] = {{"Ti", int64_t{1} << 40},
                                                               {"Gi", int64_t{1} << 30},
                                                               {"Mi", int64_t{1} << 20},
                                                               {"Ki", int64_t{1} << 10}};
  for (const auto& [suffix, factor] : kUnits) {
    if (b != 0 && b % factor == 0) return absl::StrCat(b / factor, suffix);
  }
  return absl::StrCat(b);
}

std::string ShortDuration(absl::Duration d) {
  int64_t secs = absl::ToInt64Seconds(d);
  std::string out;
  if (secs >= 3600) absl::StrAppend(&out, secs / 3600, "h");
  if (secs % 3600 >= 60) absl::StrAppend(&out, (secs % 3600) / 60, "m");
  if (secs % 60 != 0 || out.empty()) absl::StrAppend(&out, secs % 60, "s");
  return out;
}

std::string Rfc3339(absl::Time t) {
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", t, absl::UTCTimeZone());
}

}  // namespace k8i::kubesim

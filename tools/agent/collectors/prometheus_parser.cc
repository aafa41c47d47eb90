#include "tools/agent/collectors/prometheus_parser.h"

#include <cmath>
#include <cstdlib>
#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace k8i::agent::prom {
namespace {

bool IsNameStart(char c, bool colon_ok) {
  return absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_' || (colon_ok && c == ':');
}
bool IsNameChar(char c, bool colon_ok) {
  return IsNameStart(c, colon_ok) || absl::ascii_isdigit(static_cast<unsigned char>(c));
}

// Cursor walks one line; every read is bounds-checked.
struct Cursor {
  absl::string_view s;
  size_t i = 0;
  bool done() const { return i >= s.size(); }
  char peek() const { return done() ? '\0' : s[i]; }
  void SkipSpace() {
    while (!done() && (s[i] == ' ' || s[i] == '\t')) ++i;
  }
  absl::string_view Name(bool colon_ok) {
    const size_t start = i;
    if (done() || !IsNameStart(s[i], colon_ok)) return {};
    while (!done() && IsNameChar(s[i], colon_ok)) ++i;
    return s.substr(start, i - start);
  }
  absl::string_view Token() {
    const size_t start = i;
    while (!done() && s[i] != ' ' && s[i] != '\t') ++i;
    return s.substr(start, i - start);
  }
};

bool ParseValue(absl::string_view t, double* out) {
  if (t.empty() || t.size() > 64) return false;
  std::string lower = absl::AsciiStrToLower(t);
  if (lower == "nan") {
    *out = std::numeric_limits<double>::quiet_NaN();
    return true;
  }
  if (lower == "+inf" || lower == "inf") {
    *out = std::numeric_limits<double>::infinity();
    return true;
  }
  if (lower == "-inf") {
    *out = -std::numeric_limits<double>::infinity();
    return true;
  }
  // strtod on a NUL-terminated copy: accepts decimal, exponent and hex floats, rejects junk.
  const std::string copy(t);
  char* end = nullptr;
  const double v = std::strtod(copy.c_str(), &end);
  if (end != copy.c_str() + copy.size()) return false;
  *out = v;
  return true;
}

// ParseLabelValue reads a quoted value with \\, \" and \n escapes starting at the opening quote.
bool ParseLabelValue(Cursor& c, std::string* out, std::string* error) {
  if (c.peek() != '"') {
    *error = "label value must be quoted";
    return false;
  }
  ++c.i;
  while (!c.done()) {
    const char ch = c.s[c.i++];
    if (ch == '"') return true;
    if (ch != '\\') {
      out->push_back(ch);
      continue;
    }
    if (c.done()) break;
    const char esc = c.s[c.i++];
    if (esc == 'n') {
      out->push_back('\n');
    } else if (esc == '\\' || esc == '"') {
      out->push_back(esc);
    } else {  // unknown escapes are kept verbatim, as Prometheus does
      out->push_back('\\');
      out->push_back(esc);
    }
  }
  *error = "unterminated label value";
  return false;
}

}  // namespace

std::optional<Sample> ParseLine(absl::string_view line, const ParseOptions& options,
                                std::string* error) {
  Cursor c{line};
  c.SkipSpace();
  Sample s;
  s.name = std::string(c.Name(/*colon_ok=*/true));
  if (s.name.empty()) {
    *error = "expected a metric name";
    return std::nullopt;
  }
  c.SkipSpace();
  if (c.peek() == '{') {
    ++c.i;
    while (true) {
      c.SkipSpace();
      if (c.peek() == '}') {
        ++c.i;
        break;
      }
      const absl::string_view lname = c.Name(/*colon_ok=*/false);
      if (lname.empty()) {
        *error = c.done() ? "unterminated label set" : "expected a label name";
        return std::nullopt;
      }
      c.SkipSpace();
      if (c.peek() != '=') {
        *error = absl::StrCat("expected '=' after label ", lname);
        return std::nullopt;
      }
      ++c.i;
      c.SkipSpace();
      std::string value;
      if (!ParseLabelValue(c, &value, error)) return std::nullopt;
      for (const auto& [k, v] : s.labels) {
        if (k == lname) {
          *error = absl::StrCat("duplicate label ", lname);
          return std::nullopt;
        }
      }
      if (s.labels.size() >= options.max_labels) {
        *error = "too many labels";
        return std::nullopt;
      }
      s.labels.emplace_back(std::string(lname), std::move(value));
      c.SkipSpace();
      if (c.peek() == ',') {
        ++c.i;
      } else if (c.peek() != '}') {
        *error = "expected ',' or '}' in label set";
        return std::nullopt;
      }
    }
  }
  c.SkipSpace();
  if (!ParseValue(c.Token(), &s.value)) {
    *error = "invalid sample value";
    return std::nullopt;
  }
  c.SkipSpace();
  if (!c.done()) {
    int64_t ts = 0;
    if (!absl::SimpleAtoi(c.Token(), &ts)) {
      *error = "invalid timestamp";
      return std::nullopt;
    }
    s.timestamp_ms = ts;
    c.SkipSpace();
    if (!c.done()) {
      *error = "unexpected text after timestamp";
      return std::nullopt;
    }
  }
  return s;
}

ParseResult Parse(absl::string_view text, const ParseOptions& options) {
  ParseResult r;
  int line_no = 0;
  auto bad = [&r, &line_no](absl::string_view why) {
    if (r.bad_lines++ == 0) r.first_error = absl::StrCat("line ", line_no, ": ", why);
  };
  for (absl::string_view line : absl::StrSplit(text, '\n')) {
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.size() > options.max_line_bytes) {
      bad("line too long");
      continue;
    }
    absl::string_view t = absl::StripLeadingAsciiWhitespace(line);
    if (t.empty()) continue;
    if (t[0] == '#') {
      std::vector<absl::string_view> f =
          absl::StrSplit(t.substr(1), absl::ByAnyChar(" \t"), absl::SkipEmpty());
      if (f.size() >= 3 && f[0] == "TYPE") {
        static const std::pair<const char*, Type> kTypes[] = {{"counter", Type::kCounter},
                                                              {"gauge", Type::kGauge},
                                                              {"histogram", Type::kHistogram},
                                                              {"summary", Type::kSummary},
                                                              {"untyped", Type::kUntyped}};
        bool known = false;
        for (const auto& [n, ty] : kTypes) {
          if (f[2] == n) {
            r.types[std::string(f[1])] = ty;
            known = true;
          }
        }
        if (!known) bad("unknown TYPE");
      }
      continue;  // HELP and other comments carry nothing we store
    }
    if (r.samples.size() >= options.max_samples) {
      r.truncated = true;
      break;
    }
    std::string error;
    if (auto s = ParseLine(t, options, &error)) {
      r.samples.push_back(std::move(*s));
    } else {
      bad(error);
    }
  }
  return r;
}

Type TypeOf(const ParseResult& r, const std::string& sample_name) {
  if (auto it = r.types.find(sample_name); it != r.types.end()) return it->second;
  for (const char* suffix : {"_bucket", "_count", "_sum", "_total", "_created"}) {
    if (!absl::EndsWith(sample_name, suffix)) continue;
    const std::string family =
        sample_name.substr(0, sample_name.size() - std::char_traits<char>::length(suffix));
    if (auto it = r.types.find(family); it != r.types.end()) return it->second;
  }
  return Type::kUntyped;
}

}  // namespace k8i::agent::prom

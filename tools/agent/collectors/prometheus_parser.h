// A parser for the Prometheus text exposition format 0.0.4: HELP and TYPE lines, labels with
// escapes, optional timestamps; histogram and summary lines come out as plain samples. Built for
// untrusted input: bounded, never throws or crashes, and reports bad lines instead of failing.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/strings/string_view.h"

namespace k8i::agent::prom {

enum class Type { kUntyped, kCounter, kGauge, kHistogram, kSummary };

struct Sample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;  // in input order
  double value = 0;
  std::optional<int64_t> timestamp_ms;
};

struct ParseOptions {
  size_t max_samples = 100'000;
  size_t max_line_bytes = 64 << 10;
  size_t max_labels = 64;
};

struct ParseResult {
  std::vector<Sample> samples;
  std::map<std::string, Type> types;  // by metric family name
  int bad_lines = 0;
  std::string first_error;  // "line N: reason" of the first bad line
  bool truncated = false;   // max_samples reached
};

// Parse never fails as a whole: each malformed line is skipped and counted.
ParseResult Parse(absl::string_view text, const ParseOptions& options = {});

// TypeOf returns the declared type of a sample's family, mapping histogram/summary suffixes
// (_bucket, _count, _sum) to their family.
Type TypeOf(const ParseResult& r, const std::string& sample_name);

// ParseLine parses one sample line; nullopt with `error` set when malformed. Exposed for tests.
std::optional<Sample> ParseLine(absl::string_view line, const ParseOptions& options,
                                std::string* error);

}  // namespace k8i::agent::prom

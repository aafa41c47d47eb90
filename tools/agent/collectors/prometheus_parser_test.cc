#include "tools/agent/collectors/prometheus_parser.h"

#include <cmath>
#include <random>

#include "gtest/gtest.h"

namespace k8i::agent::prom {
namespace {

constexpr char kExposition[] = R"(# HELP http_requests_total The total number of HTTP requests.
# TYPE http_requests_total counter
http_requests_total{method="post",code="200"} 1027 1395066363000
http_requests_total{method="post",code="400"}    3 1395066363000

# Escaping in label values:
msdos_file_access_time_seconds{path="C:\\DIR\\FILE.TXT",error="Cannot find file:\n\"FILE.TXT\""} 1.458255915e9

# Minimalistic line:
metric_without_timestamp_and_labels 12.47

# A weird metric from before the epoch:
something_weird{problem="division by zero"} +Inf -3982045

# A histogram, which has a pretty complex representation in the text format:
# HELP http_request_duration_seconds A histogram of the request duration.
# TYPE http_request_duration_seconds histogram
http_request_duration_seconds_bucket{le="0.05"} 24054
http_request_duration_seconds_bucket{le="+Inf"} 144320
http_request_duration_seconds_sum 53423
http_request_duration_seconds_count 144320

# TYPE rpc_duration_seconds summary
rpc_duration_seconds{quantile="0.5"} 4773
rpc_duration_seconds_sum 1.7560473e+07
rpc_duration_seconds_count 2693
trailing_comma{a="b",} 1
spaces { a = "b" , c="d" } 2
)";

TEST(PrometheusParserTest, ReferenceExposition) {
  const ParseResult r = Parse(kExposition);
  EXPECT_EQ(r.bad_lines, 0) << r.first_error;
  ASSERT_EQ(r.samples.size(), 14u);
  EXPECT_EQ(r.samples[0].name, "http_requests_total");
  EXPECT_EQ(r.samples[0].labels[0], (std::pair<std::string, std::string>{"method", "post"}));
  EXPECT_EQ(r.samples[0].value, 1027);
  EXPECT_EQ(r.samples[0].timestamp_ms, 1395066363000);
  EXPECT_EQ(r.samples[2].labels[0].second, "C:\\DIR\\FILE.TXT");
  EXPECT_EQ(r.samples[2].labels[1].second, "Cannot find file:\n\"FILE.TXT\"");
  EXPECT_DOUBLE_EQ(r.samples[2].value, 1.458255915e9);
  EXPECT_FALSE(r.samples[3].timestamp_ms.has_value());
  EXPECT_TRUE(std::isinf(r.samples[4].value));
  EXPECT_EQ(r.samples[4].timestamp_ms, -3982045);
  EXPECT_EQ(r.samples[6].labels[0].second, "+Inf");
  EXPECT_EQ(TypeOf(r, "http_requests_total"), Type::kCounter);
  EXPECT_EQ(TypeOf(r, "http_request_duration_seconds_bucket"), Type::kHistogram);
  EXPECT_EQ(TypeOf(r, "rpc_duration_seconds_count"), Type::kSummary);
  EXPECT_EQ(TypeOf(r, "metric_without_timestamp_and_labels"), Type::kUntyped);
  EXPECT_EQ(r.samples[12].labels.size(), 1u);
  EXPECT_EQ(r.samples[13].labels[1].second, "d");
}

TEST(PrometheusParserTest, BadLinesAreCountedAndSkipped) {
  struct Case {
    const char* line;
    const char* why;
  };
  const Case cases[] = {
      {"1metric 1", "name"},
      {"m{a=\"b\" 1", "',' or '}'"},
      {"m{a=\"b} 1", "unterminated label value"},
      {"m{a=b} 1", "quoted"},
      {"m{a=\"1\",a=\"2\"} 1", "duplicate label"},
      {"m{=\"x\"} 1", "label name"},
      {"m abc", "invalid sample value"},
      {"m", "invalid sample value"},
      {"m 1 notatime", "invalid timestamp"},
      {"m 1 2 3", "after timestamp"},
      {"m{", "unterminated label set"},
      {"m{a", "'='"},
      {"m 0x", "invalid sample value"},
  };
  for (const auto& c : cases) {
    std::string error;
    EXPECT_FALSE(ParseLine(c.line, {}, &error).has_value()) << c.line;
    EXPECT_NE(error.find(c.why), std::string::npos) << c.line << " -> " << error;
  }
  const ParseResult r = Parse("good 1\nbad{ 2\n# TYPE x nonsense\nalso_good 3\n");
  EXPECT_EQ(r.samples.size(), 2u);
  EXPECT_EQ(r.bad_lines, 2);
  EXPECT_EQ(r.first_error.rfind("line 2: ", 0), 0u) << r.first_error;
}

TEST(PrometheusParserTest, LimitsBoundMemory) {
  std::string many;
  for (int i = 0; i < 50; ++i) many += "m{i=\"" + std::to_string(i) + "\"} 1\n";
  const ParseResult r = Parse(many, {.max_samples = 10});
  EXPECT_EQ(r.samples.size(), 10u);
  EXPECT_TRUE(r.truncated);
  const ParseResult longline = Parse("m{a=\"" + std::string(100'000, 'x') + "\"} 1\n");
  EXPECT_EQ(longline.samples.size(), 0u);
  EXPECT_EQ(longline.bad_lines, 1);
  std::string labels = "m{";
  for (int i = 0; i < 100; ++i) labels += "l" + std::to_string(i) + "=\"v\",";
  EXPECT_EQ(Parse(labels + "} 1").samples.size(), 0u);
}

TEST(PrometheusParserTest, WindowsLineEndingsAndNoTrailingNewline) {
  const ParseResult r = Parse("a 1\r\nb 2");
  ASSERT_EQ(r.samples.size(), 2u);
  EXPECT_EQ(r.samples[1].value, 2);
}

// Every prefix of a valid exposition and random mutations of it must parse without crashing.
TEST(PrometheusParserTest, TruncatedAndHostileInputNeverCrashes) {
  const std::string text = kExposition;
  for (size_t n = 0; n <= text.size(); ++n) Parse(text.substr(0, n));
  std::mt19937 rng(42);
  const char alphabet[] = "{}\"\\=,# \n\tabc019.+-eEInfNaN\0\xff";
  for (int round = 0; round < 2000; ++round) {
    std::string m = text;
    const int edits = 1 + static_cast<int>(rng() % 20);
    for (int e = 0; e < edits; ++e) {
      const size_t pos = rng() % m.size();
      m[pos] = alphabet[rng() % (sizeof(alphabet) - 1)];
    }
    const ParseResult r = Parse(m);
    EXPECT_LE(r.samples.size(), 20u);
  }
  std::string random(4096, '\0');
  for (int round = 0; round < 200; ++round) {
    for (char& c : random) c = static_cast<char>(rng());
    Parse(random);
  }
  Parse(std::string(1 << 20, '{'));
  Parse(std::string(1 << 20, '\\'));
  Parse(std::string(1 << 20, '"'));
}

}  // namespace
}  // namespace k8i::agent::prom

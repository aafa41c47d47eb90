#include "libs/aip/filter.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace k8i::aip {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;

const Schema& TestSchema() {
  static const Schema s = {
      {"name", {.sql = "p.name", .type = FieldType::kString, .sortable = true}},
      {"phase", {.sql = "p.phase", .type = FieldType::kString}},
      {"restarts", {.sql = "p.restarts", .type = FieldType::kInt, .sortable = true}},
      {"cpu_usage", {.sql = "p.cpu", .type = FieldType::kDouble, .sortable = true}},
      {"ready", {.sql = "p.ready", .type = FieldType::kBool}},
      {"create_time", {.sql = "p.created", .type = FieldType::kTimestamp, .sortable = true}},
      {"age", {.sql = "now() - p.created", .type = FieldType::kDuration}},
      {"labels", {.sql = "p.labels", .type = FieldType::kMap}},
      {"secret", {.sql = "p.secret", .type = FieldType::kString, .filterable = false}},
  };
  return s;
}

struct Good {
  std::string filter;
  std::string sql;
  std::vector<std::string> params;
};

class CompileGood : public ::testing::TestWithParam<Good> {};

TEST_P(CompileGood, ProducesParameterisedSql) {
  auto c = CompileFilter(GetParam().filter, TestSchema());
  ASSERT_TRUE(c.ok()) << c.status();
  EXPECT_EQ(c->sql, GetParam().sql);
  EXPECT_EQ(c->params, GetParam().params);
}

INSTANTIATE_TEST_SUITE_P(
    Filters, CompileGood,
    ::testing::Values(
        Good{"", "TRUE", {}},
        Good{"  ", "TRUE", {}},
        Good{R"(name = "api-0")", "p.name = $1::text", {"api-0"}},
        Good{"name=api", "p.name = $1::text", {"api"}},
        Good{R"(name != "x")", "p.name <> $1::text", {"x"}},
        Good{R"(name = "api-*")", R"(p.name LIKE $1::text ESCAPE '\')", {"api-%"}},
        Good{R"(name = "50%_*")", R"(p.name LIKE $1::text ESCAPE '\')", {"50\\%\\_%"}},
        Good{"restarts > 3", "p.restarts > $1::bigint", {"3"}},
        Good{"cpu_usage >= 0.5", "p.cpu >= $1::double precision", {"0.5"}},
        Good{"ready = true", "p.ready = $1::boolean", {"true"}},
        Good{R"(create_time < "2026-01-02T03:04:05Z")", "p.created < $1::timestamptz",
             {"2026-01-02T03:04:05+00:00"}},
        Good{"age > 5m", "now() - p.created > make_interval(secs => $1::double precision)",
             {"300"}},
        Good{R"(labels.app = "web")", "p.labels @> jsonb_build_object($1::text, $2::text)",
             {"app", "web"}},
        Good{R"(labels.app != "web")", "(p.labels ->> $1::text) <> $2::text", {"app", "web"}},
        Good{R"(labels.app = "web-*")", "(p.labels ->> $1::text) LIKE $2::text ESCAPE '\\'",
             {"app", "web-%"}},
        Good{"labels.app.kubernetes.io/name = web",
             "p.labels @> jsonb_build_object($1::text, $2::text)",
             {"app.kubernetes.io/name", "web"}},
        Good{"labels:team", "p.labels ? $1::text", {"team"}},
        Good{"phase = Running AND restarts > 0",
             "(p.phase = $1::text) AND (p.restarts > $2::bigint)", {"Running", "0"}},
        Good{"phase = Running restarts > 0",
             "(p.phase = $1::text) AND (p.restarts > $2::bigint)", {"Running", "0"}},
        // OR binds tighter than AND (AIP-160).
        Good{"phase = A AND phase = B OR restarts = 1",
             "(p.phase = $1::text) AND ((p.phase = $2::text) OR (p.restarts = $3::bigint))",
             {"A", "B", "1"}},
        Good{"NOT ready = true", "NOT (p.ready = $1::boolean)", {"true"}},
        Good{"-name = x", "NOT (p.name = $1::text)", {"x"}},
        Good{"(phase = A OR phase = B) AND NOT (restarts < 1)",
             "((p.phase = $1::text) OR (p.phase = $2::text)) AND (NOT (p.restarts < $3::bigint))",
             {"A", "B", "1"}},
        Good{R"(name = "quote' \" ; DROP TABLE pods; --")", "p.name = $1::text",
             {"quote' \" ; DROP TABLE pods; --"}}),
    [](const auto& info) { return "Case" + std::to_string(info.index); });

struct Bad {
  std::string filter;
  std::string error;
};

class CompileBad : public ::testing::TestWithParam<Bad> {};

TEST_P(CompileBad, IsInvalidArgumentSayingWhere) {
  auto c = CompileFilter(GetParam().filter, TestSchema());
  ASSERT_FALSE(c.ok()) << "compiled to " << c->sql;
  EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(c.status().message(), HasSubstr(GetParam().error));
}

INSTANTIATE_TEST_SUITE_P(
    Filters, CompileBad,
    ::testing::Values(
        Bad{"nope = 1", "unknown field \"nope\" at position 0"},
        Bad{"secret = x", "unknown field \"secret\""},
        Bad{"restarts > many", "\"restarts\" is an integer; \"many\" is not"},
        Bad{"cpu_usage > NaN", "is a number"},
        Bad{"ready = maybe", "true or false"},
        Bad{"create_time > yesterday", "not RFC 3339"},
        Bad{"age > forever", "is a duration"},
        Bad{"labels = x", "is a map"},
        Bad{"labels.a > b", "map values support"},
        Bad{"name.first = x", "has no subfields"},
        Bad{"name = ", "expected a value after '='"},
        Bad{"(name = x", "missing ')' at position 9"},
        Bad{"name = x)", "unexpected ')' at position 8"},
        Bad{"name = \"open", "unterminated string at position 7"},
        Bad{"name ! x", "'!' must be followed by '='"},
        Bad{"AND name = x", "unexpected 'AND' at position 0"},
        Bad{"name = x AND", "unexpected end of filter"},
        Bad{"justaword", "needs a field and a comparator"},
        Bad{"name = x; DROP TABLE pods", "needs a field and a comparator"},
        Bad{"1 = 1 OR name = x", "unknown field \"1\""}),
    [](const auto& info) { return "Case" + std::to_string(info.index); });

TEST(FilterLimitsTest, DeepNestingIsRefused) {
  std::string f(100, '(');
  f += "name = x";
  f += std::string(100, ')');
  auto c = CompileFilter(f, TestSchema());
  EXPECT_THAT(c.status().message(), HasSubstr("nests too deeply"));
  std::string nots;
  for (int i = 0; i < 100; ++i) nots += "NOT ";
  // NOT NOT is not in the grammar: refused as a syntax error, not by recursion.
  EXPECT_EQ(CompileFilter(nots + "name = x", TestSchema()).status().code(),
            absl::StatusCode::kInvalidArgument);
  std::string nested_nots;
  for (int i = 0; i < 100; ++i) nested_nots += "NOT (";
  nested_nots += "name = x" + std::string(100, ')');
  EXPECT_THAT(CompileFilter(nested_nots, TestSchema()).status().message(),
              HasSubstr("nests too deeply"));
}

TEST(FilterLimitsTest, HugeInputIsRefused) {
  std::string f = "name = \"" + std::string(10'000, 'a') + "\"";
  EXPECT_THAT(CompileFilter(f, TestSchema()).status().message(), HasSubstr("longer than"));
  std::string many;
  for (int i = 0; i < 200; ++i) many += "name = x OR ";
  many += "name = y";
  EXPECT_THAT(CompileFilter(many, TestSchema()).status().message(),
              HasSubstr("more than 128 restrictions"));
}

TEST(FilterTest, ParametersNumberFromTheGivenIndex) {
  auto c = CompileFilter("name = a restarts = 2", TestSchema(), 5);
  ASSERT_TRUE(c.ok());
  EXPECT_EQ(c->sql, "(p.name = $5::text) AND (p.restarts = $6::bigint)");
  EXPECT_THAT(c->params, ElementsAre("a", "2"));
}

}  // namespace
}  // namespace k8i::aip

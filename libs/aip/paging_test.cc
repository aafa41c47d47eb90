#include "libs/aip/paging.h"

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace k8i::aip {
namespace {

using ::testing::HasSubstr;

const Schema& S() {
  static const Schema s = {
      {"name", {.sql = "name", .type = FieldType::kString, .sortable = true}},
      {"cpu_usage", {.sql = "cpu", .type = FieldType::kDouble, .sortable = true}},
      {"phase", {.sql = "phase", .type = FieldType::kString}},
      {"uid", {.sql = "uid", .type = FieldType::kString, .sortable = true}},
  };
  return s;
}

TEST(OrderByTest, ParsesDirectionsAndAppendsTiebreak) {
  auto o = ParseOrderBy("cpu_usage desc, name", S(), "uid");
  ASSERT_TRUE(o.ok()) << o.status();
  ASSERT_EQ(o->size(), 3u);
  EXPECT_TRUE((*o)[0].desc);
  EXPECT_EQ((*o)[2].name, "uid");
  EXPECT_EQ(OrderBySql(*o, S()), "cpu DESC, name ASC, uid ASC");
  // The tiebreak takes the direction of the last field, so one index serves both directions.
  auto desc = ParseOrderBy("cpu_usage desc", S(), "uid");
  ASSERT_TRUE(desc.ok());
  EXPECT_EQ(OrderBySql(*desc, S()), "cpu DESC, uid DESC");
  auto only = ParseOrderBy("", S(), "uid");
  ASSERT_TRUE(only.ok());
  EXPECT_EQ(only->size(), 1u);
  auto explicit_tiebreak = ParseOrderBy("uid desc", S(), "uid");
  ASSERT_TRUE(explicit_tiebreak.ok());
  EXPECT_EQ(explicit_tiebreak->size(), 1u);
}

TEST(OrderByTest, RejectsBadInput) {
  EXPECT_THAT(ParseOrderBy("phase", S(), "uid").status().message(),
              HasSubstr("cannot sort by \"phase\""));
  EXPECT_THAT(ParseOrderBy("name sideways", S(), "uid").status().message(),
              HasSubstr("not asc or desc"));
  EXPECT_THAT(ParseOrderBy("name, name desc", S(), "uid").status().message(),
              HasSubstr("twice"));
  EXPECT_THAT(ParseOrderBy("name desc extra", S(), "uid").status().message(),
              HasSubstr("is not `field`"));
  EXPECT_THAT(ParseOrderBy("name,", S(), "uid").status().message(), HasSubstr("is not"));
}

TEST(KeysetTest, OneDirectionIsARowComparison) {
  auto o = ParseOrderBy("cpu_usage desc", S(), "uid");
  ASSERT_TRUE(o.ok());
  auto k = KeysetCondition(*o, S(), {"0.5", "u-9"}, 3);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->sql, "(cpu, uid) < ($3::double precision, $4::text)");
  EXPECT_EQ(k->params, (std::vector<std::string>{"0.5", "u-9"}));
  EXPECT_FALSE(KeysetCondition(*o, S(), {"0.5"}, 1).ok());
}

TEST(KeysetTest, MixedDirectionsAreLexicographicWithALeadingBound) {
  auto o = ParseOrderBy("cpu_usage desc, name", S(), "uid");
  ASSERT_TRUE(o.ok());
  auto k = KeysetCondition(*o, S(), {"0.5", "b", "u-9"}, 1);
  ASSERT_TRUE(k.ok());
  EXPECT_EQ(k->sql,
            "cpu <= $1::double precision AND ((cpu < $1::double precision) OR "
            "(cpu = $1::double precision AND name > $2::text) OR "
            "(cpu = $1::double precision AND name = $2::text AND uid > $3::text))");
}

TEST(PageTokenTest, RoundTripsAndIsBoundToItsQuery) {
  PageTokenCodec codec("secret-key");
  const std::string fp = PageTokenCodec::QueryFingerprint("ListPods", "clusters/a", "x = 1", "");
  const std::string with_nul("u\0-9", 4);
  std::string token = codec.Encode(fp, {"0.5", with_nul});
  auto values = codec.Decode(token, fp);
  ASSERT_TRUE(values.ok()) << values.status();
  EXPECT_EQ(*values, (std::vector<std::string>{"0.5", with_nul}));

  const std::string other = PageTokenCodec::QueryFingerprint("ListPods", "clusters/a", "x = 2", "");
  EXPECT_THAT(codec.Decode(token, other).status().message(), HasSubstr("different filter"));
  EXPECT_NE(PageTokenCodec::QueryFingerprint("a", "bc", "", ""),
            PageTokenCodec::QueryFingerprint("ab", "c", "", ""));
}

TEST(PageTokenTest, TamperingIsDetected) {
  PageTokenCodec codec("secret-key");
  const std::string fp = PageTokenCodec::QueryFingerprint("m", "", "", "");
  std::string token = codec.Encode(fp, {"abc"});
  for (size_t i = 0; i < token.size(); ++i) {
    std::string t = token;
    t[i] = t[i] == 'A' ? 'B' : 'A';
    auto d = codec.Decode(t, fp);
    EXPECT_EQ(d.status().code(), absl::StatusCode::kInvalidArgument) << i;
  }
  EXPECT_FALSE(codec.Decode("", fp).ok());
  EXPECT_FALSE(codec.Decode("!!!", fp).ok());
  EXPECT_FALSE(codec.Decode(token.substr(0, token.size() / 2), fp).ok());
  EXPECT_FALSE(PageTokenCodec("other-key").Decode(token, fp).ok());
}

TEST(PageSizeTest, AppliesAip158) {
  EXPECT_EQ(*ValidatePageSize(0, 50, 1000), 50);
  EXPECT_EQ(*ValidatePageSize(20, 50, 1000), 20);
  EXPECT_EQ(*ValidatePageSize(5000, 50, 1000), 1000);
  EXPECT_THAT(ValidatePageSize(-1, 50, 1000).status().message(), HasSubstr("negative"));
}

}  // namespace
}  // namespace k8i::aip

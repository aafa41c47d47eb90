#include "tools/kubesim/core/units.h"

#include "gtest/gtest.h"
#include "tools/kubesim/core/hash.h"

namespace k8i::kubesim {
namespace {

TEST(ParseQuantityTest, Table) {
  struct Case {
    const char* in;
    std::optional<double> want;
  };
  const Case cases[] = {
      {"250m", 0.25},
      {"1.5", 1.5},
      {"2Gi", 2.0 * (1 << 30)},
      {"500M", 500e6},
      {"1", 1},
      {"128Ki", 128.0 * 1024},
      {"1e3", 1000},
      {"100u", 1e-4},
      {"abc", std::nullopt},
      {"", std::nullopt},
      {"1Gb", std::nullopt},
      {"Mi", std::nullopt},
      {"1.5.2", std::nullopt},
  };
  for (const auto& c : cases) {
    auto got = ParseQuantity(c.in);
    ASSERT_EQ(got.has_value(), c.want.has_value()) << c.in;
    if (c.want) {
      EXPECT_DOUBLE_EQ(*got, *c.want) << c.in;
    }
  }
}

TEST(ParseDurationTest, Table) {
  struct Case {
    const char* in;
    std::optional<absl::Duration> want;
  };
  const Case cases[] = {
      {"30s", absl::Seconds(30)},
      {"5m", absl::Minutes(5)},
      {"2h", absl::Hours(2)},
      {"7d", absl::Hours(24 * 7)},
      {"1h30m", absl::Minutes(90)},
      {"1.5h", absl::Minutes(90)},
      {"500ms", absl::Milliseconds(500)},
      {"29m30s", absl::Seconds(29 * 60 + 30)},
      {"10", std::nullopt},
      {"5x", std::nullopt},
      {"", std::nullopt},
      {"0s", std::nullopt},
      {"-5m", std::nullopt},
  };
  for (const auto& c : cases) {
    auto got = ParseDuration(c.in);
    ASSERT_EQ(got.has_value(), c.want.has_value()) << c.in;
    if (c.want) {
      EXPECT_EQ(*got, *c.want) << c.in;
    }
  }
}

TEST(ParseRatePerHourTest, Units) {
  EXPECT_DOUBLE_EQ(*ParseRatePerHour("20Mi/h"), 20.0 * (1 << 20));
  EXPECT_DOUBLE_EQ(*ParseRatePerHour("1Gi/m"), 60.0 * (1 << 30));
  EXPECT_DOUBLE_EQ(*ParseRatePerHour("48Mi/d"), 2.0 * (1 << 20));
  EXPECT_FALSE(ParseRatePerHour("20Mi").has_value());
  EXPECT_FALSE(ParseRatePerHour("20Mi/w").has_value());
}

TEST(FormatTest, KubernetesRenderings) {
  EXPECT_EQ(FormatCpu(0.25), "250m");
  EXPECT_EQ(FormatCpu(4), "4");
  EXPECT_EQ(FormatCpu(3.9), "3900m");
  EXPECT_EQ(FormatBytes(16.0 * (1 << 30)), "16Gi");
  EXPECT_EQ(FormatBytes(16.0 * (1 << 30) - 512.0 * (1 << 20)), "15872Mi");
  EXPECT_EQ(FormatBytes(1000), "1000");
  EXPECT_EQ(ShortDuration(absl::Seconds(90)), "1m30s");
  EXPECT_EQ(ShortDuration(absl::Hours(2)), "2h");
  EXPECT_EQ(Rfc3339(absl::FromUnixSeconds(1796407200)), "2026-12-04T18:00:00Z");
}

TEST(HashTest, StableAndShaped) {
  EXPECT_EQ(StableHash(1, {"a", "b"}), StableHash(1, {"a", "b"}));
  EXPECT_NE(StableHash(1, {"ab", "c"}), StableHash(1, {"a", "bc"}));
  EXPECT_NE(StableHash(1, {"a"}), StableHash(2, {"a"}));
  const std::string uid = Uuid(1, {"Pod", "shop", "x"});
  ASSERT_EQ(uid.size(), 36u);
  EXPECT_EQ(uid[14], '4');
  const std::string suffix = NameSuffix(StableHash(1, {"x"}), 5);
  ASSERT_EQ(suffix.size(), 5u);
  for (char c : suffix)
    EXPECT_NE(std::string("bcdfghjklmnpqrstvwxz2456789").find(c), std::string::npos);
  EXPECT_EQ(Hex(7, 16).size(), 16u);
  for (uint64_t h = 0; h < 1000; ++h) {
    const double n = UnitNoise(StableHash(3, {std::to_string(h)}));
    EXPECT_GE(n, -1);
    EXPECT_LE(n, 1);
  }
}

}  // namespace
}  // namespace k8i::kubesim

#include "tools/agent/kube/quantity.h"

#include "gtest/gtest.h"

namespace k8i::agent::kube {
namespace {

TEST(QuantityTest, ParsesKubernetesQuantities) {
  struct Case {
    const char* in;
    int64_t milli;
    int64_t value;
  };
  const Case kCases[] = {
      {"100m", 100, 1},  // rounded up, as resource.Quantity.Value() does
      {"1.5", 1500, 2},
      {"2", 2000, 2},
      {"0.1", 100, 1},
      {"2Gi", 2147483648000, 2147483648},
      {"500M", 500000000000, 500000000},
      {"1e3", 1000000, 1000},
      {"1E3", 1000000, 1000},
      {"12345k", 12345000000, 12345000},
      {"128974848", 128974848000, 128974848},
      {"129e6", 129000000000, 129000000},
      {"123Mi", 128974848000, 128974848},
      {"250000000n", 250, 1},
      {"1u", 1, 1},
      {"64Ki", 65536000, 65536},
      {"1Ti", 1099511627776000, 1099511627776},
      {"1E", INT64_MAX, 1000000000000000000},  // exa, not an exponent
      {"+3", 3000, 3},
      {"-1", -1000, -1},
      {".5", 500, 1},
      {" 4 ", 4000, 4},
      {"8Ei", INT64_MAX, INT64_MAX},  // saturates
  };
  for (const auto& c : kCases) {
    EXPECT_EQ(MilliValue(c.in), c.milli) << c.in;
    EXPECT_EQ(Value(c.in), c.value) << c.in;
  }
  EXPECT_DOUBLE_EQ(*ParseQuantity("250000000n"), 0.25);
  EXPECT_DOUBLE_EQ(*ParseQuantity("1.5Gi"), 1.5 * 1073741824.0);
}

TEST(QuantityTest, RejectsGarbage) {
  for (const char* bad : {"", "m", "Gi", "1x", "1GiB", "1.2.3", "abc", "1e", "1e9999", "--1",
                          "1 Gi", "1e-", "NaN", "inf", "0x10"}) {
    EXPECT_FALSE(ParseQuantity(bad).has_value()) << bad;
    EXPECT_EQ(MilliValue(bad), 0) << bad;
  }
}

TEST(QuantityTest, ToQuantitiesToleratesWrongTypes) {
  const Json r = {{"cpu", "250m"}, {"memory", 5}, {"pods", "110"}, {"ephemeral-storage", "1Gi"}};
  const auto q = ToQuantities(r);
  EXPECT_EQ(q.cpu_millicores(), 250);
  EXPECT_EQ(q.memory_bytes(), 0);  // a number, not a quantity string: ignored
  EXPECT_EQ(q.pods(), 110);
  EXPECT_EQ(q.ephemeral_storage_bytes(), 1 << 30);
  EXPECT_EQ(ToQuantities(Json("x")).cpu_millicores(), 0);
}

}  // namespace
}  // namespace k8i::agent::kube

#include "tools/cli/costs.h"

#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace k8i::cli {
namespace {

namespace v1 = ::k8intel::v1;

TEST(CostsFormatTest, CsvQuotesWhatNeedsIt) {
  struct Case {
    std::vector<std::string> fields;
    std::string want;
  };
  const std::vector<Case> cases = {
      {{"a", "b"}, "a,b\n"},
      {{"a,b", "c"}, "\"a,b\",c\n"},
      {{"say \"hi\""}, "\"say \"\"hi\"\"\"\n"},
      {{"line\nbreak", ""}, "\"line\nbreak\",\n"},
  };
  for (const Case& c : cases) EXPECT_EQ(CsvRow(c.fields), c.want);
}

TEST(CostsFormatTest, AllocationTableAndCsv) {
  v1::QueryAllocationResponse r;
  auto* a = r.add_allocations();
  a->set_key("shop");
  a->set_cpu_cost(1.5);
  a->set_total_cost(2.25);
  a->set_share_percent(75);
  r.mutable_total()->set_total_cost(3);
  r.set_currency("USD");
  r.set_hours_attributed(24);
  const std::string table = FormatAllocation(r, false);
  EXPECT_TRUE(absl::StrContains(table, "shop")) << table;
  EXPECT_TRUE(absl::StrContains(table, "2.2500")) << table;
  EXPECT_TRUE(absl::StrContains(table, "TOTAL")) << table;
  EXPECT_TRUE(absl::StrContains(table, "24 cluster-hours")) << table;
  const std::string csv = FormatAllocation(r, true);
  EXPECT_TRUE(absl::StartsWith(csv, "key,cpu_cost,")) << csv;
  EXPECT_TRUE(absl::StrContains(csv, "\nshop,1.500000,")) << csv;
}

}  // namespace
}  // namespace k8i::cli

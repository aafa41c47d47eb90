// Cost attribution against hand-computed fixtures (to the cent and below), conservation for
// every hour, prices by version, overrides, spot, over-commit, mid-hour pods and PVC shares.
#include "services/cost/core/attribution.h"

#include <cmath>
#include <numeric>
#include <random>

#include "gtest/gtest.h"
#include "services/cost/core/pricing.h"
#include "services/cost/core/rollup.h"

namespace k8i::cost {
namespace {

const absl::Time kHour = absl::FromUnixSeconds(1'796'000'400);  // an hour boundary

const CostLine* Find(const HourResult& r, const std::string& pod, const std::string& pvc = "") {
  for (const auto& l : r.lines) {
    if (l.pod == pod && l.pvc == pvc) return &l;
  }
  return nullptr;
}

double ComputeSum(const HourResult& r) {
  double s = 0;
  for (const auto& l : r.lines) s += l.cpu_cost + l.memory_cost;
  return s;
}

HourInput Fixture() {
  HourInput in;
  in.cluster = "prod";
  in.start = kHour;
  in.nodes = {{.name = "n1", .cpu_cores = 4, .memory_gib = 16}};
  in.containers = {
      // Requests more CPU than it uses, uses more memory than it requests, the whole hour.
      {.ns = "shop", .pod = "web-1", .container = "app", .node = "n1",
       .workload_kind = "Deployment", .workload = "web",
       .cpu_request = 1, .cpu_usage = 0.5, .memory_request = 2, .memory_usage = 3},
      // Started at :30.
      {.ns = "shop", .pod = "web-2", .container = "app", .node = "n1",
       .workload_kind = "Deployment", .workload = "web",
       .cpu_request = 0.5, .cpu_usage = 1.0, .memory_request = 1, .memory_usage = 0.5,
       .ran = absl::Minutes(30)},
  };
  in.pvcs = {{.ns = "shop", .name = "data", .size_gib = 10, .pods = {"web-2", "web-1"}}};
  in.namespace_labels["shop"] = {{"team", "storefront"}, {"cost-center", "cc-42"}};
  return in;
}

TEST(AttributionTest, HandComputedFixture) {
  const HourResult r = Attribute(Fixture(), PriceVersion{});
  // Node: 4 × 0.031611 = 0.126444; 16 × 0.004237 = 0.067792.
  EXPECT_NEAR(r.node_cost, 0.194236, 1e-9);
  const CostLine* a = Find(r, "web-1");
  ASSERT_NE(a, nullptr);
  EXPECT_NEAR(a->cpu_cost, 1 * 1.0 * 0.031611, 1e-12);      // max(1, 0.5) = 1 core
  EXPECT_NEAR(a->memory_cost, 3 * 1.0 * 0.004237, 1e-12);   // max(2, 3) = 3 GiB
  EXPECT_EQ(a->team, "storefront");
  EXPECT_EQ(a->cost_centre, "cc-42");
  const CostLine* b = Find(r, "web-2");
  ASSERT_NE(b, nullptr);
  EXPECT_NEAR(b->hours, 0.5, 1e-12);
  EXPECT_NEAR(b->cpu_cost, 1.0 * 0.5 * 0.031611, 1e-12);    // usage 1.0 over request 0.5, 30 min
  EXPECT_NEAR(b->memory_cost, 1.0 * 0.5 * 0.004237, 1e-12);
  const CostLine* idle = Find(r, kIdle);
  ASSERT_NE(idle, nullptr);
  EXPECT_EQ(idle->node, "n1");
  EXPECT_NEAR(idle->cpu_cost, 0.126444 - 0.031611 - 0.0158055, 1e-12);
  EXPECT_NEAR(idle->memory_cost, 0.067792 - 0.012711 - 0.0021185, 1e-12);
  // The PVC: 10 GiB × $0.04 / 730 h, half each to the two pods that mounted it.
  const CostLine* s1 = Find(r, "web-1", "data");
  const CostLine* s2 = Find(r, "web-2", "data");
  ASSERT_NE(s1, nullptr);
  ASSERT_NE(s2, nullptr);
  EXPECT_NEAR(s1->storage_cost + s2->storage_cost, 10 * 0.04 / 730, 1e-15);
  EXPECT_NEAR(s1->storage_cost, s2->storage_cost, 1e-15);
  // To the cent, the hour's bill: $0.194236 compute + $0.000548 storage.
  double total = 0;
  for (const auto& l : r.lines) total += l.total();
  EXPECT_EQ(std::lround(total * 100), std::lround((0.194236 + 10 * 0.04 / 730) * 100));
  EXPECT_NEAR(total, 0.194236 + 10 * 0.04 / 730, 1e-12);
  // The arithmetic is on the line.
  EXPECT_NE(a->explanation.find("cpu max(request 1.000, usage 0.500) = 1.000 cores x 1.0000 h x "
                                "$0.031611/core-h = $0.031611"),
            std::string::npos)
      << a->explanation;
  // Efficiency: usage / request.
  const Efficiency e = EfficiencyOf({*a, *b});
  EXPECT_NEAR(e.cpu, (0.5 + 0.5) / (1 + 0.25), 1e-12);
  EXPECT_NEAR(e.memory, (3 + 0.25) / (2 + 0.5), 1e-12);
}

TEST(AttributionTest, OverridesSpotAndStorageClasses) {
  PriceVersion v;
  v.spot_discount = 0.6;
  v.nodes = {{.instance_type = "m5.large", .cpu_core_hour = 0.05, .memory_gib_hour = 0.01},
             {.label_key = "pool", .label_value = "batch", .cpu_core_hour = 0.02,
              .memory_gib_hour = 0.002}};
  v.storage_class_gib_month = {{"premium", 0.17}};
  ASSERT_TRUE(Validate(v).ok());
  const struct {
    const char* name;
    NodeFacts facts;
    double cpu, mem;
    const char* basis;
  } cases[] = {
      {"default", {}, 0.031611, 0.004237, "default prices"},
      {"instance type", {.instance_type = "m5.large"}, 0.05, 0.01, "instance type m5.large"},
      {"label", {.labels = {{"pool", "batch"}}}, 0.02, 0.002, "label pool=batch"},
      {"instance type before label",
       {.instance_type = "m5.large", .labels = {{"pool", "batch"}}}, 0.05, 0.01,
       "instance type m5.large"},
      {"spot", {.instance_type = "m5.large", .spot = true}, 0.02, 0.004,
       "instance type m5.large, spot -60 %"},
  };
  for (const auto& c : cases) {
    const NodeRates r = RatesFor(v, c.facts);
    EXPECT_NEAR(r.cpu_core_hour, c.cpu, 1e-12) << c.name;
    EXPECT_NEAR(r.memory_gib_hour, c.mem, 1e-12) << c.name;
    EXPECT_EQ(r.basis, c.basis) << c.name;
  }
  EXPECT_NEAR(StorageGibHour(v, "premium"), 0.17 / 730, 1e-15);
  EXPECT_NEAR(StorageGibHour(v, "standard"), 0.04 / 730, 1e-15);
}

TEST(AttributionTest, InvalidPricesAreRefused) {
  const struct {
    const char* name;
    PriceVersion v;
  } cases[] = {
      {"negative", {.cpu_core_hour = -1}},
      {"nan", {.memory_gib_hour = std::nan("")}},
      {"discount of 100 %", {.spot_discount = 1}},
      {"currency", {.currency = "dollars"}},
      {"override naming nothing", {.nodes = {{.cpu_core_hour = 1}}}},
  };
  for (const auto& c : cases) EXPECT_FALSE(Validate(c.v).ok()) << c.name;
}

TEST(AttributionTest, PriceChangesApplyFromTheirTimeOn) {
  PriceVersion later;
  later.effective = kHour + absl::Hours(24 * 15);
  later.cpu_core_hour = 0.05;
  const PriceBook book({later});
  const HourInput in = Fixture();
  const HourResult before = Attribute(in, book.At(later.effective - absl::Hours(1)));
  const HourResult after = Attribute(in, book.At(later.effective));
  EXPECT_NEAR(Find(before, "web-1")->cpu_cost, 0.031611, 1e-12);
  EXPECT_NEAR(Find(after, "web-1")->cpu_cost, 0.05, 1e-12);
  EXPECT_NEAR(Find(after, "web-1")->memory_cost, Find(before, "web-1")->memory_cost, 1e-15);
}

TEST(AttributionTest, OverCommittedNodesAreScaledNotChargedTwice) {
  HourInput in;
  in.nodes = {{.name = "small", .cpu_cores = 1, .memory_gib = 4}};
  for (const char* pod : {"a", "b"}) {
    in.containers.push_back({.ns = "x", .pod = pod, .container = "c", .node = "small",
                             .cpu_request = 0.5, .cpu_usage = 1.0, .memory_request = 1,
                             .memory_usage = 1});
  }
  const HourResult r = Attribute(in, PriceVersion{});
  EXPECT_NEAR(Find(r, "a")->cpu_cost, 0.031611 / 2, 1e-12);  // 2 core-hours on a 1-core node
  EXPECT_NEAR(Find(r, kIdle)->cpu_cost, 0, 1e-12);
  EXPECT_NEAR(Find(r, kIdle)->memory_cost, 2 * 0.004237, 1e-12);
  EXPECT_NEAR(ComputeSum(r), r.node_cost, 1e-12);
  EXPECT_NE(Find(r, "a")->explanation.find("over-committed"), std::string::npos);
}

TEST(AttributionTest, ContainersOnUnknownNodesAndPvcsWithoutPods) {
  HourInput in = Fixture();
  in.containers.push_back({.ns = "shop", .pod = "ghost", .node = "gone", .cpu_request = 1});
  in.pvcs = {{.ns = "shop", .name = "orphan", .size_gib = 5}};
  const HourResult r = Attribute(in, PriceVersion{});
  EXPECT_EQ(Find(r, "ghost"), nullptr);
  const CostLine* orphan = Find(r, "", "orphan");
  ASSERT_NE(orphan, nullptr);
  EXPECT_NEAR(orphan->storage_cost, 5 * 0.04 / 730, 1e-15);
}

// Conservation over many generated hours: container + idle lines add up to the nodes' cost
// (well within 0.01 %), and every rollup adds up to the hour's total, idle shared or not.
TEST(AttributionTest, ConservationForEveryHour) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(0, 1);
  for (int hour = 0; hour < 200; ++hour) {
    HourInput in;
    in.start = kHour + absl::Hours(hour);
    const int nodes = 1 + static_cast<int>(u(rng) * 5);
    for (int n = 0; n < nodes; ++n) {
      in.nodes.push_back({.name = "n" + std::to_string(n), .cpu_cores = 2 + std::floor(u(rng) * 30),
                          .memory_gib = 8 + std::floor(u(rng) * 120),
                          .facts = {.spot = u(rng) < 0.3},
                          .present = absl::Minutes(1 + static_cast<int>(u(rng) * 59))});
    }
    const int pods = static_cast<int>(u(rng) * 60);
    for (int p = 0; p < pods; ++p) {
      in.containers.push_back(
          {.ns = "ns" + std::to_string(p % 7), .pod = "p" + std::to_string(p), .container = "c",
           .node = "n" + std::to_string(p % nodes), .workload_kind = "Deployment",
           .workload = "w" + std::to_string(p % 11), .cpu_request = u(rng) * 4,
           .cpu_usage = u(rng) * 4, .memory_request = u(rng) * 16, .memory_usage = u(rng) * 16,
           .ran = absl::Minutes(static_cast<int>(u(rng) * 61))});
    }
    PriceVersion v;
    v.spot_discount = 0.7;
    const HourResult r = Attribute(in, v);
    ASSERT_GT(r.node_cost, 0);
    EXPECT_LE(std::abs(ComputeSum(r) - r.node_cost) / r.node_cost, 1e-4) << "hour " << hour;
    for (const auto& l : r.lines) {
      EXPECT_GE(l.cpu_cost, -1e-12);
      EXPECT_GE(l.memory_cost, -1e-12);
    }
    double total = 0;
    for (const auto& l : r.lines) total += l.total();
    for (GroupBy by : {GroupBy::kNamespace, GroupBy::kWorkload, GroupBy::kTeam}) {
      for (bool share : {false, true}) {
        double rolled = 0;
        for (const auto& a : Aggregate(r.lines, by, share)) rolled += a.total();
        EXPECT_NEAR(rolled, total, 1e-9 * std::max(1.0, total));
      }
    }
  }
}

TEST(AttributionTest, ANodeListedTwiceIsPricedOnce) {
  HourInput in = Fixture();
  in.nodes.push_back(in.nodes.front());
  const HourResult r = Attribute(in, PriceVersion{});
  EXPECT_NEAR(r.node_cost, 0.194236, 1e-9);
  EXPECT_NEAR(ComputeSum(r), r.node_cost, 1e-12);
}

TEST(AttributionTest, SameInputSameLines) {
  HourInput in = Fixture();
  const HourResult a = Attribute(in, PriceVersion{});
  std::reverse(in.containers.begin(), in.containers.end());
  const HourResult b = Attribute(in, PriceVersion{});
  ASSERT_EQ(a.lines.size(), b.lines.size());
  for (size_t i = 0; i < a.lines.size(); ++i) {
    EXPECT_EQ(a.lines[i].pod, b.lines[i].pod);
    EXPECT_DOUBLE_EQ(a.lines[i].total(), b.lines[i].total());
    EXPECT_EQ(a.lines[i].explanation, b.lines[i].explanation);
  }
}

TEST(RollupTest, GroupsAndSharedIdle) {
  const HourResult r = Attribute(Fixture(), PriceVersion{});
  auto rows = Aggregate(r.lines, GroupBy::kNamespace, false, "prod");
  ASSERT_EQ(rows.size(), 2u);
  EXPECT_EQ(rows[0].key, kIdle);  // most of this node sits idle
  EXPECT_EQ(rows[1].key, "shop");
  const double idle = rows[0].total();
  rows = Aggregate(r.lines, GroupBy::kNamespace, true, "prod");
  ASSERT_EQ(rows.size(), 1u);
  EXPECT_EQ(rows[0].key, "shop");
  EXPECT_NEAR(rows[0].idle_cost, idle, 1e-12);
  rows = Aggregate(r.lines, GroupBy::kWorkload, false);
  ASSERT_EQ(rows.size(), 2u);  // the PVC's shares went to the pods' workload
  EXPECT_EQ(rows[1].key, "shop/Deployment/web");
  EXPECT_NEAR(rows[1].storage_cost, 10 * 0.04 / 730, 1e-15);
  rows = Aggregate(r.lines, GroupBy::kTeam, false);
  EXPECT_EQ(rows[1].key, "storefront");
  EXPECT_EQ(Aggregate(r.lines, GroupBy::kCluster, false, "prod")[1].key, "prod");
  EXPECT_TRUE(ParseGroupBy("cost-centre").ok());
  EXPECT_FALSE(ParseGroupBy("planet").ok());
}

}  // namespace
}  // namespace k8i::cost

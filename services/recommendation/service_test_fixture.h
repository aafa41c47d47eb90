// The k8i-recommendation test fixture on the real stack (PostgreSQL, Redis, the devbroker):
// the service through its own wiring with a fake clock, objects and metrics applied as the
// consumers apply them, the runner at chosen times, keys of every role. Shared by the service's
// integration tests.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"
#include "k8intel/v1/recommendations.grpc.pb.h"
#include "libs/common/ids.h"
#include "libs/kafka/cloudevents.h"
#include "libs/kit/testing/test_service.h"
#include "libs/testing/stack.h"
#include "services/ingest/testing/harness.h"
#include "services/inventory/testing/harness.h"
#include "services/recommendation/config.h"
#include "services/recommendation/consumers.h"
#include "services/recommendation/migrations.h"
#include "services/recommendation/wiring.h"

namespace k8i::recommendation::testing {

namespace v1 = ::k8intel::v1;
using ingest::testing::IngestHarness;

inline const absl::Time kNow = absl::FromUnixSeconds(1'794'312'000);  // 2026-11-10T12:00Z
inline constexpr int64_t kGiB = int64_t{1} << 30;

inline v1::KubeObject Pod(const std::string& name, int64_t cpu_m, int64_t mem = kGiB / 4) {
  v1::KubeObject o;
  auto* p = o.mutable_pod();
  p->mutable_meta()->set_namespace_("shop");
  p->mutable_meta()->set_name(name);
  p->set_node_name("n1");
  p->set_phase("Running");
  p->set_workload_kind("Deployment");
  p->set_workload_name("web");
  auto* s = p->add_specs();
  s->set_name("app");
  s->mutable_resources()->mutable_requests()->set_cpu_millicores(cpu_m);
  s->mutable_resources()->mutable_requests()->set_memory_bytes(mem);
  // A memory limit, so the security advice (no-limits) stays out of the rightsizing tests.
  s->mutable_resources()->mutable_limits()->set_memory_bytes(4 * mem);
  return o;
}

inline v1::MetricSeries Series(const char* name, const std::vector<std::pair<absl::Time, double>>& pts) {
  v1::MetricSeries s;
  s.set_name(name);
  s.set_type(v1::METRIC_TYPE_GAUGE);
  auto* r = s.mutable_resource();
  r->set_namespace_name("shop");
  r->set_pod_name("web-1");
  r->set_container_name("app");
  r->set_workload_kind("Deployment");
  r->set_workload_name("web");
  for (const auto& [t, v] : pts) {
    auto* p = s.add_samples();
    p->set_time_unix_ms(absl::ToUnixMillis(t));
    p->set_value(v);
  }
  return s;
}

class RecommendationServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    K8I_REQUIRE_STACK("K8I_TEST_PG_URL");
    K8I_REQUIRE_STACK("K8I_TEST_KAFKA_BOOTSTRAP");
    prefix_ = absl::StrCat("k8irec", NewId().substr(0, 8), ".");
    auto h = IngestHarness::Start({.topic_prefix = prefix_});
    ASSERT_TRUE(h.ok()) << h.status();
    ingest_ = *std::move(h);
    clock_.Set(kNow - absl::Hours(100));
    const absl::Status started = kit::testing::StartService(
        Spec(), ingest_->db_url(),
        {{"K8I_KAFKA_TOPIC_PREFIX", prefix_},
         {"K8I_RECOMMEND_INTERVAL", "1h"},
         {"K8I_RECOMMEND_PUBLISH_INTERVAL", "1h"},
         {"K8I_PAGE_TOKEN_KEY", "test-page-key"},
         {"K8I_RATE_LIMIT_PER_SECOND", "10000"},
         {"K8I_RATE_LIMIT_BURST", "10000"},
         {"K8I_RECOMMEND_GROUP", "k8i-rec-" + prefix_}},
        LoadConfig,
        [this](kit::Service& s, const Config& c) {
          return Wire(s, c, {.rate_limit_prefix = absl::StrCat("k8i:rl:", prefix_)}, &parts_);
        },
        {.clock = &clock_, .registry = &registry_}, started_);
    ASSERT_TRUE(started.ok()) << started;
    pool_ = started_.pool.get();
    stub_ = v1::RecommendationService::NewStub(
        grpc::CreateChannel(absl::StrCat("127.0.0.1:", started_.service->grpc_port()),
                            grpc::InsecureChannelCredentials()));
    auto keys = inventory::testing::IssueRoleKeys(ingest_->pool(), tenant());
    ASSERT_TRUE(keys.ok()) << keys.status();
    viewer_ = keys->viewer;
    operator_ = keys->op;
    admin_ = keys->admin;
    stranger_ = keys->stranger;
  }

  const std::string& tenant() const { return ingest_->tenant(); }

  template <typename Handler, typename Batch>
  void Apply(const Batch& b, absl::Time at, const char* consumer) {
    Handler h;
    auto r = kit::ApplyMessages(*pool_, kSchema, consumer, h,
                                {kit::testing::TestMessage(prefix_ + "test", offset_++, b, at)});
    ASSERT_TRUE(r.ok()) << r.status();
  }
  void Objects(const std::vector<v1::KubeObject>& objects, absl::Time at) {
    v1::InventoryBatch b;
    b.set_tenant(tenant());
    b.set_cluster("c1");
    for (const auto& o : objects) *b.add_objects() = o;
    Apply<InventoryHandler>(b, at, kInventoryConsumer);
  }
  void Metrics(const std::vector<v1::MetricSeries>& series, absl::Time at) {
    v1::MetricBatch b;
    b.set_tenant(tenant());
    b.set_cluster("c1");
    for (const auto& s : series) *b.add_series() = s;
    Apply<MetricsHandler>(b, at, kMetricsConsumer);
  }

  void Run(absl::Time now) {
    clock_.Set(now);
    auto r = parts_.evaluate->RunOnce();
    ASSERT_TRUE(r.ok()) << r.status();
    ASSERT_TRUE(r->leader);
  }

  std::unique_ptr<grpc::ClientContext> Ctx(const std::string& key) {
    return inventory::testing::KeyContext(key);
  }

  std::vector<v1::Recommendation> List(const std::string& filter = "") {
    v1::ListRecommendationsRequest req;
    req.set_filter(filter);
    v1::ListRecommendationsResponse resp;
    auto ctx = Ctx(viewer_);
    auto st = stub_->ListRecommendations(ctx.get(), req, &resp);
    EXPECT_TRUE(st.ok()) << st.error_message();
    return {resp.recommendations().begin(), resp.recommendations().end()};
  }

  // The outbox's messages for `topic`, in order.
  std::vector<std::string> Outbox(const std::string& topic) {
    auto lease = pool_->Acquire();
    EXPECT_TRUE(lease.ok());
    pqxx::work tx(lease->conn());
    std::vector<std::string> out;
    for (const auto& r : tx.exec_params(
             "SELECT value FROM recommendation.outbox WHERE topic = $1 ORDER BY id", topic)) {
      out.push_back(pqxx::binarystring(r[0]).str());
    }
    return out;
  }

  // Two days of web/app using 50-110 millicores every 10 minutes against a 1-core request.
  void SendOverProvisioned(int64_t cpu_m) {
    Objects({Pod("web-1", cpu_m)}, kNow - absl::Hours(50));
    std::vector<std::pair<absl::Time, double>> cpu, mem;
    for (int m = 48 * 60; m > 0; m -= 10) {
      cpu.push_back({kNow - absl::Minutes(m), 0.05 + 0.001 * (m % 60)});
      mem.push_back({kNow - absl::Minutes(m), 100.0 * 1024 * 1024});
    }
    Metrics({Series("k8s_container_cpu_usage_cores", cpu),
             Series("k8s_container_memory_working_set_bytes", mem)},
            kNow);
  }

  std::string prefix_;
  std::unique_ptr<IngestHarness> ingest_;
  pg::Pool* pool_ = nullptr;
  metrics::Registry registry_;
  k8i::testing::FakeClock clock_;
  Parts parts_;
  kit::testing::StartedService<Config> started_;
  std::unique_ptr<v1::RecommendationService::Stub> stub_;
  std::string viewer_, operator_, admin_, stranger_;
  int64_t offset_ = 0;
};

}  // namespace k8i::recommendation::testing

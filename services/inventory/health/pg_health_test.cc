// PgClusterHealth against the real PostgreSQL and Redis of the test stack: every state and
// reason from seeded telemetry rows, tenant isolation, the Redis heartbeat and cache, Redis
// down, and the query plans.
#include "services/inventory/health/pg_health.h"

#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "libs/common/ids.h"
#include "libs/redis/options.h"
#include "libs/testing/stack.h"
#include "services/ingest/store/pg_batch_store.h"

namespace k8i::inventory {
namespace {

using k8intel::v1::ClusterHealth;

std::vector<std::string> Codes(const ClusterHealth& h) {
  std::vector<std::string> out;
  for (const auto& r : h.reasons()) out.push_back(r.code());
  return out;
}

class PgHealthTest : public ::testing::Test {
 protected:
  void SetUp() override {
    K8I_REQUIRE_STACK("K8I_TEST_PG_URL");
    K8I_REQUIRE_STACK("K8I_TEST_REDIS_URL");
    auto db = k8i::testing::TempDatabase::Create();
    ASSERT_TRUE(db.ok()) << db.status();
    db_ = *std::move(db);
    auto pool = pg::Pool::Create({.url = db_->url(), .size = 4});
    ASSERT_TRUE(pool.ok()) << pool.status();
    pool_ = *std::move(pool);
    ASSERT_TRUE(ingest::ApplyMigrations(*pool_).ok());
    auto opts = redis::ParseUrl(k8i::testing::TestEnv("K8I_TEST_REDIS_URL"));
    ASSERT_TRUE(opts.ok()) << opts.status();
    opts->reconnect_backoff = absl::Milliseconds(200);
    auto client = redis::Client::Create(*opts);
    ASSERT_TRUE(client.ok()) << client.status();
    redis_ = *std::move(client);
    tenant_ = absl::StrCat("t", NewId().substr(0, 10));
  }

  std::unique_ptr<PgClusterHealth> Source(absl::Duration cache_ttl, bool with_redis = true) {
    return std::make_unique<PgClusterHealth>(pool_.get(), with_redis ? redis_.get() : nullptr,
                                             &RealClock::Instance(),
                                             PgHealthOptions{.cache_ttl = cache_ttl}, registry_);
  }

  void Exec(const std::string& sql) {
    ASSERT_TRUE(pool_
                    ->WithTransaction([&](pqxx::work& tx) {
                      tx.exec(sql);
                      return absl::OkStatus();
                    })
                    .ok())
        << sql;
  }

  void Heartbeat(const std::string& tenant, const std::string& cluster, absl::Duration age) {
    Exec(absl::StrCat("INSERT INTO telemetry.cluster_heartbeats VALUES ('", tenant, "', '", cluster,
                      "', now() - interval '", absl::ToInt64Seconds(age),
                      " seconds', 'b') ON CONFLICT (tenant_id, cluster_id) DO UPDATE SET "
                      "last_seen = EXCLUDED.last_seen"));
  }

  void Object(const std::string& tenant, const std::string& cluster, const std::string& kind,
              const std::string& ns, const std::string& name, const std::string& json,
              bool deleted = false) {
    Exec(absl::StrCat(
        "INSERT INTO telemetry.objects (tenant_id, cluster_id, kind, namespace, name, uid, "
        "resource_version, object, deleted) VALUES ('",
        tenant, "', '", cluster, "', '", kind, "', '", ns, "', '", name, "', '", NewId(),
        "', '1', '", json, "', ", deleted ? "true" : "false",
        ") ON CONFLICT (tenant_id, cluster_id, kind, namespace, name) DO UPDATE SET "
        "object = EXCLUDED.object, deleted = EXCLUDED.deleted"));
  }

  void Node(const std::string& tenant, const std::string& cluster, const std::string& name,
            const char* ready, bool deleted = false) {
    const std::string conditions =
        ready == nullptr
            ? ""
            : absl::StrCat(
                  ",\"conditions\":[{\"type\":\"MemoryPressure\",\"status\":\"False\"},"
                  "{\"type\":\"Ready\",\"status\":\"",
                  ready, "\"}]");
    Object(tenant, cluster, "Node", "", name,
           absl::StrCat("{\"meta\":{\"name\":\"", name, "\"}", conditions, "}"), deleted);
  }

  void Pod(const std::string& tenant, const std::string& cluster, const std::string& name,
           const std::string& phase, const std::string& state = "running",
           const std::string& reason = "", bool deleted = false) {
    Object(tenant, cluster, "Pod", "default", name,
           absl::StrCat(
               "{\"meta\":{\"name\":\"", name, "\",\"namespace\":\"default\"},\"phase\":\"", phase,
               "\",\"containers\":[{\"name\":\"ok\",\"state\":\"running\"},{\"name\":"
               "\"app\",\"state\":\"",
               state, "\"", reason.empty() ? "" : ",\"state_reason\":\"" + reason + "\"", "}]}"),
           deleted);
  }

  std::vector<ClusterHealth> Eval(PgClusterHealth& src, const std::vector<std::string>& ids,
                                  const std::string& tenant = "") {
    auto r = src.Evaluate(tenant.empty() ? tenant_ : tenant, ids);
    EXPECT_TRUE(r.ok()) << r.status();
    return r.ok() ? *r : std::vector<ClusterHealth>(ids.size());
  }

  metrics::Registry registry_;
  std::unique_ptr<k8i::testing::TempDatabase> db_;
  std::unique_ptr<pg::Pool> pool_;
  std::unique_ptr<redis::Client> redis_;
  std::string tenant_;
};

TEST_F(PgHealthTest, EachStateAndReasonFromRows) {
  Heartbeat(tenant_, "healthy", absl::Seconds(1));
  Node(tenant_, "healthy", "n1", "True");
  Node(tenant_, "healthy", "n2", "True");
  Node(tenant_, "healthy", "gone", "False", /*deleted=*/true);
  Pod(tenant_, "healthy", "web", "Running");
  Pod(tenant_, "healthy", "job", "Succeeded", "terminated", "Completed");
  Pod(tenant_, "healthy", "old", "Failed", "waiting", "CrashLoopBackOff", /*deleted=*/true);
  Pod(tenant_, "healthy", "starting", "Pending", "waiting", "ContainerCreating");

  Heartbeat(tenant_, "stale", absl::Seconds(45));
  Heartbeat(tenant_, "offline", absl::Minutes(10));
  Node(tenant_, "offline", "n1", "False");

  Heartbeat(tenant_, "nodes", absl::Seconds(0));
  Node(tenant_, "nodes", "a-ok", "True");
  Node(tenant_, "nodes", "b-down", "False");
  Node(tenant_, "nodes", "c-unknown", "Unknown");
  Node(tenant_, "nodes", "d-nocond", nullptr);
  Node(tenant_, "nodes", "e-down", "False");

  Heartbeat(tenant_, "pods", absl::Seconds(0));
  Pod(tenant_, "pods", "p1-failed", "Failed", "terminated", "Error");
  Pod(tenant_, "pods", "p2-unknown", "Unknown");
  Pod(tenant_, "pods", "p3-crash", "Running", "waiting", "CrashLoopBackOff");
  Pod(tenant_, "pods", "p4-pull", "Pending", "waiting", "ImagePullBackOff");
  Pod(tenant_, "pods", "p5-err", "Pending", "waiting", "ErrImagePull");
  Pod(tenant_, "pods", "p6-config", "Pending", "waiting", "CreateContainerConfigError");
  Pod(tenant_, "pods", "p7-ok", "Running");
  Pod(tenant_, "pods", "p8-done", "Succeeded", "terminated", "Completed");

  auto src = Source(absl::ZeroDuration());
  auto h = Eval(*src, {"healthy", "stale", "offline", "never", "nodes", "pods"});
  ASSERT_EQ(h.size(), 6u);

  EXPECT_EQ(h[0].name(), "clusters/healthy/health");
  EXPECT_EQ(h[0].state(), k8intel::v1::HEALTH_STATE_HEALTHY) << h[0].DebugString();
  EXPECT_EQ(h[0].node_count(), 2);
  EXPECT_EQ(h[0].pod_count(), 3);
  EXPECT_EQ(h[0].pods_failing(), 0);
  EXPECT_TRUE(h[0].has_last_heartbeat_time());
  EXPECT_NEAR(h[0].evaluate_time().seconds(), absl::ToUnixSeconds(absl::Now()), 5);

  EXPECT_EQ(h[1].state(), k8intel::v1::HEALTH_STATE_WARNING) << h[1].DebugString();
  EXPECT_EQ(Codes(h[1]), std::vector<std::string>{"HEARTBEAT_STALE"});

  EXPECT_EQ(h[2].state(), k8intel::v1::HEALTH_STATE_OFFLINE) << h[2].DebugString();
  EXPECT_EQ(Codes(h[2]), std::vector<std::string>{"OFFLINE"});
  EXPECT_EQ(h[2].nodes_not_ready(), 1);

  EXPECT_EQ(h[3].state(), k8intel::v1::HEALTH_STATE_OFFLINE);
  EXPECT_EQ(Codes(h[3]), std::vector<std::string>{"NEVER_SEEN"});
  EXPECT_FALSE(h[3].has_last_heartbeat_time());

  EXPECT_EQ(h[4].state(), k8intel::v1::HEALTH_STATE_WARNING) << h[4].DebugString();
  EXPECT_EQ(Codes(h[4]), std::vector<std::string>{"NODES_NOT_READY"});
  EXPECT_EQ(h[4].node_count(), 5);
  EXPECT_EQ(h[4].nodes_not_ready(), 4);
  EXPECT_EQ(h[4].reasons(0).message(),
            "4 of 5 nodes NotReady: b-down, c-unknown, d-nocond and 1 more");

  EXPECT_EQ(h[5].state(), k8intel::v1::HEALTH_STATE_WARNING) << h[5].DebugString();
  EXPECT_EQ(Codes(h[5]), std::vector<std::string>{"PODS_FAILING"});
  EXPECT_EQ(h[5].pod_count(), 8);
  EXPECT_EQ(h[5].pods_failing(), 6);
  EXPECT_EQ(h[5].reasons(0).message(),
            "6 of 8 pods failing: default/p1-failed, default/p2-unknown, default/p3-crash and "
            "3 more");
}

TEST_F(PgHealthTest, SameClusterIdInTwoTenantsIsSeparate) {
  const std::string other = absl::StrCat("u", NewId().substr(0, 10));
  Heartbeat(tenant_, "prod", absl::Seconds(1));
  Node(tenant_, "prod", "n1", "True");
  Node(other, "prod", "n1", "False");
  Node(other, "prod", "n2", "False");
  Pod(other, "prod", "bad", "Failed");
  auto src = Source(absl::Seconds(10));
  auto mine = Eval(*src, {"prod"});
  auto theirs = Eval(*src, {"prod"}, other);
  EXPECT_EQ(mine[0].state(), k8intel::v1::HEALTH_STATE_HEALTHY) << mine[0].DebugString();
  EXPECT_EQ(mine[0].node_count(), 1);
  EXPECT_EQ(mine[0].pod_count(), 0);
  EXPECT_EQ(theirs[0].state(), k8intel::v1::HEALTH_STATE_OFFLINE) << theirs[0].DebugString();
  EXPECT_EQ(Codes(theirs[0]), std::vector<std::string>{"NEVER_SEEN"});
  EXPECT_EQ(theirs[0].node_count(), 2);
  EXPECT_EQ(theirs[0].pods_failing(), 1);
  // Cached per tenant too: asking again gives each tenant its own answer.
  EXPECT_EQ(Eval(*src, {"prod"})[0].node_count(), 1);
  EXPECT_EQ(Eval(*src, {"prod"}, other)[0].node_count(), 2);
}

TEST_F(PgHealthTest, FresherRedisHeartbeatWins) {
  Heartbeat(tenant_, "a", absl::Minutes(10));
  Heartbeat(tenant_, "b", absl::Seconds(1));
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  ASSERT_TRUE(redis_
                  ->Set(absl::StrCat("k8i:heartbeat:", tenant_, "/a"), absl::StrCat(now_ms),
                        absl::Minutes(1))
                  .ok());
  ASSERT_TRUE(redis_
                  ->Set(absl::StrCat("k8i:heartbeat:", tenant_, "/b"),
                        absl::StrCat(now_ms - 3'600'000), absl::Minutes(1))
                  .ok());
  // Only in Redis (PostgreSQL's heartbeat not written yet).
  ASSERT_TRUE(redis_
                  ->Set(absl::StrCat("k8i:heartbeat:", tenant_, "/c"), absl::StrCat(now_ms),
                        absl::Minutes(1))
                  .ok());
  auto src = Source(absl::ZeroDuration());
  auto h = Eval(*src, {"a", "b", "c"});
  EXPECT_EQ(h[0].state(), k8intel::v1::HEALTH_STATE_HEALTHY) << h[0].DebugString();
  EXPECT_EQ(h[0].last_heartbeat_time().seconds(), now_ms / 1000);
  EXPECT_EQ(h[1].state(), k8intel::v1::HEALTH_STATE_HEALTHY) << h[1].DebugString();
  EXPECT_GT(h[1].last_heartbeat_time().seconds(), now_ms / 1000 - 60);
  EXPECT_EQ(h[2].state(), k8intel::v1::HEALTH_STATE_HEALTHY) << h[2].DebugString();
  // Without Redis, "a" is offline by its PostgreSQL heartbeat.
  auto pg_only = Source(absl::ZeroDuration(), /*with_redis=*/false);
  EXPECT_EQ(Eval(*pg_only, {"a"})[0].state(), k8intel::v1::HEALTH_STATE_OFFLINE);
}

TEST_F(PgHealthTest, CacheHitUntilTtlThenRecomputed) {
  Heartbeat(tenant_, "c1", absl::Seconds(0));
  Node(tenant_, "c1", "n1", "True");
  auto src = Source(absl::Milliseconds(1500));
  auto first = Eval(*src, {"c1"});
  ASSERT_EQ(first[0].state(), k8intel::v1::HEALTH_STATE_HEALTHY) << first[0].DebugString();
  auto cached = redis_->Get(PgClusterHealth::CacheKey(tenant_, "c1"));
  ASSERT_TRUE(cached.ok() && cached->has_value());
  ClusterHealth stored;
  ASSERT_TRUE(stored.ParseFromString(**cached));
  EXPECT_EQ(stored.SerializeAsString(), first[0].SerializeAsString());

  Node(tenant_, "c1", "n1", "False");
  Heartbeat(tenant_, "c1", absl::Seconds(0));
  auto second = Eval(*src, {"c1"});
  EXPECT_EQ(second[0].state(), k8intel::v1::HEALTH_STATE_HEALTHY) << "served from the cache";
  EXPECT_EQ(second[0].SerializeAsString(), first[0].SerializeAsString());

  // Once the cached entry expires (its TTL runs on the Redis server's clock), the new state
  // shows: polled with a deadline rather than slept for.
  const absl::Time expired_by = absl::Now() + absl::Seconds(10);
  auto third = Eval(*src, {"c1"});
  while (third[0].state() != k8intel::v1::HEALTH_STATE_WARNING && absl::Now() < expired_by) {
    absl::SleepFor(absl::Milliseconds(50));
    third = Eval(*src, {"c1"});
  }
  EXPECT_EQ(third[0].state(), k8intel::v1::HEALTH_STATE_WARNING) << third[0].DebugString();
  EXPECT_EQ(Codes(third[0]), std::vector<std::string>{"NODES_NOT_READY"});
}

TEST_F(PgHealthTest, RedisDownStillCorrectAndFast) {
  if (k8i::testing::TestEnv("K8I_TEST_CTL").empty()) GTEST_SKIP() << "K8I_TEST_CTL is not set";
  Heartbeat(tenant_, "c1", absl::Seconds(0));
  Node(tenant_, "c1", "n1", "True");
  auto src = Source(absl::Seconds(30));
  ASSERT_EQ(Eval(*src, {"c1"})[0].state(), k8intel::v1::HEALTH_STATE_HEALTHY);

  ASSERT_EQ(k8i::testing::StackCtl("redis stop"), 0);
  Node(tenant_, "c1", "n1", "False");
  for (int i = 0; i < 3; ++i) {
    const absl::Time start = absl::Now();
    auto h = Eval(*src, {"c1", "never"});
    EXPECT_LT(absl::Now() - start, absl::Seconds(2));
    ASSERT_EQ(h.size(), 2u);
    EXPECT_EQ(h[0].state(), k8intel::v1::HEALTH_STATE_WARNING) << h[0].DebugString();
    EXPECT_EQ(Codes(h[0]), std::vector<std::string>{"NODES_NOT_READY"});
    EXPECT_EQ(Codes(h[1]), std::vector<std::string>{"NEVER_SEEN"});
  }
  ASSERT_EQ(k8i::testing::StackCtl("redis start"), 0);
  // Back to caching once Redis answers again (the entry from before the outage may still be
  // there, so wait for a fresh write).
  absl::Time deadline = absl::Now() + absl::Seconds(20);
  bool cached_again = false;
  while (absl::Now() < deadline && !cached_again) {
    (void)redis_->Command({"DEL", PgClusterHealth::CacheKey(tenant_, "c1")});
    auto h = Eval(*src, {"c1"});
    EXPECT_EQ(h[0].state(), k8intel::v1::HEALTH_STATE_WARNING);
    auto got = redis_->Get(PgClusterHealth::CacheKey(tenant_, "c1"));
    cached_again = got.ok() && got->has_value();
    if (!cached_again) absl::SleepFor(absl::Milliseconds(300));
  }
  EXPECT_TRUE(cached_again);
}

TEST_F(PgHealthTest, ManyClustersInOrderWithDuplicates) {
  std::vector<std::string> ids;
  for (int i = 0; i < 300; ++i) {
    const std::string id = absl::StrCat("c", i);
    ids.push_back(id);
    if (i % 3 != 0) Heartbeat(tenant_, id, absl::Seconds(1));
    if (i % 5 == 0) Node(tenant_, id, "n", "False");
  }
  ids.push_back("c1");
  auto src = Source(absl::Seconds(10));
  for (int round = 0; round < 2; ++round) {  // computed, then from the cache
    auto h = Eval(*src, ids);
    ASSERT_EQ(h.size(), ids.size());
    for (size_t i = 0; i < ids.size(); ++i) {
      const int n = i == 300 ? 1 : static_cast<int>(i);
      EXPECT_EQ(h[i].name(), absl::StrCat("clusters/", ids[i], "/health"));
      const auto want = n % 3 == 0   ? k8intel::v1::HEALTH_STATE_OFFLINE
                        : n % 5 == 0 ? k8intel::v1::HEALTH_STATE_WARNING
                                     : k8intel::v1::HEALTH_STATE_HEALTHY;
      EXPECT_EQ(h[i].state(), want) << ids[i] << " round " << round;
    }
  }
}

TEST_F(PgHealthTest, QueriesUseIndexes) {
  for (int c = 0; c < 20; ++c) {
    const std::string id = absl::StrCat("c", c);
    Heartbeat(tenant_, id, absl::Seconds(1));
    Exec(absl::StrCat(
        "INSERT INTO telemetry.objects (tenant_id, cluster_id, kind, namespace, name, uid, "
        "resource_version, object) SELECT '",
        tenant_, "', '", id,
        "', 'Pod', 'default', 'p' || g, 'u' || g, '1', jsonb_build_object('phase', "
        "CASE WHEN g % 50 = 0 THEN 'Failed' ELSE 'Running' END) FROM generate_series(1, 200) g"));
    Node(tenant_, id, "n1", "True");
  }
  Exec("ANALYZE telemetry.objects");
  auto src = Source(absl::ZeroDuration());
  std::vector<std::string> ids = {"c1", "c2", "c3"};
  std::vector<std::string> plans;
  ASSERT_TRUE(pool_
                  ->WithTransaction([&](pqxx::work& tx) {
                    tx.exec("SET LOCAL enable_seqscan = off");
                    for (const auto& q : src->Queries()) {
                      std::string plan;
                      for (const auto& row :
                           tx.exec_params(absl::StrCat("EXPLAIN ", q), tenant_, "{c1,c2,c3}")) {
                        absl::StrAppend(&plan, row[0].c_str(), "\n");
                      }
                      plans.push_back(plan);
                    }
                    return absl::OkStatus();
                  })
                  .ok());
  ASSERT_EQ(plans.size(), 4u);
  for (const auto& p : plans) EXPECT_EQ(p.find("Seq Scan"), std::string::npos) << p;
  EXPECT_NE(plans[1].find("objects_live_nodes"), std::string::npos) << plans[1];
  EXPECT_NE(plans[2].find("objects_live_pods"), std::string::npos) << plans[2];
  EXPECT_NE(plans[3].find("objects_failing_pods"), std::string::npos) << plans[3];
  // And the numbers behind those plans are right.
  auto h = Eval(*src, ids);
  EXPECT_EQ(h[0].pod_count(), 200);
  EXPECT_EQ(h[0].pods_failing(), 4);
}

}  // namespace
}  // namespace k8i::inventory

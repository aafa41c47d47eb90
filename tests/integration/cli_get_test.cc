// `k8i get` end to end: the real k8i binary against an in-process inventory whose telemetry
// was written by ingest's real store; checks the table and JSON output, paging with --all,
// a metric query, a bad filter's exit code and message, and that another tenant's key sees
// nothing.
#include <sys/wait.h>

#include <cstdio>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "libs/common/clock.h"
#include "libs/testing/stack.h"
#include "services/ingest/store/pg_batch_store.h"
#include "services/inventory/testing/harness.h"

namespace k8i {
namespace {

namespace v1 = k8intel::v1;

struct Result {
  int exit_code = -1;
  std::string out;  // stdout and stderr
};

Result RunCli(const std::string& key, const std::string& args, int port) {
  const std::string bin = k8i::testing::TestEnv("K8I_TEST_BIN_DIR") + "/k8i";
  const std::string cmd = absl::StrCat("K8I_API_KEY='", key, "' ", bin,
                                       " --endpoint 127.0.0.1:", port, " ", args, " 2>&1");
  Result r;
  FILE* p = popen(cmd.c_str(), "r");
  if (p == nullptr) return r;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  const int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

TEST(CliGetTest, ListsGetsPagesAndRefusesBadInput) {
  K8I_REQUIRE_STACK("K8I_TEST_PG_URL");
  K8I_REQUIRE_STACK("K8I_TEST_BIN_DIR");
  auto h = inventory::testing::InventoryHarness::Start();
  ASSERT_TRUE(h.ok()) << h.status();
  const std::string tenant = (*h)->Tenant("cli");
  auto key = (*h)->CreateKey(tenant, auth::Role::kViewer);
  auto other = (*h)->CreateKey((*h)->Tenant("other"), auth::Role::kAdmin);
  ASSERT_TRUE(key.ok() && other.ok());

  v1::TelemetryBatch b;
  b.set_batch_id("cli-1");
  b.set_cluster("prod");
  for (int i = 0; i < 7; ++i) {
    auto* p = b.add_objects()->mutable_pod();
    p->mutable_meta()->set_uid(absl::StrCat("uid-", i));
    p->mutable_meta()->set_name(absl::StrCat("web-", i));
    p->mutable_meta()->set_namespace_("shop");
    p->set_node_name(i < 3 ? "node-a" : "node-b");
    p->set_phase(i == 6 ? "Failed" : "Running");
    auto* c = p->add_containers();
    c->set_name("main");
    c->set_restart_count(i);
  }
  auto* m = b.add_metrics();
  m->set_name("k8s_node_cpu_utilization");
  m->set_type(v1::METRIC_TYPE_GAUGE);
  m->mutable_resource()->set_node_name("node-a");
  // Three samples in one hour bucket of the query below (`--step 1h` buckets start on the
  // hour) and within its last hour: the seconds before now, or before the hour if it just began.
  const absl::Time now = absl::Now();
  const absl::Time hour = absl::FromUnixSeconds(absl::ToUnixSeconds(now) / 3600 * 3600);
  const absl::Time base = now - hour >= absl::Seconds(5) ? now : hour;
  for (int i = 0; i < 3; ++i) {
    auto* x = m->add_samples();
    x->set_time_unix_ms(absl::ToUnixMillis(base - absl::Seconds(i + 1)));
    x->set_value(0.25);
  }
  ingest::PgBatchStore writer(&(*h)->pool(), &RealClock::Instance());
  ASSERT_TRUE(writer.Write({tenant, "prod"}, b, "cli-1").ok());
  const int port = (*h)->port();

  Result r = RunCli(key->key, "get pods --order-by 'restarts desc'", port);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  std::vector<std::string> lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 7u) << r.out;
  EXPECT_TRUE(absl::StartsWith(lines[0], "clusters/prod/namespaces/shop/pods/web-6\tFailed\trestarts=6"))
      << lines[0];

  r = RunCli(key->key, "get pods --parent clusters/prod/nodes/node-a --page-size 2 --all -o json",
             port);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  lines = absl::StrSplit(r.out, '\n', absl::SkipEmpty());
  ASSERT_EQ(lines.size(), 3u) << r.out;
  for (const auto& l : lines) EXPECT_TRUE(absl::StrContains(l, "\"node_name\":\"node-a\"")) << l;

  r = RunCli(key->key, "get pods --page-size 2", port);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "(2 of 7 shown; --all for every page)")) << r.out;

  r = RunCli(key->key, "get containers clusters/prod/namespaces/shop/pods/web-4/containers/main",
             port);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "restarts=4")) << r.out;

  r = RunCli(key->key,
             "metrics query k8s_node_cpu_utilization --resource clusters/prod --since 1h --step 1h",
             port);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "k8s.node.name=node-a")) << r.out;
  EXPECT_TRUE(absl::StrContains(r.out, "0.25\t(3 samples)")) << r.out;

  r = RunCli(key->key, "get pods --filter 'colour = red'", port);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(absl::StrContains(r.out, "unknown field \"colour\"")) << r.out;

  r = RunCli(other->key, "get pods", port);
  EXPECT_EQ(r.exit_code, 0) << r.out;
  EXPECT_FALSE(absl::StrContains(r.out, "web-")) << r.out;

  r = RunCli("", "get pods", port);
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_TRUE(absl::StrContains(r.out, "no API key")) << r.out;
}

}  // namespace
}  // namespace k8i

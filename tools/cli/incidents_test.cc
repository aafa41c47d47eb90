#include "tools/cli/incidents.h"

#include "gtest/gtest.h"

namespace k8i::cli {
namespace {

namespace v1 = ::k8intel::v1;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);

v1::ObjectKey Obj(const std::string& kind, const std::string& ns, const std::string& name) {
  v1::ObjectKey k;
  k.set_kind(kind);
  k.set_namespace_(ns);
  k.set_name(name);
  return k;
}

google::protobuf::Timestamp At(absl::Time t) {
  google::protobuf::Timestamp ts;
  ts.set_seconds(absl::ToUnixSeconds(t));
  return ts;
}

struct GoodArg {
  const char* arg;
  const char* kind;
  const char* ns;
  const char* name;
};

TEST(ParseObjectArgTest, AcceptsKindsAndShortForms) {
  const std::vector<GoodArg> cases = {
      {"pod/payments/checkout-0", "Pod", "payments", "checkout-0"},
      {"PO/payments/checkout-0", "Pod", "payments", "checkout-0"},
      {"pods/payments/checkout-0", "Pod", "payments", "checkout-0"},
      {"Deployment/shop/web", "Deployment", "shop", "web"},
      {"deploy/shop/web", "Deployment", "shop", "web"},
      {"deployments/shop/web", "Deployment", "shop", "web"},
      {"node/node-1", "Node", "", "node-1"},
      {"no/node-1", "Node", "", "node-1"},
      {"NODES/node-1", "Node", "", "node-1"},
      {"cm/shop/app-config", "ConfigMap", "shop", "app-config"},
      {"configmap/shop/app-config", "ConfigMap", "shop", "app-config"},
      {"secret/shop/db", "Secret", "shop", "db"},
      {"pvc/db/data-pg-0", "PersistentVolumeClaim", "db", "data-pg-0"},
      {"persistentvolumeclaim/db/data-pg-0", "PersistentVolumeClaim", "db", "data-pg-0"},
      {"svc/shop/web", "Service", "shop", "web"},
      {"service/shop/web", "Service", "shop", "web"},
      {"sts/db/pg", "StatefulSet", "db", "pg"},
      {"StatefulSet/db/pg", "StatefulSet", "db", "pg"},
      {"ds/kube-system/fluentd", "DaemonSet", "kube-system", "fluentd"},
      {"rs/shop/web-7d9f", "ReplicaSet", "shop", "web-7d9f"},
      {"job/batch/nightly-1", "Job", "batch", "nightly-1"},
      {"cj/batch/nightly", "CronJob", "batch", "nightly"},
      {"cronjob/batch/nightly", "CronJob", "batch", "nightly"},
      {"ns/shop", "Namespace", "", "shop"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.arg);
    auto key = ParseObjectArg(c.arg);
    ASSERT_TRUE(key.ok()) << key.status();
    EXPECT_EQ(key->kind(), c.kind);
    EXPECT_EQ(key->namespace_(), c.ns);
    EXPECT_EQ(key->name(), c.name);
  }
}

struct BadArg {
  const char* arg;
  const char* message;  // a part of the error message
};

TEST(ParseObjectArgTest, RejectsWithAClearMessage) {
  const std::vector<BadArg> cases = {
      {"", "is not an object"},
      {"pod", "is not an object"},
      {"pod/shop/web/extra", "is not an object"},
      {"pod//web", "is not an object"},
      {"/shop/web", "is not an object"},
      {"pod/shop/", "is not an object"},
      {"widget/shop/x", "unknown kind \"widget\""},
      {"pods.apps/shop/x", "unknown kind"},
      {"pod/web", "a Pod is namespaced: write pod/NAMESPACE/web"},
      {"deploy/web", "a Deployment is namespaced"},
      {"node/default/node-1", "a Node has no namespace: write node/node-1"},
      {"ns/default/shop", "a Namespace has no namespace"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.arg);
    auto key = ParseObjectArg(c.arg);
    ASSERT_FALSE(key.ok());
    EXPECT_EQ(key.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(key.status().message().find(c.message), std::string::npos) << key.status();
  }
}

TEST(ClusterIdTest, StripsThePrefix) {
  EXPECT_EQ(ClusterId("prod"), "prod");
  EXPECT_EQ(ClusterId("clusters/prod"), "prod");
  EXPECT_EQ(ClusterId(""), "");
}

TEST(FormatAgeTest, LikeKubectl) {
  const std::vector<std::pair<absl::Duration, const char*>> cases = {
      {absl::ZeroDuration(), "0s"},
      {absl::Milliseconds(900), "0s"},
      {absl::Seconds(45), "45s"},
      {absl::Seconds(59), "59s"},
      {absl::Seconds(60), "1m"},
      {absl::Minutes(12) + absl::Seconds(30), "12m"},
      {absl::Minutes(59) + absl::Seconds(59), "59m"},
      {absl::Hours(1), "1h"},
      {absl::Hours(3) + absl::Minutes(59), "3h"},
      {absl::Hours(23) + absl::Minutes(59), "23h"},
      {absl::Hours(24), "1d"},
      {absl::Hours(49), "2d"},
      {absl::Hours(24 * 364), "364d"},
      {absl::Hours(24 * 365), "1y"},
      {absl::Hours(24 * 800), "2y"},
      {-absl::Seconds(5), "0s"},  // clock skew
  };
  for (const auto& [d, want] : cases) EXPECT_EQ(FormatAge(d), want) << d;
}

TEST(FormatTest, TimesAndEnumNames) {
  EXPECT_EQ(FormatTime(google::protobuf::Timestamp()), "");
  EXPECT_EQ(FormatTime(At(kNow)), "2027-01-15T08:00:00Z");
  EXPECT_EQ(StateName(v1::INCIDENT_STATE_ACKNOWLEDGED), "acknowledged");
  EXPECT_EQ(SeverityName(v1::SEVERITY_CRITICAL), "critical");
  EXPECT_EQ(SeverityName(v1::SEVERITY_UNSPECIFIED), "-");
  EXPECT_EQ(ChangeTypeName(v1::INCIDENT_CHANGE_TYPE_SEVERITY_RAISED), "severity_raised");
  EXPECT_EQ(FormatObject(Obj("Node", "", "node-1")), "Node/node-1");
  EXPECT_EQ(FormatObject(Obj("Pod", "shop", "web-0")), "Pod/shop/web-0");
}

TEST(FormatTableTest, AlignsByCodePointsWithoutTrailingBlanks) {
  EXPECT_EQ(
      FormatTable({{"REV", "CHANGES", "X"}, {"2", "image a → b", ""}, {"10", "first\tseen", "y"}}),
      "REV   CHANGES       X\n"
      "2     image a → b\n"
      "10    first seen    y\n");
}

v1::Incident Incident() {
  v1::Incident inc;
  inc.set_name("clusters/prod/incidents/4f2a9c0d1e2b3a4c5d6e");
  inc.set_id("4f2a9c0d1e2b3a4c5d6e");
  inc.set_cluster("prod");
  inc.set_title("checkout crash-looping");
  inc.set_state(v1::INCIDENT_STATE_OPEN);
  inc.set_severity(v1::SEVERITY_CRITICAL);
  inc.set_scope(v1::INCIDENT_SCOPE_WORKLOAD);
  *inc.mutable_subject() = Obj("Deployment", "payments", "checkout");
  inc.set_rule("same-workload");
  inc.set_explanation("pods of one Deployment");
  *inc.mutable_open_time() = At(kNow - absl::Minutes(12));
  *inc.mutable_update_time() = At(kNow - absl::Minutes(2));
  inc.set_fires_last_hour(3);
  inc.set_member_count(2);
  inc.set_firing_count(1);
  inc.set_pod_count(2);
  inc.set_workload_count(1);
  return inc;
}

TEST(FormatIncidentTableTest, Columns) {
  v1::Incident old = Incident();
  old.set_id("aa");
  old.set_cluster("staging");
  old.set_state(v1::INCIDENT_STATE_RESOLVED);
  old.set_severity(v1::SEVERITY_WARNING);
  *old.mutable_open_time() = At(kNow - absl::Hours(50));
  old.set_title("node-1 NotReady");
  EXPECT_EQ(FormatIncidentTable({Incident(), old}, kNow),
            "ID                     CLUSTER   STATE      SEVERITY   FIRING   AGE   TITLE\n"
            "4f2a9c0d1e2b3a4c5d6e   prod      open       critical   1/2      12m   checkout "
            "crash-looping\n"
            "aa                     staging   resolved   warning    1/2      2d    node-1 "
            "NotReady\n");
}

TEST(FormatIncidentTest, FieldsMembersEvidenceChanges) {
  v1::Incident inc = Incident();
  auto* m = inc.add_members();
  m->set_alert_name("CrashLoopBackOff");
  *m->mutable_object() = Obj("Pod", "payments", "checkout-0");
  m->set_container("app");
  m->set_status(v1::ALERT_STATUS_FIRING);
  m->set_severity(v1::SEVERITY_CRITICAL);
  m->set_count(4);
  *m->mutable_first_seen() = At(kNow - absl::Minutes(12));
  m->set_reason("first alert");
  auto* e = inc.add_evidence();
  *e->mutable_time() = At(kNow - absl::Minutes(12));
  e->set_kind("rule");
  e->set_text("same-workload: pods of Deployment payments/checkout");
  auto* c = inc.add_changes();
  c->set_sequence(1);
  c->set_type(v1::INCIDENT_CHANGE_TYPE_OPENED);
  *c->mutable_time() = At(kNow - absl::Minutes(12));
  c->set_notify(true);
  c->set_actor("correlation");
  inc.set_state(v1::INCIDENT_STATE_RESOLVED);
  inc.set_merged_into("clusters/prod/incidents/bb");
  EXPECT_EQ(FormatIncident(inc),
            "checkout crash-looping\n"
            "name:          clusters/prod/incidents/4f2a9c0d1e2b3a4c5d6e\n"
            "state:         resolved (merged into clusters/prod/incidents/bb)\n"
            "severity:      critical\n"
            "scope:         workload\n"
            "subject:       Deployment payments/checkout\n"
            "rule:          same-workload\n"
            "explanation:   pods of one Deployment\n"
            "members:       2 (1 firing), 2 pods, 1 workloads\n"
            "opened:        2027-01-15T07:48:00Z\n"
            "updated:       2027-01-15T07:58:00Z\n"
            "flapping:      no (3 fires in the last hour, reopened 0 times)\n"
            "\n"
            "MEMBERS\n"
            "ALERT              OBJECT                          STATUS   SEVERITY   COUNT   "
            "FIRST SEEN             REASON\n"
            "CrashLoopBackOff   Pod/payments/checkout-0 [app]   firing   critical   4       "
            "2027-01-15T07:48:00Z   first alert\n"
            "\n"
            "EVIDENCE\n"
            "TIME                   KIND   TEXT\n"
            "2027-01-15T07:48:00Z   rule   same-workload: pods of Deployment payments/checkout\n"
            "\n"
            "CHANGES\n"
            "SEQ   TIME                   TYPE     NOTIFY   ACTOR         DETAIL\n"
            "1     2027-01-15T07:48:00Z   opened   yes      correlation\n");
}

TEST(FormatRevisionTableTest, JoinsChanges) {
  v1::Revision r2;
  r2.set_revision(2);
  *r2.mutable_time() = At(kNow);
  r2.add_changes("image app: shop/checkout:1.4 → shop/checkout:1.5");
  r2.add_changes("replicas 3 → 4");
  v1::Revision r1;
  r1.set_revision(1);
  *r1.mutable_time() = At(kNow - absl::Hours(1));
  r1.add_changes("first seen");
  EXPECT_EQ(FormatRevisionTable({r2, r1}),
            "REV   TIME                   CHANGES\n"
            "2     2027-01-15T08:00:00Z   image app: shop/checkout:1.4 → shop/checkout:1.5; "
            "replicas 3 → 4\n"
            "1     2027-01-15T07:00:00Z   first seen\n");
}

void AddNode(v1::GetDependenciesResponse& g, const v1::ObjectKey& o, int depth,
             const std::string& status) {
  auto* n = g.add_nodes();
  *n->mutable_object() = o;
  n->set_depth(depth);
  n->set_status(status);
}

void AddEdge(v1::GetDependenciesResponse& g, const v1::ObjectKey& from, const std::string& rel,
             const v1::ObjectKey& to) {
  auto* e = g.add_edges();
  *e->mutable_from() = from;
  *e->mutable_to() = to;
  e->set_relation(rel);
}

TEST(RenderDependencyTreeTest, ExpandsEachObjectOnceNearestTheRoot) {
  const auto pod0 = Obj("Pod", "payments", "checkout-0");
  const auto pod1 = Obj("Pod", "payments", "checkout-1");
  const auto rs = Obj("ReplicaSet", "payments", "checkout-7d9f");
  const auto deploy = Obj("Deployment", "payments", "checkout");
  const auto node = Obj("Node", "", "node-1");
  const auto cm = Obj("ConfigMap", "payments", "app-config");
  const auto svc = Obj("Service", "payments", "checkout");
  v1::GetDependenciesResponse g;
  AddNode(g, pod0, 0, "Running");
  AddNode(g, rs, 1, "3/3 ready");
  AddNode(g, node, 1, "Ready");
  AddNode(g, cm, 1, "content ab12");
  AddNode(g, svc, 1, "present");
  AddNode(g, deploy, 2, "3/3 ready");
  AddNode(g, pod1, 2, "Running");
  AddEdge(g, pod0, "owned-by", rs);
  AddEdge(g, pod0, "runs-on", node);
  AddEdge(g, pod0, "uses", cm);
  AddEdge(g, pod1, "owned-by", rs);
  AddEdge(g, pod1, "runs-on", node);
  AddEdge(g, rs, "owned-by", deploy);
  AddEdge(g, svc, "selects", pod0);
  AddEdge(g, svc, "selects", pod1);
  // A cycle back to the root (not something Kubernetes makes, but the tree must end).
  AddEdge(g, cm, "owned-by", pod0);
  EXPECT_EQ(RenderDependencyTree(g, pod0),
            "Pod/payments/checkout-0 (Running)\n"
            "├─ owned-by → ReplicaSet/payments/checkout-7d9f (3/3 ready)\n"
            "│  ├─ owned-by → Deployment/payments/checkout (3/3 ready)\n"
            "│  └─ ← owned-by Pod/payments/checkout-1 (Running)\n"
            "│     ├─ runs-on → Node/node-1 (see below)\n"
            "│     └─ ← selects Service/payments/checkout (see below)\n"
            "├─ runs-on → Node/node-1 (Ready)\n"
            "│  └─ ← runs-on Pod/payments/checkout-1 (see above)\n"
            "├─ uses → ConfigMap/payments/app-config (content ab12)\n"
            "│  └─ owned-by → Pod/payments/checkout-0 (see above)\n"
            "├─ ← selects Service/payments/checkout (present)\n"
            "│  └─ selects → Pod/payments/checkout-1 (see above)\n"
            "└─ ← owned-by ConfigMap/payments/app-config (see above)\n");
}

TEST(RenderDependencyTreeTest, ClusterScopedRootAndNoEdges) {
  v1::GetDependenciesResponse g;
  EXPECT_EQ(RenderDependencyTree(g, Obj("Node", "", "node-9")), "Node/node-9\n");
  AddNode(g, Obj("Node", "", "node-9"), 0, "NotReady");
  AddNode(g, Obj("Pod", "shop", "web-0"), 1, "");
  AddEdge(g, Obj("Pod", "shop", "web-0"), "runs-on", Obj("Node", "", "node-9"));
  EXPECT_EQ(RenderDependencyTree(g, Obj("Node", "", "node-9")),
            "Node/node-9 (NotReady)\n"
            "└─ ← runs-on Pod/shop/web-0\n");
}

TEST(FormatTimelineTest, MarksTheFirstFailureAndTheCauses) {
  v1::GetTimelineResponse t;
  auto entry = [&](int64_t s, const char* kind, v1::ObjectKey o, const char* rel, const char* text) {
    auto* e = t.add_entries();
    e->mutable_time()->set_seconds(s);
    e->set_kind(kind);
    *e->mutable_object() = o;
    e->set_relation(rel);
    e->set_text(text);
  };
  entry(1780000000, "change", Obj("ConfigMap", "payments", "app-config"), "config", "content a → b");
  entry(1780000240, "alert", Obj("Pod", "payments", "checkout-0"), "self", "OOMKilled firing");
  t.set_first_failure(1);
  auto* c = t.add_causes();
  c->set_rank(1);
  c->set_entry(0);
  c->set_score(0.9117);
  c->set_reason("ConfigMap payments/app-config, used by this pod, changed 4m before the first OOMKilled");
  c->set_arithmetic("weight 1.00 (config the pod uses) × recency 0.91 (4m before, half-life 30m)");
  EXPECT_EQ(FormatTimeline(t),
            "TIME                   WHAT     OBJECT                          RELATION   TEXT\n"
            "2026-05-28T20:26:40Z   change   ConfigMap/payments/app-config   config     content a → b      ◀ cause #1\n"
            "2026-05-28T20:30:40Z   alert    Pod/payments/checkout-0         self       OOMKilled firing   ✖ first failure\n"
            "\nLIKELY CAUSES\n"
            "1. ConfigMap payments/app-config, used by this pod, changed 4m before the first OOMKilled\n"
            "   score 0.912 = weight 1.00 (config the pod uses) × recency 0.91 (4m before, half-life 30m)\n");
  v1::GetTimelineResponse empty;
  empty.set_first_failure(-1);
  EXPECT_NE(FormatTimeline(empty).find("no failure in this window"), std::string::npos);
}

}  // namespace
}  // namespace k8i::cli

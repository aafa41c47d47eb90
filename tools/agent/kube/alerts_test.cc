#include "tools/agent/kube/alerts.h"

#include "gtest/gtest.h"

namespace k8i::agent::kube {
namespace {

using k8intel::v1::SEVERITY_CRITICAL;
using k8intel::v1::SEVERITY_WARNING;

const absl::Time kNow = absl::FromUnixSeconds(1'700'000'000);

TEST(AlertsTest, EventSeverityTable) {
  struct Case {
    const char* type;
    const char* reason;
    std::optional<k8intel::v1::Severity> want;
  };
  const Case kCases[] = {
      {"Warning", "FailedScheduling", SEVERITY_WARNING},
      {"Warning", "BackOff", SEVERITY_WARNING},
      {"Warning", "FailedMount", SEVERITY_WARNING},
      {"Warning", "Unhealthy", SEVERITY_WARNING},
      {"Warning", "NodeNotReady", SEVERITY_CRITICAL},
      {"Warning", "Evicted", SEVERITY_CRITICAL},
      {"Warning", "OOMKilling", SEVERITY_CRITICAL},
      {"Warning", "SomethingNew", SEVERITY_WARNING},
      {"Normal", "Scheduled", std::nullopt},
      {"Normal", "BackOff", std::nullopt},
      {"", "FailedMount", std::nullopt},
  };
  for (const auto& c : kCases) EXPECT_EQ(EventSeverity(c.type, c.reason), c.want) << c.reason;
}

TEST(AlertsTest, ContainerReasonTable) {
  EXPECT_EQ(ContainerReasonSeverity("OOMKilled"), SEVERITY_CRITICAL);
  EXPECT_EQ(ContainerReasonSeverity("CrashLoopBackOff"), SEVERITY_CRITICAL);
  EXPECT_EQ(ContainerReasonSeverity("ImagePullBackOff"), SEVERITY_WARNING);
  EXPECT_EQ(ContainerReasonSeverity("ErrImagePull"), SEVERITY_WARNING);
  EXPECT_EQ(ContainerReasonSeverity("ContainerCreating"), std::nullopt);
  EXPECT_EQ(ContainerReasonSeverity("Completed"), std::nullopt);
  EXPECT_EQ(ContainerReasonSeverity(""), std::nullopt);
}

k8intel::v1::Pod PodWith(const std::string& state, const std::string& reason,
                         const std::string& last_reason, int restarts, bool ready) {
  k8intel::v1::Pod p;
  p.mutable_meta()->set_name("api-1");
  p.mutable_meta()->set_namespace_("prod");
  auto* c = p.add_containers();
  c->set_name("app");
  c->set_state(state);
  c->set_state_reason(reason);
  c->set_last_termination_reason(last_reason);
  c->set_last_exit_code(137);
  c->set_restart_count(restarts);
  c->set_ready(ready);
  return p;
}

TEST(AlertsTest, ContainerAlertsLabelsAndStableFingerprints) {
  AlertSubject s{.kind = "Pod",
                 .namespace_name = "prod",
                 .name = "api-1",
                 .owner_kind = "Deployment",
                 .owner_name = "api",
                 .node_name = "n1"};
  std::map<std::string, int> fired;
  auto alerts = ContainerAlerts(PodWith("waiting", "CrashLoopBackOff", "OOMKilled", 4, false), s,
                                fired, kNow);
  ASSERT_EQ(alerts.size(), 2u);
  EXPECT_EQ(alerts[0].name(), "CrashLoopBackOff");
  EXPECT_EQ(alerts[0].severity(), SEVERITY_CRITICAL);
  EXPECT_EQ(alerts[0].status(), k8intel::v1::ALERT_STATUS_FIRING);
  EXPECT_EQ(alerts[1].name(), "OOMKilled");
  std::map<std::string, std::string> labels;
  for (const auto& l : alerts[1].labels()) labels[l.name()] = l.value();
  EXPECT_EQ(labels, (std::map<std::string, std::string>{{"reason", "OOMKilled"},
                                                        {"kind", "Pod"},
                                                        {"namespace", "prod"},
                                                        {"name", "api-1"},
                                                        {"owner_kind", "Deployment"},
                                                        {"owner_name", "api"},
                                                        {"container", "app"}}));
  EXPECT_EQ(alerts[1].resource().pod_name(), "api-1");
  EXPECT_EQ(alerts[1].resource().node_name(), "n1");
  // Same (reason, object, container) -> same fingerprint, whatever else changed.
  AlertSubject moved = s;
  moved.node_name = "n2";
  moved.container = "app";
  EXPECT_EQ(MakeAlert("OOMKilled", SEVERITY_CRITICAL, moved, "other", kNow).fingerprint(),
            alerts[1].fingerprint());
  EXPECT_NE(alerts[0].fingerprint(), alerts[1].fingerprint());
  // The same OOM (same restart count) does not fire twice; a new one does.
  EXPECT_TRUE(
      ContainerAlerts(PodWith("running", "", "OOMKilled", 4, false), s, fired, kNow).empty());
  EXPECT_EQ(ContainerAlerts(PodWith("running", "", "OOMKilled", 5, false), s, fired, kNow).size(),
            1u);
  // At first sight, a container that is ready again: an OOM of unknown time or older than
  // kRecentOomKill is history; one 10 minutes ago is reported, starting when it happened.
  std::map<std::string, int> fresh;
  EXPECT_TRUE(
      ContainerAlerts(PodWith("running", "", "OOMKilled", 2, true), s, fresh, kNow).empty());
  k8intel::v1::Pod old = PodWith("running", "", "OOMKilled", 2, true);
  old.mutable_containers(0)->mutable_last_termination_time()->set_seconds(
      absl::ToUnixSeconds(kNow - kRecentOomKill - absl::Minutes(1)));
  std::map<std::string, int> fresh2;
  EXPECT_TRUE(ContainerAlerts(old, s, fresh2, kNow).empty());
  k8intel::v1::Pod recent = PodWith("running", "", "OOMKilled", 2, true);
  recent.mutable_containers(0)->mutable_last_termination_time()->set_seconds(
      absl::ToUnixSeconds(kNow - absl::Minutes(10)));
  std::map<std::string, int> fresh3;
  const auto recent_alerts = ContainerAlerts(recent, s, fresh3, kNow);
  ASSERT_EQ(recent_alerts.size(), 1u);
  EXPECT_EQ(recent_alerts[0].start_time().seconds(),
            absl::ToUnixSeconds(kNow - absl::Minutes(10)));
  // ... once: the same restart count does not fire again.
  EXPECT_TRUE(ContainerAlerts(recent, s, fresh3, kNow).empty());
}

TEST(AlertsTest, TrackerResolves) {
  AlertTracker t;
  std::vector<k8intel::v1::Alert> out;
  AlertSubject s{.kind = "Pod", .namespace_name = "prod", .name = "api-1", .container = "app"};
  auto a = MakeAlert("CrashLoopBackOff", SEVERITY_CRITICAL, s, "x", kNow);
  auto b = MakeAlert("ErrImagePull", SEVERITY_WARNING, s, "y", kNow);
  t.Fire("prod/api-1", a, out);
  t.Fire("prod/api-1", b, out);
  t.Fire("prod/api-1",
         MakeAlert("CrashLoopBackOff", SEVERITY_CRITICAL, s, "x", kNow + absl::Minutes(1)), out);
  ASSERT_EQ(out.size(), 3u);
  EXPECT_EQ(out[2].start_time().seconds(), absl::ToUnixSeconds(kNow));  // original start kept
  EXPECT_EQ(t.active(), 2u);
  out.clear();
  t.ResolveExcept("prod/api-1", {a.fingerprint()}, kNow, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].name(), "ErrImagePull");
  EXPECT_EQ(out[0].status(), k8intel::v1::ALERT_STATUS_RESOLVED);
  EXPECT_EQ(out[0].end_time().seconds(), absl::ToUnixSeconds(kNow));
  out.clear();
  t.ResolveAll("prod/api-1", kNow, out);
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(t.active(), 0u);
  out.clear();
  t.ResolveAll("prod/api-1", kNow, out);  // nothing left to resolve
  EXPECT_TRUE(out.empty());
}

}  // namespace
}  // namespace k8i::agent::kube

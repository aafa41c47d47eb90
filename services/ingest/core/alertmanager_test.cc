#include "services/ingest/core/alertmanager.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace k8i::ingest {
namespace {

std::string Payload(const std::string& alerts) {
  return absl::StrCat(R"({"version":"4","groupKey":"{}:{alertname=\"X\"}","truncatedAlerts":1,)",
                      R"("status":"firing","receiver":"k8intel","groupLabels":{},)",
                      R"("commonLabels":{},"commonAnnotations":{},"externalURL":"http://am",)",
                      R"("alerts":[)", alerts, "]}");
}

constexpr char kFiring[] =
    R"({"status":"firing","labels":{"alertname":"KubePodCrashLooping","namespace":"shop",)"
    R"("pod":"web-1","container":"app","severity":"critical"},)"
    R"("annotations":{"description":"restarting","summary":"web-1 crash loops"},)"
    R"("startsAt":"2026-12-06T10:00:00.123456789Z","endsAt":"0001-01-01T00:00:00Z",)"
    R"("generatorURL":"http://prom/graph","fingerprint":"a1b2c3d4e5f60718"})";

TEST(AlertmanagerTest, MapsAFiringAlert) {
  auto r = MapAlertmanagerWebhook(Payload(kFiring), std::string(64, 'f'), Limits{});
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->alerts, 1);
  EXPECT_EQ(r->truncated, 1);
  ASSERT_EQ(r->batches.size(), 1u);
  EXPECT_EQ(r->batches[0].batch_id(), "am-" + std::string(40, 'f') + "-1");
  const auto& a = r->batches[0].alerts(0);
  EXPECT_EQ(a.fingerprint(), "a1b2c3d4e5f60718");
  EXPECT_EQ(a.name(), "KubePodCrashLooping");
  EXPECT_EQ(a.status(), k8intel::v1::ALERT_STATUS_FIRING);
  EXPECT_EQ(a.severity(), k8intel::v1::SEVERITY_CRITICAL);
  EXPECT_EQ(a.source(), "alertmanager");
  EXPECT_EQ(a.summary(), "web-1 crash loops");
  EXPECT_EQ(a.resource().namespace_name(), "shop");
  EXPECT_EQ(a.resource().pod_name(), "web-1");
  EXPECT_EQ(a.resource().container_name(), "app");
  EXPECT_EQ(a.start_time().seconds(), 1796551200);
  EXPECT_EQ(a.start_time().nanos(), 123456789);
  EXPECT_FALSE(a.has_end_time());  // Go's zero time
  EXPECT_EQ(a.annotations().at("generatorURL"), "http://prom/graph");
  ASSERT_EQ(a.labels_size(), 5);
  EXPECT_EQ(a.labels(0).name(), "alertname");  // sorted
  EXPECT_EQ(a.labels(4).name(), "severity");
}

TEST(AlertmanagerTest, ResolvedKeepsItsEndAndFingerprint) {
  const std::string resolved = absl::StrCat(
      R"({"status":"resolved","labels":{"alertname":"NodeDown","instance":"node-1:9100",)",
      R"("severity":"warning"},"annotations":{},"startsAt":"2026-12-06T10:00:00Z",)",
      R"("endsAt":"2026-12-06T10:05:00Z","fingerprint":"ffff"})");
  auto r = MapAlertmanagerWebhook(Payload(resolved), "id", Limits{});
  ASSERT_TRUE(r.ok()) << r.status();
  const auto& a = r->batches[0].alerts(0);
  EXPECT_EQ(a.status(), k8intel::v1::ALERT_STATUS_RESOLVED);
  EXPECT_EQ(a.end_time().seconds() - a.start_time().seconds(), 300);
  EXPECT_EQ(a.fingerprint(), "ffff");
  EXPECT_EQ(a.severity(), k8intel::v1::SEVERITY_WARNING);
  EXPECT_EQ(a.resource().node_name(), "node-1");
  EXPECT_EQ(a.summary(), "NodeDown");  // no summary annotation
}

TEST(AlertmanagerTest, SeverityNames) {
  const std::pair<const char*, k8intel::v1::Severity> cases[] = {
      {"critical", k8intel::v1::SEVERITY_CRITICAL}, {"Error", k8intel::v1::SEVERITY_CRITICAL},
      {"page", k8intel::v1::SEVERITY_CRITICAL},     {"warning", k8intel::v1::SEVERITY_WARNING},
      {"warn", k8intel::v1::SEVERITY_WARNING},      {"info", k8intel::v1::SEVERITY_INFO},
      {"none", k8intel::v1::SEVERITY_INFO},         {"p3", k8intel::v1::SEVERITY_UNSPECIFIED}};
  for (const auto& [name, want] : cases) {
    const std::string alert = absl::StrCat(R"({"status":"firing","labels":{"alertname":"A",)",
                                           R"("severity":")", name,
                                           R"("},"startsAt":"2026-12-06T10:00:00Z"})");
    auto r = MapAlertmanagerWebhook(Payload(alert), "id", Limits{});
    ASSERT_TRUE(r.ok() && r->alerts == 1) << name;
    EXPECT_EQ(r->batches[0].alerts(0).severity(), want) << name;
  }
}

TEST(AlertmanagerTest, InvalidAlertsAreRejectedAndTheRestKept) {
  const struct {
    const char* name;
    const char* alert;
    const char* reason;
  } cases[] = {
      {"no alertname", R"({"status":"firing","labels":{},"startsAt":"2026-12-06T10:00:00Z"})",
       "no alertname"},
      {"bad status",
       R"({"status":"pending","labels":{"alertname":"A"},"startsAt":"2026-12-06T10:00:00Z"})",
       "status must be"},
      {"bad start", R"({"status":"firing","labels":{"alertname":"A"},"startsAt":"yesterday"})",
       "startsAt"},
      {"no start", R"({"status":"firing","labels":{"alertname":"A"}})", "startsAt"},
      {"label values not strings",
       R"({"status":"firing","labels":{"alertname":1},"startsAt":"2026-12-06T10:00:00Z"})",
       "labels must be"},
      {"not an object", R"("alert")", "not an object"},
  };
  for (const auto& c : cases) {
    auto r = MapAlertmanagerWebhook(Payload(absl::StrCat(kFiring, ",", c.alert)), "id", Limits{});
    ASSERT_TRUE(r.ok()) << c.name;
    EXPECT_EQ(r->alerts, 1) << c.name;
    EXPECT_EQ(r->rejected, 1) << c.name;
    ASSERT_EQ(r->reasons.size(), 1u) << c.name;
    EXPECT_TRUE(absl::StartsWith(r->reasons[0], "alerts[1]: ")) << r->reasons[0];
    EXPECT_TRUE(absl::StrContains(r->reasons[0], c.reason)) << c.name << ": " << r->reasons[0];
  }
}

TEST(AlertmanagerTest, RefusesWhatIsNotAVersion4Notification) {
  const std::pair<const char*, const char*> cases[] = {
      {"{", "not a JSON object"},
      {"[]", "not a JSON object"},
      {R"({"version":"3","alerts":[]})", "version 3"},
      {R"({"alerts":[]})", "version null"},
      {R"({"version":"4","alerts":{}})", "alerts must be an array"},
  };
  for (const auto& [body, want] : cases) {
    auto r = MapAlertmanagerWebhook(body, "id", Limits{});
    ASSERT_FALSE(r.ok()) << body;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(r.status().message(), want)) << r.status();
  }
}

TEST(AlertmanagerTest, DeepNestingIsRefusedWithoutRecursion) {
  // 200k levels: copying or printing it would overflow the stack.
  const std::string deep = absl::StrCat(R"({"version":"4","alerts":)", std::string(200'000, '['),
                                        std::string(200'000, ']'), "}");
  auto r = MapAlertmanagerWebhook(deep, "id", Limits{});
  ASSERT_FALSE(r.ok());
  EXPECT_TRUE(absl::StrContains(r.status().message(), "nests deeper")) << r.status();
  // Brackets inside strings do not count.
  const std::string alert = absl::StrCat(R"({"status":"firing","labels":{"alertname":"A"},)",
                                         R"("annotations":{"summary":")", std::string(100, '['),
                                         R"("},"startsAt":"2026-12-06T10:00:00Z"})");
  auto ok = MapAlertmanagerWebhook(Payload(alert), "id", Limits{});
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->alerts, 1);
}

TEST(AlertmanagerTest, SplitsIntoBatchesWithinTheLimit) {
  Limits limits;
  limits.max_alerts_per_batch = 2;
  std::string alerts;
  for (int i = 0; i < 5; ++i) {
    absl::StrAppend(&alerts, i ? "," : "", R"({"status":"firing","labels":{"alertname":"A",)",
                    R"("i":")", i, R"("},"startsAt":"2026-12-06T10:00:00Z"})");
  }
  auto r = MapAlertmanagerWebhook(Payload(alerts), "id", limits);
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->batches.size(), 3u);
  EXPECT_EQ(r->batches[2].alerts_size(), 1);
}

}  // namespace
}  // namespace k8i::ingest

#include "services/ingest/core/validate.h"

#include <cmath>
#include <functional>
#include <limits>

#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace k8i::ingest {
namespace {

using k8intel::v1::TelemetryBatch;
using ::testing::HasSubstr;

const absl::Time kNow = absl::FromUnixSeconds(1'800'000'000);
const int64_t kNowMs = absl::ToUnixMillis(kNow);

TelemetryBatch GoodBatch() {
  TelemetryBatch b;
  b.set_batch_id("b-1");
  auto* s = b.add_metrics();
  s->set_name("k8s_node_cpu_utilization");
  auto* l = s->add_labels();
  l->set_name("cpu");
  l->set_value("total");
  s->mutable_resource()->set_node_name("n1");
  auto* sample = s->add_samples();
  sample->set_time_unix_ms(kNowMs);
  sample->set_value(0.5);
  auto* pod = b.add_objects()->mutable_pod();
  pod->mutable_meta()->set_name("p");
  pod->mutable_meta()->set_namespace_("default");
  auto* e = b.add_events();
  e->set_uid("u1");
  e->set_reason("BackOff");
  e->mutable_involved_object()->set_kind("Pod");
  e->mutable_involved_object()->set_name("p");
  auto* a = b.add_alerts();
  a->set_name("CrashLoop");
  a->set_status(k8intel::v1::ALERT_STATUS_FIRING);
  a->mutable_start_time()->set_seconds(1'800'000'000);
  return b;
}

struct Case {
  std::string name;
  std::function<void(TelemetryBatch&)> mutate;
  std::string field;
  std::string reason;
};

class ValidateCases : public ::testing::TestWithParam<Case> {};

TEST_P(ValidateCases, RejectsWithFieldPath) {
  TelemetryBatch b = GoodBatch();
  GetParam().mutate(b);
  ValidationResult r = ValidateBatch(b, Limits{}, kNow);
  ASSERT_FALSE(r.ok());
  ASSERT_FALSE(r.violations.empty());
  EXPECT_EQ(r.violations[0].field, GetParam().field);
  EXPECT_THAT(r.violations[0].description, HasSubstr(GetParam().reason));
}

INSTANTIATE_TEST_SUITE_P(
    BadInput, ValidateCases,
    ::testing::Values(
        Case{"NaN", [](auto& b) { b.mutable_metrics(0)->mutable_samples(0)->set_value(NAN); },
             "batch.metrics[0].samples[0].value", "NaN"},
        Case{"Inf",
             [](auto& b) {
               b.mutable_metrics(0)->mutable_samples(0)->set_value(
                   std::numeric_limits<double>::infinity());
             },
             "batch.metrics[0].samples[0].value", "infinite"},
        Case{"Future",
             [](auto& b) {
               b.mutable_metrics(0)->mutable_samples(0)->set_time_unix_ms(kNowMs + 11 * 60'000);
             },
             "batch.metrics[0].samples[0].time_unix_ms", "in the future"},
        Case{"TooOld",
             [](auto& b) {
               b.mutable_metrics(0)->mutable_samples(0)->set_time_unix_ms(
                   kNowMs - 31LL * 86'400'000);
             },
             "batch.metrics[0].samples[0].time_unix_ms", "older than the retention"},
        Case{"EmptyName", [](auto& b) { b.mutable_metrics(0)->set_name(""); },
             "batch.metrics[0].name", "empty"},
        Case{"LongName", [](auto& b) { b.mutable_metrics(0)->set_name(std::string(201, 'a')); },
             "batch.metrics[0].name", "the limit is 200"},
        Case{"BadName", [](auto& b) { b.mutable_metrics(0)->set_name("9lives"); },
             "batch.metrics[0].name", "not a valid metric name"},
        Case{"EmptyLabel",
             [](auto& b) { b.mutable_metrics(0)->mutable_labels(0)->set_name(""); },
             "batch.metrics[0].labels[0].name", "empty"},
        Case{"LongLabel",
             [](auto& b) {
               b.mutable_metrics(0)->mutable_labels(0)->set_name(std::string(129, 'l'));
             },
             "batch.metrics[0].labels[0].name", "the limit is 128"},
        Case{"LongLabelValue",
             [](auto& b) {
               b.mutable_metrics(0)->mutable_labels(0)->set_value(std::string(2049, 'v'));
             },
             "batch.metrics[0].labels[0].value", "the limit is 2048"},
        Case{"DuplicateLabel",
             [](auto& b) {
               auto* l = b.mutable_metrics(0)->add_labels();
               l->set_name("cpu");
               l->set_value("0");
             },
             "batch.metrics[0].labels[1].name", "duplicate label \"cpu\""},
        Case{"TooManyLabels",
             [](auto& b) {
               for (int i = 0; i < 64; ++i) {
                 b.mutable_metrics(0)->add_labels()->set_name("l" + std::to_string(i));
               }
             },
             "batch.metrics[0].labels", "65 labels exceed the limit of 64"},
        Case{"NoSamples", [](auto& b) { b.mutable_metrics(0)->clear_samples(); },
             "batch.metrics[0].samples", "no samples"},
        Case{"TooManySeries",
             [](auto& b) {
               for (int i = 0; i < 20'000; ++i) *b.add_metrics() = b.metrics(0);
             },
             "batch.metrics", "exceed the limit of 20000"},
        Case{"TooManySamples",
             [](auto& b) {
               auto* s = b.mutable_metrics(0);
               for (int i = 0; i < 200'000; ++i) *s->add_samples() = s->samples(0);
             },
             "batch.metrics", "200001 samples exceed"},
        Case{"BadBatchId", [](auto& b) { b.set_batch_id("has space"); }, "batch.batch_id",
             "batch_id must be"},
        Case{"EmptyBatchId", [](auto& b) { b.set_batch_id(""); }, "batch.batch_id",
             "batch_id must be"},
        Case{"ObjectUnset", [](auto& b) { b.mutable_objects(0)->Clear(); }, "batch.objects[0]",
             "no object set"},
        Case{"PodWithoutNamespace",
             [](auto& b) { b.mutable_objects(0)->mutable_pod()->mutable_meta()->clear_namespace_(); },
             "batch.objects[0].meta.namespace", "without a namespace"},
        Case{"SecretWithoutNamespace",
             [](auto& b) { b.mutable_objects(0)->mutable_secret()->mutable_meta()->set_name("s"); },
             "batch.objects[0].meta.namespace", "without a namespace"},
        Case{"PdbWithoutNamespace",
             [](auto& b) {
               b.mutable_objects(0)->mutable_pod_disruption_budget()->mutable_meta()->set_name(
                   "web");
             },
             "batch.objects[0].meta.namespace", "without a namespace"},
        Case{"PdbWithoutName",
             [](auto& b) {
               b.mutable_objects(0)
                   ->mutable_pod_disruption_budget()
                   ->mutable_meta()
                   ->set_namespace_("shop");
             },
             "batch.objects[0].meta.name", "object name is empty"},
        Case{"SecretWithoutName",
             [](auto& b) {
               b.mutable_objects(0)->mutable_secret()->mutable_meta()->set_namespace_("shop");
             },
             "batch.objects[0].meta.name", "object name is empty"},
        Case{"EventWithoutUid", [](auto& b) { b.mutable_events(0)->clear_uid(); },
             "batch.events[0].uid", "empty"},
        Case{"AlertWithoutStatus",
             [](auto& b) { b.mutable_alerts(0)->set_status(k8intel::v1::ALERT_STATUS_UNSPECIFIED); },
             "batch.alerts[0].status", "FIRING or RESOLVED"}),
    [](const auto& info) { return info.param.name; });

TEST(ValidateTest, GoodBatchPassesAndCountsSamples) {
  ValidationResult r = ValidateBatch(GoodBatch(), Limits{}, kNow);
  EXPECT_TRUE(r.ok());
  EXPECT_EQ(r.samples, 1);
}

// Every kind of object an agent sends, old and new, passes with a name (and a namespace when
// namespaced); the newer Pod and Workload fields are optional.
TEST(ValidateTest, EveryObjectKindPasses) {
  TelemetryBatch b = GoodBatch();
  auto named = [](k8intel::v1::ObjectMeta* m, bool namespaced) {
    m->set_name("x");
    if (namespaced) m->set_namespace_("shop");
  };
  named(b.add_objects()->mutable_node()->mutable_meta(), false);
  named(b.add_objects()->mutable_namespace_()->mutable_meta(), false);
  named(b.add_objects()->mutable_workload()->mutable_meta(), true);
  named(b.add_objects()->mutable_persistent_volume_claim()->mutable_meta(), true);
  named(b.add_objects()->mutable_config_map()->mutable_meta(), true);
  named(b.add_objects()->mutable_tls_secret()->mutable_meta(), true);
  named(b.add_objects()->mutable_helm_release()->mutable_meta(), true);
  named(b.add_objects()->mutable_service()->mutable_meta(), true);
  auto* pdb = b.add_objects()->mutable_pod_disruption_budget();
  named(pdb->mutable_meta(), true);
  (*pdb->mutable_selector()->mutable_match_labels())["app"] = "web";
  pdb->set_min_available("50%");
  auto* secret = b.add_objects()->mutable_secret();
  named(secret->mutable_meta(), true);
  secret->set_type("Opaque");
  secret->set_content_sha256(std::string(64, '0'));
  secret->add_keys("password");
  auto* pod = b.add_objects()->mutable_pod();
  named(pod->mutable_meta(), true);
  auto* v = pod->add_volumes();
  v->set_name("creds");
  v->set_type("secret");
  v->set_source("x");
  pod->add_env_sources()->set_kind("ConfigMap");
  pod->mutable_scheduling()->set_priority(1000);
  pod->mutable_scheduling()->add_tolerations()->set_operator_("Exists");
  pod->mutable_security()->mutable_security_context()->set_run_as_user(0);
  auto* spec = pod->add_specs();
  spec->set_name("app");
  spec->mutable_security_context()->add_capabilities_add("NET_ADMIN");
  ValidationResult r = ValidateBatch(b, Limits{}, kNow);
  EXPECT_TRUE(r.ok()) << (r.violations.empty() ? "" : r.violations[0].field);
}

TEST(ValidateTest, EveryBadItemIsReportedButTheListIsCapped) {
  TelemetryBatch b = GoodBatch();
  for (int i = 0; i < 300; ++i) {
    auto* s = b.add_metrics();
    s->set_name("");
    s->add_samples()->set_value(NAN);
  }
  ValidationResult r = ValidateBatch(b, Limits{}, kNow);
  EXPECT_EQ(r.total_violations, 900);  // name + NaN + timestamp too old (0) per series
  EXPECT_EQ(r.violations.size(), 100u);
}

TEST(ValidateTest, NamesGrammar) {
  EXPECT_TRUE(IsValidMetricName("a:b_c9"));
  EXPECT_FALSE(IsValidMetricName("a-b"));
  EXPECT_TRUE(IsValidLabelName("k8s.pod.name"));
  EXPECT_FALSE(IsValidLabelName(".x"));
  EXPECT_FALSE(IsValidLabelName("a b"));
  EXPECT_TRUE(IsValidId("agent-1:2026.11.22_0", 64));
  EXPECT_FALSE(IsValidId(std::string(65, 'a'), 64));
}

}  // namespace
}  // namespace k8i::ingest

// OtlpMetricsService against the real test stack (IngestHarness: PostgreSQL, the Kafka-protocol
// broker, Redis), plus the retryable answers with failing ports in-process.
#include "services/ingest/otlp_service.h"

#include <cmath>
#include <thread>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/notification.h"
#include "gmock/gmock.h"
#include "grpcpp/grpcpp.h"
#include "gtest/gtest.h"
#include "libs/auth/grpc_auth.h"
#include "libs/common/ids.h"
#include "libs/grpcx/status.h"
#include "libs/kafka/consumer.h"
#include "libs/testing/stack.h"
#include "services/ingest/auth_setup.h"
#include "services/ingest/core/otlp.h"
#include "services/ingest/testing/harness.h"

namespace k8i::ingest {
namespace {

namespace collector = opentelemetry::proto::collector::metrics::v1;
namespace cpb = opentelemetry::proto::common::v1;
namespace mpb = opentelemetry::proto::metrics::v1;
using ::testing::HasSubstr;
using testing::IngestHarness;

using Attrs = std::vector<std::pair<std::string, std::string>>;

uint64_t NowNs() { return static_cast<uint64_t>(absl::ToUnixNanos(absl::Now())); }

void AddAttrs(google::protobuf::RepeatedPtrField<cpb::KeyValue>* out, const Attrs& attrs) {
  for (const auto& [k, v] : attrs) {
    auto* kv = out->Add();
    kv->set_key(k);
    kv->mutable_value()->set_string_value(v);
  }
}

mpb::NumberDataPoint Num(double v, uint64_t ns, const Attrs& attrs = {}) {
  mpb::NumberDataPoint p;
  p.set_time_unix_nano(ns);
  p.set_as_double(v);
  AddAttrs(p.mutable_attributes(), attrs);
  return p;
}

// Adds a resource with `attrs` and returns its (single) scope for metrics.
mpb::ScopeMetrics* AddResource(collector::ExportMetricsServiceRequest& r, const Attrs& attrs) {
  auto* rm = r.add_resource_metrics();
  AddAttrs(rm->mutable_resource()->mutable_attributes(), attrs);
  auto* sm = rm->add_scope_metrics();
  sm->mutable_scope()->set_name("otelcol/test");
  return sm;
}

mpb::Metric* AddGauge(mpb::ScopeMetrics* sm, const std::string& name,
                      std::vector<mpb::NumberDataPoint> points) {
  auto* m = sm->add_metrics();
  m->set_name(name);
  for (auto& p : points) *m->mutable_gauge()->add_data_points() = p;
  return m;
}

// A gauge, a cumulative monotonic sum and a histogram (2 bounds) of one pod of a Deployment:
// 1 + 1 + 5 samples.
collector::ExportMetricsServiceRequest PodRequest(const std::string& cluster, uint64_t ns) {
  collector::ExportMetricsServiceRequest r;
  auto* sm = AddResource(r, {{"k8s.cluster.name", cluster},
                             {"k8s.node.name", "n1"},
                             {"k8s.namespace.name", "shop"},
                             {"k8s.pod.name", "api-0"},
                             {"k8s.pod.uid", "uid-1"},
                             {"k8s.replicaset.name", "api-5d4"},
                             {"k8s.deployment.name", "api"},
                             {"service.name", "checkout"}});
  AddGauge(sm, "k8s.pod.memory.usage", {Num(1024, ns)})->set_unit("By");
  auto* sum = sm->add_metrics();
  sum->set_name("http.server.requests");
  sum->mutable_sum()->set_aggregation_temporality(mpb::AGGREGATION_TEMPORALITY_CUMULATIVE);
  sum->mutable_sum()->set_is_monotonic(true);
  *sum->mutable_sum()->add_data_points() = Num(42, ns, {{"http.route", "/cart"}});
  auto* hist = sm->add_metrics();
  hist->set_name("http.server.duration");
  hist->set_unit("s");
  hist->mutable_histogram()->set_aggregation_temporality(mpb::AGGREGATION_TEMPORALITY_CUMULATIVE);
  auto* hp = hist->mutable_histogram()->add_data_points();
  hp->set_time_unix_nano(ns);
  hp->set_count(4);
  hp->set_sum(1.5);
  hp->add_explicit_bounds(0.1);
  hp->add_explicit_bounds(1);
  hp->add_bucket_counts(1);
  hp->add_bucket_counts(2);
  hp->add_bucket_counts(1);
  return r;
}

std::unique_ptr<collector::MetricsService::Stub> NewStub(int port) {
  return collector::MetricsService::NewStub(
      grpc::CreateChannel(absl::StrCat("127.0.0.1:", port), grpc::InsecureChannelCredentials()));
}

grpc::Status Export(collector::MetricsService::Stub& stub,
                    const collector::ExportMetricsServiceRequest& req,
                    collector::ExportMetricsServiceResponse* resp, const std::string& token) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(30)));
  if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
  return stub.Export(&ctx, req, resp);
}

// ReadMetricBatch reads `topic` until the MetricBatch `batch_id` keyed `key` arrives (or a
// minute passes).
absl::StatusOr<k8intel::v1::MetricBatch> ReadMetricBatch(const std::string& topic,
                                                         const std::string& key,
                                                         const std::string& batch_id) {
  auto consumer =
      kafka::Consumer::Create({.bootstrap = k8i::testing::TestEnv("K8I_TEST_KAFKA_BOOTSTRAP"),
                               .group_id = absl::StrCat("otlp-read-", NewId()),
                               .topics = {topic}});
  if (!consumer.ok()) return consumer.status();
  for (const absl::Time give_up = absl::Now() + absl::Minutes(1); absl::Now() < give_up;) {
    auto msgs = (*consumer)->Poll(100, absl::Milliseconds(500));
    if (!msgs.ok()) return msgs.status();
    for (const auto& m : *msgs) {
      k8intel::v1::MetricBatch mb;
      if (m.key == key && mb.ParseFromString(m.value) && mb.batch_id() == batch_id) {
        (*consumer)->Close();
        return mb;
      }
    }
  }
  (*consumer)->Close();
  return absl::DeadlineExceededError(absl::StrCat("no MetricBatch ", batch_id, " on ", topic));
}

class OtlpServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    K8I_REQUIRE_STACK("K8I_TEST_PG_URL");
    auto h = IngestHarness::Start();
    ASSERT_TRUE(h.ok()) << h.status();
    h_ = std::move(*h);
    stub_ = NewStub(h_->port());
  }

  grpc::Status Export(const collector::ExportMetricsServiceRequest& req,
                      collector::ExportMetricsServiceResponse* resp) {
    return ingest::Export(*stub_, req, resp, h_->token());
  }
  int64_t Query(const std::string& where_sql) {
    return h_->QueryInt(absl::StrCat("SELECT count(*) FROM ", where_sql));
  }
  std::string Tenant() const { return absl::StrCat("'", h_->tenant(), "'"); }
  int64_t StoredSamples() {
    return Query(absl::StrCat("telemetry.samples WHERE tenant_id = ", Tenant()));
  }

  std::unique_ptr<IngestHarness> h_;
  std::unique_ptr<collector::MetricsService::Stub> stub_;
};

TEST_F(OtlpServiceTest, ExportedMetricsAreStoredAndPublishedWithTheirResource) {
  const auto req = PodRequest(h_->cluster(), NowNs());
  collector::ExportMetricsServiceResponse resp;
  grpc::Status st = Export(req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_code() << " " << st.error_message();
  EXPECT_FALSE(resp.has_partial_success()) << resp.partial_success().error_message();

  EXPECT_EQ(StoredSamples(), 7);
  const std::string series = absl::StrCat("telemetry.series WHERE tenant_id = ", Tenant(),
                                          " AND cluster_id = '", h_->cluster(), "'");
  EXPECT_EQ(Query(series), 7);
  // The resource is part of each series' identity, the workload named by its Deployment.
  EXPECT_EQ(Query(series + " AND labels->>'k8s.pod.name' = 'api-0' AND "
                           "labels->>'k8s.workload.kind' = 'Deployment' AND "
                           "labels->>'k8s.workload.name' = 'api' AND "
                           "labels->>'service.name' = 'checkout'"),
            7);
  EXPECT_EQ(Query(series + " AND name = 'k8s_pod_memory_usage' AND unit = 'By' AND type = 1"), 1);
  EXPECT_EQ(Query(series + " AND name = 'http_server_requests' AND type = 2 AND "
                           "labels->>'http.route' = '/cart'"),
            1);
  EXPECT_EQ(Query(series + " AND name = 'http_server_duration_bucket' AND type = 2"), 3);
  EXPECT_EQ(h_->QueryInt(absl::StrCat(
                "SELECT max(s.value) FROM telemetry.samples s JOIN telemetry.series r USING "
                "(tenant_id, series_id) WHERE r.tenant_id = ",
                Tenant(), " AND r.name = 'http_server_duration_bucket' AND r.labels->>'le' = '1'")),
            3);

  auto mb = ReadMetricBatch("k8i.metrics.v1", h_->tenant() + "/" + h_->cluster(), OtlpBatchId(req));
  ASSERT_TRUE(mb.ok()) << mb.status();
  ASSERT_EQ(mb->series_size(), 7);
  for (const auto& s : mb->series()) {
    EXPECT_EQ(s.resource().node_name(), "n1") << s.name();
    EXPECT_EQ(s.resource().namespace_name(), "shop") << s.name();
    EXPECT_EQ(s.resource().pod_name(), "api-0") << s.name();
    EXPECT_EQ(s.resource().pod_uid(), "uid-1") << s.name();
    EXPECT_EQ(s.resource().workload_kind(), "Deployment") << s.name();
    EXPECT_EQ(s.resource().workload_name(), "api") << s.name();
  }
}

TEST_F(OtlpServiceTest, BadPointsAreReportedAsPartialSuccess) {
  const uint64_t ns = NowNs();
  collector::ExportMetricsServiceRequest req;
  auto* sm = AddResource(req, {{"k8s.node.name", "n1"}});
  mpb::NumberDataPoint stale = Num(0, ns);
  stale.set_flags(mpb::DATA_POINT_FLAGS_NO_RECORDED_VALUE_MASK);
  AddGauge(sm, "node.load", {Num(1.5, ns), Num(std::nan(""), ns), Num(2, 0), stale});
  auto* delta = sm->add_metrics();
  delta->set_name("rpc.duration");
  delta->mutable_histogram()->set_aggregation_temporality(mpb::AGGREGATION_TEMPORALITY_DELTA);
  auto* dp = delta->mutable_histogram()->add_data_points();
  dp->set_time_unix_nano(ns);
  dp->set_count(1);

  collector::ExportMetricsServiceResponse resp;
  grpc::Status st = Export(req, &resp);
  ASSERT_TRUE(st.ok()) << st.error_code() << " " << st.error_message();
  ASSERT_TRUE(resp.has_partial_success());
  EXPECT_EQ(resp.partial_success().rejected_data_points(), 3);
  EXPECT_THAT(resp.partial_success().error_message(), HasSubstr("3 of 5 data point(s) rejected"));
  EXPECT_THAT(resp.partial_success().error_message(), HasSubstr("deltatocumulative"));
  EXPECT_EQ(StoredSamples(), 1);
}

TEST_F(OtlpServiceTest, RetriedRequestIsStoredOnce) {
  const auto req = PodRequest(h_->cluster(), NowNs());
  collector::ExportMetricsServiceResponse first, second;
  ASSERT_TRUE(Export(req, &first).ok());
  grpc::Status st = Export(req, &second);
  ASSERT_TRUE(st.ok()) << st.error_code() << " " << st.error_message();
  EXPECT_FALSE(second.has_partial_success());
  EXPECT_EQ(StoredSamples(), 7);
  EXPECT_EQ(Query(absl::StrCat("telemetry.batches WHERE tenant_id = ", Tenant(),
                               " AND batch_id = '", OtlpBatchId(req), "'")),
            1);
  EXPECT_EQ(Query(absl::StrCat("telemetry.batches WHERE tenant_id = ", Tenant())), 1);
}

TEST_F(OtlpServiceTest, CredentialsAreRequired) {
  const auto req = PodRequest(h_->cluster(), NowNs());
  collector::ExportMetricsServiceResponse resp;
  EXPECT_EQ(ingest::Export(*stub_, req, &resp, "").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ingest::Export(*stub_, req, &resp, "k8i_agt_wrong").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(ingest::Export(*stub_, req, &resp, "not-a-token").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(StoredSamples(), 0);
}

TEST_F(OtlpServiceTest, TokenOfOneClusterCannotWriteAnothersPoints) {
  auto c2_token = h_->tokens().CreateToken(h_->tenant(), "c2");
  ASSERT_TRUE(c2_token.ok()) << c2_token.status();
  const uint64_t ns = NowNs();
  collector::ExportMetricsServiceRequest req;
  AddGauge(AddResource(req, {{"k8s.cluster.name", "c1"}}), "g",
           {Num(1, ns), Num(2, ns - 1'000'000'000)});
  AddGauge(AddResource(req, {{"k8s.cluster.name", "c2"}}), "g", {Num(3, ns)});
  AddGauge(AddResource(req, {}), "h", {Num(4, ns)});
  collector::ExportMetricsServiceResponse resp;
  grpc::Status st = ingest::Export(*stub_, req, &resp, *c2_token);
  ASSERT_TRUE(st.ok()) << st.error_code() << " " << st.error_message();
  EXPECT_EQ(resp.partial_success().rejected_data_points(), 2);
  EXPECT_THAT(resp.partial_success().error_message(), HasSubstr("k8s.cluster.name"));
  EXPECT_THAT(resp.partial_success().error_message(), HasSubstr("\"c2\""));
  EXPECT_EQ(Query(absl::StrCat("telemetry.series WHERE tenant_id = ", Tenant(),
                               " AND cluster_id = 'c2'")),
            2);
  EXPECT_EQ(Query(absl::StrCat("telemetry.series WHERE tenant_id = ", Tenant(),
                               " AND cluster_id = 'c1'")),
            0);
  EXPECT_EQ(StoredSamples(), 2);

  // Nothing left once the other cluster's points go: the whole request is invalid.
  collector::ExportMetricsServiceRequest only_c1;
  AddGauge(AddResource(only_c1, {{"k8s.cluster.name", "c1"}}), "g", {Num(5, ns)});
  st = ingest::Export(*stub_, only_c1, &resp, *c2_token);
  ASSERT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << st.error_message();
  const auto violations = grpcx::GetFieldViolations(grpcx::FromGrpcStatus(st));
  ASSERT_EQ(violations.size(), 1u);
  EXPECT_EQ(violations[0].field,
            "resource_metrics[0].scope_metrics[0].metrics[0].gauge.data_points[0]");
  EXPECT_EQ(StoredSamples(), 2);
}

TEST_F(OtlpServiceTest, EmptyRequestSucceeds) {
  collector::ExportMetricsServiceResponse resp;
  grpc::Status st = Export(collector::ExportMetricsServiceRequest(), &resp);
  ASSERT_TRUE(st.ok()) << st.error_code() << " " << st.error_message();
  EXPECT_FALSE(resp.has_partial_success());
  EXPECT_EQ(Query(absl::StrCat("telemetry.batches WHERE tenant_id = ", Tenant())), 0);
}

TEST(OtlpPolicyTest, ExportIsForAgentsOnly) {
  const auto* svc = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
      "opentelemetry.proto.collector.metrics.v1.MetricsService");
  ASSERT_NE(svc, nullptr);
  EXPECT_TRUE(auth::UncoveredMethods(IngestPolicy(), *svc).empty());
  const std::string method = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
  for (auto role :
       {auth::Role::kNone, auth::Role::kViewer, auth::Role::kOperator, auth::Role::kAdmin}) {
    auth::Principal p{.subject = "u", .tenant = "t", .role = role, .credential_id = "k"};
    EXPECT_EQ(IngestPolicy().Check(p, method).code(), absl::StatusCode::kPermissionDenied)
        << auth::RoleName(role);
  }
  auth::Principal agent{
      .subject = "agent:c1", .tenant = "t", .role = auth::Role::kAgent, .credential_id = "c1"};
  EXPECT_TRUE(IngestPolicy().Check(agent, method).ok());
}

// --- Retryable failures, in-process with failing ports (no stack needed) ----------------------

class OneToken final : public TokenStore {
 public:
  absl::StatusOr<AgentIdentity> Authenticate(const std::string& token) override {
    if (token != "agent-token") return absl::UnauthenticatedError("unknown token");
    return AgentIdentity{"t1", "c1"};
  }
};

class ScriptedStore final : public BatchStore {
 public:
  absl::StatusOr<WriteResult> Write(const AgentIdentity&, const k8intel::v1::TelemetryBatch&,
                                    const std::string&, const std::string&) override {
    if (entered != nullptr) {
      entered->Notify();
      release->WaitForNotification();
    }
    if (!fail.ok()) return fail;
    return WriteResult{};
  }
  absl::Status MarkPublished(const AgentIdentity&, const std::string&) override {
    return absl::OkStatus();
  }
  absl::Status fail;
  absl::Notification* entered = nullptr;
  absl::Notification* release = nullptr;
};

class ScriptedPublisher final : public Publisher {
 public:
  absl::Status Publish(const AgentIdentity&, const k8intel::v1::TelemetryBatch&) override {
    return fail;
  }
  absl::Status fail;
};

class NoHeartbeat final : public HeartbeatCache {
 public:
  absl::Status Touch(const AgentIdentity&, absl::Time) override { return absl::OkStatus(); }
};

class OtlpServiceFailuresTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    int port = 0;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port);
    builder.RegisterService(&service_);
    std::vector<std::unique_ptr<grpc::experimental::ServerInterceptorFactoryInterface>> f;
    f.push_back(std::make_unique<auth::AuthInterceptorFactory>(
        auth::AuthInterceptorOptions{.authenticator = &authenticator_, .policy = &IngestPolicy()}));
    builder.experimental().SetInterceptorCreators(std::move(f));
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
    stub_ = NewStub(port);
  }
  void TearDown() override {
    if (server_) server_->Shutdown();
  }
  grpc::Status Export(collector::ExportMetricsServiceResponse* resp) {
    return ingest::Export(*stub_, PodRequest("c1", NowNs()), resp, "agent-token");
  }

  OneToken tokens_;
  AgentTokens agents_{&tokens_};
  auth::CredentialAuthenticator authenticator_{
      auth::CredentialAuthenticatorOptions{.agents = &agents_}};
  ScriptedStore store_;
  ScriptedPublisher publisher_;
  NoHeartbeat heartbeat_;
  // A budget of one sample: a request is admitted only while nothing else is in flight.
  Ingestor ingestor_{Limits{}, 1, &store_, &publisher_, &heartbeat_, &RealClock::Instance()};
  OtlpMetricsService service_{&ingestor_, Limits{}, &RealClock::Instance()};
  std::unique_ptr<grpc::Server> server_;
  std::unique_ptr<collector::MetricsService::Stub> stub_;
};

TEST_F(OtlpServiceFailuresTest, StoreOrBrokerDownIsUnavailableWithRetryInfo) {
  collector::ExportMetricsServiceResponse resp;
  store_.fail = absl::UnavailableError("connection lost");
  grpc::Status st = Export(&resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
  EXPECT_GT(grpcx::GetRetryDelay(grpcx::FromGrpcStatus(st)), absl::ZeroDuration());

  store_.fail = absl::OkStatus();
  publisher_.fail = absl::UnavailableError("broker down");
  st = Export(&resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::UNAVAILABLE) << st.error_message();
  EXPECT_GT(grpcx::GetRetryDelay(grpcx::FromGrpcStatus(st)), absl::ZeroDuration());

  publisher_.fail = absl::OkStatus();
  EXPECT_TRUE(Export(&resp).ok());
}

TEST_F(OtlpServiceFailuresTest, OverloadIsResourceExhaustedWithRetryInfo) {
  absl::Notification entered, release;
  store_.entered = &entered;
  store_.release = &release;
  grpc::Status first;
  std::thread t([&] {
    collector::ExportMetricsServiceResponse resp;
    first = Export(&resp);
  });
  entered.WaitForNotification();  // the first request holds the whole budget
  collector::ExportMetricsServiceResponse resp;
  grpc::Status st = Export(&resp);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::RESOURCE_EXHAUSTED) << st.error_message();
  EXPECT_GT(grpcx::GetRetryDelay(grpcx::FromGrpcStatus(st)), absl::ZeroDuration());
  release.Notify();
  t.join();
  EXPECT_TRUE(first.ok()) << first.error_message();
}

TEST_F(OtlpServiceFailuresTest, ABatchIdStoredBeforeWithOtherPointsIsAcknowledged) {
  store_.fail = absl::AlreadyExistsError("batch_id used before for different content");
  collector::ExportMetricsServiceResponse resp;
  grpc::Status st = Export(&resp);
  EXPECT_TRUE(st.ok()) << st.error_code() << " " << st.error_message();
}

// The collector's otlp exporter compresses with gzip by default.
TEST_F(OtlpServiceFailuresTest, GzipCompressedRequestsAreAccepted) {
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer agent-token");
  ctx.set_compression_algorithm(GRPC_COMPRESS_GZIP);
  collector::ExportMetricsServiceResponse resp;
  grpc::Status st = stub_->Export(&ctx, PodRequest("c1", NowNs()), &resp);
  EXPECT_TRUE(st.ok()) << st.error_code() << " " << st.error_message();
  EXPECT_FALSE(resp.has_partial_success());
}

TEST_F(OtlpServiceFailuresTest, UnauthenticatedWithoutTheAgentToken) {
  collector::ExportMetricsServiceResponse resp;
  EXPECT_EQ(ingest::Export(*stub_, PodRequest("c1", NowNs()), &resp, "other").error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

}  // namespace
}  // namespace k8i::ingest

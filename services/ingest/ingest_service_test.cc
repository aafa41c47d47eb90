// IngestService against the real test stack: PostgreSQL, the Kafka-protocol broker, Redis.
#include <cmath>

#include "gmock/gmock.h"
#include "grpcpp/generic/generic_stub.h"
#include "gtest/gtest.h"
#include "libs/auth/grpc_auth.h"
#include "libs/grpcx/status.h"
#include "services/ingest/auth_setup.h"
#include "services/ingest/testing/harness.h"

namespace k8i::ingest {
namespace {

using ::testing::HasSubstr;
using testing::IngestHarness;
using testing::MakeBatch;

class IngestServiceTest : public ::testing::Test {
 protected:
  void SetUp() override {
    K8I_REQUIRE_STACK("K8I_TEST_PG_URL");
    auto h = IngestHarness::Start({.clock = &clock_});
    ASSERT_TRUE(h.ok()) << h.status();
    h_ = std::move(*h);
    stub_ = h_->NewStub();
  }

  grpc::Status Push(const k8intel::v1::TelemetryBatch& b, k8intel::v1::PushResponse* resp,
                    const std::string& token) {
    grpc::ClientContext ctx;
    if (!token.empty()) ctx.AddMetadata("authorization", "Bearer " + token);
    k8intel::v1::PushRequest req;
    *req.mutable_batch() = b;
    return stub_->Push(&ctx, req, resp);
  }
  grpc::Status Push(const k8intel::v1::TelemetryBatch& b) {
    k8intel::v1::PushResponse resp;
    return Push(b, &resp, h_->token());
  }
  int64_t StoredSamples() {
    return h_->QueryInt("SELECT count(*) FROM telemetry.samples WHERE tenant_id = '" +
                        h_->tenant() + "'");
  }

  // The service's clock: starts now, moved by hand (the agent-token cache expires on it).
  k8i::testing::FakeClock clock_{absl::Now()};
  std::unique_ptr<IngestHarness> h_;
  std::unique_ptr<k8intel::v1::IngestService::Stub> stub_;
};

TEST_F(IngestServiceTest, StreamedBatchesLandInPostgresAndKafkaOnce) {
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + h_->token());
  auto stream = stub_->Stream(&ctx);
  constexpr int kBatches = 20, kSeries = 10, kSamples = 6;
  for (int i = 0; i < kBatches; ++i) {
    k8intel::v1::StreamRequest req;
    *req.mutable_batch() = MakeBatch("b" + std::to_string(i), kSeries, kSamples);
    ASSERT_TRUE(stream->Write(req));
    k8intel::v1::StreamResponse ack;
    ASSERT_TRUE(stream->Read(&ack));
    EXPECT_EQ(ack.batch_id(), "b" + std::to_string(i));
    EXPECT_EQ(ack.status().code(), 0) << ack.status().message();
    EXPECT_EQ(ack.accepted_samples(), kSeries * kSamples);
    EXPECT_FALSE(ack.duplicate());
  }
  ASSERT_TRUE(stream->WritesDone());
  k8intel::v1::StreamResponse ignored;
  EXPECT_FALSE(stream->Read(&ignored));
  EXPECT_TRUE(stream->Finish().ok());

  const int64_t total = kBatches * kSeries * kSamples;
  EXPECT_EQ(StoredSamples(), total);
  EXPECT_EQ(h_->QueryInt("SELECT count(*) FROM telemetry.series"), kBatches * kSeries);
  EXPECT_EQ(h_->QueryInt("SELECT count(*) FROM telemetry.batches WHERE published_at IS NULL"),
            0);
  auto kafka = testing::CountKafkaSamples("k8i.metrics.v1", h_->tenant() + "/c1");
  ASSERT_TRUE(kafka.ok()) << kafka.status();
  EXPECT_EQ(kafka->samples, total);
  EXPECT_EQ(kafka->messages, kBatches);
}

TEST_F(IngestServiceTest, ResentBatchIsAcknowledgedAsDuplicateAndStoredOnce) {
  auto b = MakeBatch("dup-1", 3, 4);
  k8intel::v1::PushResponse first, second;
  grpc::Status st0 = Push(b, &first, h_->token());
  ASSERT_TRUE(st0.ok()) << st0.error_code() << " " << st0.error_message();
  ASSERT_TRUE(Push(b, &second, h_->token()).ok());
  EXPECT_FALSE(first.duplicate());
  EXPECT_TRUE(second.duplicate());
  EXPECT_EQ(StoredSamples(), 12);
  // Same id, different content: refused, nothing changes.
  auto other = MakeBatch("dup-1", 1, 1);
  grpc::Status st = Push(other);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::ALREADY_EXISTS) << st.error_message();
  EXPECT_EQ(StoredSamples(), 12);
}

TEST_F(IngestServiceTest, CredentialsAreRequired) {
  auto b = MakeBatch("auth-1", 1, 1);
  k8intel::v1::PushResponse resp;
  EXPECT_EQ(Push(b, &resp, "").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  EXPECT_EQ(Push(b, &resp, "k8i_agt_wrong").error_code(), grpc::StatusCode::UNAUTHENTICATED);
  // A token of another cluster cannot write this cluster's batches.
  auto other = h_->tokens().CreateToken(h_->tenant(), "c2");
  ASSERT_TRUE(other.ok());
  b.set_cluster("c1");
  grpc::Status st = Push(b, &resp, *other);
  EXPECT_EQ(st.error_code(), grpc::StatusCode::PERMISSION_DENIED);
  EXPECT_EQ(StoredSamples(), 0);
  // Revocation takes effect once the token cache entry expires (1 s in the harness).
  ASSERT_TRUE(h_->pool().WithTransaction([](pqxx::work& tx) {
    tx.exec("UPDATE telemetry.agent_tokens SET revoked_at = now()");
    return absl::OkStatus();
  }).ok());
  clock_.Advance(absl::Seconds(2));
  EXPECT_EQ(Push(MakeBatch("auth-2", 1, 1), &resp, h_->token()).error_code(),
            grpc::StatusCode::UNAUTHENTICATED);
}

TEST(IngestPolicyTest, EveryMethodHasAPolicyAndOnlyAgentsMayWrite) {
  const auto* svc = google::protobuf::DescriptorPool::generated_pool()->FindServiceByName(
      "k8intel.v1.IngestService");
  ASSERT_NE(svc, nullptr);
  EXPECT_TRUE(auth::UncoveredMethods(IngestPolicy(), *svc).empty());
  for (auto role : {auth::Role::kNone, auth::Role::kViewer, auth::Role::kOperator,
                    auth::Role::kAdmin}) {
    auth::Principal p{.subject = "u", .tenant = "t", .role = role, .credential_id = "k"};
    EXPECT_EQ(IngestPolicy().Check(p, "/k8intel.v1.IngestService/Push").code(),
              absl::StatusCode::kPermissionDenied)
        << auth::RoleName(role);
  }
  auth::Principal agent{.subject = "agent:c1", .tenant = "t", .role = auth::Role::kAgent,
                        .credential_id = "c1"};
  EXPECT_TRUE(IngestPolicy().Check(agent, "/k8intel.v1.IngestService/Stream").ok());
}

TEST_F(IngestServiceTest, PartlyInvalidBatchIsRejectedWholeWithFieldViolations) {
  auto b = MakeBatch("bad-1", 5, 2);
  b.mutable_metrics(1)->mutable_samples(1)->set_value(std::nan(""));
  b.mutable_metrics(3)->set_name("");
  auto* dup = b.mutable_metrics(4)->add_labels();
  dup->set_name("series");
  dup->set_value("again");
  grpc::Status st = Push(b);
  ASSERT_EQ(st.error_code(), grpc::StatusCode::INVALID_ARGUMENT);
  auto v = grpcx::GetFieldViolations(grpcx::FromGrpcStatus(st));
  ASSERT_EQ(v.size(), 3u);
  EXPECT_EQ(v[0].field, "batch.metrics[1].samples[1].value");
  EXPECT_EQ(v[1].field, "batch.metrics[3].name");
  EXPECT_EQ(v[2].field, "batch.metrics[4].labels[2].name");
  EXPECT_EQ(StoredSamples(), 0);
  EXPECT_EQ(h_->QueryInt("SELECT count(*) FROM telemetry.batches"), 0);
}

TEST_F(IngestServiceTest, MalformedProtobufIsRejectedAndChangesNothing) {
  grpc::GenericStub generic(grpc::CreateChannel("127.0.0.1:" + std::to_string(h_->port()),
                                                grpc::InsecureChannelCredentials()));
  grpc::ClientContext ctx;
  ctx.AddMetadata("authorization", "Bearer " + h_->token());
  const char garbage[] = "\x0a\xff\xff\xff\xff\x0f garbage";
  grpc::Slice slice(garbage, sizeof garbage - 1);
  grpc::ByteBuffer request(&slice, 1);
  grpc::ByteBuffer response;
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
  grpc::Status status;
  generic.UnaryCall(&ctx, "/k8intel.v1.IngestService/Push", grpc::StubOptions(), &request,
                    &response, [&](grpc::Status s) {
                      std::lock_guard<std::mutex> lock(mu);
                      status = s;
                      done = true;
                      cv.notify_one();
                    });
  std::unique_lock<std::mutex> lock(mu);
  cv.wait(lock, [&] { return done; });
  EXPECT_EQ(status.error_code(), grpc::StatusCode::INVALID_ARGUMENT) << status.error_message();
  EXPECT_THAT(status.error_message(), HasSubstr("not a valid protobuf message"));
  EXPECT_EQ(h_->QueryInt("SELECT count(*) FROM telemetry.batches"), 0);
}

TEST_F(IngestServiceTest, ObjectsEventsAndAlertsAreUpserted) {
  k8intel::v1::TelemetryBatch b;
  b.set_batch_id("inv-1");
  auto* pod = b.add_objects()->mutable_pod();
  pod->mutable_meta()->set_name("api-0");
  pod->mutable_meta()->set_namespace_("shop");
  pod->mutable_meta()->set_uid("uid-1");
  pod->mutable_meta()->set_resource_version("1");
  pod->set_phase("Running");
  auto* node = b.add_objects()->mutable_node();
  node->mutable_meta()->set_name("node-1");
  auto* e = b.add_events();
  e->set_uid("ev-1");
  e->set_type("Warning");
  e->set_reason("BackOff");
  e->set_message("Back-off restarting failed container");
  e->mutable_involved_object()->set_kind("Pod");
  e->mutable_involved_object()->set_name("api-0");
  e->set_count(3);
  auto* a = b.add_alerts();
  a->set_name("CrashLoopBackOff");
  a->set_status(k8intel::v1::ALERT_STATUS_FIRING);
  a->set_severity(k8intel::v1::SEVERITY_WARNING);
  a->mutable_start_time()->set_seconds(absl::ToUnixSeconds(absl::Now()));
  ASSERT_TRUE(Push(b).ok());

  // A later batch updates the pod and resolves the alert.
  k8intel::v1::TelemetryBatch b2 = b;
  b2.set_batch_id("inv-2");
  b2.mutable_objects(0)->mutable_pod()->set_phase("Failed");
  b2.mutable_objects(0)->mutable_pod()->mutable_meta()->set_resource_version("2");
  b2.mutable_alerts(0)->set_status(k8intel::v1::ALERT_STATUS_RESOLVED);
  b2.mutable_events(0)->set_count(5);
  ASSERT_TRUE(Push(b2).ok());

  EXPECT_EQ(h_->QueryInt("SELECT count(*) FROM telemetry.objects"), 2);
  EXPECT_EQ(h_->QueryInt("SELECT count(*) FROM telemetry.objects WHERE kind = 'Pod' AND "
                         "object->>'phase' = 'Failed' AND resource_version = '2'"),
            1);
  EXPECT_EQ(h_->QueryInt("SELECT max(count) FROM telemetry.events"), 5);
  EXPECT_EQ(h_->QueryInt("SELECT count(*) FROM telemetry.alerts WHERE status = 2"), 1);
  EXPECT_EQ(h_->QueryInt("SELECT count(*) FROM telemetry.alerts"), 1);
  EXPECT_EQ(h_->QueryInt("SELECT count(*) FROM telemetry.cluster_heartbeats"), 1);
}

// What the agent sends for ConfigMaps, Secrets (TLS and generic), pod volumes and env sources,
// template hashes and PodDisruptionBudgets lands in the read model, each Secret as one row of
// kind Secret.
TEST_F(IngestServiceTest, ConfigMapsSecretsAndPodReferencesAreStored) {
  k8intel::v1::TelemetryBatch b;
  b.set_batch_id("refs-1");
  auto meta = [](k8intel::v1::ObjectMeta* m, const std::string& name) {
    m->set_name(name);
    m->set_namespace_("shop");
    m->set_uid("uid-" + name);
  };
  auto* cm = b.add_objects()->mutable_config_map();
  meta(cm->mutable_meta(), "settings");
  cm->set_content_sha256(std::string(64, 'c'));
  cm->add_keys("mode");
  auto* tls = b.add_objects()->mutable_tls_secret();
  meta(tls->mutable_meta(), "shop-tls");
  tls->mutable_not_after()->set_seconds(1'900'000'000);
  auto* secret = b.add_objects()->mutable_secret();
  meta(secret->mutable_meta(), "db-password");
  secret->set_type("Opaque");
  secret->set_content_sha256(std::string(64, 'a'));
  secret->add_keys("password");
  auto* pod = b.add_objects()->mutable_pod();
  meta(pod->mutable_meta(), "api-0");
  auto* vol = pod->add_volumes();
  vol->set_name("creds");
  vol->set_type("secret");
  vol->set_source("db-password");
  auto* env = pod->add_env_sources();
  env->set_kind("ConfigMap");
  env->set_name("settings");
  env->set_optional(true);
  auto* w = b.add_objects()->mutable_workload();
  meta(w->mutable_meta(), "api");
  w->set_kind(k8intel::v1::WORKLOAD_KIND_DEPLOYMENT);
  w->set_template_sha256(std::string(64, 'f'));
  auto* pdb = b.add_objects()->mutable_pod_disruption_budget();
  meta(pdb->mutable_meta(), "api");
  (*pdb->mutable_selector()->mutable_match_labels())["app"] = "api";
  pdb->set_min_available("1");
  pdb->set_disruptions_allowed(1);
  ASSERT_TRUE(Push(b).ok());

  EXPECT_EQ(h_->QueryInt("SELECT count(*) FROM telemetry.objects WHERE kind = 'Secret'"), 2);
  EXPECT_EQ(h_->QueryInt("SELECT count(*) FROM telemetry.objects WHERE kind = 'Secret' AND "
                         "name = 'db-password' AND uid = 'uid-db-password' AND "
                         "object->>'type' = 'Opaque' AND object->>'content_sha256' = '" +
                         std::string(64, 'a') + "' AND object->'keys' = '[\"password\"]'"),
            1);
  EXPECT_EQ(h_->QueryInt("SELECT count(*) FROM telemetry.objects WHERE kind = 'Secret' AND "
                         "name = 'shop-tls' AND object ? 'not_after' AND "
                         "NOT object ? 'content_sha256'"),
            1);
  EXPECT_EQ(h_->QueryInt("SELECT count(*) FROM telemetry.objects WHERE kind = 'ConfigMap' AND "
                         "name = 'settings' AND object->'keys' = '[\"mode\"]'"),
            1);
  EXPECT_EQ(h_->QueryInt("SELECT count(*) FROM telemetry.objects WHERE kind = 'Pod' AND "
                         "object->'volumes' = '[{\"name\": \"creds\", \"type\": \"secret\", "
                         "\"source\": \"db-password\"}]' AND object->'env_sources' = "
                         "'[{\"kind\": \"ConfigMap\", \"name\": \"settings\", \"optional\": "
                         "true}]'"),
            1);
  EXPECT_EQ(h_->QueryInt("SELECT count(*) FROM telemetry.objects WHERE kind = 'Deployment' AND "
                         "object->>'template_sha256' = '" + std::string(64, 'f') + "'"),
            1);
  EXPECT_EQ(h_->QueryInt("SELECT count(*) FROM telemetry.objects WHERE "
                         "kind = 'PodDisruptionBudget' AND namespace = 'shop' AND name = 'api' AND "
                         "object->>'min_available' = '1' AND "
                         "object->'selector'->'match_labels'->>'app' = 'api'"),
            1);
  // The protobuf body is the message that was sent.
  k8intel::v1::SecretMeta stored;
  ASSERT_TRUE(h_->pool()
                  .WithTransaction([&](pqxx::work& tx) {
                    const pqxx::binarystring bytes(tx.exec1(
                        "SELECT object_pb FROM telemetry.objects WHERE kind = 'Secret' AND "
                        "name = 'db-password'")[0]);
                    stored.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()));
                    return absl::OkStatus();
                  })
                  .ok());
  EXPECT_EQ(stored.SerializeAsString(), secret->SerializeAsString());
}

TEST_F(IngestServiceTest, OldSamplesGetPartitionsOnDemand) {
  auto b = MakeBatch("old-1", 1, 1);
  b.mutable_metrics(0)->mutable_samples(0)->set_time_unix_ms(
      absl::ToUnixMillis(absl::Now() - absl::Hours(24 * 20)));
  ASSERT_TRUE(Push(b).ok());
  EXPECT_EQ(StoredSamples(), 1);
}

}  // namespace
}  // namespace k8i::ingest

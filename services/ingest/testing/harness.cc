#include "services/ingest/testing/harness.h"

#include <set>

#include "absl/strings/str_cat.h"
#include "libs/common/ids.h"
#include "libs/common/status_macros.h"
#include "libs/grpcx/status.h"
#include "libs/kafka/cloudevents.h"
#include "libs/kafka/consumer.h"
#include "libs/kit/testing/test_service.h"
#include "libs/auth/grpc_auth.h"
#include "libs/redis/options.h"
#include "services/ingest/auth_setup.h"
#include "services/inventory/cluster_service.h"

namespace k8i::ingest::testing {

absl::StatusOr<std::unique_ptr<IngestHarness>> IngestHarness::Start(HarnessOptions options) {
  std::unique_ptr<IngestHarness> h(new IngestHarness());
  h->tenant_ = absl::StrCat("t", NewId().substr(0, 10));
  ASSIGN_OR_RETURN(h->db_, k8i::testing::TempDatabase::Create());
  ASSIGN_OR_RETURN(h->pool_, pg::Pool::Create({.url = h->db_->url(),
                                               .size = options.pg_pool_size}));
  // Agent tokens live in inventory's control schema (ingest reads it), so both schemas exist
  // here as in a deployment.
  RETURN_IF_ERROR(inventory::ApplyMigrations(*h->pool_));
  RETURN_IF_ERROR(ApplyMigrations(*h->pool_));
  // Tests written when tokens lived in telemetry.agent_tokens revoke through that name: an
  // (updatable) view over the control table keeps them meaningful. Test databases only.
  RETURN_IF_ERROR(h->pool_->WithTransaction([](pqxx::work& tx) {
    tx.exec(
        "CREATE VIEW telemetry.agent_tokens AS SELECT token_sha256, tenant_id, cluster_id, "
        "created_at, revoked_at FROM control.agent_tokens");
    return absl::OkStatus();
  }));
  h->issuer_ = std::make_unique<AgentTokenIssuer>(h->pool_.get());
  ASSIGN_OR_RETURN(h->token_, h->issuer_->CreateToken(h->tenant_, h->cluster_));
  // The configuration as k8i-ingest reads it, from test settings.
  const auto vars = kit::testing::StackVars(
      h->db_->url(),
      {{"K8I_KAFKA_TOPIC_PREFIX", options.topic_prefix},
       {"K8I_KAFKA_DELIVERY_TIMEOUT",
        absl::StrCat(absl::ToInt64Milliseconds(options.delivery_timeout), "ms")},
       {"K8I_INGEST_INFLIGHT_SAMPLES", absl::StrCat(options.inflight_sample_budget)},
       {"K8I_AGENT_TOKEN_CACHE_TTL", "1s"},
       {"K8I_HTTP_ADDR", "127.0.0.1:0"},
       {"K8I_RETENTION_INTERVAL", "0s"},
       {"K8I_ROLLUP_CONSUMER", options.rollup_consumer ? "true" : "false"},
       {"K8I_ROLLUP_GROUP", absl::StrCat("k8i-ingest-rollups-", h->tenant_)},
       {"K8I_ROLLUP_MAX_BATCH", "200"},
       {"K8I_ROLLUP_LINGER", "100ms"},
       {"K8I_REPUBLISH_INTERVAL",
        absl::StrCat(absl::ToInt64Milliseconds(options.republish_interval), "ms")},
       {"K8I_REPUBLISH_GRACE",
        absl::StrCat(absl::ToInt64Milliseconds(options.republish_grace), "ms")}});
  EnvReader env = kit::testing::MapEnv(vars);
  ASSIGN_OR_RETURN(h->config_, LoadConfig(env));
  IngestHarness* raw = h.get();
  ASSIGN_OR_RETURN(h->service_,
                   kit::Service::Start(Spec(), h->config_.common,
                                       [raw](kit::Service& s) {
                                         return Wire(s, raw->config_, &raw->parts_);
                                       },
                                       {.clock = options.clock, .registry = &h->registry_,
                                        .pool = h->pool_.get()}));
  return h;
}

absl::StatusOr<std::string> AgentTokenIssuer::CreateToken(const std::string& tenant,
                                                          const std::string& cluster) {
  RETURN_IF_ERROR(control_.EnsureTenant(tenant, tenant));
  auto registered = clusters_.CreateCluster(
      tenant, {.tenant_id = tenant, .cluster_id = cluster, .display_name = cluster});
  if (!registered.ok() && !absl::IsAlreadyExists(registered.status())) {
    return registered.status();
  }
  ASSIGN_OR_RETURN(auto issued, inventory::IssueAgentToken(clusters_, tenant, cluster, "test"));
  return issued.token;
}

IngestHarness::~IngestHarness() { service_.reset(); }

std::unique_ptr<k8intel::v1::IngestService::Stub> IngestHarness::NewStub() const {
  return k8intel::v1::IngestService::NewStub(grpc::CreateChannel(
      absl::StrCat("127.0.0.1:", port()), grpc::InsecureChannelCredentials()));
}

int64_t IngestHarness::QueryInt(const std::string& sql) {
  int64_t out = -1;
  absl::Status s = pool_->WithTransaction([&](pqxx::work& tx) {
    auto r = tx.exec1(sql);
    out = r[0].is_null() ? 0 : r[0].as<int64_t>();
    return absl::OkStatus();
  });
  return s.ok() ? out : -1;
}

k8intel::v1::TelemetryBatch MakeBatch(const std::string& id, int series, int samples) {
  k8intel::v1::TelemetryBatch b;
  b.set_batch_id(id);
  const int64_t now_ms = absl::ToUnixMillis(absl::Now());
  for (int s = 0; s < series; ++s) {
    auto* m = b.add_metrics();
    m->set_name("bench_metric");
    m->set_type(k8intel::v1::METRIC_TYPE_GAUGE);
    auto* l = m->add_labels();
    l->set_name("batch");
    l->set_value(id);
    auto* l2 = m->add_labels();
    l2->set_name("series");
    l2->set_value(std::to_string(s));
    m->mutable_resource()->set_node_name("node-1");
    for (int i = 0; i < samples; ++i) {
      auto* x = m->add_samples();
      x->set_time_unix_ms(now_ms - (samples - i) * 1000);
      x->set_value(s * 1000 + i);
    }
  }
  return b;
}

void ResilientSender::Reopen() {
  if (stream_) {
    stream_->WritesDone();
    ctx_->TryCancel();
    stream_->Finish().IgnoreError();
  }
  if (!channel_) {
    channel_ = grpc::CreateChannel(target_, grpc::InsecureChannelCredentials());
    stub_ = k8intel::v1::IngestService::NewStub(channel_);
  }
  ctx_ = std::make_unique<grpc::ClientContext>();
  ctx_->AddMetadata("authorization", "Bearer " + token_);
  stream_ = stub_->Stream(ctx_.get());
}

absl::Status ResilientSender::Send(const k8intel::v1::TelemetryBatch& batch,
                                   absl::Time deadline) {
  absl::Status last = absl::DeadlineExceededError("not sent");
  while (absl::Now() < deadline) {
    if (!stream_) Reopen();
    k8intel::v1::StreamRequest req;
    *req.mutable_batch() = batch;
    k8intel::v1::StreamResponse ack;
    if (!stream_->Write(req) || !stream_->Read(&ack)) {
      // Broken stream (server restart, drain): reopen and resend.
      grpc::Status st = stream_->Finish();
      stream_.reset();
      last = grpcx::FromGrpcStatus(st);
      if (!st.ok() && st.error_code() != grpc::StatusCode::UNAVAILABLE &&
          st.error_code() != grpc::StatusCode::CANCELLED) {
        return last;
      }
      ++retries_;
      absl::SleepFor(absl::Milliseconds(200));
      continue;
    }
    last = grpcx::FromRpcStatus(ack.status());
    if (last.ok()) return last;
    if (!absl::IsUnavailable(last) && !absl::IsResourceExhausted(last)) return last;
    ++retries_;
    absl::Duration delay = grpcx::GetRetryDelay(last);
    absl::SleepFor(delay > absl::ZeroDuration() ? delay : absl::Milliseconds(500));
  }
  return last;
}

absl::StatusOr<KafkaCount> CountKafkaSamples(const std::string& topic, const std::string& key,
                                             absl::Duration idle) {
  ASSIGN_OR_RETURN(auto consumer,
                   kafka::Consumer::Create(
                       {.bootstrap = k8i::testing::TestEnv("K8I_TEST_KAFKA_BOOTSTRAP"),
                        .group_id = absl::StrCat("count-", NewId()),
                        .topics = {topic}}));
  KafkaCount count;
  std::set<std::string> seen;
  // Joining the group takes a few seconds: the idle clock starts at the first message.
  absl::Time last_message = absl::InfiniteFuture();
  const absl::Time give_up = absl::Now() + absl::Minutes(2);
  const absl::Time first_by = absl::Now() + absl::Seconds(30);
  while (absl::Now() < give_up) {
    if (last_message == absl::InfiniteFuture() ? absl::Now() > first_by
                                               : absl::Now() - last_message >= idle) {
      break;
    }
    ASSIGN_OR_RETURN(auto msgs, consumer->Poll(1000, absl::Milliseconds(500)));
    if (!msgs.empty()) last_message = absl::Now();
    for (const auto& m : msgs) {
      if (m.key != key) continue;
      ASSIGN_OR_RETURN(auto ce, kafka::ParseCloudEventHeaders(m.headers));
      if (!seen.insert(ce.id).second) {
        ++count.duplicates;
        continue;
      }
      ++count.messages;
      k8intel::v1::MetricBatch mb;
      if (!mb.ParseFromString(m.value)) return absl::DataLossError("unparsable MetricBatch");
      for (const auto& s : mb.series()) count.samples += s.samples_size();
    }
  }
  consumer->Close();
  return count;
}

}  // namespace k8i::ingest::testing

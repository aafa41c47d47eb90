// IncidentCommands end to end over gRPC: a fake IncidentService in-process on port 0 records
// what the commands send (names, filters, cluster ids, paging, the API key) and the test reads
// what they print.
#include <map>

#include "absl/strings/str_cat.h"
#include "absl/synchronization/mutex.h"
#include "gtest/gtest.h"
#include "k8intel/v1/incidents.grpc.pb.h"
#include "tools/cli/incidents.h"

namespace k8i::cli {
namespace {

namespace v1 = ::k8intel::v1;

constexpr char kName[] = "clusters/prod/incidents/4f2a9c0d1e2b3a4c5d6e";

class FakeIncidents final : public v1::IncidentService::Service {
 public:
  grpc::Status ListIncidents(grpc::ServerContext* ctx, const v1::ListIncidentsRequest* req,
                             v1::ListIncidentsResponse* resp) override {
    Record(ctx, "ListIncidents", *req);
    if (req->filter() == "id = \"nope\"") return grpc::Status::OK;
    auto* inc = resp->add_incidents();
    inc->set_name(kName);
    inc->set_id("4f2a9c0d1e2b3a4c5d6e");
    inc->set_cluster("prod");
    inc->set_title(req->page_token().empty() ? "first page" : "second page");
    if (req->page_token().empty() && req->filter().empty()) resp->set_next_page_token("p2");
    resp->set_total_size(2);
    return grpc::Status::OK;
  }
  grpc::Status GetIncident(grpc::ServerContext* ctx, const v1::GetIncidentRequest* req,
                           v1::GetIncidentResponse* resp) override {
    Record(ctx, "GetIncident", *req);
    resp->mutable_incident()->set_name(req->name());
    resp->mutable_incident()->set_title("checkout crash-looping");
    return grpc::Status::OK;
  }
  grpc::Status AcknowledgeIncident(grpc::ServerContext* ctx,
                                   const v1::AcknowledgeIncidentRequest* req,
                                   v1::AcknowledgeIncidentResponse* resp) override {
    Record(ctx, "AcknowledgeIncident", *req);
    resp->mutable_incident()->set_name(req->name());
    resp->mutable_incident()->set_state(v1::INCIDENT_STATE_ACKNOWLEDGED);
    return grpc::Status::OK;
  }
  grpc::Status ResolveIncident(grpc::ServerContext* ctx, const v1::ResolveIncidentRequest* req,
                               v1::ResolveIncidentResponse* resp) override {
    Record(ctx, "ResolveIncident", *req);
    resp->mutable_incident()->set_name(req->name());
    resp->mutable_incident()->set_state(v1::INCIDENT_STATE_RESOLVED);
    return grpc::Status::OK;
  }
  grpc::Status GetDependencies(grpc::ServerContext* ctx, const v1::GetDependenciesRequest* req,
                               v1::GetDependenciesResponse* resp) override {
    Record(ctx, "GetDependencies", *req);
    auto* n = resp->add_nodes();
    *n->mutable_object() = req->object();
    n->set_status("Ready");
    return grpc::Status::OK;
  }
  grpc::Status ListRevisions(grpc::ServerContext* ctx, const v1::ListRevisionsRequest* req,
                             v1::ListRevisionsResponse* resp) override {
    Record(ctx, "ListRevisions", *req);
    auto* r = resp->add_revisions();
    r->set_revision(1);
    r->mutable_time()->set_seconds(1'800'000'000);
    r->add_changes("first seen");
    return grpc::Status::OK;
  }

  grpc::Status ListPatterns(grpc::ServerContext* ctx, const v1::ListPatternsRequest* req,
                            v1::ListPatternsResponse* resp) override {
    Record(ctx, "ListPatterns", *req);
    resp->mutable_start_time()->set_seconds(1'800'000'000 - 28 * 86400);
    resp->mutable_end_time()->set_seconds(1'800'000'000);
    auto* p = resp->add_patterns();
    p->set_kind(v1::PATTERN_KIND_CRASH_AFTER_CHANGE);
    p->mutable_subject()->set_kind("Deployment");
    p->mutable_subject()->set_namespace_("shop");
    p->mutable_subject()->set_name("checkout");
    p->set_occurrences(2);
    p->set_opportunities(3);
    p->set_confidence(2.0 / 3);
    p->set_summary("crashes followed 2 of 3 changes");
    auto* e = p->add_evidence();
    e->set_kind("occurrence");
    e->set_text("changed; OOMKilled 3m later");
    e = p->add_evidence();
    e->set_kind("miss");
    e->set_text("changed; no crash within 30m");
    return grpc::Status::OK;
  }

  // Calls returns "Method {request}" per call, in order, and forgets them.
  std::vector<std::string> Calls() {
    absl::MutexLock l(&mu_);
    return std::exchange(calls_, {});
  }
  std::string LastAuthorization() {
    absl::MutexLock l(&mu_);
    return authorization_;
  }

 private:
  void Record(grpc::ServerContext* ctx, const char* method, const google::protobuf::Message& m) {
    absl::MutexLock l(&mu_);
    calls_.push_back(absl::StrCat(method, " {", m.ShortDebugString(), "}"));
    auto it = ctx->client_metadata().find("authorization");
    authorization_ = it == ctx->client_metadata().end()
                         ? std::string()
                         : std::string(it->second.data(), it->second.size());
  }

  absl::Mutex mu_;
  std::vector<std::string> calls_ ABSL_GUARDED_BY(mu_);
  std::string authorization_ ABSL_GUARDED_BY(mu_);
};

class IncidentCommandsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    grpc::ServerBuilder builder;
    builder.AddListeningPort("127.0.0.1:0", grpc::InsecureServerCredentials(), &port_);
    builder.RegisterService(&service_);
    server_ = builder.BuildAndStart();
    ASSERT_NE(server_, nullptr);
  }
  void TearDown() override { server_->Shutdown(); }

  struct Result {
    int rc;
    std::string out;
  };

  // Run parses `k8i ARGS --api-key key-1` and runs the incident commands against the fake.
  Result Run(std::vector<std::string> args) {
    CLI::App app;
    IncidentCommands commands(app);
    args.insert(args.begin(), "k8i");
    args.push_back("--api-key");
    args.push_back("key-1");
    std::vector<const char*> argv;
    for (const auto& a : args) argv.push_back(a.c_str());
    app.parse(static_cast<int>(argv.size()), argv.data());
    testing::internal::CaptureStdout();
    const int rc = commands.Run([&] {
      return grpc::CreateChannel(absl::StrCat("127.0.0.1:", port_),
                                 grpc::InsecureChannelCredentials());
    });
    return {rc, testing::internal::GetCapturedStdout()};
  }

  FakeIncidents service_;
  std::unique_ptr<grpc::Server> server_;
  int port_ = 0;
};

TEST_F(IncidentCommandsTest, ListCombinesTheStateShortcutAndFollowsPages) {
  Result r =
      Run({"incidents", "--cluster", "prod", "--state", "open", "--filter", "severity = critical"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(service_.Calls(),
            std::vector<std::string>({"ListIncidents {parent: \"clusters/prod\" filter: "
                                      "\"(severity = critical) AND state = open\"}"}));
  EXPECT_EQ(service_.LastAuthorization(), "Bearer key-1");

  r = Run({"incidents", "--all", "--page-size", "1"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(service_.Calls(),
            std::vector<std::string>(
                {"ListIncidents {parent: \"clusters/-\" page_size: 1}",
                 "ListIncidents {parent: \"clusters/-\" page_size: 1 page_token: \"p2\"}"}));
  EXPECT_NE(r.out.find("first page"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("second page"), std::string::npos) << r.out;
}

TEST_F(IncidentCommandsTest, AnIdIsResolvedToItsName) {
  Result r = Run({"ack", "4f2a9c0d1e2b3a4c5d6e", "-m", "on it"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out, absl::StrCat(kName, ": acknowledged\n"));
  EXPECT_EQ(service_.Calls(),
            std::vector<std::string>(
                {"ListIncidents {parent: \"clusters/-\" page_size: 2 filter: \"id = "
                 "\\\"4f2a9c0d1e2b3a4c5d6e\\\"\"}",
                 absl::StrCat("AcknowledgeIncident {name: \"", kName, "\" comment: \"on it\"}")}));

  r = Run({"resolve", kName});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out, absl::StrCat(kName, ": resolved\n"));
  EXPECT_EQ(service_.Calls(),
            std::vector<std::string>({absl::StrCat("ResolveIncident {name: \"", kName, "\"}")}));

  r = Run({"incident", "nope"});
  EXPECT_EQ(r.rc, 1);
  EXPECT_EQ(service_.Calls().size(), 1u);  // the lookup only

  r = Run({"incident", kName});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out.substr(0, r.out.find('\n')), "checkout crash-looping");
}

TEST_F(IncidentCommandsTest, GraphAndRevisionsSendTheBareClusterIdAndCanonicalKind) {
  Result r = Run({"graph", "NO/node-1", "--cluster", "clusters/prod", "--depth", "3"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out, "Node/node-1 (Ready)\n");
  EXPECT_EQ(service_.Calls(),
            std::vector<std::string>({"GetDependencies {cluster: \"prod\" object { kind: "
                                      "\"Node\" name: \"node-1\" } depth: 3}"}));

  r = Run({"revisions", "cm/shop/app-config", "--cluster", "prod"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(r.out,
            "REV   TIME                   CHANGES\n"
            "1     2027-01-15T08:00:00Z   first seen\n");
  EXPECT_EQ(service_.Calls(), std::vector<std::string>(
                                  {"ListRevisions {cluster: \"prod\" object { kind: "
                                   "\"ConfigMap\" namespace: \"shop\" name: \"app-config\" }}"}));

  r = Run({"graph", "pod/web", "--cluster", "prod"});
  EXPECT_EQ(r.rc, 2);
  EXPECT_TRUE(service_.Calls().empty());
}

TEST_F(IncidentCommandsTest, PatternsAsksForTheClusterAndWindow) {
  Result r = Run({"patterns", "--cluster", "clusters/prod", "--days", "14"});
  EXPECT_EQ(r.rc, 0);
  EXPECT_EQ(service_.Calls(), std::vector<std::string>(
                                  {"ListPatterns {cluster: \"prod\" lookback_days: 14}"}));
  EXPECT_EQ(r.out,
            "window 2026-12-18T08:00:00Z → 2027-01-15T08:00:00Z\n"
            "\n"
            "1. crash after change · Deployment/shop/checkout · 2 of 3 (67%)\n"
            "   crashes followed 2 of 3 changes\n"
            "   ✔ changed; OOMKilled 3m later\n"
            "   · changed; no crash within 30m\n");
}

}  // namespace
}  // namespace k8i::cli

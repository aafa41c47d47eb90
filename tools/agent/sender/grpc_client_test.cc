// GrpcClient against the real gRPC C++ server (grpcx::Server) serving a scripted
// IngestService: plaintext and TLS, mTLS, server-name checks, details of errors, requests far
// beyond the HTTP/2 flow-control windows, deadlines, cancellation, restarts.
#include "tools/agent/sender/grpc_client.h"

#include <arpa/inet.h>
#include <signal.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "absl/strings/str_cat.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/grpcx/server.h"
#include "libs/grpcx/status.h"
#include "libs/grpcx/testing/test_pki.h"
#include "tools/agent/testing/scripted_ingest.h"

namespace k8i::agent {
namespace {

using grpcx::ClientAuth;
using grpcx::TlsClientConfig;
using grpcx::TlsServerConfig;
using ::testing::HasSubstr;

constexpr char kPush[] = "/k8intel.v1.IngestService/Push";

class GrpcClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = (std::filesystem::temp_directory_path() /
            ("k8i-grpc-client-test-" + std::to_string(::getpid())))
               .string();
    auto pki = grpcx::testing::CreateTestPki(dir_);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = new grpcx::testing::TestPki(*pki);
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(dir_);
    delete pki_;
  }
  static const grpcx::testing::TestPki& pki() { return *pki_; }

  void TearDown() override { StopServer(); }

  void StartServer(TlsServerConfig tls = {}, int port = 0) {
    grpcx::ServerOptions opts;
    opts.address = "127.0.0.1:" + std::to_string(port);
    opts.tls = std::move(tls);
    server_ = std::make_unique<grpcx::Server>(std::move(opts));
    server_->AddService(&ingest_, "k8intel.v1.IngestService");
    ASSERT_TRUE(server_->Start().ok());
  }
  void StopServer() {
    if (!server_) return;
    server_->Shutdown(absl::Milliseconds(200));
    server_->Wait();
    server_.reset();
  }
  TlsServerConfig ServerTls(ClientAuth auth = ClientAuth::kNone) {
    return {.cert_file = pki().server_cert,
            .key_file = pki().server_key,
            .client_ca_file = auth == ClientAuth::kNone ? "" : pki().ca_cert,
            .client_auth = auth};
  }
  std::string Endpoint(const std::string& host = "127.0.0.1") const {
    return host + ":" + std::to_string(server_->port());
  }
  std::unique_ptr<GrpcClient> Client(const TlsClientConfig& tls = {},
                                     const std::string& host = "127.0.0.1") {
    auto c = GrpcClient::Create(Endpoint(host), tls);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *std::move(c) : nullptr;
  }
  static GrpcCallOutcome Push(GrpcClient& c, const std::string& id,
                              k8intel::v1::PushResponse* resp = nullptr,
                              absl::Duration timeout = absl::Seconds(10)) {
    k8intel::v1::PushRequest req;
    req.mutable_batch()->set_batch_id(id);
    k8intel::v1::PushResponse ignored;
    return c.Call(kPush, {{"Authorization", "Bearer t0ken"}}, req, resp ? resp : &ignored, timeout);
  }

  static std::string dir_;
  static grpcx::testing::TestPki* pki_;
  testing::ScriptedIngest ingest_;
  std::unique_ptr<grpcx::Server> server_;
};

std::string GrpcClientTest::dir_;
grpcx::testing::TestPki* GrpcClientTest::pki_ = nullptr;

TEST_F(GrpcClientTest, PlaintextCallsShareOneConnection) {
  StartServer();
  auto c = Client();
  for (const char* id : {"a", "b-dup", "c"}) {
    k8intel::v1::PushResponse resp;
    const GrpcCallOutcome out = Push(*c, id, &resp);
    ASSERT_TRUE(out.status.ok()) << out.status;
    EXPECT_EQ(resp.batch_id(), id);
    EXPECT_EQ(resp.duplicate(), std::string(id) == "b-dup");
  }
  const auto got = ingest_.received();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[0].auth, "Bearer t0ken");
  EXPECT_EQ(got[0].peer, got[2].peer) << "a new connection per call";
}

TEST_F(GrpcClientTest, ErrorsKeepTheirDetails) {
  StartServer();
  ingest_.Script({grpcx::InvalidArgumentWithViolations(
                      "1 invalid item(s)", {{"batch.metrics[0].name", "empty; \"quoted\" %"}}),
                  grpcx::WithRetryDelay(absl::UnavailableError("pg down"), absl::Seconds(3)),
                  absl::PermissionDeniedError("cluster c2 is not yours")});
  auto c = Client();
  GrpcCallOutcome out = Push(*c, "a");
  EXPECT_EQ(out.status.code(), absl::StatusCode::kInvalidArgument);
  ASSERT_EQ(grpcx::GetFieldViolations(out.status).size(), 1u);
  EXPECT_EQ(grpcx::GetFieldViolations(out.status)[0].description, "empty; \"quoted\" %");
  out = Push(*c, "a");
  EXPECT_EQ(out.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_EQ(grpcx::GetRetryDelay(out.status), absl::Seconds(3));
  EXPECT_FALSE(out.stale_connection);
  out = Push(*c, "a");
  EXPECT_EQ(out.status.code(), absl::StatusCode::kPermissionDenied);
  EXPECT_EQ(out.status.message(), "cluster c2 is not yours");
  EXPECT_TRUE(Push(*c, "a").status.ok());
  // An unknown method is UNIMPLEMENTED, from gRPC itself.
  k8intel::v1::PushRequest req;
  k8intel::v1::PushResponse resp;
  EXPECT_EQ(
      c->Call("/k8intel.v1.IngestService/Nope", {}, req, &resp, absl::Seconds(5)).status.code(),
      absl::StatusCode::kUnimplemented);
}

TEST_F(GrpcClientTest, RequestsFarBeyondTheFlowControlWindows) {
  StartServer(ServerTls());
  auto c = Client({.tls = true, .ca_file = pki().ca_cert});
  k8intel::v1::PushRequest req;
  req.mutable_batch()->set_batch_id("big");
  for (int i = 0; i < 22'000; ++i) {
    auto* m = req.mutable_batch()->add_metrics();
    m->set_name(std::string(400, static_cast<char>('a' + i % 26)));
  }
  ASSERT_GT(req.ByteSizeLong(), 8u << 20);
  k8intel::v1::PushResponse resp;
  const GrpcCallOutcome out = c->Call(kPush, {}, req, &resp, absl::Seconds(20));
  ASSERT_TRUE(out.status.ok()) << out.status;
  EXPECT_EQ(resp.batch_id(), "big");
  ASSERT_EQ(ingest_.received().size(), 1u);
  EXPECT_EQ(ingest_.received()[0].bytes, req.ByteSizeLong());
}

TEST_F(GrpcClientTest, DeadlineThenAFreshConnection) {
  StartServer();
  auto c = Client();
  ASSERT_TRUE(Push(*c, "warm").status.ok());
  ingest_.set_stall(absl::Seconds(10));
  const absl::Time start = absl::Now();
  const GrpcCallOutcome out = Push(*c, "slow", nullptr, absl::Milliseconds(300));
  EXPECT_EQ(out.status.code(), absl::StatusCode::kDeadlineExceeded) << out.status;
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  ingest_.set_stall(absl::ZeroDuration());
  EXPECT_TRUE(Push(*c, "after").status.ok());
  const auto got = ingest_.received();
  ASSERT_EQ(got.size(), 3u);
  EXPECT_EQ(got[2].batch_id, "after");
}

TEST_F(GrpcClientTest, SilentPeerHitsTheClientDeadline) {
  // A listener that never answers (the kernel completes the handshake): our own deadline, and
  // the connection is dropped.
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof(a)), 0);
  ASSERT_EQ(::listen(fd, 4), 0);
  socklen_t len = sizeof(a);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  auto c = GrpcClient::Create("127.0.0.1:" + std::to_string(ntohs(a.sin_port)), {});
  ASSERT_TRUE(c.ok());
  const absl::Time start = absl::Now();
  const GrpcCallOutcome out = Push(**c, "a", nullptr, absl::Milliseconds(300));
  EXPECT_EQ(out.status.code(), absl::StatusCode::kDeadlineExceeded) << out.status;
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(290));
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_FALSE((*c)->connected());
  ::close(fd);
}

TEST_F(GrpcClientTest, CancelInterruptsTheCallAndLaterOnes) {
  StartServer();
  auto c = Client();
  ingest_.set_stall(absl::Seconds(10));
  std::thread canceller([&] {
    absl::SleepFor(absl::Milliseconds(200));
    c->Cancel();
  });
  const absl::Time start = absl::Now();
  const GrpcCallOutcome out = Push(*c, "a");
  canceller.join();
  EXPECT_EQ(out.status.code(), absl::StatusCode::kCancelled);
  EXPECT_LT(absl::Now() - start, absl::Seconds(2));
  EXPECT_EQ(Push(*c, "b").status.code(), absl::StatusCode::kCancelled);
  ingest_.set_stall(absl::ZeroDuration());
}

TEST_F(GrpcClientTest, ServerRestartIsSurvived) {
  StartServer();
  const int port = server_->port();
  auto c = Client();
  ASSERT_TRUE(Push(*c, "a").status.ok());
  StopServer();
  GrpcCallOutcome out = Push(*c, "b", nullptr, absl::Seconds(2));
  EXPECT_EQ(out.status.code(), absl::StatusCode::kUnavailable) << out.status;
  EXPECT_FALSE(c->connected());
  StartServer({}, port);
  out = Push(*c, "c");
  EXPECT_TRUE(out.status.ok()) << out.status;
}

// The client leaves the process's SIGPIPE alone (default: terminate), and a TLS peer that goes
// away between calls — whose socket OpenSSL then writes to — is an error, not a dead process.
TEST_F(GrpcClientTest, TlsPeerGoneIsAnErrorWithSigpipeAtItsDefault) {
  struct sigaction dfl {}, before {}, after {};
  dfl.sa_handler = SIG_DFL;
  ASSERT_EQ(::sigaction(SIGPIPE, &dfl, &before), 0);
  StartServer(ServerTls());
  const int port = server_->port();
  auto c = Client({.tls = true, .ca_file = pki().ca_cert});
  ASSERT_TRUE(Push(*c, "a").status.ok());
  ASSERT_EQ(::sigaction(SIGPIPE, nullptr, &after), 0);
  EXPECT_EQ(after.sa_handler, SIG_DFL) << "the client changed the process's SIGPIPE handling";
  for (int i = 0; i < 3; ++i) {
    StopServer();
    EXPECT_FALSE(Push(*c, absl::StrCat("down-", i), nullptr, absl::Seconds(2)).status.ok());
    StartServer(ServerTls(), port);
    EXPECT_TRUE(Push(*c, absl::StrCat("up-", i)).status.ok());
  }
  ::sigaction(SIGPIPE, &before, nullptr);
}

// Resolving a name is bounded by the call's deadline (and a name that cannot resolve is an
// error naming it), whatever the machine's resolver does.
TEST_F(GrpcClientTest, NameResolutionIsBoundedByTheDeadline) {
  auto c = GrpcClient::Create("no-such-host.k8i-test.invalid:7001",
                              {.tls = true, .ca_file = pki().ca_cert});
  ASSERT_TRUE(c.ok());
  const absl::Time start = absl::Now();
  const GrpcCallOutcome out = Push(**c, "a", nullptr, absl::Milliseconds(300));
  EXPECT_LT(absl::Now() - start, absl::Seconds(1));
  EXPECT_TRUE(absl::IsDeadlineExceeded(out.status) || absl::IsUnavailable(out.status))
      << out.status;
  if (absl::IsUnavailable(out.status)) {
    EXPECT_THAT(out.status.message(), HasSubstr("no-such-host.k8i-test.invalid"));
  }
  // Cancel from another thread ends a lookup in progress too.
  auto d = GrpcClient::Create("another-host.k8i-test.invalid:7001",
                              {.tls = true, .ca_file = pki().ca_cert});
  ASSERT_TRUE(d.ok());
  (*d)->Cancel();
  EXPECT_EQ(Push(**d, "b", nullptr, absl::Seconds(30)).status.code(),
            absl::StatusCode::kCancelled);
}

TEST_F(GrpcClientTest, RefusedConnectionNamesTheAddress) {
  StartServer();
  const std::string endpoint = Endpoint();
  StopServer();
  auto c = GrpcClient::Create(endpoint, {});
  ASSERT_TRUE(c.ok());
  const GrpcCallOutcome out = Push(**c, "a", nullptr, absl::Seconds(2));
  EXPECT_EQ(out.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(out.status.message(), HasSubstr(endpoint));
}

TEST_F(GrpcClientTest, TlsVerifiesTheServer) {
  StartServer(ServerTls());
  // The right CA, by IP and by name; a name override matching the certificate.
  EXPECT_TRUE(Push(*Client({.tls = true, .ca_file = pki().ca_cert}), "a").status.ok());
  EXPECT_TRUE(Push(*Client({.tls = true, .ca_file = pki().ca_cert}, "localhost"), "b").status.ok());
  EXPECT_TRUE(
      Push(*Client({.tls = true, .ca_file = pki().ca_cert, .server_name = "localhost"}), "c")
          .status.ok());
  // An unrelated CA, and a name the certificate does not carry: refused at the handshake.
  GrpcCallOutcome out = Push(*Client({.tls = true, .ca_file = pki().other_ca_cert}), "x");
  EXPECT_EQ(out.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(out.status.message(), HasSubstr("certificate verif"));
  out =
      Push(*Client({.tls = true, .ca_file = pki().ca_cert, .server_name = "ingest.example"}), "y");
  EXPECT_EQ(out.status.code(), absl::StatusCode::kUnavailable);
  EXPECT_THAT(out.status.message(), HasSubstr("certificate verif"));
  // Plaintext to a TLS server fails rather than hanging.
  out = Push(*Client(), "z", nullptr, absl::Seconds(5));
  EXPECT_EQ(out.status.code(), absl::StatusCode::kUnavailable) << out.status;
  EXPECT_EQ(ingest_.received().size(), 3u);
}

TEST_F(GrpcClientTest, MutualTls) {
  StartServer(ServerTls(ClientAuth::kRequire));
  EXPECT_TRUE(Push(*Client({.tls = true,
                            .ca_file = pki().ca_cert,
                            .cert_file = pki().client_cert,
                            .key_file = pki().client_key}),
                   "a")
                  .status.ok());
  GrpcCallOutcome out = Push(*Client({.tls = true, .ca_file = pki().ca_cert}), "b");
  EXPECT_EQ(out.status.code(), absl::StatusCode::kUnavailable) << out.status;
  out = Push(*Client({.tls = true,
                      .ca_file = pki().ca_cert,
                      .cert_file = pki().other_client_cert,
                      .key_file = pki().other_client_key}),
             "c");
  EXPECT_EQ(out.status.code(), absl::StatusCode::kUnavailable) << out.status;
  ASSERT_EQ(ingest_.received().size(), 1u);
  EXPECT_EQ(ingest_.received()[0].batch_id, "a");
}

TEST_F(GrpcClientTest, BadSettingsAreRefusedAtCreate) {
  EXPECT_FALSE(GrpcClient::Create("no-port", {}).ok());
  EXPECT_FALSE(GrpcClient::Create("127.0.0.1:99999", {}).ok());
  // Plaintext to a non-loopback address needs the explicit development switch.
  auto s = GrpcClient::Create("ingest.example:443", {.prefix = "K8I_AGENT"});
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(s.status().message(), HasSubstr("K8I_AGENT_TLS"));
  EXPECT_TRUE(GrpcClient::Create("dns:///localhost:7001", {}).ok());
  EXPECT_TRUE(GrpcClient::Create("[::1]:7001", {}).ok());
}

}  // namespace
}  // namespace k8i::agent

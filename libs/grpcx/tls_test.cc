// TLS end to end against a throwaway PKI made at test time: real handshakes and real health
// RPCs through grpcx::Server, mTLS modes, the loopback-only plaintext rule, and the errors a
// bad configuration gets.
#include "libs/grpcx/tls.h"

#include <httplib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>

#include "gmock/gmock.h"
#include "gtest/gtest.h"
#include "libs/grpcx/health_client.h"
#include "libs/grpcx/server.h"
#include "libs/grpcx/testing/test_pki.h"
#include "libs/metrics/metrics_server.h"

namespace k8i::grpcx {
namespace {

using grpc::health::v1::HealthCheckResponse;
using ::testing::AllOf;
using ::testing::HasSubstr;

EnvReader::Getenv FromMap(std::map<std::string, std::string> env) {
  return [env = std::move(env)](const char* name) -> const char* {
    auto it = env.find(name);
    return it == env.end() ? nullptr : it->second.c_str();
  };
}

class TlsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = (std::filesystem::temp_directory_path() / ("k8i-tls-test-" + std::to_string(::getpid())))
               .string();
    auto pki = testing::CreateTestPki(dir_);
    ASSERT_TRUE(pki.ok()) << pki.status();
    pki_ = new testing::TestPki(*pki);
  }
  static void TearDownTestSuite() {
    std::filesystem::remove_all(dir_);
    delete pki_;
  }
  static const testing::TestPki& pki() { return *pki_; }

  // StartServer serves the health service (and nothing else) with `tls` on 127.0.0.1.
  std::unique_ptr<Server> StartServer(TlsServerConfig tls, std::string address = "127.0.0.1:0") {
    ServerOptions opts;
    opts.address = std::move(address);
    opts.tls = std::move(tls);
    auto server = std::make_unique<Server>(std::move(opts));
    absl::Status s = server->Start();
    EXPECT_TRUE(s.ok()) << s;
    return s.ok() ? std::move(server) : nullptr;
  }

  TlsServerConfig ServerTls(ClientAuth auth = ClientAuth::kNone) {
    return {.cert_file = pki().server_cert,
            .key_file = pki().server_key,
            .client_ca_file = auth == ClientAuth::kNone ? "" : pki().ca_cert,
            .client_auth = auth};
  }

  static absl::StatusOr<HealthCheckResponse::ServingStatus> Health(const std::string& host,
                                                                   int port,
                                                                   const TlsClientConfig& tls) {
    return CheckHealth(host + ":" + std::to_string(port), "", absl::Seconds(5), tls);
  }

  static std::string WriteFile(const std::string& name, const std::string& content) {
    const std::string path = dir_ + "/" + name;
    std::ofstream(path) << content;
    return path;
  }

  static std::string dir_;
  static testing::TestPki* pki_;
};

std::string TlsTest::dir_;
testing::TestPki* TlsTest::pki_ = nullptr;

TEST_F(TlsTest, HandshakeAndRpcWithTheRightCa) {
  auto server = StartServer(ServerTls());
  ASSERT_NE(server, nullptr);
  const TlsClientConfig client{.tls = true, .ca_file = pki().ca_cert};
  for (const char* host : {"localhost", "127.0.0.1"}) {
    auto st = Health(host, server->port(), client);
    ASSERT_TRUE(st.ok()) << host << ": " << st.status();
    EXPECT_EQ(*st, HealthCheckResponse::SERVING);
  }
}

TEST_F(TlsTest, WrongCaOrPlaintextClientFails) {
  auto server = StartServer(ServerTls());
  ASSERT_NE(server, nullptr);
  auto wrong_ca =
      Health("127.0.0.1", server->port(), {.tls = true, .ca_file = pki().other_ca_cert});
  EXPECT_EQ(wrong_ca.status().code(), absl::StatusCode::kUnavailable) << wrong_ca.status();
  auto plaintext = Health("127.0.0.1", server->port(), {});
  EXPECT_FALSE(plaintext.ok());
}

TEST_F(TlsTest, ServerNameMustMatchTheCertificateUnlessOverridden) {
  auto server = StartServer(ServerTls());
  ASSERT_NE(server, nullptr);
  auto mismatch = Health("127.0.0.1", server->port(),
                         {.tls = true, .ca_file = pki().ca_cert, .server_name = "ingest.example"});
  EXPECT_FALSE(mismatch.ok());
  auto matching = Health("127.0.0.1", server->port(),
                         {.tls = true, .ca_file = pki().ca_cert, .server_name = "localhost"});
  EXPECT_TRUE(matching.ok()) << matching.status();
}

TEST_F(TlsTest, RequiredClientAuthRejectsClientsWithoutACertFromTheCa) {
  auto server = StartServer(ServerTls(ClientAuth::kRequire));
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  auto no_cert = Health("127.0.0.1", port, {.tls = true, .ca_file = pki().ca_cert});
  EXPECT_FALSE(no_cert.ok());
  auto other_ca = Health("127.0.0.1", port,
                         {.tls = true,
                          .ca_file = pki().ca_cert,
                          .cert_file = pki().other_client_cert,
                          .key_file = pki().other_client_key});
  EXPECT_FALSE(other_ca.ok());
  auto good = Health("127.0.0.1", port,
                     {.tls = true,
                      .ca_file = pki().ca_cert,
                      .cert_file = pki().client_cert,
                      .key_file = pki().client_key});
  ASSERT_TRUE(good.ok()) << good.status();
  EXPECT_EQ(*good, HealthCheckResponse::SERVING);
}

TEST_F(TlsTest, OptionalClientAuthVerifiesOnlyPresentedCerts) {
  auto server = StartServer(ServerTls(ClientAuth::kOptional));
  ASSERT_NE(server, nullptr);
  const int port = server->port();
  EXPECT_TRUE(Health("127.0.0.1", port, {.tls = true, .ca_file = pki().ca_cert}).ok());
  EXPECT_TRUE(Health("127.0.0.1", port,
                     {.tls = true,
                      .ca_file = pki().ca_cert,
                      .cert_file = pki().client_cert,
                      .key_file = pki().client_key})
                  .ok());
  EXPECT_FALSE(Health("127.0.0.1", port,
                      {.tls = true,
                       .ca_file = pki().ca_cert,
                       .cert_file = pki().other_client_cert,
                       .key_file = pki().other_client_key})
                   .ok());
}

TEST_F(TlsTest, PlaintextIsRefusedOnNonLoopbackAddresses) {
  Server plaintext({.address = "0.0.0.0:0"});
  absl::Status s = plaintext.Start();
  EXPECT_EQ(s.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(s.message(), AllOf(HasSubstr("0.0.0.0:0"), HasSubstr("K8I_TLS_CERT_FILE")));

  absl::Status named = CheckListener("K8I_GRPC_ADDR", "[::]:7001", {});
  EXPECT_EQ(named.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(named.message(), HasSubstr("K8I_GRPC_ADDR"));
  EXPECT_TRUE(CheckListener("K8I_GRPC_ADDR", "127.0.0.1:7001", {}).ok());
  EXPECT_TRUE(CheckListener("K8I_GRPC_ADDR", "0.0.0.0:7001", ServerTls()).ok());

  // With TLS the wildcard address is fine, and loopback clients reach it.
  auto server = StartServer(ServerTls(), "0.0.0.0:0");
  ASSERT_NE(server, nullptr);
  EXPECT_TRUE(Health("127.0.0.1", server->port(), {.tls = true, .ca_file = pki().ca_cert}).ok());
}

TEST(TlsAddressTest, LoopbackClassification) {
  for (const char* a : {"127.0.0.1:7001", "localhost:1", "LOCALHOST:1", "[::1]:7001",
                        "127.8.9.10:1", "ipv4:127.0.0.1:5", "dns:///localhost:7000",
                        "unix:/run/k8i.sock", "[::ffff:127.0.0.1]:80"}) {
    EXPECT_TRUE(IsLoopbackAddress(a)) << a;
  }
  for (const char* a :
       {"0.0.0.0:7001", "[::]:7001", ":7001", "10.0.0.1:7001", "ingest.k8intel.svc:7001",
        "dns:///k8i-front:7000", "128.0.0.1:1", "localhost.evil.example:1"}) {
    EXPECT_FALSE(IsLoopbackAddress(a)) << a;
  }
}

absl::StatusOr<TlsServerConfig> Load(std::map<std::string, std::string> vars) {
  EnvReader env(FromMap(std::move(vars)));
  return LoadTlsServerConfig(env);
}

TEST_F(TlsTest, LoadServerConfigDefaultsAndModes) {
  auto off = Load({});
  ASSERT_TRUE(off.ok()) << off.status();
  EXPECT_FALSE(off->enabled());

  auto tls =
      Load({{"K8I_TLS_CERT_FILE", pki().server_cert}, {"K8I_TLS_KEY_FILE", pki().server_key}});
  ASSERT_TRUE(tls.ok()) << tls.status();
  EXPECT_TRUE(tls->enabled());
  EXPECT_EQ(tls->client_auth, ClientAuth::kNone);

  auto mtls = Load({{"K8I_TLS_CERT_FILE", pki().server_cert},
                    {"K8I_TLS_KEY_FILE", pki().server_key},
                    {"K8I_TLS_CLIENT_CA_FILE", pki().ca_cert}});
  ASSERT_TRUE(mtls.ok()) << mtls.status();
  EXPECT_EQ(mtls->client_auth, ClientAuth::kRequire);

  auto optional = Load({{"K8I_TLS_CERT_FILE", pki().server_cert},
                        {"K8I_TLS_KEY_FILE", pki().server_key},
                        {"K8I_TLS_CLIENT_CA_FILE", pki().ca_cert},
                        {"K8I_TLS_CLIENT_AUTH", "Optional"}});
  ASSERT_TRUE(optional.ok()) << optional.status();
  EXPECT_EQ(optional->client_auth, ClientAuth::kOptional);
}

TEST_F(TlsTest, BadServerConfigsNameTheVariable) {
  const std::string garbage = WriteFile("garbage.pem", "not a certificate\n");
  const std::string empty = WriteFile("empty.pem", "");
  struct Case {
    std::map<std::string, std::string> vars;
    std::string variable;
    std::string reason;
  };
  const std::vector<Case> cases = {
      {{{"K8I_TLS_CERT_FILE", dir_ + "/missing.crt"}, {"K8I_TLS_KEY_FILE", pki().server_key}},
       "K8I_TLS_CERT_FILE: cannot read",
       "No such file"},
      {{{"K8I_TLS_CERT_FILE", pki().server_cert}, {"K8I_TLS_KEY_FILE", dir_ + "/missing.key"}},
       "K8I_TLS_KEY_FILE: cannot read",
       "missing.key"},
      {{{"K8I_TLS_CERT_FILE", garbage}, {"K8I_TLS_KEY_FILE", pki().server_key}},
       "K8I_TLS_CERT_FILE",
       "no PEM certificate"},
      {{{"K8I_TLS_CERT_FILE", empty}, {"K8I_TLS_KEY_FILE", pki().server_key}},
       "K8I_TLS_CERT_FILE",
       "is empty"},
      {{{"K8I_TLS_CERT_FILE", pki().server_cert}, {"K8I_TLS_KEY_FILE", garbage}},
       "K8I_TLS_KEY_FILE",
       "no unencrypted PEM private key"},
      {{{"K8I_TLS_CERT_FILE", pki().server_cert}, {"K8I_TLS_KEY_FILE", pki().client_key}},
       "K8I_TLS_KEY_FILE",
       "does not match the certificate in K8I_TLS_CERT_FILE"},
      {{{"K8I_TLS_CERT_FILE", pki().expired_cert}, {"K8I_TLS_KEY_FILE", pki().expired_key}},
       "K8I_TLS_CERT_FILE",
       "has expired"},
      {{{"K8I_TLS_CERT_FILE", pki().server_cert}}, "K8I_TLS_KEY_FILE", "required"},
      {{{"K8I_TLS_KEY_FILE", pki().server_key}}, "K8I_TLS_CERT_FILE", "required"},
      {{{"K8I_TLS_CERT_FILE", pki().server_cert},
        {"K8I_TLS_KEY_FILE", pki().server_key},
        {"K8I_TLS_CLIENT_AUTH", "require"}},
       "K8I_TLS_CLIENT_CA_FILE",
       "required"},
      {{{"K8I_TLS_CERT_FILE", pki().server_cert},
        {"K8I_TLS_KEY_FILE", pki().server_key},
        {"K8I_TLS_CLIENT_CA_FILE", garbage}},
       "K8I_TLS_CLIENT_CA_FILE",
       "no PEM certificate"},
      {{{"K8I_TLS_CERT_FILE", pki().server_cert},
        {"K8I_TLS_KEY_FILE", pki().server_key},
        {"K8I_TLS_CLIENT_AUTH", "sometimes"}},
       "K8I_TLS_CLIENT_AUTH",
       "not none, optional or require"},
  };
  for (const auto& c : cases) {
    auto got = Load(c.vars);
    ASSERT_FALSE(got.ok()) << c.variable << " " << c.reason;
    EXPECT_EQ(got.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_THAT(got.status().message(), AllOf(HasSubstr(c.variable), HasSubstr(c.reason)));
  }
  // A server given such files directly refuses to start rather than serving without TLS.
  Server server({.tls = {.cert_file = pki().server_cert, .key_file = pki().client_key}});
  EXPECT_EQ(server.Start().code(), absl::StatusCode::kInvalidArgument);
}

TEST_F(TlsTest, ClientConfigFromEnvironment) {
  EnvReader env(FromMap({{"K8I_AGENT_TLS_CA_FILE", pki().ca_cert},
                         {"K8I_AGENT_TLS_CERT_FILE", pki().client_cert},
                         {"K8I_AGENT_TLS_KEY_FILE", pki().client_key},
                         {"K8I_AGENT_TLS_SERVER_NAME", "localhost"}}));
  TlsClientConfig c = ReadTlsClientConfig(env, "K8I_AGENT");
  ASSERT_TRUE(env.Finish().ok());
  EXPECT_TRUE(c.tls);  // implied by the files
  EXPECT_TRUE(ValidateTlsClientConfig(c, "ingest.example:443").ok());

  auto server = StartServer(ServerTls(ClientAuth::kRequire));
  ASSERT_NE(server, nullptr);
  auto st = Health("127.0.0.1", server->port(), c);
  EXPECT_TRUE(st.ok()) << st.status();
}

TEST_F(TlsTest, BadClientConfigsNameTheVariable) {
  const TlsClientConfig plain{.prefix = "K8I_AGENT"};
  EXPECT_TRUE(ValidateTlsClientConfig(plain, "127.0.0.1:7000").ok());
  absl::Status remote = ValidateTlsClientConfig(plain, "k8i-front.k8intel.svc:7000");
  EXPECT_EQ(remote.code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_THAT(remote.message(),
              AllOf(HasSubstr("K8I_AGENT_TLS"), HasSubstr("K8I_AGENT_INSECURE_PLAINTEXT")));
  TlsClientConfig insecure = plain;
  insecure.insecure_plaintext = true;
  EXPECT_TRUE(ValidateTlsClientConfig(insecure, "k8i-front.k8intel.svc:7000").ok());

  const TlsClientConfig half{.tls = true, .cert_file = pki().client_cert, .prefix = "K8I_AGENT"};
  EXPECT_THAT(ValidateTlsClientConfig(half, "x:1").message(),
              HasSubstr("K8I_AGENT_TLS_KEY_FILE: required with K8I_AGENT_TLS_CERT_FILE"));
  const TlsClientConfig mismatched{.tls = true,
                                   .cert_file = pki().client_cert,
                                   .key_file = pki().server_key,
                                   .prefix = "K8I_CLIENT"};
  EXPECT_THAT(ValidateTlsClientConfig(mismatched, "x:1").message(),
              HasSubstr("K8I_CLIENT_TLS_KEY_FILE: the key in"));
  const TlsClientConfig missing_ca{.tls = true, .ca_file = dir_ + "/nope.crt"};
  EXPECT_THAT(ValidateTlsClientConfig(missing_ca, "x:1").message(),
              HasSubstr("K8I_CLIENT_TLS_CA_FILE: cannot read"));
  const TlsClientConfig off_with_ca{.tls = false, .ca_file = pki().ca_cert};
  EXPECT_THAT(ValidateTlsClientConfig(off_with_ca, "127.0.0.1:1").message(),
              HasSubstr("K8I_CLIENT_TLS_CA_FILE: set while K8I_CLIENT_TLS is false"));
  // CheckHealth reports the configuration error instead of dialling.
  auto st = CheckHealth("10.1.2.3:7000", "", absl::Seconds(1), {});
  EXPECT_EQ(st.status().code(), absl::StatusCode::kFailedPrecondition);
}

TEST_F(TlsTest, MetricsListenerServesHttpsAndRefusesRemotePlaintext) {
  metrics::Registry registry;
  registry.AddCounter("tls_test_total", "Test.", {}).WithLabels({}).Inc();
  auto server = metrics::MetricsServer::Start("127.0.0.1:0", registry, MetricsTls(ServerTls()));
  ASSERT_TRUE(server.ok()) << server.status();

  httplib::SSLClient good("localhost", (*server)->port());
  good.set_ca_cert_path(pki().ca_cert.c_str());
  good.enable_server_certificate_verification(true);
  good.set_connection_timeout(std::chrono::seconds(2));
  auto res = good.Get("/metrics");
  ASSERT_TRUE(res) << httplib::to_string(res.error());
  EXPECT_EQ(res->status, 200);
  EXPECT_THAT(res->body, HasSubstr("tls_test_total 1"));

  httplib::SSLClient wrong("localhost", (*server)->port());
  wrong.set_ca_cert_path(pki().other_ca_cert.c_str());
  wrong.enable_server_certificate_verification(true);
  wrong.set_connection_timeout(std::chrono::seconds(2));
  EXPECT_FALSE(wrong.Get("/metrics"));

  httplib::Client plain("127.0.0.1", (*server)->port());
  plain.set_connection_timeout(std::chrono::seconds(2));
  plain.set_read_timeout(std::chrono::seconds(2));
  auto plain_res = plain.Get("/metrics");
  EXPECT_TRUE(!plain_res || plain_res->status != 200);

  auto remote = metrics::MetricsServer::Start("0.0.0.0:0", registry);
  EXPECT_EQ(remote.status().code(), absl::StatusCode::kFailedPrecondition);
  auto bad_files = metrics::MetricsServer::Start(
      "127.0.0.1:0", registry, {.cert_file = pki().server_cert, .key_file = pki().client_key});
  EXPECT_EQ(bad_files.status().code(), absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace k8i::grpcx

// KubeClient over TLS: kubeconfig with certificate-authority-data, a client certificate checked
// by the server, insecure-skip-tls-verify, a wrong CA refused; in-cluster configuration.
#include "tools/agent/kube/client.h"

#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <fstream>
#include <thread>

#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "gtest/gtest.h"

namespace k8i::agent::kube {
namespace {

struct KeyPair {
  std::string cert_pem, key_pem;
};

// SelfSigned makes a certificate for 127.0.0.1 that is also its own CA.
KeyPair SelfSigned(const char* cn) {
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 86400);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, reinterpret_cast<const unsigned char*>(cn),
                             -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, x, x, nullptr, nullptr, 0);
  for (auto [nid, value] : {std::pair{NID_subject_alt_name, "IP:127.0.0.1,DNS:localhost"},
                            std::pair{NID_basic_constraints, "critical,CA:TRUE"}}) {
    X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value);
    X509_add_ext(x, ext, -1);
    X509_EXTENSION_free(ext);
  }
  X509_sign(x, key, EVP_sha256());
  KeyPair out;
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, x);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  out.cert_pem.assign(data, static_cast<size_t>(n));
  BIO_free(b);
  b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, key, nullptr, nullptr, 0, nullptr, nullptr);
  n = BIO_get_mem_data(b, &data);
  out.key_pem.assign(data, static_cast<size_t>(n));
  BIO_free(b);
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

std::string Write(const std::string& name, const std::string& content) {
  const std::string path = absl::StrCat(::testing::TempDir(), "/", name, "-", ::getpid());
  std::ofstream(path) << content;
  return path;
}

class TlsApi {
 public:
  TlsApi(const KeyPair& server, const std::string& client_ca_path)
      : server_(Write("srv.crt", server.cert_pem).c_str(), Write("srv.key", server.key_pem).c_str(),
                client_ca_path.empty() ? nullptr : client_ca_path.c_str()) {
    server_.Get("/api/v1/namespaces", [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(req.get_header_value("Authorization"), "text/plain");
    });
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~TlsApi() {
    server_.stop();
    thread_.join();
  }
  int port() const { return port_; }

 private:
  httplib::SSLServer server_;
  int port_ = 0;
  std::thread thread_;
};

std::string Kubeconfig(int port, const std::string& cluster_extra, const std::string& user) {
  return Write("kubeconfig", absl::StrCat("current-context: c\ncontexts:\n- name: c\n  context:\n",
                                          "    cluster: k\n    user: u\nclusters:\n- name: k\n",
                                          "  cluster:\n    server: https://127.0.0.1:", port, "\n",
                                          cluster_extra, "users:\n- name: u\n  user:\n", user));
}

TEST(KubeClientTest, TlsWithCaDataTokenAndClientCertificate) {
  const KeyPair server = SelfSigned("apiserver");
  const KeyPair client = SelfSigned("k8i-agent");
  TlsApi api(server, Write("client-ca.crt", client.cert_pem));
  const std::string ca_data = absl::Base64Escape(server.cert_pem);
  auto cfg = LoadKubeconfig(Kubeconfig(
      api.port(), absl::StrCat("    certificate-authority-data: ", ca_data, "\n"),
      absl::StrCat(
          "    token: abc\n    client-certificate-data: ", absl::Base64Escape(client.cert_pem),
          "\n    client-key-data: ", absl::Base64Escape(client.key_pem), "\n")));
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_TRUE(cfg->https);
  auto c = KubeClient::Create(*cfg, absl::Seconds(5));
  ASSERT_TRUE(c.ok()) << c.status();
  auto res = (*c)->Get("/api/v1/namespaces");
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_EQ(res->status, 200);
  EXPECT_EQ(res->body, "Bearer abc");

  // Without the client certificate the server refuses the handshake.
  KubeConfig no_cert = *cfg;
  no_cert.client_cert_pem.clear();
  no_cert.client_key_pem.clear();
  auto c2 = KubeClient::Create(no_cert, absl::Seconds(5));
  ASSERT_TRUE(c2.ok());
  EXPECT_FALSE((*c2)->Get("/api/v1/namespaces").ok());
}

TEST(KubeClientTest, WrongCaRefusedInsecureAccepted) {
  const KeyPair server = SelfSigned("apiserver");
  TlsApi api(server, "");
  const KeyPair other = SelfSigned("someone-else");
  auto wrong = LoadKubeconfig(Kubeconfig(
      api.port(),
      absl::StrCat("    certificate-authority: ", Write("other-ca.crt", other.cert_pem), "\n"),
      "    token: abc\n"));
  ASSERT_TRUE(wrong.ok()) << wrong.status();
  auto c = KubeClient::Create(*wrong, absl::Seconds(5));
  ASSERT_TRUE(c.ok());
  auto res = (*c)->Get("/api/v1/namespaces");
  EXPECT_TRUE(absl::IsUnavailable(res.status())) << res.status();

  auto insecure = LoadKubeconfig(
      Kubeconfig(api.port(), "    insecure-skip-tls-verify: true\n", "    token: abc\n"));
  ASSERT_TRUE(insecure.ok());
  auto ci = KubeClient::Create(*insecure, absl::Seconds(5));
  ASSERT_TRUE(ci.ok());
  auto ok = (*ci)->Get("/api/v1/namespaces");
  ASSERT_TRUE(ok.ok()) << ok.status();
  EXPECT_EQ(ok->status, 200);
}

TEST(KubeClientTest, ConfigErrors) {
  EXPECT_FALSE(LoadKubeconfig("/nonexistent/kubeconfig").ok());
  EXPECT_FALSE(LoadKubeconfig(Write("bad-yaml", "{{{")).ok());
  EXPECT_FALSE(LoadKubeconfig(Write("no-ctx", "current-context: x\ncontexts: []\n")).ok());
  auto bad_server =
      LoadKubeconfig(Write("bad-server",
                           "current-context: c\ncontexts:\n- {name: c, context: {cluster: k}}\n"
                           "clusters:\n- {name: k, cluster: {server: \"ftp://x\"}}\n"));
  EXPECT_FALSE(bad_server.ok());
  KubeConfig c{.host = "h", .client_cert_pem = "x"};
  EXPECT_FALSE(KubeClient::Create(c, absl::Seconds(1)).ok());  // cert without key
  KubeConfig bad_ca{.host = "h", .ca_pem = "not a pem"};
  EXPECT_FALSE(KubeClient::Create(bad_ca, absl::Seconds(1)).ok());
}

TEST(KubeClientTest, ServerPathIsARequestPrefix) {
  struct Case {
    std::string server, host, prefix;
    int port;
  } cases[] = {
      {"https://proxy.example:8443/k8s/clusters/c-7x/", "proxy.example", "/k8s/clusters/c-7x",
       8443},
      {"http://127.0.0.1:6443/clusters/sim-0001", "127.0.0.1", "/clusters/sim-0001", 6443},
      {"https://[::1]/", "::1", "", 443},
      {"https://api.example", "api.example", "", 443},
  };
  for (const Case& c : cases) {
    auto cfg = LoadKubeconfig(
        Write("prefix", absl::StrCat("current-context: c\ncontexts:\n- {name: c, context: "
                                     "{cluster: k}}\nclusters:\n- {name: k, cluster: {server: \"",
                                     c.server, "\"}}\nusers: []\n")));
    ASSERT_TRUE(cfg.ok()) << c.server << ": " << cfg.status();
    EXPECT_EQ(cfg->host, c.host) << c.server;
    EXPECT_EQ(cfg->port, c.port) << c.server;
    EXPECT_EQ(cfg->path_prefix, c.prefix) << c.server;
  }
}

TEST(KubeClientTest, InClusterConfig) {
  auto none = InClusterConfig([](const char*) -> const char* { return nullptr; });
  EXPECT_TRUE(absl::IsNotFound(none.status()));
  const std::string dir = absl::StrCat(::testing::TempDir(), "/sa-", ::getpid());
  ASSERT_EQ(::mkdir(dir.c_str(), 0700) == 0 || errno == EEXIST, true);
  std::ofstream(dir + "/token") << "sa-token\n";
  std::ofstream(dir + "/ca.crt") << "CA";
  auto env = [](const char* name) -> const char* {
    if (std::string(name) == "KUBERNETES_SERVICE_HOST") return "10.96.0.1";
    if (std::string(name) == "KUBERNETES_SERVICE_PORT") return "443";
    return nullptr;
  };
  auto cfg = InClusterConfig(env, dir);
  ASSERT_TRUE(cfg.ok()) << cfg.status();
  EXPECT_EQ(cfg->host, "10.96.0.1");
  EXPECT_EQ(cfg->port, 443);
  EXPECT_EQ(cfg->token, "sa-token");
  EXPECT_EQ(cfg->token_file, dir + "/token");
  EXPECT_EQ(cfg->ca_pem, "CA");
}

}  // namespace
}  // namespace k8i::agent::kube

#include "tools/agent/kube/client.h"

#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"

namespace k8i::agent::kube {
namespace {

constexpr size_t kMaxLine = 64 << 20;  // one watch event; a huge ConfigMap can be ~1 MiB
// A plain GET (a list page, metrics.k8s.io) that takes longer than this is given up on.
constexpr absl::Duration kMaxGetTime = absl::Minutes(5);

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// ParseServer splits "https://host:port[/path]" (IPv6 in brackets) into the config. A path is
// kept as the prefix of every request (API servers behind a proxy: Rancher's
// /k8s/clusters/<id>, k8i-kubesim's /clusters/<name>).
absl::Status ParseServer(absl::string_view server, KubeConfig& c) {
  absl::string_view rest = server;
  if (absl::ConsumePrefix(&rest, "https://")) {
    c.https = true;
    c.port = 443;
  } else if (absl::ConsumePrefix(&rest, "http://")) {
    c.https = false;
    c.port = 80;
  } else {
    return absl::InvalidArgumentError(absl::StrCat("server \"", server, "\" is not http(s)://"));
  }
  if (const size_t slash = rest.find('/'); slash != absl::string_view::npos) {
    absl::string_view path = rest.substr(slash);
    while (absl::ConsumeSuffix(&path, "/")) {
    }
    c.path_prefix = std::string(path);
    rest = rest.substr(0, slash);
  }
  size_t colon = rest.rfind(':');
  if (absl::StartsWith(rest, "[")) {
    const size_t close = rest.find(']');
    if (close == absl::string_view::npos) return absl::InvalidArgumentError("bad IPv6 server");
    c.host = std::string(rest.substr(1, close - 1));
    colon = rest.size() > close + 1 && rest[close + 1] == ':' ? close + 1 : absl::string_view::npos;
  } else {
    c.host = std::string(rest.substr(0, colon));
  }
  if (colon != absl::string_view::npos &&
      (!absl::SimpleAtoi(rest.substr(colon + 1), &c.port) || c.port <= 0 || c.port > 65535)) {
    return absl::InvalidArgumentError(absl::StrCat("server \"", server, "\" has a bad port"));
  }
  if (c.host.empty()) return absl::InvalidArgumentError("server has no host");
  return absl::OkStatus();
}

// DataOrFile reads `<key>-data` (base64) or `<key>` (a path relative to `dir`).
absl::StatusOr<std::string> DataOrFile(const YAML::Node& n, const std::string& key,
                                       const std::string& dir) {
  if (n[key + "-data"]) {
    std::string out;
    if (!absl::Base64Unescape(n[key + "-data"].as<std::string>(), &out)) {
      return absl::InvalidArgumentError(absl::StrCat(key, "-data is not base64"));
    }
    return out;
  }
  if (n[key]) {
    std::string path = n[key].as<std::string>();
    if (!absl::StartsWith(path, "/")) path = absl::StrCat(dir, "/", path);
    return ReadFile(path);
  }
  return std::string();
}

YAML::Node Named(const YAML::Node& list, const std::string& name, const char* field) {
  if (!list.IsSequence()) return YAML::Node();
  for (const auto& item : list) {
    if (item["name"] && item["name"].as<std::string>() == name) return item[field];
  }
  return YAML::Node();
}

}  // namespace

absl::StatusOr<KubeConfig> InClusterConfig(const std::function<const char*(const char*)>& getenv,
                                           const std::string& sa_dir) {
  const char* host = getenv("KUBERNETES_SERVICE_HOST");
  const char* port = getenv("KUBERNETES_SERVICE_PORT");
  if (host == nullptr || *host == '\0' || port == nullptr) {
    return absl::NotFoundError("not in a Kubernetes pod (KUBERNETES_SERVICE_HOST unset)");
  }
  KubeConfig c;
  c.host = host;
  if (!absl::SimpleAtoi(port, &c.port)) {
    return absl::InvalidArgumentError("KUBERNETES_SERVICE_PORT is not a number");
  }
  c.token_file = sa_dir + "/token";
  auto token = ReadFile(c.token_file);
  if (!token.ok()) return token.status();
  c.token = std::string(absl::StripAsciiWhitespace(*token));
  auto ca = ReadFile(sa_dir + "/ca.crt");
  if (!ca.ok()) return ca.status();
  c.ca_pem = std::move(*ca);
  return c;
}

absl::StatusOr<KubeConfig> LoadKubeconfig(const std::string& path) {
  const std::string dir =
      path.substr(0, path.rfind('/') == std::string::npos ? 0 : path.rfind('/'));
  try {
    const YAML::Node root = YAML::LoadFile(path);
    const std::string current =
        root["current-context"] ? root["current-context"].as<std::string>() : "";
    const YAML::Node context = Named(root["contexts"], current, "context");
    if (!context) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": current-context \"", current, "\" not found"));
    }
    const std::string cluster_name = context["cluster"] ? context["cluster"].as<std::string>() : "";
    const std::string user_name = context["user"] ? context["user"].as<std::string>() : "";
    const YAML::Node cluster = Named(root["clusters"], cluster_name, "cluster");
    if (!cluster || !cluster["server"]) {
      return absl::InvalidArgumentError(
          absl::StrCat(path, ": cluster \"", cluster_name, "\" has no server"));
    }
    KubeConfig c;
    if (auto s = ParseServer(cluster["server"].as<std::string>(), c); !s.ok()) return s;
    c.insecure_skip_tls_verify =
        cluster["insecure-skip-tls-verify"] && cluster["insecure-skip-tls-verify"].as<bool>();
    auto ca = DataOrFile(cluster, "certificate-authority", dir);
    if (!ca.ok()) return ca.status();
    c.ca_pem = std::move(*ca);
    const YAML::Node user = Named(root["users"], user_name, "user");
    if (user) {
      if (user["token"]) c.token = user["token"].as<std::string>();
      if (user["tokenFile"]) c.token_file = user["tokenFile"].as<std::string>();
      auto cert = DataOrFile(user, "client-certificate", dir);
      if (!cert.ok()) return cert.status();
      auto key = DataOrFile(user, "client-key", dir);
      if (!key.ok()) return key.status();
      c.client_cert_pem = std::move(*cert);
      c.client_key_pem = std::move(*key);
    }
    return c;
  } catch (const YAML::Exception& e) {
    return absl::InvalidArgumentError(absl::StrCat(path, ": ", e.what()));
  }
}

KubeClient::KubeClient(KubeConfig config, absl::Duration timeout,
                       std::unique_ptr<net::HttpClient> http)
    : config_(std::move(config)), timeout_(timeout), http_(std::move(http)) {}

KubeClient::~KubeClient() = default;

absl::StatusOr<std::unique_ptr<KubeClient>> KubeClient::Create(KubeConfig config,
                                                               absl::Duration timeout) {
  if (config.host.empty()) return absl::InvalidArgumentError("no API server host");
  if (config.client_cert_pem.empty() != config.client_key_pem.empty()) {
    return absl::InvalidArgumentError("client certificate and key must be given together");
  }
  auto http = net::HttpClient::Create(config.https, config.host, config.port,
                                      {.ca_pem = config.ca_pem,
                                       .cert_pem = config.client_cert_pem,
                                       .key_pem = config.client_key_pem,
                                       .verify = !config.insecure_skip_tls_verify});
  if (!http.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat("bad TLS material (CA or client certificate/key): ", http.status().message()));
  }
  return std::unique_ptr<KubeClient>(new KubeClient(std::move(config), timeout, *std::move(http)));
}

net::HttpRequest KubeClient::NewRequest(const std::string& path,
                                        absl::Duration read_timeout) const {
  net::HttpRequest req{.target = config_.path_prefix + path,
                       .headers = {{"Accept", "application/json"}},
                       .connect_timeout = timeout_,
                       .read_timeout = read_timeout};
  std::string token = config_.token;
  if (!config_.token_file.empty()) {
    if (auto t = ReadFile(config_.token_file); t.ok()) {
      token = std::string(absl::StripAsciiWhitespace(*t));
    }
  }
  if (!token.empty()) req.headers.emplace_back("Authorization", absl::StrCat("Bearer ", token));
  return req;
}

absl::StatusOr<KubeClient::Response> KubeClient::Get(const std::string& path, size_t max_bytes) {
  Response out;
  bool too_big = false;
  net::HttpRequest req = NewRequest(path, timeout_);
  req.total_timeout = kMaxGetTime;
  absl::Status s = http_->Get(
      req, [&](int status) { out.status = status; },
      [&](absl::string_view data) {
        if (out.body.size() + data.size() > max_bytes) {
          too_big = true;
          return false;
        }
        out.body.append(data.data(), data.size());
        return true;
      });
  if (too_big) return absl::UnavailableError(absl::StrCat("GET ", path, ": body over limit"));
  if (absl::IsCancelled(s)) return s;
  if (!s.ok()) return absl::UnavailableError(absl::StrCat("GET ", path, ": ", s.message()));
  return out;
}

absl::StatusOr<int> KubeClient::Stream(const std::string& path, absl::Duration read_timeout,
                                       const std::function<bool(absl::string_view)>& on_line,
                                       std::string* error_body) {
  int status = 0;
  std::string buf;
  bool too_long = false;
  absl::Status s = http_->Get(
      NewRequest(path, read_timeout), [&](int st) { status = st; },
      [&](absl::string_view data) {
        if (status != 200) {
          if (error_body && error_body->size() < 64 << 10) {
            error_body->append(data.data(), data.size());
          }
          return true;
        }
        buf.append(data.data(), data.size());
        size_t start = 0;
        for (size_t nl; (nl = buf.find('\n', start)) != std::string::npos; start = nl + 1) {
          if (!on_line(absl::string_view(buf).substr(start, nl - start))) return false;
        }
        buf.erase(0, start);
        too_long = buf.size() > kMaxLine;
        return !too_long;
      });
  if (absl::IsCancelled(s)) return absl::CancelledError("client cancelled");
  if (too_long) return absl::UnavailableError(absl::StrCat("watch ", path, ": line over limit"));
  if (!s.ok() && status == 0) {
    return absl::UnavailableError(absl::StrCat("GET ", path, ": ", s.message()));
  }
  // The stream broke after the status line (connection dropped mid-stream).
  if (!s.ok()) return absl::UnavailableError(absl::StrCat("watch ", path, " broke: ", s.message()));
  return status;
}

void KubeClient::Cancel() { http_->Cancel(); }

}  // namespace k8i::agent::kube

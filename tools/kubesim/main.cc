// k8i-kubesim: a simulated Kubernetes cluster for the embedded default, the end-to-end tests and
// fleet benchmarks. See docs/kubesim.md.
//
//   k8i-kubesim serve --scenario FILE --state-dir DIR [--speed 60] [--clusters 1000]
//   k8i-kubesim check FILE...
//   k8i-kubesim run FILE --for 2h
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

#include <openssl/evp.h>

#include "CLI/CLI.hpp"
#include "absl/strings/escaping.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "libs/common/clock.h"
#include "libs/common/files.h"
#include "libs/common/ids.h"
#include "libs/common/logging.h"
#include "libs/common/process.h"
#include "libs/crypto/x509.h"
#include "tools/kubesim/api/server.h"
#include "tools/kubesim/sim_cluster.h"

namespace k8i::kubesim {
namespace {

int Fail(const std::string& what) {
  Logger("kubesim")->error("{}", what);
  return 1;
}

absl::StatusOr<Scenario> LoadScenario(const std::string& path) {
  std::ifstream in(path);
  if (!in) return absl::NotFoundError(absl::StrCat("cannot read scenario ", path));
  std::stringstream ss;
  ss << in.rdbuf();
  auto s = ParseScenario(ss.str());
  if (!s.ok()) return absl::InvalidArgumentError(absl::StrCat(path, ": ", s.status().message()));
  return s;
}

absl::StatusOr<absl::Duration> ParseFlagDuration(const std::string& text) {
  absl::Duration d;
  if (!absl::ParseDuration(text, &d) || d < absl::ZeroDuration()) {
    return absl::InvalidArgumentError(absl::StrCat("\"", text, "\" is not a duration"));
  }
  return d;
}

// TlsSecretIssuer signs the certificates of the scenario's TLS Secrets with a CA made at
// start. The facts the agent reads (names, notBefore, notAfter) come from the scenario; the
// keys are random and never leave the process.
class TlsSecretIssuer {
 public:
  absl::Status Init() {
    const absl::Time now = absl::Now();
    auto ca = crypto::IssueCertificate({.common_name = "kubesim simulated issuer",
                                        .ca = true,
                                        .not_before = now - absl::Hours(24 * 365),
                                        .not_after = now + absl::Hours(24 * 3650)});
    if (!ca.ok()) return ca.status();
    ca_ = *std::move(ca);
    return absl::OkStatus();
  }
  std::string Issue(const TlsCertSpec& spec) const {
    std::vector<std::string> sans;
    for (const std::string& d : spec.dns_names) sans.push_back("DNS:" + d);
    auto kc = crypto::IssueCertificate({.common_name = spec.common_name,
                                        .organization = "kubesim",
                                        .subject_alt_names = absl::StrJoin(sans, ","),
                                        .not_before = spec.not_before,
                                        .not_after = spec.not_after,
                                        .serial = static_cast<long>(spec.seed & 0x7fffffff) + 1},
                                       &ca_);
    if (!kc.ok()) {
      Logger("kubesim")->warn("certificate for {}: {}", spec.common_name, kc.status().ToString());
      return "";
    }
    return kc->cert_pem;
  }

 private:
  crypto::KeyAndCert ca_;
};

std::string Kubeconfig(const std::string& server, const std::string& ca_pem,
                       const std::string& token, const std::string& name) {
  std::string out = absl::StrCat("apiVersion: v1\nkind: Config\ncurrent-context: ", name,
                                 "\ncontexts:\n- name: ", name, "\n  context:\n    cluster: ",
                                 name, "\n    user: kubesim\nclusters:\n- name: ", name,
                                 "\n  cluster:\n    server: ", server, "\n");
  if (!ca_pem.empty()) {
    absl::StrAppend(&out, "    certificate-authority-data: ", absl::Base64Escape(ca_pem), "\n");
  }
  absl::StrAppend(&out, "users:\n- name: kubesim\n  user:\n    token: ", token, "\n");
  return out;
}

void RaiseFileLimit() {
  rlimit r{};
  if (getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }
}

struct ServeFlags {
  std::string scenario, state_dir, listen = "127.0.0.1:0", kubelet_listen = "127.0.0.1:0";
  double speed = 1;
  int64_t seed = -1;
  int clusters = 1, distinct = 1;
  std::string token_file;
  bool plaintext = false;
  std::string bookmark_interval = "1m", max_watch = "30m";
  size_t history = 10000;
};

int Serve(const ServeFlags& f) {
  auto log = Logger("kubesim");
  auto scenario = LoadScenario(f.scenario);
  if (!scenario.ok()) return Fail(std::string(scenario.status().message()));
  if (f.seed >= 0) scenario->seed = static_cast<uint64_t>(f.seed);
  auto bookmark = ParseFlagDuration(f.bookmark_interval);
  auto max_watch = ParseFlagDuration(f.max_watch);
  if (!bookmark.ok() || !max_watch.ok()) return Fail("bad --bookmark-interval or --max-watch");
  RaiseFileLimit();

  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGTERM);
  sigaddset(&stop_signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  std::error_code ec;
  std::filesystem::create_directories(f.state_dir + "/clusters", ec);
  if (ec) return Fail(absl::StrCat("create --state-dir ", f.state_dir, ": ", ec.message()));
  const std::string ready_file = f.state_dir + "/kubesim.ready";
  std::remove(ready_file.c_str());

  std::string token;
  if (!f.token_file.empty()) {
    std::ifstream in(f.token_file);
    std::getline(in, token);
    if (token.empty()) return Fail("--token-file " + f.token_file + " is empty or unreadable");
  } else {
    token = RandomToken(32);
    if (auto s = WriteFileAtomically(f.state_dir + "/token", token + "\n", 0600); !s.ok()) {
      return Fail(std::string(s.message()));
    }
  }

  // The serving certificate: a CA and a localhost certificate made at every start.
  ServerOptions api;
  api.listen = f.listen;
  api.token = token;
  api.bookmark_interval = *bookmark;
  api.max_watch = *max_watch;
  std::string ca_pem;
  if (!f.plaintext) {
    const absl::Time now = absl::Now();
    auto ca = crypto::IssueCertificate({.common_name = "kubesim CA",
                                        .ca = true,
                                        .not_before = now - absl::Hours(1),
                                        .not_after = now + absl::Hours(24 * 365)});
    if (!ca.ok()) return Fail(std::string(ca.status().message()));
    auto leaf = crypto::IssueCertificate({.common_name = "kubesim",
                                          .subject_alt_names =
                                              "DNS:localhost,IP:127.0.0.1,IP:::1,DNS:kubernetes",
                                          .not_before = now - absl::Hours(1),
                                          .not_after = now + absl::Hours(24 * 365),
                                          .serial = 2},
                                         &*ca);
    if (!leaf.ok()) return Fail(std::string(leaf.status().message()));
    ca_pem = ca->cert_pem;
    api.tls = {f.state_dir + "/server.crt", f.state_dir + "/server.key"};
    for (auto s : {WriteFileAtomically(f.state_dir + "/ca.crt", ca->cert_pem),
                   WriteFileAtomically(api.tls.cert_file, leaf->cert_pem),
                   WriteFileAtomically(api.tls.key_file, leaf->key_pem, 0600)}) {
      if (!s.ok()) return Fail(std::string(s.message()));
    }
  }

  TlsSecretIssuer issuer;
  if (auto s = issuer.Init(); !s.ok()) return Fail(std::string(s.message()));
  const absl::Time start = absl::Now();
  std::vector<std::unique_ptr<SimCluster>> sims;
  const int distinct = std::max(1, std::min(f.distinct, f.clusters));
  for (int i = 0; i < distinct; ++i) {
    Scenario s = *scenario;
    s.seed += static_cast<uint64_t>(i);
    SimOptions o{.origin = start,
                 .speed = f.speed,
                 .make_tls_crt = [&issuer](const TlsCertSpec& spec) { return issuer.Issue(spec); }};
    sims.push_back(std::make_unique<SimCluster>(std::move(s), std::move(o),
                                                StoreOptions{.history = f.history}));
    sims.back()->Start();
  }
  std::map<std::string, const ClusterView*> views{{"", sims[0].get()}};
  std::vector<std::string> names;
  if (f.clusters > 1) {
    for (int i = 0; i < f.clusters; ++i) {
      names.push_back(absl::StrFormat("%s-%04d", scenario->name, i + 1));
      views[names.back()] = sims[static_cast<size_t>(i % distinct)].get();
    }
  }
  auto server = ApiServer::Start(api, views);
  if (!server.ok()) return Fail(std::string(server.status().message()));
  ServerOptions kubelet;
  kubelet.mode = ServerOptions::Mode::kKubelet;
  kubelet.listen = f.kubelet_listen;
  auto kubelet_server = ApiServer::Start(kubelet, views);
  if (!kubelet_server.ok()) return Fail(std::string(kubelet_server.status().message()));

  const std::string base =
      absl::StrCat(f.plaintext ? "http" : "https", "://127.0.0.1:", (*server)->port());
  const std::string kubelet_base = absl::StrCat("http://127.0.0.1:", (*kubelet_server)->port());
  std::vector<std::pair<std::string, std::string>> files = {
      {f.state_dir + "/kubeconfig", Kubeconfig(base, ca_pem, token, scenario->name)},
      {f.state_dir + "/kubelet.url", kubelet_base + "/metrics\n"},
  };
  for (const std::string& n : names) {
    files.push_back({absl::StrCat(f.state_dir, "/clusters/", n, ".kubeconfig"),
                     Kubeconfig(absl::StrCat(base, "/clusters/", n), ca_pem, token, n)});
    files.push_back({absl::StrCat(f.state_dir, "/clusters/", n, ".kubelet.url"),
                     absl::StrCat(kubelet_base, "/clusters/", n, "/metrics\n")});
  }
  for (const auto& [path, content] : files) {
    if (auto s = WriteFileAtomically(path, content, 0600); !s.ok()) {
      return Fail(std::string(s.message()));
    }
  }

  std::vector<SimCluster*> run;
  for (auto& s : sims) run.push_back(s.get());
  const absl::Duration step = std::clamp(scenario->tick / f.speed, absl::Milliseconds(100),
                                         absl::Seconds(1));
  Runner runner(run, RealClock::Instance(), start, f.speed, step);
  runner.Start();
  if (auto s = WriteFileAtomically(ready_file, base + "\n"); !s.ok()) {
    return Fail(std::string(s.message()));
  }
  log->info(
      "k8i-kubesim ready: scenario={} api={} kubelet={} speed={}x clusters={} (distinct {}) "
      "kubeconfig={}/kubeconfig",
      scenario->name, base, kubelet_base, f.speed, f.clusters, distinct, f.state_dir);
  int sig = 0;
  sigwait(&stop_signals, &sig);
  log->info("k8i-kubesim: signal {}, stopping", sig);
  std::remove(ready_file.c_str());
  return 0;
}

int Check(const std::vector<std::string>& files) {
  int bad = 0;
  for (const std::string& path : files) {
    auto s = LoadScenario(path);
    if (!s.ok()) {
      std::cerr << s.status().message() << "\n";
      ++bad;
      continue;
    }
    int nodes = 0;
    for (const NodeGroup& g : s->nodes) nodes += g.count;
    std::cout << "ok: " << path << ": scenario " << s->name << ", " << nodes << " nodes, "
              << s->workloads.size() << " workloads, " << s->happenings.size() << " happenings\n";
  }
  return bad == 0 ? 0 : 2;
}

// DigestSink hashes every call in order: equal digests mean equal runs.
class DigestSink final : public ObjectSink {
 public:
  DigestSink() : ctx_(EVP_MD_CTX_new()) { EVP_DigestInit_ex(ctx_, EVP_sha256(), nullptr); }
  ~DigestSink() override { EVP_MD_CTX_free(ctx_); }
  void Put(const std::string& resource, nlohmann::json object) override {
    Add(absl::StrCat("PUT ", resource, " ", object.dump(), "\n"));
    ++puts_[resource];
  }
  void Delete(const std::string& resource, const std::string& ns,
              const std::string& name) override {
    Add(absl::StrCat("DELETE ", resource, " ", ns, "/", name, "\n"));
    ++deletes_[resource];
  }
  void SetForbidden(const std::string& resource, bool forbidden) override {
    Add(absl::StrCat("FORBID ", resource, " ", forbidden, "\n"));
  }
  void Compact() override { Add("COMPACT\n"); }
  std::string Hex() {
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    EVP_DigestFinal_ex(ctx_, md, &n);
    return absl::BytesToHexString(absl::string_view(reinterpret_cast<char*>(md), n));
  }
  std::map<std::string, int> puts_, deletes_;

 private:
  void Add(const std::string& s) { EVP_DigestUpdate(ctx_, s.data(), s.size()); }
  EVP_MD_CTX* ctx_;
};

int Run(const std::string& path, const std::string& for_text, int64_t seed,
        const std::string& origin_text) {
  auto scenario = LoadScenario(path);
  if (!scenario.ok()) {
    std::cerr << scenario.status().message() << "\n";
    return 2;
  }
  if (seed >= 0) scenario->seed = static_cast<uint64_t>(seed);
  auto until = ParseFlagDuration(for_text);
  absl::Time origin;
  std::string err;
  if (!until.ok() || !absl::ParseTime(absl::RFC3339_full, origin_text, &origin, &err)) {
    std::cerr << "bad --for or --origin\n";
    return 2;
  }
  DigestSink sink;
  // Certificates are left out: their keys are random, so their bytes would differ per run.
  Simulation sim(*std::move(scenario), SimOptions{.origin = origin, .speed = 1}, sink);
  sim.Start();
  sim.AdvanceTo(*until);
  for (const std::string& line : sim.Log()) std::cout << line << "\n";
  for (const auto& [resource, n] : sink.puts_) {
    std::cout << "writes " << resource << " " << n << " (deletes " << sink.deletes_[resource]
              << ")\n";
  }
  std::cout << "digest " << sink.Hex() << "\n";
  return 0;
}

}  // namespace
}  // namespace k8i::kubesim

int main(int argc, char** argv) {
  k8i::ApplyProcessDefaults();
  CLI::App app{"k8i-kubesim: a simulated Kubernetes cluster (API server, metrics.k8s.io, kubelet "
               "metrics) driven by a scenario"};
  app.require_subcommand(1);
  std::string log_level = "info";
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error")->capture_default_str();

  k8i::kubesim::ServeFlags f;
  auto* serve = app.add_subcommand("serve", "serve a scenario until SIGTERM");
  serve->add_option("--scenario", f.scenario, "scenario YAML (docs/kubesim.md)")->required();
  serve->add_option("--state-dir", f.state_dir,
                    "where kubeconfig, ca.crt, token, kubelet.url and kubesim.ready are written")
      ->required();
  serve->add_option("--listen", f.listen, "API server address")->capture_default_str();
  serve->add_option("--kubelet-listen", f.kubelet_listen, "kubelet metrics address (plaintext)")
      ->capture_default_str();
  serve->add_option("--speed", f.speed, "scenario seconds per real second")
      ->capture_default_str()
      ->check(CLI::Range(0.01, 10000.0));
  serve->add_option("--seed", f.seed, "override the scenario's seed");
  serve->add_option("--clusters", f.clusters, "scale mode: clusters served under /clusters/<name>")
      ->capture_default_str()
      ->check(CLI::Range(1, 100000));
  serve->add_option("--distinct", f.distinct,
                    "scale mode: distinct simulations (seed, seed+1, ...) the clusters share")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  serve->add_option("--token-file", f.token_file, "bearer token to require (default: generated)");
  serve->add_flag("--plaintext", f.plaintext, "HTTP instead of HTTPS (loopback only)");
  serve->add_option("--bookmark-interval", f.bookmark_interval, "watch bookmark period")
      ->capture_default_str();
  serve->add_option("--max-watch", f.max_watch, "longest watch before the server ends it")
      ->capture_default_str();
  serve->add_option("--history", f.history, "changes kept per resource for watches")
      ->capture_default_str();

  std::vector<std::string> check_files;
  auto* check = app.add_subcommand("check", "validate scenario files");
  check->add_option("files", check_files, "scenario YAML files")->required();

  std::string run_file, run_for = "1h", run_origin = "2026-01-01T00:00:00Z";
  int64_t run_seed = -1;
  auto* run = app.add_subcommand(
      "run", "run a scenario offline (no server) and print its happenings and a digest");
  run->add_option("file", run_file, "scenario YAML")->required();
  run->add_option("--for", run_for, "scenario time to run")->capture_default_str();
  run->add_option("--seed", run_seed, "override the scenario's seed");
  run->add_option("--origin", run_origin, "object time of offset 0 (RFC 3339)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  k8i::InitLogging(log_level, /*json=*/false);
  if (*serve) return k8i::kubesim::Serve(f);
  if (*check) return k8i::kubesim::Check(check_files);
  return k8i::kubesim::Run(run_file, run_for, run_seed, run_origin);
}

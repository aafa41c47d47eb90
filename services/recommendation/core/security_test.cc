#include "services/recommendation/core/security.h"

#include <functional>
#include <set>

#include "absl/strings/match.h"
#include "gtest/gtest.h"
#include "services/recommendation/core/facts.h"

namespace k8i::recommendation {
namespace {

namespace v1 = ::k8intel::v1;

// A pod every check passes: non-root, limits, a pinned version, no host access.
v1::KubeObject GoodPod(const std::string& name = "web-a") {
  v1::KubeObject o;
  auto* p = o.mutable_pod();
  p->mutable_meta()->set_name(name);
  p->mutable_meta()->set_namespace_("shop");
  p->set_phase("Running");
  p->set_workload_kind("Deployment");
  p->set_workload_name("web");
  p->mutable_security()->mutable_security_context()->set_run_as_non_root(true);
  auto* c = p->add_specs();
  c->set_name("app");
  c->set_image("registry.example.com:5000/shop/web:2.3.1");
  c->mutable_resources()->mutable_requests()->set_memory_bytes(256LL << 20);
  c->mutable_resources()->mutable_limits()->set_memory_bytes(512LL << 20);
  return o;
}

std::vector<Advice> Check(const std::vector<v1::KubeObject>& pods) {
  std::vector<StoredObject> objects;
  for (const auto& o : pods) {
    auto f = FactsOf(o);
    objects.push_back({f->kind, f->ns, f->name, f->facts});
  }
  return SecurityAdvice("prod", objects);
}

std::set<std::string> Rules(const std::vector<Advice>& advice) {
  std::set<std::string> out;
  for (const auto& a : advice) out.insert(a.rule);
  return out;
}

TEST(SecurityTest, EachCheckFindsItsCaseAndOnlyIt) {
  struct Case {
    std::string name;
    std::function<void(v1::Pod&)> change;
    std::set<std::string> rules;
    Severity severity = Severity::kWarning;
    std::string title_has, command_has;
  };
  auto sc = [](v1::Pod& p) { return p.mutable_specs(0)->mutable_security_context(); };
  const std::vector<Case> cases = {
      {"good", [](v1::Pod&) {}, {}},
      {"privileged", [&](v1::Pod& p) { sc(p)->set_privileged(true); }, {"privileged-container"},
       Severity::kWarning, "Deployment shop/web container app runs privileged",
       R"(kubectl patch deployment/web -n shop --type=strategic -p '{"spec":{"template":{"spec":{"containers":[{"name":"app","securityContext":{"privileged":false}}]}}}}')"},
      {"root on the pod",
       [](v1::Pod& p) {
         p.mutable_security()->mutable_security_context()->clear_run_as_non_root();
         p.mutable_security()->mutable_security_context()->set_run_as_user(0);
       },
       {"runs-as-root"}, Severity::kWarning, "runs as root", "\"runAsNonRoot\":true"},
      {"container user wins over the pod's", [&](v1::Pod& p) {
         p.mutable_security()->mutable_security_context()->clear_run_as_non_root();
         p.mutable_security()->mutable_security_context()->set_run_as_user(0);
         sc(p)->set_run_as_user(1000);
       },
       {}},
      {"nothing set",
       [](v1::Pod& p) { p.mutable_security()->clear_security_context(); },
       {"runs-as-root"}, Severity::kInfo, "may run as root", "runAsUser"},
      {"older agent: no security reported", [](v1::Pod& p) { p.clear_security(); }, {}},
      {"no limits",
       [](v1::Pod& p) { p.mutable_specs(0)->mutable_resources()->clear_limits(); },
       {"no-limits"}, Severity::kWarning, "has no resource limits",
       "kubectl set resources deployment/web -n shop -c app --limits=memory=512Mi"},
      {"latest", [](v1::Pod& p) { p.mutable_specs(0)->set_image("nginx:latest"); },
       {"mutable-image-tag"}, Severity::kWarning, "(nginx:latest)",
       "kubectl set image deployment/web -n shop app=nginx@sha256:<digest>"},
      {"no tag behind a registry port",
       [](v1::Pod& p) { p.mutable_specs(0)->set_image("registry:5000/web"); },
       {"mutable-image-tag"}, Severity::kWarning, "", "app=registry:5000/web@sha256"},
      {"pinned by digest", [](v1::Pod& p) { p.mutable_specs(0)->set_image("nginx@sha256:0123"); },
       {}},
      {"a harmless capability", [&](v1::Pod& p) { sc(p)->add_capabilities_add("NET_BIND_SERVICE"); },
       {"added-capabilities"}, Severity::kInfo, "adds capabilities NET_BIND_SERVICE",
       R"("capabilities":{"add":null,"drop":["ALL"]})"},
      {"a host capability", [&](v1::Pod& p) { sc(p)->add_capabilities_add("SYS_ADMIN"); },
       {"added-capabilities"}, Severity::kWarning, "SYS_ADMIN", ""},
      {"a host capability by its kernel name",
       [&](v1::Pod& p) { sc(p)->add_capabilities_add("cap_net_admin"); },
       {"added-capabilities"}, Severity::kWarning, "cap_net_admin", ""},
      {"host network and pid",
       [](v1::Pod& p) {
         p.mutable_security()->set_host_network(true);
         p.mutable_security()->set_host_pid(true);
       },
       {"host-namespaces"}, Severity::kWarning, "shares the node's network, pid namespaces",
       R"("hostNetwork":false,"hostPID":false)"},
      {"hostPath",
       [](v1::Pod& p) {
         auto* v = p.add_volumes();
         v->set_name("sock");
         v->set_type("hostPath");
         v->set_source("/var/run/docker.sock");
       },
       {"hostpath-mount"}, Severity::kWarning, "sock -> /var/run/docker.sock", "readOnly"},
      {"secret in env",
       [](v1::Pod& p) {
         auto* e = p.add_env_sources();
         e->set_kind("Secret");
         e->set_name("db-password");
       },
       {"secret-in-env"}, Severity::kInfo, "reads Secret db-password as environment variables",
       "as a readOnly volume"},
      {"kube-system is left out",
       [&](v1::Pod& p) {
         p.mutable_meta()->set_namespace_("kube-system");
         sc(p)->set_privileged(true);
       },
       {}},
      {"mirror pods are left out",
       [&](v1::Pod& p) {
         p.mutable_scheduling()->set_mirror(true);
         sc(p)->set_privileged(true);
       },
       {}},
      {"a bare pod is fixed in its manifest",
       [&](v1::Pod& p) {
         p.clear_workload_kind();
         p.clear_workload_name();
         sc(p)->set_privileged(true);
       },
       {"privileged-container"}, Severity::kWarning, "Pod shop/web-a container app",
       "# a pod is immutable: set securityContext.privileged: false in the manifest of Pod shop/web-a"},
      {"a CronJob is patched in its job template",
       [&](v1::Pod& p) {
         p.set_workload_kind("CronJob");
         p.set_workload_name("report");
         sc(p)->set_privileged(true);
       },
       {"privileged-container"}, Severity::kWarning, "",
       R"(kubectl patch cronjob/report -n shop --type=strategic -p '{"spec":{"jobTemplate":{"spec":{"template":)"},
  };
  for (const Case& c : cases) {
    v1::KubeObject o = GoodPod();
    c.change(*o.mutable_pod());
    const auto advice = Check({o});
    EXPECT_EQ(Rules(advice), c.rules) << c.name;
    if (advice.size() != 1) continue;
    const Advice& a = advice[0];
    EXPECT_EQ(a.kind, "security") << c.name;
    EXPECT_EQ(a.severity, c.severity) << c.name;
    EXPECT_TRUE(absl::StrContains(a.title, c.title_has)) << c.name << ": " << a.title;
    EXPECT_TRUE(absl::StrContains(a.command, c.command_has)) << c.name << ": " << a.command;
    EXPECT_FALSE(a.arithmetic.empty()) << c.name;
    EXPECT_FALSE(a.evidence.empty()) << c.name;
  }
}

TEST(SecurityTest, OneAdvicePerWorkloadContainerAndRule) {
  std::vector<v1::KubeObject> pods;
  for (const char* name : {"web-c", "web-a", "web-b"}) {
    v1::KubeObject o = GoodPod(name);
    o.mutable_pod()->mutable_specs(0)->mutable_security_context()->set_privileged(true);
    auto* v = o.mutable_pod()->add_volumes();
    v->set_name("logs");
    v->set_type("hostPath");
    v->set_source("/var/log");
    pods.push_back(o);
  }
  const auto advice = Check(pods);
  ASSERT_EQ(advice.size(), 2u);
  for (const Advice& a : advice) {
    EXPECT_EQ(a.evidence.back(), "3 pod(s), e.g. web-a") << a.rule;
    EXPECT_EQ(a.subject.kind, "Deployment");
    EXPECT_EQ(a.subject.name, "web");
  }
  EXPECT_EQ(advice[0].Fingerprint(), "security/prod/Deployment/shop/web//hostpath-mount");
  EXPECT_EQ(advice[1].Fingerprint(), "security/prod/Deployment/shop/web/app/privileged-container");
  // /var/log is not among the sensitive paths; the docker socket is.
  EXPECT_EQ(advice[0].evidence.size(), 2u);
}

}  // namespace
}  // namespace k8i::recommendation

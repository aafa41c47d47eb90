#include "services/ingest/core/prom_identity.h"

#include "gtest/gtest.h"

namespace k8i::ingest {
namespace {

struct Case {
  const char* name;
  PromLabels labels;
  const char* want;  // node/namespace/pod/uid/container/kind/workload/pvc
  std::vector<std::string> consumed;
};

std::string Flat(const k8intel::v1::ResourceRef& r) {
  return r.node_name() + "/" + r.namespace_name() + "/" + r.pod_name() + "/" + r.pod_uid() + "/" +
         r.container_name() + "/" + r.workload_kind() + "/" + r.workload_name() + "/" +
         r.pvc_name();
}

TEST(PromIdentityTest, MapsKubernetesLabels) {
  const std::vector<Case> cases = {
      {"cadvisor container",
       {{"container", "app"}, {"instance", "10.0.0.5:10250"}, {"namespace", "shop"},
        {"pod", "web-1"}},
       "/shop/web-1//app///",
       {"namespace", "pod", "container"}},
      {"pause container is the pod",
       {{"container", "POD"}, {"namespace", "shop"}, {"pod", "web-1"}},
       "/shop/web-1/////",
       {"namespace", "pod", "container"}},
      {"kube-state-metrics pod with uid and node",
       {{"namespace", "shop"}, {"node", "n1"}, {"pod", "db-0"}, {"uid", "u-1"}},
       "n1/shop/db-0/u-1////",
       {"namespace", "pod", "uid", "node"}},
      {"uid without pod stays a label",
       {{"namespace", "shop"}, {"uid", "u-1"}},
       "/shop//////",
       {"namespace"}},
      {"deployment",
       {{"deployment", "web"}, {"namespace", "shop"}},
       "/shop////Deployment/web/",
       {"namespace", "deployment"}},
      {"job_name is a Job",
       {{"job", "kube-state-metrics"}, {"job_name", "backup"}, {"namespace", "ops"}},
       "/ops////Job/backup/",
       {"namespace", "job_name"}},
      {"pvc",
       {{"namespace", "shop"}, {"persistentvolumeclaim", "data-db-0"}},
       "/shop//////data-db-0",
       {"namespace", "persistentvolumeclaim"}},
      {"node_exporter: instance is the node",
       {{"instance", "node-1:9100"}, {"job", "node"}},
       "node-1///////",
       {}},
      {"instance ignored beside a namespace",
       {{"instance", "10.0.0.9:8080"}, {"namespace", "shop"}},
       "/shop//////",
       {"namespace"}},
      {"empty values are absent",
       {{"namespace", ""}, {"node", ""}, {"instance", "h:1"}},
       "h///////",
       {}},
  };
  for (const auto& c : cases) {
    std::vector<std::string> consumed;
    EXPECT_EQ(Flat(PromIdentity(c.labels, &consumed)), c.want) << c.name;
    EXPECT_EQ(consumed, c.consumed) << c.name;
  }
}

TEST(PromIdentityTest, InstanceHost) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"10.0.0.1:9100", "10.0.0.1"}, {"[::1]:9100", "::1"}, {"node-1", "node-1"},
      {"fe80::1", "fe80::1"},        {"host:", "host"},      {"", ""}};
  for (const auto& [in, want] : cases) EXPECT_EQ(InstanceHost(in), want) << in;
}

}  // namespace
}  // namespace k8i::ingest

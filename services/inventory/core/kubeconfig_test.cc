// ValidateKubeconfig accepts complete kubeconfigs and names what is missing otherwise; sealed
// kubeconfigs open only for the tenant and cluster they were sealed for.
#include "services/inventory/core/kubeconfig.h"

#include "absl/strings/escaping.h"
#include "absl/strings/match.h"
#include "gtest/gtest.h"

namespace k8i::inventory {
namespace {

constexpr char kGood[] = R"(apiVersion: v1
kind: Config
current-context: prod
clusters:
- name: prod-cluster
  cluster:
    server: https://api.prod.example.internal:6443
    certificate-authority-data: Q0FEQVRB
contexts:
- name: staging
  context: {cluster: prod-cluster, user: nobody}
- name: prod
  context:
    cluster: prod-cluster
    user: admin
users:
- name: admin
  user:
    token: s3cr3t-token
)";

std::string Replace(std::string s, const std::string& from, const std::string& to) {
  const size_t at = s.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  if (at != std::string::npos) s.replace(at, from.size(), to);
  return s;
}

TEST(ValidateKubeconfigTest, ResolvesTheCurrentContext) {
  auto s = ValidateKubeconfig(kGood);
  ASSERT_TRUE(s.ok()) << s.status();
  EXPECT_EQ(s->context, "prod");
  EXPECT_EQ(s->server, "https://api.prod.example.internal:6443");
}

TEST(ValidateKubeconfigTest, NamesWhatIsMissing) {
  struct Case {
    std::string yaml;
    std::string want;
  };
  const std::vector<Case> cases = {
      {"", "not a YAML mapping"},
      {"[a, b", "not valid YAML"},
      {"- just\n- a list\n", "not a YAML mapping"},
      {Replace(kGood, "current-context: prod", "current-context: \"\""), "current-context"},
      {Replace(kGood, "current-context: prod", "current-context: qa"), "\"qa\" is not defined"},
      {Replace(kGood, "    user: admin\n", ""), "must name a cluster and a user"},
      {Replace(kGood, "- name: prod-cluster\n", "- name: other\n"),
       "cluster \"prod-cluster\" is not defined"},
      {Replace(kGood, "    server: https://api.prod.example.internal:6443\n", ""), "no server"},
      {Replace(kGood, "- name: admin\n", "- name: root\n"), "user \"admin\" is not defined"},
      {Replace(kGood, "clusters:\n", "clusters: 7\nunused:\n"), "is not defined"},
      {std::string(kMaxKubeconfigBytes + 1, ' '), "larger than"},
  };
  for (const auto& c : cases) {
    auto s = ValidateKubeconfig(c.yaml);
    ASSERT_FALSE(s.ok()) << c.want;
    EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_TRUE(absl::StrContains(s.status().message(), c.want))
        << s.status().message() << " lacks " << c.want;
    // Values such as the token never appear in an error.
    EXPECT_FALSE(absl::StrContains(s.status().message(), "s3cr3t"));
  }
}

TEST(SealKubeconfigTest, OpensOnlyForItsTenantAndCluster) {
  auto keyring = crypto::Keyring::FromString("k1:" + absl::Base64Escape(std::string(32, 'k')));
  ASSERT_TRUE(keyring.ok());
  auto summary = ValidateKubeconfig(kGood);
  ASSERT_TRUE(summary.ok());
  auto sealed = SealKubeconfig(*keyring, "acme", "prod", kGood, *summary);
  ASSERT_TRUE(sealed.ok()) << sealed.status();
  EXPECT_EQ(sealed->kek_id, "k1");
  EXPECT_FALSE(absl::StrContains(sealed->kubeconfig, "s3cr3t-token"));
  EXPECT_FALSE(absl::StrContains(sealed->summary, "example.internal"));

  auto open = OpenKubeconfig(*keyring, "acme", "prod", sealed->kubeconfig);
  ASSERT_TRUE(open.ok());
  EXPECT_EQ(*open, kGood);
  auto s = OpenKubeconfigSummary(*keyring, "acme", "prod", sealed->summary);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->context, "prod");
  EXPECT_EQ(s->server, "https://api.prod.example.internal:6443");

  EXPECT_EQ(OpenKubeconfig(*keyring, "other", "prod", sealed->kubeconfig).status().code(),
            absl::StatusCode::kDataLoss);
  EXPECT_EQ(OpenKubeconfig(*keyring, "acme", "dev", sealed->kubeconfig).status().code(),
            absl::StatusCode::kDataLoss);
  // The summary envelope is not a kubeconfig envelope.
  EXPECT_FALSE(OpenKubeconfig(*keyring, "acme", "prod", sealed->summary).ok());
}

}  // namespace
}  // namespace k8i::inventory

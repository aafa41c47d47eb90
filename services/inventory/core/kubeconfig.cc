#include "services/inventory/core/kubeconfig.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/common/status_macros.h"
#include "libs/crypto/envelope.h"
#include "yaml-cpp/yaml.h"

namespace k8i::inventory {
namespace {

absl::Status Invalid(const std::string& why) {
  return absl::InvalidArgumentError(absl::StrCat("kubeconfig: ", why));
}

std::string Scalar(const YAML::Node& n) {
  return n && n.IsScalar() ? n.Scalar() : std::string();
}

// Named finds the entry `name` in a kubeconfig list (clusters, contexts, users) and returns
// its `field` mapping (`cluster`, `context`, `user`); an undefined node when absent.
YAML::Node Named(const YAML::Node& root, const char* list, const char* field,
                 const std::string& name) {
  const YAML::Node entries = root[list];
  if (!entries || !entries.IsSequence()) return YAML::Node(YAML::NodeType::Undefined);
  for (const auto& e : entries) {
    if (e.IsMap() && Scalar(e["name"]) == name) {
      const YAML::Node v = e[field];
      if (v && v.IsMap()) return v;
      return YAML::Node(YAML::NodeType::Undefined);
    }
  }
  return YAML::Node(YAML::NodeType::Undefined);
}

std::string Aad(const std::string& tenant, const std::string& cluster, const char* part) {
  return absl::StrCat(tenant, "/cluster/", cluster, "/", part);
}

}  // namespace

absl::StatusOr<KubeconfigSummary> ValidateKubeconfig(const std::string& yaml) {
  if (yaml.size() > kMaxKubeconfigBytes) {
    return Invalid(absl::StrCat("larger than ", kMaxKubeconfigBytes, " bytes"));
  }
  YAML::Node root;
  try {
    root = YAML::Load(yaml);
  } catch (const YAML::Exception& e) {
    return Invalid(absl::StrCat("not valid YAML (line ", e.mark.line + 1, ")"));
  }
  try {
    if (!root.IsMap()) return Invalid("not a YAML mapping");
    const std::string current = Scalar(root["current-context"]);
    if (current.empty()) return Invalid("current-context is missing or empty");
    const YAML::Node context = Named(root, "contexts", "context", current);
    if (!context) return Invalid(absl::StrCat("current-context \"", current, "\" is not defined"));
    const std::string cluster = Scalar(context["cluster"]);
    const std::string user = Scalar(context["user"]);
    if (cluster.empty() || user.empty()) {
      return Invalid(absl::StrCat("context \"", current, "\" must name a cluster and a user"));
    }
    const YAML::Node c = Named(root, "clusters", "cluster", cluster);
    if (!c) return Invalid(absl::StrCat("cluster \"", cluster, "\" is not defined"));
    const std::string server = Scalar(c["server"]);
    if (server.empty()) return Invalid(absl::StrCat("cluster \"", cluster, "\" has no server"));
    if (!Named(root, "users", "user", user)) {
      return Invalid(absl::StrCat("user \"", user, "\" is not defined"));
    }
    return KubeconfigSummary{current, server};
  } catch (const YAML::Exception& e) {
    return Invalid(absl::StrCat("unexpected structure (line ", e.mark.line + 1, ")"));
  }
}

absl::StatusOr<SealedKubeconfig> SealKubeconfig(const crypto::Keyring& keyring,
                                                const std::string& tenant,
                                                const std::string& cluster,
                                                const std::string& yaml,
                                                const KubeconfigSummary& summary) {
  SealedKubeconfig out;
  ASSIGN_OR_RETURN(out.kubeconfig,
                   crypto::Seal(keyring, yaml, Aad(tenant, cluster, "kubeconfig")));
  ASSIGN_OR_RETURN(out.summary, crypto::Seal(keyring,
                                             absl::StrCat(summary.context, "\n", summary.server),
                                             Aad(tenant, cluster, "kubeconfig-summary")));
  out.kek_id = keyring.ActiveId();
  return out;
}

absl::StatusOr<KubeconfigSummary> OpenKubeconfigSummary(const crypto::Keyring& keyring,
                                                        const std::string& tenant,
                                                        const std::string& cluster,
                                                        const std::string& sealed_summary) {
  ASSIGN_OR_RETURN(std::string text, crypto::Open(keyring, sealed_summary,
                                                  Aad(tenant, cluster, "kubeconfig-summary")));
  std::pair<std::string, std::string> parts = absl::StrSplit(text, absl::MaxSplits('\n', 1));
  return KubeconfigSummary{parts.first, parts.second};
}

absl::StatusOr<std::string> OpenKubeconfig(const crypto::Keyring& keyring,
                                           const std::string& tenant, const std::string& cluster,
                                           const std::string& sealed) {
  return crypto::Open(keyring, sealed, Aad(tenant, cluster, "kubeconfig"));
}

}  // namespace k8i::inventory

// Kubeconfig checks and sealing for cluster registration: ValidateKubeconfig parses a
// kubeconfig (YAML) and resolves its current context to a cluster with a server and a user;
// SealedKubeconfig is its at-rest form, envelopes (libs/crypto) bound to tenant and cluster.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "libs/crypto/keyring.h"

namespace k8i::inventory {

// What the API may show of a kubeconfig.
struct KubeconfigSummary {
  std::string context;
  std::string server;
};

// Kubeconfigs above this size are refused (real ones are a few KiB; certificates included).
inline constexpr size_t kMaxKubeconfigBytes = 256 * 1024;

// ValidateKubeconfig returns the current context and its cluster's server, or InvalidArgument
// saying what is missing: not YAML, not a mapping, no current-context, the context, its
// cluster (with a server) or its user not defined. Never echoes the document's values other
// than names.
absl::StatusOr<KubeconfigSummary> ValidateKubeconfig(const std::string& yaml);

// The envelopes stored for one kubeconfig: the document and its summary (the server URL names
// internal hosts, so it is not kept in clear either). Both are sealed under the same KEK.
struct SealedKubeconfig {
  std::string kubeconfig;
  std::string summary;
  std::string kek_id;
};

// SealKubeconfig seals `yaml` and `summary` under the keyring's active KEK with associated data
// naming `tenant` and `cluster`, so an envelope copied to another row does not open.
absl::StatusOr<SealedKubeconfig> SealKubeconfig(const crypto::Keyring& keyring,
                                                const std::string& tenant,
                                                const std::string& cluster,
                                                const std::string& yaml,
                                                const KubeconfigSummary& summary);

// OpenKubeconfigSummary opens a sealed summary of `tenant`/`cluster` (errors as crypto::Open).
absl::StatusOr<KubeconfigSummary> OpenKubeconfigSummary(const crypto::Keyring& keyring,
                                                        const std::string& tenant,
                                                        const std::string& cluster,
                                                        const std::string& sealed_summary);

// OpenKubeconfig opens a sealed kubeconfig of `tenant`/`cluster` (errors as crypto::Open).
absl::StatusOr<std::string> OpenKubeconfig(const crypto::Keyring& keyring,
                                           const std::string& tenant, const std::string& cluster,
                                           const std::string& sealed);

}  // namespace k8i::inventory

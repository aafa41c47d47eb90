// The resources k8i-kubesim serves: their plural names, kinds, API groups and scope, as a real
// API server's discovery documents list them.
#pragma once

#include <string>
#include "absl/strings/string_view.h"
#include <vector>

namespace k8i::kubesim {

struct ResourceInfo {
  std::string resource;       // plural, as in the path: "pods"
  std::string kind;           // "Pod"
  std::string group_version;  // "v1" (core) or "apps/v1"
  bool namespaced = true;

  // Prefix returns "/api/v1" for the core group, "/apis/<group>/<version>" otherwise.
  std::string Prefix() const;
  std::string ListKind() const { return kind + "List"; }
};

// Resources lists every served resource (core, apps, batch, policy).
const std::vector<ResourceInfo>& ServedResources();

// FindResource looks a resource up by group/version ("v1", "apps/v1") and plural name; null when
// it is not served.
const ResourceInfo* FindResource(absl::string_view group_version, absl::string_view resource);
// FindResourceByName looks a resource up by its plural name alone.
const ResourceInfo* FindResourceByName(absl::string_view resource);

}  // namespace k8i::kubesim

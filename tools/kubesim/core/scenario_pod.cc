// Parsing of a workload's pod-level settings: security contexts and host access, extra volumes,
// priority, eviction and anti-affinity. Each bad value is an error naming its field.
#include <algorithm>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "tools/kubesim/core/scenario_parser.h"

namespace k8i::kubesim::scenario_internal {
namespace {

constexpr char kHostVolume[] = "host";
constexpr char kScratchVolume[] = "scratch";

// A Linux capability as Kubernetes writes it: NET_ADMIN, SYS_TIME, ALL.
bool IsCapability(const std::string& c) {
  return !c.empty() && std::all_of(c.begin(), c.end(), [](char ch) {
    return absl::ascii_isupper(ch) || absl::ascii_isdigit(ch) || ch == '_';
  });
}

void ParseSecurity(Parser& p, const YAML::Node& n, const std::string& path, SecuritySpec& s) {
  if (!p.Map(n, path,
             {"privileged", "run_as_user", "run_as_non_root", "read_only_root_filesystem",
              "allow_privilege_escalation", "capabilities", "host_network", "host_pid",
              "host_ipc"})) {
    return;
  }
  p.Bool(n, "privileged", path, s.privileged);
  int64_t user = -1;
  p.Int(n, "run_as_user", path, user, 0, 2147483647);
  if (user >= 0) s.run_as_user = user;
  p.Bool(n, "run_as_non_root", path, s.run_as_non_root);
  p.Bool(n, "read_only_root_filesystem", path, s.read_only_root_filesystem);
  p.Bool(n, "allow_privilege_escalation", path, s.allow_privilege_escalation);
  p.StringList(n, "capabilities", path, s.capabilities);
  for (size_t i = 0; i < s.capabilities.size(); ++i) {
    if (!IsCapability(s.capabilities[i])) {
      p.Err(Index(Join(path, "capabilities"), i),
            absl::StrCat(Quote(s.capabilities[i]), " is not a capability (like NET_ADMIN)"));
    }
  }
  p.Bool(n, "host_network", path, s.host_network);
  p.Bool(n, "host_pid", path, s.host_pid);
  p.Bool(n, "host_ipc", path, s.host_ipc);
  // Combinations a real cluster refuses (the kubelet with CreateContainerConfigError, the API
  // server at validation): never what a scenario means.
  if (s.run_as_non_root.value_or(false) && s.run_as_user == 0) {
    p.Err(Join(path, "run_as_non_root"), "true contradicts run_as_user: 0");
  }
  if (s.allow_privilege_escalation == false && s.privileged.value_or(false)) {
    p.Err(Join(path, "allow_privilege_escalation"), "false contradicts privileged: true");
  }
}

}  // namespace

void ParsePodSettings(Parser& p, const YAML::Node& n, const std::string& path, WorkloadSpec& w) {
  if (const YAML::Node v = n["security"]; v && !v.IsNull()) {
    ParseSecurity(p, v, Join(path, "security"), w.security.emplace());
  }
  p.Str(n, "host_path", path, w.host_path);
  if (n["host_path"] && !w.host_path.empty() && w.host_path[0] != '/') {
    p.Err(Join(path, "host_path"), absl::StrCat(Quote(w.host_path), " is not an absolute path"));
  }
  p.Bool(n, "empty_dir", path, w.empty_dir);
  int priority = 0;
  if (n["priority"]) {
    p.Int(n, "priority", path, priority, -2147483648LL, 1000000000);
    w.priority = priority;
  }
  p.Bool(n, "safe_to_evict", path, w.safe_to_evict);
  std::string anti;
  p.Str(n, "anti_affinity", path, anti);
  if (anti == "hostname") {
    w.anti_affinity = kHostnameKey;
  } else if (anti == "zone") {
    w.anti_affinity = kZoneKey;
  } else if (!anti.empty()) {
    p.Err(Join(path, "anti_affinity"), absl::StrCat(Quote(anti), " is not hostname or zone"));
  }
  // ConfigMap volumes are named after their ConfigMap: they must not take these names.
  for (size_t i = 0; i < w.config_maps.size(); ++i) {
    const std::string& cm = w.config_maps[i];
    if ((cm == kHostVolume && !w.host_path.empty()) || (cm == kScratchVolume && w.empty_dir)) {
      p.Err(Index(Join(path, "config_maps"), i),
            absl::StrCat(Quote(cm), " clashes with the ",
                         cm == kHostVolume ? "host_path" : "empty_dir", " volume's name"));
    }
  }
}

}  // namespace k8i::kubesim::scenario_internal

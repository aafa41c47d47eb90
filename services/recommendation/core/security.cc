#include "services/recommendation/core/security.h"

#include <algorithm>
#include <map>
#include <optional>
#include <set>
#include <tuple>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "services/recommendation/core/json.h"
#include "services/recommendation/core/rightsizing.h"

namespace k8i::recommendation {
namespace {

using namespace facts;  // NOLINT: the facts readers

const std::set<std::string>& HostCapabilities() {
  static const std::set<std::string> kCaps = {"ALL",         "SYS_ADMIN",  "NET_ADMIN",
                                              "SYS_PTRACE",  "SYS_MODULE", "NET_RAW",
                                              "DAC_READ_SEARCH", "SYS_RAWIO", "BPF", "PERFMON"};
  return kCaps;
}

bool SensitivePath(const std::string& path) {
  static const char* kPaths[] = {"/",           "/etc",          "/proc",
                                 "/sys",        "/root",         "/var/lib/kubelet",
                                 "/var/run",    "/run",          "/var/lib/docker",
                                 "/var/lib/containerd", "/dev"};
  for (const char* p : kPaths) {
    if (path == p) return true;
    if (std::string(p) != "/" && absl::StartsWith(path, absl::StrCat(p, "/"))) return true;
  }
  return absl::EndsWith(path, ".sock");
}

// The tag of an image reference ("" when none); nullopt when it is pinned by digest.
std::optional<std::string> TagOf(const std::string& image) {
  if (absl::StrContains(image, "@")) return std::nullopt;
  const size_t slash = image.rfind('/');
  const std::string last = slash == std::string::npos ? image : image.substr(slash + 1);
  const size_t colon = last.rfind(':');
  return colon == std::string::npos ? "" : last.substr(colon + 1);
}

using Subject = TemplateFix;

struct Finding {
  Advice advice;
  std::set<std::string> pods;
};

class Collector {
 public:
  explicit Collector(std::string cluster) : cluster_(std::move(cluster)) {}

  // Records the finding once per subject, container and rule; later pods add to its count.
  void Add(const Subject& s, const std::string& container, const std::string& rule,
           Severity severity, const std::string& pod, const std::function<void(Advice&)>& fill) {
    auto key = std::make_tuple(s.kind, s.ns, s.name, container, rule);
    auto it = found_.find(key);
    if (it == found_.end()) {
      Finding f;
      f.advice.kind = "security";
      f.advice.rule = rule;
      f.advice.severity = severity;
      f.advice.subject = {cluster_, s.kind, s.ns, s.name, container};
      f.advice.confidence = 1;
      fill(f.advice);
      it = found_.emplace(key, std::move(f)).first;
    }
    it->second.pods.insert(pod);
  }

  std::vector<Advice> Take() {
    std::vector<Advice> out;
    for (auto& [key, f] : found_) {
      f.advice.evidence.push_back(absl::StrCat(
          f.pods.size(), " pod(s), e.g. ", *f.pods.begin()));
      out.push_back(std::move(f.advice));
    }
    return out;
  }

 private:
  std::string cluster_;
  std::map<std::tuple<std::string, std::string, std::string, std::string, std::string>, Finding>
      found_;
};

// runs-as-root: the container's settings win over the pod's.
void CheckUser(Collector& c, const Subject& s, const std::string& pod, const Json& pod_sc,
               const Json& ct) {
  const std::string name = Str(ct, "name");
  const Json& sc = Obj(ct, "sc");
  const std::string who = s.Who(name);
  const Json& user_from = sc.contains("user") ? sc : pod_sc;
  const Json& non_root_from = sc.contains("non_root") ? sc : pod_sc;
  const bool user_set = user_from.contains("user");
  const bool non_root = Bool(non_root_from, "non_root");
  const std::string fix = s.ContainerPatch(
      name, "\"securityContext\":{\"runAsNonRoot\":true,\"runAsUser\":10001}",
      "set securityContext.runAsNonRoot: true and a non-zero runAsUser");
  if (user_set && Num(user_from, "user") == 0 && !non_root) {
    c.Add(s, name, "runs-as-root", Severity::kWarning, pod, [&](Advice& a) {
      a.title = absl::StrCat(who, " runs as root");
      a.evidence = {absl::StrCat("securityContext.runAsUser: 0 (set on the ",
                                 &user_from == &sc ? "container" : "pod", ")")};
      a.arithmetic =
          "uid 0 in the container is uid 0 on the node's kernel: a container escape or a "
          "writable hostPath is root on the node";
      a.command = fix + "  # the image must run as that user";
    });
  } else if (!user_set && !non_root) {
    c.Add(s, name, "runs-as-root", Severity::kInfo, pod, [&](Advice& a) {
      a.title = absl::StrCat(who, " may run as root");
      a.evidence = {"neither runAsNonRoot nor runAsUser is set (container or pod)"};
      a.arithmetic =
          "without them the image's USER decides, and most images default to root; "
          "runAsNonRoot: true makes the kubelet refuse to start it as root";
      a.command = fix + "  # the image must run as that user";
    });
  }
}

void CheckContainer(Collector& c, const Subject& s, const std::string& pod, const Json& pod_sc,
                    const Json& ct, bool has_security) {
  const std::string name = Str(ct, "name");
  const Json& sc = Obj(ct, "sc");
  const std::string who = s.Who(name);
  if (Bool(sc, "privileged")) {
    c.Add(s, name, "privileged-container", Severity::kWarning, pod, [&](Advice& a) {
      a.title = absl::StrCat(who, " runs privileged");
      a.evidence = {"securityContext.privileged: true"};
      a.arithmetic =
          "privileged = every Linux capability and every host device, without seccomp or "
          "AppArmor confinement: escaping the container is root on the node";
      a.command = s.ContainerPatch(name, "\"securityContext\":{\"privileged\":false}",
                                   "set securityContext.privileged: false");
    });
  }
  if (has_security) CheckUser(c, s, pod, pod_sc, ct);
  if (Num(ct, "mem_lim") <= 0) {
    const bool no_cpu = Num(ct, "cpu_lim") <= 0;
    const double request = Num(ct, "mem_req");
    c.Add(s, name, "no-limits", Severity::kWarning, pod, [&](Advice& a) {
      a.title = absl::StrCat(who, no_cpu ? " has no resource limits" : " has no memory limit");
      a.evidence = {absl::StrCat("limits: cpu ", no_cpu ? "none" : CpuQuantity(Num(ct, "cpu_lim")),
                                 ", memory none; memory request ",
                                 request > 0 ? MemoryQuantity(request) : "none")};
      a.arithmetic =
          "without a memory limit one leak grows until the node runs out, and the kubelet evicts "
          "or the kernel OOM-kills its neighbours; CPU limits are optional (they only throttle)";
      if (request > 0 && s.Patchable()) {
        a.command = absl::StrCat("kubectl set resources ", absl::AsciiStrToLower(s.kind), "/",
                                 s.name, " -n ", s.ns, " -c ", name,
                                 " --limits=memory=", MemoryQuantity(2 * request),
                                 "  # twice the request to start; k8i recommend --kind "
                                 "rightsizing refines it from the observed peak");
      } else {
        a.command = s.Patch("", "set resources.requests.memory and limits.memory from the "
                                "observed peak (k8i recommend --kind rightsizing)");
      }
    });
  }
  const std::string image = Str(ct, "image");
  if (auto tag = TagOf(image); !image.empty() && tag && (tag->empty() || *tag == "latest")) {
    c.Add(s, name, "mutable-image-tag", Severity::kWarning, pod, [&](Advice& a) {
      a.title = absl::StrCat(who, " runs a mutable image tag (", image, ")");
      a.evidence = {absl::StrCat("image ", image, tag->empty() ? " (no tag: latest)" : "")};
      a.arithmetic =
          "the tag can point at another build at any pull: nodes may run different code, a "
          "restart can upgrade silently, and a rollback has nothing to go back to";
      const std::string repo = image.substr(0, image.size() - (tag->empty() ? 0 : tag->size() + 1));
      a.command = s.Patchable()
                      ? absl::StrCat("kubectl set image ", absl::AsciiStrToLower(s.kind), "/",
                                     s.name, " -n ", s.ns, " ", name, "=", repo,
                                     "@sha256:<digest>  # the running digest: kubectl get pod ",
                                     pod, " -n ", s.ns,
                                     " -o jsonpath='{.status.containerStatuses[*].imageID}'")
                      : s.Patch("", absl::StrCat("pin ", repo, " to a version or @sha256 digest"));
    });
  }
  const std::vector<std::string> added = Strs(sc, "add");
  if (!added.empty()) {
    std::vector<std::string> risky;
    for (const auto& cap : added) {
      // CRI-O also accepts the kernel's names (CAP_SYS_ADMIN).
      std::string name = absl::AsciiStrToUpper(cap);
      if (absl::StartsWith(name, "CAP_")) name = name.substr(4);
      if (HostCapabilities().contains(name)) risky.push_back(cap);
    }
    c.Add(s, name, "added-capabilities", risky.empty() ? Severity::kInfo : Severity::kWarning, pod,
          [&](Advice& a) {
            a.title = absl::StrCat(who, " adds capabilities ", absl::StrJoin(added, ", "));
            a.evidence = {absl::StrCat("securityContext.capabilities.add: [",
                                       absl::StrJoin(added, ", "), "]")};
            if (!risky.empty()) {
              a.evidence.push_back(absl::StrCat("reach the host or other pods: ",
                                                absl::StrJoin(risky, ", ")));
            }
            a.arithmetic =
                "every added capability widens what a compromised process can do; drop ALL and "
                "add back only what the process is known to need";
            a.command = s.ContainerPatch(
                name, "\"securityContext\":{\"capabilities\":{\"add\":null,\"drop\":[\"ALL\"]}}",
                "remove capabilities.add and drop ALL");
          });
  }
}

void CheckPod(Collector& c, const StoredObject& ob, const Json& f) {
  Subject s{Str(f, "wk"), ob.ns, Str(f, "w")};
  if (s.kind.empty() || s.name.empty()) s = {"Pod", ob.ns, ob.name};
  const Json& host = Obj(f, "host");
  std::vector<std::string> namespaces, fields;
  for (const auto& [key, field] : {std::pair{"network", "hostNetwork"}, {"pid", "hostPID"},
                                   {"ipc", "hostIPC"}}) {
    if (Bool(host, key)) {
      namespaces.push_back(key);
      fields.push_back(absl::StrCat("\"", field, "\":false"));
    }
  }
  if (!namespaces.empty()) {
    c.Add(s, "", "host-namespaces", Severity::kWarning, ob.name, [&](Advice& a) {
      a.title = absl::StrCat(s.Who(""), " shares the node's ", absl::StrJoin(namespaces, ", "),
                             " namespace", namespaces.size() > 1 ? "s" : "");
      a.evidence = {absl::StrCat("host namespaces: ", absl::StrJoin(namespaces, ", "))};
      a.arithmetic =
          "hostNetwork sees and binds the node's interfaces (and bypasses NetworkPolicy), hostPID "
          "sees and signals every process on the node, hostIPC shares its memory segments";
      a.command = s.Patch(absl::StrJoin(fields, ","), "remove hostNetwork/hostPID/hostIPC");
    });
  }
  std::vector<std::string> paths, sensitive, secrets;
  for (const Json& v : Arr(f, "volumes")) {
    if (Str(v, "type") != "hostPath") continue;
    const std::string path = Str(v, "source");
    paths.push_back(absl::StrCat(Str(v, "name"), " -> ", path));
    if (SensitivePath(path)) sensitive.push_back(path);
  }
  if (!paths.empty()) {
    c.Add(s, "", "hostpath-mount", Severity::kWarning, ob.name, [&](Advice& a) {
      a.title = absl::StrCat(s.Who(""), " mounts host paths (", absl::StrJoin(paths, ", "), ")");
      a.evidence = {absl::StrCat("hostPath volumes: ", absl::StrJoin(paths, ", "))};
      if (!sensitive.empty()) {
        a.evidence.push_back(absl::StrCat("sensitive: ", absl::StrJoin(sensitive, ", ")));
      }
      a.arithmetic =
          "a hostPath reads (or writes) the node's files: credentials, other pods' data, the "
          "container runtime's socket; it also pins data to one node";
      a.command = absl::StrCat("# replace the hostPath volumes of ", s.Who(""),
                               " with a PVC, emptyDir or CSI volume; if one must stay, mount it "
                               "readOnly: true and as narrow a path as possible");
    });
  }
  for (const Json& e : Arr(f, "env")) {
    if (Str(e, "kind") == "Secret") secrets.push_back(Str(e, "name"));
  }
  if (!secrets.empty()) {
    c.Add(s, "", "secret-in-env", Severity::kInfo, ob.name, [&](Advice& a) {
      a.title = absl::StrCat(s.Who(""), " reads Secret ", absl::StrJoin(secrets, ", "),
                             " as environment variables");
      a.evidence = {absl::StrCat("env/envFrom secretRef: ", absl::StrJoin(secrets, ", "))};
      a.arithmetic =
          "environment variables end up in crash dumps, debug endpoints, child processes and "
          "logs, and change only on restart; a mounted Secret file does neither";
      a.command = absl::StrCat("# mount Secret ", absl::StrJoin(secrets, ", "),
                               " as a readOnly volume in ", s.Who(""),
                               " and read the file instead of env/envFrom");
    });
  }
  const Json& pod_sc = Obj(f, "sc");
  for (const Json& ct : Arr(f, "containers")) {
    if (ct.is_object()) CheckContainer(c, s, ob.name, pod_sc, ct, f.contains("host"));
  }
}

}  // namespace

std::vector<Advice> SecurityAdvice(const std::string& cluster,
                                   const std::vector<StoredObject>& objects) {
  Collector c(cluster);
  for (const StoredObject& ob : objects) {
    if (ob.kind != "pod" || ob.ns == "kube-system") continue;
    const Json f = Json::parse(ob.facts, nullptr, /*allow_exceptions=*/false);
    if (!f.is_object() || Bool(Obj(f, "sched"), "mirror")) continue;
    CheckPod(c, ob, f);
  }
  return c.Take();
}

}  // namespace k8i::recommendation

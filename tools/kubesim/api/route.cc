#include "tools/kubesim/api/route.h"

#include <openssl/crypto.h>

#include <vector>

#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "libs/common/url.h"

namespace k8i::kubesim {
namespace {

std::optional<std::string> Decode(absl::string_view s) {
  return PercentDecode(std::string_view(s.data(), s.size()));
}

using Json = nlohmann::json;
constexpr char kPromText[] = "text/plain; version=0.0.4; charset=utf-8";

Routed Answer(int status, std::string body, std::string content_type = "application/json") {
  return {Reply{status, std::move(content_type), std::move(body)}, std::nullopt};
}

Routed Fail(int status, absl::string_view reason, absl::string_view message) {
  return Answer(status, StatusJson(status, reason, message));
}

struct Target {
  std::vector<std::string> segments;
  std::map<std::string, std::string> query;
  bool ok = true;
};

Target ParseTarget(absl::string_view target) {
  Target t;
  const size_t q = target.find('?');
  const absl::string_view path = target.substr(0, q);
  for (absl::string_view seg : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    auto decoded = Decode(seg);
    if (!decoded) t.ok = false;
    t.segments.push_back(decoded.value_or(""));
  }
  if (q != absl::string_view::npos) {
    for (absl::string_view kv : absl::StrSplit(target.substr(q + 1), '&', absl::SkipEmpty())) {
      const size_t eq = kv.find('=');
      auto key = Decode(kv.substr(0, eq));
      auto value = Decode(eq == absl::string_view::npos ? "" : kv.substr(eq + 1));
      if (!key || !value) {
        t.ok = false;
        continue;
      }
      t.query[*key] = *value;
    }
  }
  return t;
}

// TakeCluster strips a "/clusters/<name>" prefix and finds the cluster.
const ClusterView* TakeCluster(Target& t, const Clusters& clusters) {
  std::string name;
  if (t.segments.size() >= 2 && t.segments[0] == "clusters") {
    name = t.segments[1];
    t.segments.erase(t.segments.begin(), t.segments.begin() + 2);
  }
  auto it = clusters.find(name);
  return it == clusters.end() ? nullptr : it->second;
}

bool TokenMatches(absl::string_view authorization, absl::string_view token) {
  constexpr absl::string_view kBearer = "Bearer ";
  if (authorization.substr(0, kBearer.size()) != kBearer) return false;
  const absl::string_view given = authorization.substr(kBearer.size());
  return given.size() == token.size() && CRYPTO_memcmp(given.data(), token.data(), token.size()) == 0;
}

std::string GroupOf(const ResourceInfo& r) {
  const size_t slash = r.group_version.find('/');
  return slash == std::string::npos ? "" : r.group_version.substr(0, slash);
}

Json ResourceList(absl::string_view group_version) {
  Json resources = Json::array();
  for (const ResourceInfo& r : ServedResources()) {
    if (r.group_version != group_version) continue;
    resources.push_back({{"name", r.resource},
                         {"singularName", ""},
                         {"namespaced", r.namespaced},
                         {"kind", r.kind},
                         {"verbs", {"get", "list", "watch"}}});
  }
  return {{"kind", "APIResourceList"},
          {"apiVersion", "v1"},
          {"groupVersion", group_version},
          {"resources", resources}};
}

Json GroupList() {
  std::map<std::string, std::string> groups;  // group -> version
  for (const ResourceInfo& r : ServedResources()) {
    const std::string g = GroupOf(r);
    if (!g.empty()) groups[g] = r.group_version.substr(g.size() + 1);
  }
  groups["metrics.k8s.io"] = "v1beta1";
  Json list = Json::array();
  for (const auto& [g, v] : groups) {
    const Json gv = {{"groupVersion", g + "/" + v}, {"version", v}};
    list.push_back({{"name", g}, {"versions", {gv}}, {"preferredVersion", gv}});
  }
  return {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", list}};
}

Routed Metrics(const ClusterView& c, const std::vector<std::string>& rest) {
  // rest: after /apis/metrics.k8s.io/v1beta1
  if (rest.size() == 1 && rest[0] == "pods") return Answer(200, c.PodMetrics(""));
  if (rest.size() == 1 && rest[0] == "nodes") return Answer(200, c.NodeMetrics());
  if (rest.size() == 3 && rest[0] == "namespaces" && rest[2] == "pods") {
    return Answer(200, c.PodMetrics(rest[1]));
  }
  if (rest.empty()) {
    Json r = {{"kind", "APIResourceList"},
              {"apiVersion", "v1"},
              {"groupVersion", "metrics.k8s.io/v1beta1"},
              {"resources",
               {{{"name", "nodes"}, {"namespaced", false}, {"kind", "NodeMetrics"},
                 {"verbs", {"get", "list"}}},
                {{"name", "pods"}, {"namespaced", true}, {"kind", "PodMetrics"},
                 {"verbs", {"get", "list"}}}}}};
    return Answer(200, r.dump());
  }
  return Fail(404, "NotFound", "the server could not find the requested resource");
}

Routed Resource(const ClusterView& c, absl::string_view group_version,
                const std::vector<std::string>& rest, const std::map<std::string, std::string>& q) {
  // rest: [res] | [res, name] | [namespaces, ns, res] | [namespaces, ns, res, name]
  std::string ns, resource, name;
  if (rest.size() >= 3 && rest[0] == "namespaces") {
    ns = rest[1];
    resource = rest[2];
    if (rest.size() == 4) name = rest[3];
    if (rest.size() > 4) return Fail(404, "NotFound", "the server could not find the requested resource");
  } else if (rest.size() == 1 || rest.size() == 2) {
    resource = rest[0];
    if (rest.size() == 2) name = rest[1];
  } else {
    return Fail(404, "NotFound", "the server could not find the requested resource");
  }
  const ResourceInfo* r = FindResource(group_version, resource);
  if (r == nullptr || (!ns.empty() && !r->namespaced) ||
      (ns.empty() && !name.empty() && r->namespaced)) {
    return Fail(404, "NotFound", "the server could not find the requested resource");
  }
  const auto param = [&](const char* key) -> std::string {
    auto it = q.find(key);
    return it == q.end() ? "" : it->second;
  };
  const bool watch = param("watch") == "true" || param("watch") == "1";
  const std::string verb = !name.empty() ? "get" : watch ? "watch" : "list";
  if (c.store().Forbidden(r->resource)) {
    return Fail(403, "Forbidden",
                absl::StrCat(r->resource, " is forbidden: User \"system:serviceaccount:k8i:",
                             "k8i-agent\" cannot ", verb, " resource \"", r->resource,
                             "\" in API group \"", GroupOf(*r), "\" ",
                             ns.empty() ? "at the cluster scope" : "in the namespace \"" + ns + "\""));
  }
  if (!name.empty()) {
    auto a = c.store().Get(*r, ns, name);
    return Answer(a.status, std::move(a.body));
  }
  if (watch) {
    WatchRequest w;
    w.cluster = &c;
    w.resource = r;
    w.ns = ns;
    const std::string rv = param("resourceVersion");
    if (!rv.empty() && rv != "0") {
      uint64_t v = 0;
      if (!absl::SimpleAtoi(rv, &v)) {
        return Fail(400, "BadRequest", absl::StrCat("invalid resourceVersion \"", rv, "\""));
      }
      w.from = v;
    }
    w.bookmarks = param("allowWatchBookmarks") == "true" || param("allowWatchBookmarks") == "1";
    if (const std::string t = param("timeoutSeconds"); !t.empty()) {
      int64_t s = 0;
      if (!absl::SimpleAtoi(t, &s) || s < 0) {
        return Fail(400, "BadRequest", absl::StrCat("invalid timeoutSeconds \"", t, "\""));
      }
      if (s > 0) w.timeout = absl::Seconds(s);
    }
    return {Reply{}, std::move(w)};
  }
  size_t limit = 0;
  if (const std::string l = param("limit"); !l.empty() && !absl::SimpleAtoi(l, &limit)) {
    return Fail(400, "BadRequest", absl::StrCat("invalid limit \"", l, "\""));
  }
  auto a = c.store().List(*r, ns, limit, param("continue"));
  return Answer(a.status, std::move(a.body));
}

}  // namespace

Routed RouteApi(absl::string_view target, absl::string_view authorization, absl::string_view token,
                const Clusters& clusters) {
  Target t = ParseTarget(target);
  if (!t.ok) return Fail(400, "BadRequest", "malformed percent-encoding in the request target");
  const ClusterView* c = TakeCluster(t, clusters);
  if (c == nullptr) return Fail(404, "NotFound", "no such cluster");
  const auto& s = t.segments;
  if (s.size() == 1 && (s[0] == "healthz" || s[0] == "livez" || s[0] == "readyz")) {
    return Answer(200, "ok", "text/plain; charset=utf-8");
  }
  if (!TokenMatches(authorization, token)) return Fail(401, "Unauthorized", "Unauthorized");
  if (s.size() == 1 && s[0] == "version") {
    return Answer(200, Json{{"major", "1"},
                            {"minor", "29"},
                            {"gitVersion", "v1.29.4-kubesim"},
                            {"platform", "linux/amd64"}}
                           .dump());
  }
  if (s.size() == 1 && s[0] == "api") {
    return Answer(200, Json{{"kind", "APIVersions"}, {"versions", {"v1"}}}.dump());
  }
  if (s.size() == 1 && s[0] == "apis") return Answer(200, GroupList().dump());
  if (s.size() >= 2 && s[0] == "api" && s[1] == "v1") {
    if (s.size() == 2) return Answer(200, ResourceList("v1").dump());
    return Resource(*c, "v1", {s.begin() + 2, s.end()}, t.query);
  }
  if (s.size() >= 3 && s[0] == "apis") {
    if (s[1] == "metrics.k8s.io" && s[2] == "v1beta1") {
      return Metrics(*c, {s.begin() + 3, s.end()});
    }
    const std::string gv = s[1] + "/" + s[2];
    if (s.size() == 3) {
      Json list = ResourceList(gv);
      if (list["resources"].empty()) {
        return Fail(404, "NotFound", "the server could not find the requested resource");
      }
      return Answer(200, list.dump());
    }
    return Resource(*c, gv, {s.begin() + 3, s.end()}, t.query);
  }
  return Fail(404, "NotFound", "the server could not find the requested resource");
}

Routed RouteKubelet(absl::string_view target, const Clusters& clusters) {
  Target t = ParseTarget(target);
  if (!t.ok) return Answer(400, "malformed request target\n", "text/plain; charset=utf-8");
  const ClusterView* c = TakeCluster(t, clusters);
  if (c == nullptr) return Answer(404, "no such cluster\n", "text/plain; charset=utf-8");
  const auto& s = t.segments;
  if (s.size() == 1 && s[0] == "healthz") return Answer(200, "ok", "text/plain; charset=utf-8");
  if (s.size() == 1 && s[0] == "metrics") return Answer(200, c->KubeletMetrics(""), kPromText);
  if (s.size() == 3 && s[0] == "nodes" && s[2] == "metrics") {
    return Answer(200, c->KubeletMetrics(s[1]), kPromText);
  }
  return Answer(404, "not found\n", "text/plain; charset=utf-8");
}

}  // namespace k8i::kubesim

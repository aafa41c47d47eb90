#include "services/correlation/core/timeline.h"

#include <algorithm>
#include <cmath>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace k8i::correlation {
namespace {

void AddPodDependencies(const Topology& t, const ObjectRef& pod,
                        std::map<ObjectRef, std::string>& out) {
  for (const Edge& e : t.OutEdges(pod)) {
    const std::string& k = e.to.kind;
    std::string rel;
    if (k == "Node") rel = kNode;
    if (k == "ConfigMap") rel = kConfig;
    if (k == "Secret") rel = kSecret;
    if (k == "PersistentVolumeClaim") rel = kVolume;
    if (!rel.empty()) out.try_emplace(e.to, rel);
  }
}

// The weight of a candidate and what it is, or 0 when it cannot be a cause.
std::pair<double, std::string> Weigh(const TimelineItem& c) {
  if (c.kind == "change") {
    bool first_seen = true;
    double w = 0;
    std::string what;
    for (const auto& ch : c.changes) {
      if (ch == "first seen") continue;
      first_seen = false;
      double cw = 0;
      std::string cwhat;
      if (c.relation == kConfig || c.relation == kSecret) {
        cw = absl::StartsWith(ch, "deleted") ? 0.5 : 1.0;
        cwhat = c.relation == kConfig ? "config the pod uses" : "secret the pod uses";
      } else if (c.relation == kSelf || c.relation == kWorkload) {
        if (absl::StartsWith(ch, "image") || absl::StartsWith(ch, "pod template")) {
          cw = 1.0;
          cwhat = "its pod template";
        } else if (absl::StartsWith(ch, "resources")) {
          cw = 0.9;
          cwhat = "its resources";
        } else if (absl::StartsWith(ch, "replicas")) {
          cw = 0.3;
          cwhat = "its replicas";
        } else if (absl::StartsWith(ch, "deleted")) {
          cw = 0.5;
          cwhat = "a deletion";
        }
      } else if (c.relation == kVolume) {
        cw = 0.6;
        cwhat = "its volume claim";
      }
      if (cw > w) {
        w = cw;
        what = cwhat;
      }
    }
    if (first_seen) return {0, ""};
    return {w, what};
  }
  if (c.problem) {
    if (c.relation == kNode) return {0.8, "a problem of its node"};
    if (c.relation == kVolume) return {0.7, "a problem of its volume"};
  }
  return {0, ""};
}

std::string RelationPhrase(const std::string& relation, const ObjectRef& root) {
  const bool pod = root.kind == "Pod";
  if (relation == kConfig || relation == kSecret || relation == kVolume) {
    return pod ? "used by this pod" : "used by its pods";
  }
  if (relation == kWorkload) return "its workload";
  if (relation == kNode) return pod ? "the node it runs on" : "a node its pods run on";
  if (relation == kSelf) return "itself";
  return relation;
}

}  // namespace

std::map<ObjectRef, std::string> RelatedObjects(const Topology& t, const ObjectRef& root) {
  std::map<ObjectRef, std::string> out;
  out[root] = kSelf;
  if (root.kind == "Pod") {
    for (const Edge& e : t.OutEdges(root)) {
      if (e.relation == "owned-by") {
        out.try_emplace(e.to, kWorkload);
        ObjectRef top = t.TopController(e.to);
        out.try_emplace(top, kWorkload);
      }
    }
    if (const PodFacts* p = t.Pod(root.ns, root.name); p != nullptr && !p->workload.empty()) {
      out.try_emplace(p->workload, kWorkload);
    }
    AddPodDependencies(t, root, out);
  } else if (root.kind == "Node") {
    for (const Edge& e : t.InEdges(root)) {
      if (e.from.kind == "Pod") out.try_emplace(e.from, kPod);
    }
  } else if (root.kind == "ConfigMap" || root.kind == "Secret" ||
             root.kind == "PersistentVolumeClaim") {
    for (const Edge& e : t.InEdges(root)) {
      if (e.from.kind == "Pod") out.try_emplace(e.from, kPod);
    }
  } else {
    // A workload: its owned workloads (ReplicaSets), its pods and what they use.
    for (const Edge& e : t.InEdges(root)) {
      if (e.from.kind != "Pod") out.try_emplace(e.from, kWorkload);
    }
    for (const std::string& name : t.PodsOf(root)) {
      const ObjectRef pod{"Pod", root.ns, name};
      out.try_emplace(pod, kPod);
      AddPodDependencies(t, pod, out);
    }
  }
  return out;
}

std::string HumanDuration(absl::Duration d) {
  if (d < absl::ZeroDuration()) d = -d;
  const int64_t s = absl::ToInt64Seconds(d);
  if (s < 60) return absl::StrCat(s, "s");
  if (s < 3600) return s % 60 == 0 || s >= 600 ? absl::StrCat(s / 60, "m")
                                                : absl::StrCat(s / 60, "m", s % 60, "s");
  const int64_t m = (s % 3600) / 60;
  return m == 0 ? absl::StrCat(s / 3600, "h") : absl::StrCat(s / 3600, "h", m, "m");
}

Timeline BuildTimeline(const ObjectRef& root, std::vector<TimelineItem> items,
                       const TimelineOptions& options) {
  Timeline out;
  std::sort(items.begin(), items.end(), [](const TimelineItem& a, const TimelineItem& b) {
    return std::tie(a.time, a.kind, a.object, a.text) < std::tie(b.time, b.kind, b.object, b.text);
  });
  out.items = std::move(items);
  for (size_t i = 0; i < out.items.size(); ++i) {
    if (out.items[i].failure) {
      out.first_failure = static_cast<int>(i);
      break;
    }
  }
  if (out.first_failure < 0) return out;
  const TimelineItem& failure = out.items[out.first_failure];
  for (size_t i = 0; i < out.items.size(); ++i) {
    const TimelineItem& c = out.items[i];
    if (c.failure || c.time > failure.time || failure.time - c.time > options.lookback) continue;
    const auto [weight, what] = Weigh(c);
    if (weight <= 0) continue;
    const absl::Duration dt = failure.time - c.time;
    const double recency = std::pow(0.5, absl::FDivDuration(dt, options.half_life));
    Cause cause;
    cause.entry = static_cast<int>(i);
    cause.score = weight * recency;
    cause.reason = absl::StrCat(c.object.Describe(), ", ", RelationPhrase(c.relation, root), ", ",
                                c.kind == "change" ? "changed " : "had a problem ",
                                HumanDuration(dt), " before the first ", failure.failure_name);
    cause.arithmetic = absl::StrFormat("weight %.2f (%s) × recency %.2f (%s before, half-life %s)",
                                       weight, what, recency, HumanDuration(dt),
                                       HumanDuration(options.half_life));
    out.causes.push_back(std::move(cause));
  }
  std::sort(out.causes.begin(), out.causes.end(), [&](const Cause& a, const Cause& b) {
    if (a.score != b.score) return a.score > b.score;
    const TimelineItem& x = out.items[a.entry];
    const TimelineItem& y = out.items[b.entry];
    if (x.time != y.time) return x.time > y.time;
    return x.object < y.object;
  });
  if (static_cast<int>(out.causes.size()) > options.max_causes) out.causes.resize(options.max_causes);
  return out;
}

}  // namespace k8i::correlation

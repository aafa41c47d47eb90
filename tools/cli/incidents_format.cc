// The pure half of tools/cli/incidents.h: argument parsing, ages, tables and the dependency
// tree. No RPCs here.
#include <algorithm>
#include <deque>
#include <map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"
#include "tools/cli/incidents.h"

namespace k8i::cli {
namespace {

namespace v1 = ::k8intel::v1;

// The kinds of ObjectKey (incidents.proto) and the short forms kubectl accepts for them.
struct KindForm {
  const char* kind;
  std::vector<const char*> short_names;
};

const std::vector<KindForm>& KindForms() {
  static const auto* forms = new std::vector<KindForm>{
      {"Pod", {"po"}},
      {"Node", {"no"}},
      {"Deployment", {"deploy"}},
      {"StatefulSet", {"sts"}},
      {"DaemonSet", {"ds"}},
      {"ReplicaSet", {"rs"}},
      {"Job", {}},
      {"CronJob", {"cj"}},
      {"ConfigMap", {"cm"}},
      {"Secret", {}},
      {"PersistentVolumeClaim", {"pvc", "pvcs"}},
      {"Service", {"svc"}},
      {"Namespace", {"ns"}},
  };
  return *forms;
}

// Width is what a terminal shows: UTF-8 code points (→, │ and ├ count one each).
size_t Width(absl::string_view s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (c & 0xC0) != 0x80; }));
}

// Cell keeps a table on one line per row whatever the server's text holds.
std::string Cell(absl::string_view s) {
  std::string out(s);
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c == '\n' || c == '\t'; }, ' ');
  return out;
}

std::string EnumName(const std::string& name, absl::string_view prefix) {
  if (name.empty() || absl::EndsWith(name, "_UNSPECIFIED")) return "-";
  return absl::AsciiStrToLower(absl::StripPrefix(name, prefix));
}

std::string Key(const v1::ObjectKey& o) {
  return absl::StrCat(o.kind(), "\x1f", o.namespace_(), "\x1f", o.name());
}

}  // namespace

absl::StatusOr<std::string> CanonicalKind(absl::string_view kind) {
  const std::string lower = absl::AsciiStrToLower(kind);
  for (const KindForm& f : KindForms()) {
    const std::string name = absl::AsciiStrToLower(f.kind);
    if (lower == name || lower == name + "s") return std::string(f.kind);
    for (const char* s : f.short_names) {
      if (lower == s) return std::string(f.kind);
    }
  }
  return absl::InvalidArgumentError(absl::StrCat(
      "unknown kind \"", kind,
      "\": want pod (po), deployment (deploy), statefulset (sts), daemonset (ds), replicaset "
      "(rs), job, cronjob (cj), configmap (cm), secret, pvc, service (svc), node (no) or "
      "namespace (ns)"));
}

bool IsClusterScoped(absl::string_view kind) { return kind == "Node" || kind == "Namespace"; }

absl::StatusOr<v1::ObjectKey> ParseObjectArg(absl::string_view arg) {
  const std::vector<absl::string_view> parts = absl::StrSplit(arg, '/');
  const bool blank = std::any_of(parts.begin(), parts.end(), [](auto p) { return p.empty(); });
  if (parts.size() < 2 || parts.size() > 3 || blank) {
    return absl::InvalidArgumentError(absl::StrCat(
        "\"", arg, "\" is not an object: want KIND/NAMESPACE/NAME, or KIND/NAME for a node"));
  }
  auto kind = CanonicalKind(parts[0]);
  if (!kind.ok()) return kind.status();
  const std::string lower = absl::AsciiStrToLower(*kind);
  if (parts.size() == 2 && !IsClusterScoped(*kind)) {
    return absl::InvalidArgumentError(
        absl::StrCat("a ", *kind, " is namespaced: write ", lower, "/NAMESPACE/", parts[1]));
  }
  if (parts.size() == 3 && IsClusterScoped(*kind)) {
    return absl::InvalidArgumentError(
        absl::StrCat("a ", *kind, " has no namespace: write ", lower, "/", parts[2]));
  }
  v1::ObjectKey key;
  key.set_kind(*kind);
  key.set_name(std::string(parts.back()));
  if (parts.size() == 3) key.set_namespace_(std::string(parts[1]));
  return key;
}

std::string ClusterId(absl::string_view cluster) {
  return std::string(absl::StripPrefix(cluster, "clusters/"));
}

std::string FormatAge(absl::Duration d) {
  const int64_t seconds = absl::ToInt64Seconds(d);
  if (seconds < 60) return absl::StrCat(std::max<int64_t>(seconds, 0), "s");
  if (seconds < 3600) return absl::StrCat(seconds / 60, "m");
  if (seconds < 86400) return absl::StrCat(seconds / 3600, "h");
  if (seconds < 365 * 86400) return absl::StrCat(seconds / 86400, "d");
  return absl::StrCat(seconds / (365 * 86400), "y");
}

std::string FormatTime(const google::protobuf::Timestamp& t) {
  if (t.seconds() == 0 && t.nanos() == 0) return "";
  return absl::FormatTime("%Y-%m-%dT%H:%M:%SZ", absl::FromUnixSeconds(t.seconds()),
                          absl::UTCTimeZone());
}

std::string FormatObject(const v1::ObjectKey& o) {
  if (o.namespace_().empty()) return absl::StrCat(o.kind(), "/", o.name());
  return absl::StrCat(o.kind(), "/", o.namespace_(), "/", o.name());
}

std::string StateName(v1::IncidentState s) {
  return EnumName(v1::IncidentState_Name(s), "INCIDENT_STATE_");
}

std::string SeverityName(v1::Severity s) { return EnumName(v1::Severity_Name(s), "SEVERITY_"); }

std::string ChangeTypeName(v1::IncidentChangeType t) {
  return EnumName(v1::IncidentChangeType_Name(t), "INCIDENT_CHANGE_TYPE_");
}

std::string FormatTable(const std::vector<std::vector<std::string>>& rows) {
  std::vector<size_t> widths;
  for (const auto& row : rows) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], Width(Cell(row[i])));
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      const std::string cell = Cell(row[i]);
      absl::StrAppend(&line, cell);
      if (i + 1 < row.size()) line.append(widths[i] - Width(cell) + 3, ' ');
    }
    // A blank last cell would leave trailing blanks.
    absl::StrAppend(&out, absl::StripTrailingAsciiWhitespace(line), "\n");
  }
  return out;
}

std::string FormatIncidentTable(const std::vector<v1::Incident>& incidents, absl::Time now) {
  std::vector<std::vector<std::string>> rows = {
      {"ID", "CLUSTER", "STATE", "SEVERITY", "FIRING", "AGE", "TITLE"}};
  for (const auto& inc : incidents) {
    const bool opened = inc.open_time().seconds() != 0 || inc.open_time().nanos() != 0;
    const absl::Time open = absl::FromUnixSeconds(inc.open_time().seconds()) +
                            absl::Nanoseconds(inc.open_time().nanos());
    rows.push_back({inc.id(), ClusterId(inc.cluster()), StateName(inc.state()),
                    SeverityName(inc.severity()),
                    absl::StrCat(inc.firing_count(), "/", inc.member_count()),
                    opened ? FormatAge(now - open) : "-", inc.title()});
  }
  return FormatTable(rows);
}

std::string FormatIncident(const v1::Incident& inc) {
  std::vector<std::vector<std::string>> fields = {
      {"name:", inc.name()},
      {"state:", inc.merged_into().empty() ? StateName(inc.state())
                                           : absl::StrCat(StateName(inc.state()), " (merged into ",
                                                          inc.merged_into(), ")")},
      {"severity:", SeverityName(inc.severity())},
      {"scope:", EnumName(v1::IncidentScope_Name(inc.scope()), "INCIDENT_SCOPE_")},
  };
  if (!inc.subject().kind().empty()) {
    const auto& s = inc.subject();
    fields.push_back({"subject:", absl::StrCat(s.kind(), " ", s.namespace_(),
                                               s.namespace_().empty() ? "" : "/", s.name())});
  }
  fields.push_back({"rule:", inc.rule()});
  fields.push_back({"explanation:", inc.explanation()});
  fields.push_back(
      {"members:", absl::StrCat(inc.member_count(), " (", inc.firing_count(), " firing), ",
                                inc.pod_count(), " pods, ", inc.workload_count(), " workloads")});
  const std::pair<const char*, const google::protobuf::Timestamp*> times[] = {
      {"opened:", &inc.open_time()},
      {"updated:", &inc.update_time()},
      {"acknowledged:", &inc.acknowledge_time()},
      {"resolved:", &inc.resolve_time()}};
  for (const auto& [label, t] : times) {
    if (std::string s = FormatTime(*t); !s.empty()) fields.push_back({label, s});
  }
  fields.push_back({"flapping:", absl::StrCat(inc.flapping() ? "yes" : "no", " (",
                                              inc.fires_last_hour(), " fires in the last hour, ",
                                              "reopened ", inc.reopen_count(), " times)")});

  std::vector<std::vector<std::string>> members = {
      {"ALERT", "OBJECT", "STATUS", "SEVERITY", "COUNT", "FIRST SEEN", "REASON"}};
  for (const auto& m : inc.members()) {
    std::string object = FormatObject(m.object());
    if (!m.container().empty()) absl::StrAppend(&object, " [", m.container(), "]");
    members.push_back({m.alert_name(), object,
                       EnumName(v1::AlertStatus_Name(m.status()), "ALERT_STATUS_"),
                       SeverityName(m.severity()), absl::StrCat(m.count()),
                       FormatTime(m.first_seen()), m.reason()});
  }
  std::vector<std::vector<std::string>> evidence = {{"TIME", "KIND", "TEXT"}};
  for (const auto& e : inc.evidence()) {
    evidence.push_back({FormatTime(e.time()), e.kind(), e.text()});
  }
  std::vector<std::vector<std::string>> changes = {
      {"SEQ", "TIME", "TYPE", "NOTIFY", "ACTOR", "DETAIL"}};
  for (const auto& c : inc.changes()) {
    changes.push_back({absl::StrCat(c.sequence()), FormatTime(c.time()), ChangeTypeName(c.type()),
                       c.notify() ? "yes" : "no", c.actor(), c.detail()});
  }
  std::string out = absl::StrCat(Cell(inc.title()), "\n", FormatTable(fields));
  const auto section = [&](const char* title, const std::vector<std::vector<std::string>>& t) {
    absl::StrAppend(&out, "\n", title, "\n", t.size() > 1 ? FormatTable(t) : "(none)\n");
  };
  section("MEMBERS", members);
  section("EVIDENCE", evidence);
  section("CHANGES", changes);
  return out;
}

std::string FormatRevisionTable(const std::vector<v1::Revision>& revisions) {
  std::vector<std::vector<std::string>> rows = {{"REV", "TIME", "CHANGES"}};
  for (const auto& r : revisions) {
    rows.push_back(
        {absl::StrCat(r.revision()), FormatTime(r.time()), absl::StrJoin(r.changes(), "; ")});
  }
  return FormatTable(rows);
}

std::string RenderDependencyTree(const v1::GetDependenciesResponse& graph,
                                 const v1::ObjectKey& root) {
  std::map<std::string, std::string> status;
  for (const auto& n : graph.nodes()) status[Key(n.object())] = n.status();
  // A child of an object: an edge and whether the object is its `from` (an out-edge).
  struct Child {
    int edge;
    bool out;
  };
  std::map<std::string, std::vector<Child>> children;
  for (int i = 0; i < graph.edges_size(); ++i) {
    const auto& e = graph.edges(i);
    children[Key(e.from())].push_back({i, true});
  }
  for (int i = 0; i < graph.edges_size(); ++i) {
    const auto& e = graph.edges(i);
    if (Key(e.from()) != Key(e.to())) children[Key(e.to())].push_back({i, false});
  }
  const auto other = [&](const Child& c) -> const v1::ObjectKey& {
    return c.out ? graph.edges(c.edge).to() : graph.edges(c.edge).from();
  };
  // Breadth-first: each object is expanded under the first object found nearest the root,
  // through `claim[key] = {parent key, edge}` (edge -1 for the root).
  std::map<std::string, std::pair<std::string, int>> claim;
  claim[Key(root)] = {"", -1};
  std::deque<std::string> queue = {Key(root)};
  while (!queue.empty()) {
    const std::string cur = queue.front();
    queue.pop_front();
    for (const Child& c : children[cur]) {
      if (c.edge == claim[cur].second) continue;
      const std::string next = Key(other(c));
      if (claim.try_emplace(next, cur, c.edge).second) queue.push_back(next);
    }
  }
  const auto suffix = [&](const std::string& key) {
    auto it = status.find(key);
    return it == status.end() || it->second.empty() ? std::string()
                                                    : absl::StrCat(" (", it->second, ")");
  };
  std::string out = absl::StrCat(FormatObject(root), suffix(Key(root)), "\n");
  std::map<std::string, bool> printed = {{Key(root), true}};
  std::function<void(const std::string&, const std::string&)> expand =
      [&](const std::string& key, const std::string& prefix) {
        std::vector<Child> shown;
        for (const Child& c : children[key]) {
          if (c.edge != claim[key].second) shown.push_back(c);
        }
        for (size_t i = 0; i < shown.size(); ++i) {
          const Child& c = shown[i];
          const bool last = i + 1 == shown.size();
          const v1::ObjectKey& obj = other(c);
          const std::string next = Key(obj);
          const std::string& relation = graph.edges(c.edge).relation();
          absl::StrAppend(&out, prefix, last ? "└─ " : "├─ ",
                          c.out ? absl::StrCat(relation, " → ") : absl::StrCat("← ", relation, " "),
                          FormatObject(obj));
          if (claim[next] == std::make_pair(key, c.edge)) {
            absl::StrAppend(&out, suffix(next), "\n");
            printed[next] = true;
            expand(next, absl::StrCat(prefix, last ? "   " : "│  "));
          } else {
            absl::StrAppend(&out, printed[next] ? " (see above)\n" : " (see below)\n");
          }
        }
      };
  expand(Key(root), "");
  return out;
}

std::string FormatTimeline(const v1::GetTimelineResponse& t) {
  std::map<int, std::string> marks;
  if (t.first_failure() >= 0) marks[t.first_failure()] = "✖ first failure";
  for (const auto& c : t.causes()) {
    std::string& m = marks[c.entry()];
    m = m.empty() ? absl::StrCat("◀ cause #", c.rank()) : absl::StrCat(m, ", cause #", c.rank());
  }
  std::vector<std::vector<std::string>> rows = {{"TIME", "WHAT", "OBJECT", "RELATION", "TEXT", ""}};
  for (int i = 0; i < t.entries_size(); ++i) {
    const auto& e = t.entries(i);
    auto m = marks.find(i);
    rows.push_back({FormatTime(e.time()), e.kind(), FormatObject(e.object()), e.relation(), e.text(),
                    m == marks.end() ? "" : m->second});
  }
  std::string out = FormatTable(rows);
  if (t.causes_size() == 0) {
    absl::StrAppend(&out, "\n", t.first_failure() < 0 ? "no failure in this window"
                                                       : "no change or problem before the first failure",
                    "\n");
    return out;
  }
  absl::StrAppend(&out, "\nLIKELY CAUSES\n");
  for (const auto& c : t.causes()) {
    absl::StrAppend(&out, c.rank(), ". ", c.reason(), "\n   score ",
                    absl::StrFormat("%.3f", c.score()), " = ", c.arithmetic(), "\n");
  }
  return out;
}

std::string FormatPatterns(const v1::ListPatternsResponse& resp) {
  std::string out = absl::StrCat("window ", FormatTime(resp.start_time()), " → ",
                                 FormatTime(resp.end_time()), "\n");
  if (resp.patterns_size() == 0) return absl::StrCat(out, "no patterns\n");
  int n = 0;
  for (const auto& p : resp.patterns()) {
    const bool recurring = p.kind() == v1::PATTERN_KIND_RECURRING_ALERT;
    absl::StrAppend(&out, "\n", ++n, ". ", recurring ? "recurring alert" : "crash after change",
                    " · ", FormatObject(p.subject()), " · ", p.occurrences(), " of ",
                    p.opportunities(), absl::StrFormat(" (%.0f%%)", 100 * p.confidence()), "\n   ",
                    p.summary(), "\n");
    for (const auto& e : p.evidence()) {
      const char* mark = e.kind() == "occurrence" ? "✔" : e.kind() == "miss" ? "·" : "?";
      absl::StrAppend(&out, "   ", mark, " ", e.text(), "\n");
    }
  }
  return out;
}

}  // namespace k8i::cli
